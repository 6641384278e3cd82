package provider

import (
	"context"
	"fmt"
	"regexp"
	"strings"

	"github.com/hashicorp/terraform-plugin-framework-timeouts/resource/timeouts"
	"github.com/hashicorp/terraform-plugin-framework-validators/int64validator"
	"github.com/hashicorp/terraform-plugin-framework-validators/listvalidator"
	"github.com/hashicorp/terraform-plugin-framework-validators/mapvalidator"
	"github.com/hashicorp/terraform-plugin-framework-validators/stringvalidator"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/planmodifier"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/stringdefault"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/stringplanmodifier"
	"github.com/hashicorp/terraform-plugin-framework/schema/validator"
	"github.com/hashicorp/terraform-plugin-framework/types"

	"github.com/qumulus/terraform-provider-qumulus/internal/openstack"
	"github.com/qumulus/terraform-provider-qumulus/internal/validators"
)

// Defaults of qumulus_openstack.
const (
	defaultChartRepository  = "https://tarballs.opendev.org/openstack/openstack-helm"
	defaultReleaseNamespace = "openstack"
	defaultBaseOS           = "ubuntu_noble"
	defaultRegion           = "RegionOne"
	defaultClusterDomain    = "cluster.local"
	defaultParallelism      = 4
)

var (
	repositoryPattern       = regexp.MustCompile(`^(https?|oci)://[^/\s]+`)
	openstackReleasePattern = regexp.MustCompile(`^\d{4}\.\d+$`)
	featurePattern          = regexp.MustCompile(`^[a-z0-9][a-z0-9_.]*$`)
)

// openstackSchema is the schema of qumulus_openstack, built once per provider process.
var openstackSchema = cachedSchema(buildOpenstackSchema)

func buildOpenstackSchema(ctx context.Context) schema.Schema {
	replace := []planmodifier.String{stringplanmodifier.RequiresReplace()}
	optional := func(description string, v ...validator.String) schema.StringAttribute {
		return schema.StringAttribute{MarkdownDescription: description, Optional: true, Validators: v}
	}
	computed := func(description string) schema.StringAttribute {
		return schema.StringAttribute{MarkdownDescription: description, Computed: true}
	}
	return schema.Schema{
		MarkdownDescription: "A tenant's OpenStack control plane: the OpenStack-Helm charts (database, message queue, cache, " +
			"virtual switch, hypervisor, and the OpenStack services) installed as Helm releases into the tenant cluster of a " +
			"`qumulus_cluster`, configured to find each other, until every release's objects are ready.\n\n" +
			"The provider reaches the tenant cluster through the admin kubeconfig Kamaji keeps in the management cluster: " +
			"no second provider block, and it works in the apply that creates the cluster. Releases are stored the way " +
			"Helm stores them (Secrets in `release_namespace`), so `helm list -n openstack` shows them.\n\n" +
			"**Interconnection.** The provider writes every chart's shared values itself: the identity admin and one " +
			"user per service, the database and message-queue users, the cache secret key, the region, the cluster " +
			"domain and the public host names. Passwords are generated once (`generated_credentials`) or given " +
			"(`credentials`); changing one upgrades exactly the releases that use it.\n\n" +
			"**Order and readiness.** Releases are installed in dependency order (see the graph below), independent " +
			"ones at the same time (`parallelism`), each once what it needs is ready. Helm's `--wait` is never used " +
			"(it deadlocks on OpenStack-Helm's hook Jobs): Helm runs the hooks, then the provider watches the release's " +
			"own objects until they are ready (Jobs complete). A release that fails is rolled back (uninstalled on its " +
			"first install); the releases that succeeded stay, and the next apply goes on from there.\n\n" +
			"**Drift.** Refresh reads every release (one list of Helm's release Secrets) and the live objects of its " +
			"manifest (one list per kind and namespace): an out-of-band upgrade or rollback, a failed release, a " +
			"deleted Deployment, StatefulSet, DaemonSet, Service, Secret, ConfigMap, ServiceAccount, Role or RoleBinding, " +
			"a scaled workload, a changed container image, Service type or port, Secret or ConfigMap data key, Role rules " +
			"or RoleBinding subjects shows as `status = \"drifted\"` in `releases` (the warning names the object and the " +
			"field, never a value), and the next apply upgrades that release to repair it. Jobs (which finish and may be " +
			"cleaned up), hooks and objects of other kinds are not compared; neither are fields the release does not set. " +
			"The release namespace's record annotation and the `qumulus-openstack` Secret are bookkeeping for import " +
			"that every apply writes again; changes to them are not drift.\n\n" +
			fmt.Sprintf("Default timeouts: create %s, update %s, delete %s.", minutes(openstackCreateTimeout), minutes(openstackUpdateTimeout), minutes(openstackDeleteTimeout)),
		Attributes: map[string]schema.Attribute{
			"id": schema.StringAttribute{
				MarkdownDescription: "`<namespace>/<cluster_name>/<release_namespace>`; the import ID.",
				Computed:            true,
				PlanModifiers:       []planmodifier.String{stringplanmodifier.UseStateForUnknown()},
			},
			"namespace": schema.StringAttribute{
				MarkdownDescription: "The tenant's namespace in the management cluster, e.g. `qumulus_cluster.prod.namespace`. Changing it replaces the resource.",
				Required:            true, PlanModifiers: replace,
				Validators: []validator.String{validators.DNS1123Label()},
			},
			"cluster_name": schema.StringAttribute{
				MarkdownDescription: "The `qumulus_cluster` whose tenant cluster runs OpenStack, e.g. `qumulus_cluster.prod.name`: " +
					"that reference also orders this resource after the cluster is ready. Changing it replaces the resource.",
				Required: true, PlanModifiers: replace,
				Validators: []validator.String{validators.DNS1035Label()},
			},
			"release_namespace": schema.StringAttribute{
				MarkdownDescription: "Namespace of the releases in the tenant cluster (default `" + defaultReleaseNamespace + "`). Created " +
					"when absent, labelled `app.kubernetes.io/managed-by=qumulus`, and deleted on destroy once empty when the provider " +
					"created it. Changing it replaces the resource.",
				Optional: true, Computed: true,
				Default: stringdefault.StaticString(defaultReleaseNamespace), PlanModifiers: replace,
				Validators: []validator.String{validators.DNS1123Label()},
			},
			"charts": schema.SingleNestedAttribute{
				MarkdownDescription: "Where the charts come from. Default: OpenStack-Helm's published repository `" + defaultChartRepository +
					"`, newest stable version. A chart is downloaded once per provider run, and only when its release is installed " +
					"or upgraded: never to plan or refresh.",
				Optional: true,
				Attributes: map[string]schema.Attribute{
					"repository": optional("An `http(s)://` Helm chart repository URL (with an `index.yaml`), or an `oci://` "+
						"registry prefix (e.g. `oci://registry.example.com/openstack-helm`). Default `"+defaultChartRepository+"` "+
						"unless `path` is set.",
						stringvalidator.RegexMatches(repositoryPattern, "must be an http://, https:// or oci:// URL"),
						stringvalidator.ConflictsWith(path.MatchRelative().AtParent().AtName("path"))),
					"path": optional("A local directory of chart folders or packaged `.tgz` charts, for air-gapped sites. Chart "+
						"folders find `helm-toolkit` beside them, as in OpenStack-Helm's source tree.", stringvalidator.LengthAtLeast(1)),
					"version": optional("Chart version or constraint for every service without its own, e.g. `2026.1.0` or "+
						"`~2026.1`. Default: the newest stable version. A constraint is resolved when a release is installed or "+
						"upgraded; `releases.<service>.chart_version` shows what it resolved to.", validators.VersionConstraint()),
					"username": optional("User name for the repository (basic auth, or the registry login).",
						stringvalidator.AlsoRequires(path.MatchRelative().AtParent().AtName("password"))),
					"password": schema.StringAttribute{
						MarkdownDescription: "Password or token for the repository.", Optional: true, Sensitive: true,
						Validators: []validator.String{stringvalidator.AlsoRequires(path.MatchRelative().AtParent().AtName("username"))},
					},
					"ca_certificate": optional("PEM CA certificate trusted for the repository, in addition to the system's.", validators.PEMCertificate()),
					"insecure_skip_tls_verify": schema.BoolAttribute{
						MarkdownDescription: "Do not verify the repository's TLS certificate. For tests only.", Optional: true,
					},
				},
			},
			"openstack_release": optional("OpenStack release whose images the charts run, e.g. `2026.1` or `2025.2`: selects "+
				"each chart's `<release>-<base_os>.yaml` override file (and others, see `features`). Needs `values_overrides`.",
				stringvalidator.RegexMatches(openstackReleasePattern, "must look like 2026.1"),
				stringvalidator.AlsoRequires(path.MatchRoot("values_overrides"))),
			"base_os": schema.StringAttribute{
				MarkdownDescription: "Base OS of the images, the second override feature (default `" + defaultBaseOS + "`). Used with `values_overrides`.",
				Optional:            true, Computed: true,
				Default:    stringdefault.StaticString(defaultBaseOS),
				Validators: []validator.String{stringvalidator.RegexMatches(featurePattern, "must be a feature name such as ubuntu_noble")},
			},
			"features": schema.ListAttribute{
				MarkdownDescription: "Further override features after `openstack_release` and `base_os`, in order, e.g. " +
					"`[\"netpol\"]` or `[\"tls\", \"netpol\"]`. Each chart gets the override files these select the way " +
					"OpenStack-Helm's `get-values-overrides` does (every combination, later files winning). A release, OS or " +
					"feature that no chart has a file for is a plan-time error naming what exists. Needs `values_overrides`. " +
					"The `tls` feature needs cert-manager in the tenant cluster.",
				ElementType: types.StringType, Optional: true,
				Validators: []validator.List{
					listvalidator.SizeAtMost(openstack.MaxFeatures - 2), listvalidator.UniqueValues(),
					listvalidator.ValueStringsAre(stringvalidator.RegexMatches(featurePattern, "must be a feature name such as netpol")),
					listvalidator.AlsoRequires(path.MatchRoot("values_overrides")),
				},
			},
			"values_overrides": optional("Where the override files are: a local directory, or an `https://` base URL, laid out "+
				"like OpenStack-Helm's `values_overrides/` (`<chart>/<name>.yaml`). Without it no override file is used and "+
				"the charts run their default images.", stringvalidator.LengthAtLeast(1)),
			"region_name": schema.StringAttribute{
				MarkdownDescription: "OpenStack region of every endpoint (default `" + defaultRegion + "`).",
				Optional:            true, Computed: true,
				Default:    stringdefault.StaticString(defaultRegion),
				Validators: []validator.String{stringvalidator.LengthBetween(1, 255)},
			},
			"cluster_domain": schema.StringAttribute{
				MarkdownDescription: "DNS domain of the tenant cluster, from which the charts build internal host names " +
					"(`keystone-api.openstack.svc.<cluster_domain>`). Default: the cluster's `network.cluster_domain`, " +
					"`" + defaultClusterDomain + "` when it sets none.",
				Optional: true, Computed: true,
				PlanModifiers: []planmodifier.String{stringplanmodifier.UseStateForUnknown()},
				Validators:    []validator.String{validators.DNS1123Subdomain()},
			},
			"public_endpoints": schema.SingleNestedAttribute{
				MarkdownDescription: "How users outside the tenant cluster reach the APIs. Without it the public endpoints are the " +
					"charts' defaults (in-cluster names).",
				Optional: true,
				Attributes: map[string]schema.Attribute{
					"domain": schema.StringAttribute{
						MarkdownDescription: "Each API's public host is `<service host>.<domain>`, e.g. `keystone.cloud.example.com`, " +
							"on the charts' Ingresses and in the service catalogue.",
						Required: true, Validators: []validator.String{validators.DNS1123Subdomain()},
					},
					"scheme": optional("`https` (default) or `http`.", stringvalidator.OneOf("https", "http")),
					"port": schema.Int64Attribute{
						MarkdownDescription: "Port of the public endpoints; default 443 for https, 80 for http.",
						Optional:            true, Validators: []validator.Int64{int64validator.Between(1, 65535)},
					},
				},
			},
			"services": schema.MapNestedAttribute{
				MarkdownDescription: "Changes to the default set of services, by name: " + strings.Join(quoted(openstack.Names()), ", ") +
					". The default set is " + strings.Join(quoted(openstack.DefaultServices()), ", ") + "; a service listed here is " +
					"enabled unless `enabled = false`. Disabling keystone, an unknown name, or a service without what it needs " +
					"(nova without placement, neutron and glance, ...) is a plan-time error naming what is missing.",
				Optional:   true,
				Validators: []validator.Map{mapvalidator.KeysAre(stringvalidator.OneOf(openstack.Names()...))},
				NestedObject: schema.NestedAttributeObject{Attributes: map[string]schema.Attribute{
					"enabled": schema.BoolAttribute{
						MarkdownDescription: "Whether the service is installed (default `true`). Disabling one uninstalls its release, after what depends on it.",
						Optional:            true,
					},
					"replicas": schema.Int64Attribute{
						MarkdownDescription: "Replicas of the service's API and server components (the chart's `pod.replicas.*` keys, " +
							"listed on this page). Default: the chart's. Not for openvswitch and libvirt, which run one pod per node.",
						Optional: true, Validators: []validator.Int64{int64validator.Between(1, 100)},
					},
					"version": optional("Chart version or constraint of this service, instead of `charts.version`.", validators.VersionConstraint()),
					"values": schema.ListAttribute{
						MarkdownDescription: "YAML documents of Helm values merged over the provider's, the last winning, like " +
							"`helm --values`. Never echoed back in a computed attribute; `releases.<service>.values_checksum` shows " +
							"when they took effect.",
						ElementType: types.StringType, Optional: true,
						Validators: []validator.List{listvalidator.ValueStringsAre(validators.YAMLMap())},
					},
				}},
			},
			"credentials": schema.MapAttribute{
				MarkdownDescription: "Passwords and secrets to use instead of generated ones, by key: `identity/admin` (the " +
					"admin password), `identity/<user>`, `oslo_db/root` (the database root), `oslo_db/<user>`, " +
					"`oslo_messaging/<user>`, or a shared secret (`" + openstack.SecretMemcache + "`, ...). The keys are those " +
					"of `generated_credentials`. Changing one upgrades the releases that use it.",
				ElementType: types.StringType, Optional: true, Sensitive: true,
				Validators: []validator.Map{mapvalidator.ValueStringsAre(stringvalidator.LengthBetween(8, 128))},
			},
			"parallelism": schema.Int64Attribute{
				MarkdownDescription: fmt.Sprintf("How many releases are installed at the same time (default %d).", defaultParallelism),
				Optional:            true, Validators: []validator.Int64{int64validator.Between(1, int64(len(openstack.Names())))},
			},
			"releases": schema.MapNestedAttribute{
				MarkdownDescription: "The release of every enabled service, by service, as last read.",
				Computed:            true,
				NestedObject: schema.NestedAttributeObject{Attributes: map[string]schema.Attribute{
					"release_name":    computed("Helm release name (the service's name)."),
					"chart_version":   computed("Version of the chart installed."),
					"app_version":     computed("App version of the chart installed."),
					"revision":        schema.Int64Attribute{MarkdownDescription: "Helm revision.", Computed: true},
					"status":          computed("Helm's status (`deployed`, `failed`, `pending-upgrade`, ...), `drifted` when the release or its workloads changed out of band, or `missing`."),
					"values_checksum": computed("HMAC-SHA256 of the release's values, keyed by a generated secret: changes when they change."),
				}},
			},
			"generated_credentials": schema.MapAttribute{
				MarkdownDescription: "The passwords and secrets the provider generated (32 random bytes each), by key, kept " +
					"across applies. `credentials` overrides them.",
				ElementType: types.StringType, Computed: true, Sensitive: true,
			},
			"keystone_url": computed("Identity endpoint for `OS_AUTH_URL`: the public one with `public_endpoints` (e.g. " +
				"`https://keystone.cloud.example.com/v3`), else the in-cluster `http://keystone-api.<release_namespace>.svc.<cluster_domain>:5000/v3`."),
			"admin_username": computed("The OpenStack admin user (`admin`)."),
			"admin_password": schema.StringAttribute{
				MarkdownDescription: "The OpenStack admin's password.", Computed: true, Sensitive: true,
			},
			"clouds_yaml": schema.StringAttribute{
				MarkdownDescription: "An OpenStack client `clouds.yaml` with the cloud `<cluster_name>` as the admin, at `keystone_url` " +
					"(interface `public` with `public_endpoints`, else `internal`): write it to " +
					"`~/.config/openstack/clouds.yaml` and run `openstack --os-cloud <cluster_name> ...`.",
				Computed: true, Sensitive: true,
			},
		},
		Blocks: map[string]schema.Block{
			"timeouts": timeouts.Block(ctx, timeouts.Opts{Create: true, Update: true, Delete: true}),
		},
	}
}

func quoted(names []string) []string {
	out := make([]string, len(names))
	for i, n := range names {
		out[i] = "`" + n + "`"
	}
	return out
}
