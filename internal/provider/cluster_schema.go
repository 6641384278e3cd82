package provider

import (
	"context"
	"fmt"
	"math"
	"regexp"
	"strings"
	"sync"

	"github.com/hashicorp/terraform-plugin-framework-timeouts/resource/timeouts"
	"github.com/hashicorp/terraform-plugin-framework-validators/int64validator"
	"github.com/hashicorp/terraform-plugin-framework-validators/listvalidator"
	"github.com/hashicorp/terraform-plugin-framework-validators/mapvalidator"
	"github.com/hashicorp/terraform-plugin-framework-validators/stringvalidator"
	"github.com/hashicorp/terraform-plugin-framework/attr"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/booldefault"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/int64planmodifier"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/listplanmodifier"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/objectplanmodifier"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/planmodifier"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/stringplanmodifier"
	"github.com/hashicorp/terraform-plugin-framework/schema/validator"
	"github.com/hashicorp/terraform-plugin-framework/types"

	"github.com/qumulus/terraform-provider-qumulus/internal/cluster"
	"github.com/qumulus/terraform-provider-qumulus/internal/kamaji"
	"github.com/qumulus/terraform-provider-qumulus/internal/kube"
	"github.com/qumulus/terraform-provider-qumulus/internal/validators"
)

var (
	keepString = []planmodifier.String{stringplanmodifier.UseStateForUnknown()}
	keepInt    = []planmodifier.Int64{int64planmodifier.UseStateForUnknown()}
	keepList   = []planmodifier.List{listplanmodifier.UseStateForUnknown()}
	keepObject = []planmodifier.Object{objectplanmodifier.UseStateForUnknown()}
)

// stringListAttribute is an optional list of strings, Optional+Computed (kept from state
// when unset) with computed.
func stringListAttribute(description string, computed bool, each ...validator.String) schema.ListAttribute {
	a := schema.ListAttribute{MarkdownDescription: description, ElementType: types.StringType, Optional: true, Computed: computed}
	if len(each) > 0 {
		a.Validators = []validator.List{listvalidator.ValueStringsAre(each...)}
	}
	if computed {
		a.PlanModifiers = keepList
	}
	return a
}

// clusterSchema is the schema of qumulus_cluster, built once per provider process.
var clusterSchema = cachedSchema(buildClusterSchema)

func buildClusterSchema(ctx context.Context) schema.Schema {
	nonEmpty := stringvalidator.LengthAtLeast(1)
	quantities := func(what string) schema.MapAttribute {
		return schema.MapAttribute{
			MarkdownDescription: what + " Keys are resource names (`cpu`, `memory`), values quantities (`250m`, `512Mi`). " +
				"`{}` is the same as unset: none.",
			ElementType: types.StringType,
			Optional:    true,
			Validators: []validator.Map{
				mapvalidator.KeysAre(validators.QualifiedName()), mapvalidator.ValueStringsAre(validators.Quantity()),
			},
		}
	}
	component := func(name string) schema.SingleNestedAttribute {
		return schema.SingleNestedAttribute{
			MarkdownDescription: "Extra arguments and resources of the tenant's " + name + ". Updated in place (Kamaji rolls the control-plane pods).",
			Optional:            true,
			Attributes: map[string]schema.Attribute{
				"extra_args": stringListAttribute("Extra command-line arguments, each `--flag` or `--flag=value` (e.g. `--v=2`); "+
					"`[]` is none. They can override Kamaji's own: only use flags you understand.", false, validators.ExtraArg()),
				"requests": quantities("Resource requests of the container."),
				"limits":   quantities("Resource limits of the container."),
			},
		}
	}
	imageAddon := func(name string) schema.SingleNestedAttribute {
		return schema.SingleNestedAttribute{
			MarkdownDescription: "Install " + name + " in the tenant cluster. `{}` installs it with Kamaji's defaults.",
			Optional:            true,
			Attributes: map[string]schema.Attribute{
				"image_repository": schema.StringAttribute{MarkdownDescription: "Registry to pull the image from instead of Kamaji's default.", Optional: true, Validators: []validator.String{nonEmpty}},
				"image_tag": schema.StringAttribute{MarkdownDescription: "Image tag. When set, upgrades of the control plane no longer " +
					"change the add-on's version.", Optional: true, Validators: []validator.String{nonEmpty}},
			},
		}
	}
	return schema.Schema{
		MarkdownDescription: "A tenant's Kubernetes control plane, run by Kamaji as pods in the management cluster: a " +
			"`TenantControlPlane` (`" + kamaji.GroupVersion.String() + "`), or with `cluster_api` a Cluster API `Cluster` " +
			"(`cluster.x-k8s.io/v1beta2`) whose control plane is a `KamajiControlPlane` (`controlplane.cluster.x-k8s.io/v1alpha2`), " +
			"so that `qumulus_worker_pool` can join Cluster API machines to it.\n\n" +
			"Objects are written with server-side apply (field manager `" + kube.FieldManager + "`) and strict field " +
			"validation: fields Kamaji's webhooks or newer Kamaji releases set are never wiped, and a field the installed " +
			"CRD does not know is refused instead of silently dropped.\n\n" +
			"**Drift.** A field the provider writes that was edited out of band shows in the next plan as an in-place " +
			"update that writes it back; a deleted TenantControlPlane is created again. In Cluster API mode a deleted " +
			"Cluster or KamajiControlPlane whose counterpart remains makes `status` `Incomplete` and the update writes it " +
			"again; when both are gone the cluster is created again. In Cluster API mode the TenantControlPlane belongs to Kamaji's Cluster " +
			"API provider, which writes it from the KamajiControlPlane: the provider reads only its status and leaves " +
			"edits of it to that controller.\n\n" +
			"Create and update wait, with a watch, until Kamaji reports the control plane `Ready` at the requested version " +
			"with the admin kubeconfig written (unless `wait_for_ready = false`). Versions are checked at plan as Kamaji's " +
			"webhook does: no downgrade, one minor version at a time, nothing newer than v" + cluster.MaxSupportedVersion.String() + ".x.\n\n" +
			"Values Kamaji, kubeadm or Kubernetes would refuse are refused at plan, with the attribute named: the CRD's own " +
			"limits, the shape of command-line arguments (`--flag` or `--flag=value`) and JSON pointers, and the rules that " +
			"span attributes (pod and Service networks must not overlap, DNS Service IPs lie inside a Service network, the " +
			"pod network fits kube-controller-manager's node ranges, Konnectivity does not share the API server's port).\n\n" +
			"An empty collection (`[]`, `{}`) means none, as leaving the attribute unset does, and stays as written in the " +
			"state. The exceptions are lists Kamaji needs at least one entry of when they are given (`service_cidrs`, " +
			"`pod_cidrs`, `dns_service_ips`, `kubelet.preferred_address_types`): leave them unset for Kamaji's defaults.\n\n" +
			"Destroy deletes the objects and waits until they are gone; Kamaji removes its finalizer only once it has cleaned " +
			"the tenant's data out of its DataStore, so a DataStore that is down holds the destroy.\n\n" +
			fmt.Sprintf("Default timeouts: create %s, update %s, delete %s.", minutes(clusterCreateTimeout), minutes(clusterUpdateTimeout), minutes(clusterDeleteTimeout)),
		Attributes: map[string]schema.Attribute{
			"id": schema.StringAttribute{
				MarkdownDescription: "`<namespace>/<name>`, also the import ID. Unknown until the cluster is created, and " +
					"during changes that replace it or change its endpoint, so that a `qumulus_kubeconfig` referring to it is " +
					"read after the apply.",
				Computed:      true,
				PlanModifiers: keepString,
			},
			"namespace": schema.StringAttribute{
				MarkdownDescription: "The tenant's namespace, e.g. `qumulus_tenant.acme.namespace`. It must exist. Changing it replaces the cluster.",
				Required:            true,
				Validators:          []validator.String{validators.DNS1123Label()},
				PlanModifiers:       []planmodifier.String{stringplanmodifier.RequiresReplace()},
			},
			"name": schema.StringAttribute{
				MarkdownDescription: "Name of the cluster, a DNS-1035 label (lower-case letters, digits and `-`, starting with a " +
					"letter, at most 63 characters), as Kamaji requires. Changing it replaces the cluster.",
				Required:      true,
				Validators:    []validator.String{validators.DNS1035Label()},
				PlanModifiers: []planmodifier.String{stringplanmodifier.RequiresReplace()},
			},
			"version": schema.StringAttribute{
				MarkdownDescription: "Kubernetes version of the control plane, `v1.35.0` or `1.35.0`. Changing it upgrades the control " +
					"plane in place, one minor version at a time; downgrades and versions newer than v" + cluster.MaxSupportedVersion.String() +
					".x are refused at plan.",
				Required:   true,
				Validators: []validator.String{validators.KubernetesVersion()},
			},
			"replicas": schema.Int64Attribute{
				MarkdownDescription: "Number of control-plane pods. Default (Kamaji's) 2. `0` puts the control plane to sleep. Updated in place.",
				Optional:            true,
				Computed:            true,
				Validators:          []validator.Int64{int64validator.Between(0, math.MaxInt32)},
				PlanModifiers:       keepInt,
			},
			"data_store": schema.StringAttribute{
				MarkdownDescription: "Name of the Kamaji `DataStore` that holds the cluster's state. Default: Kamaji's default " +
					"DataStore. Changing it migrates the data in place; Kamaji only migrates between DataStores of the same driver.",
				Optional:      true,
				Computed:      true,
				Validators:    []validator.String{validators.DNS1123Subdomain()},
				PlanModifiers: keepString,
			},
			"data_store_schema": schema.StringAttribute{
				MarkdownDescription: "Database schema (or etcd prefix) in the DataStore. Default: Kamaji derives it from namespace and " +
					"name. Immutable: changing it replaces the cluster.",
				Optional:      true,
				Computed:      true,
				Validators:    []validator.String{nonEmpty},
				PlanModifiers: []planmodifier.String{stringplanmodifier.UseStateForUnknown(), stringplanmodifier.RequiresReplaceIfConfigured()},
			},
			"data_store_username": schema.StringAttribute{
				MarkdownDescription: "Database user in the DataStore. Default: Kamaji derives it. Immutable: changing it replaces the cluster.",
				Optional:            true,
				Computed:            true,
				Validators:          []validator.String{nonEmpty},
				PlanModifiers:       []planmodifier.String{stringplanmodifier.UseStateForUnknown(), stringplanmodifier.RequiresReplaceIfConfigured()},
			},
			"labels": schema.MapAttribute{
				MarkdownDescription: "Labels of the objects (TenantControlPlane; in Cluster API mode Cluster and KamajiControlPlane). " +
					"The provider adds `" + kube.LabelManagedBy + "`, `" + cluster.LabelCluster + "` and the tenant's `" + kube.LabelTenant +
					"`, which may not be set here. Labels others add are left alone.",
				ElementType: types.StringType,
				Optional:    true,
				Validators: []validator.Map{
					mapvalidator.KeysAre(validators.QualifiedName(), stringvalidator.NoneOf(kube.LabelManagedBy, kube.LabelTenant, cluster.LabelCluster)),
					mapvalidator.ValueStringsAre(validators.LabelValue()),
				},
			},
			"annotations": schema.MapAttribute{
				MarkdownDescription: "Annotations of the objects. Annotations others add are left alone.",
				ElementType:         types.StringType,
				Optional:            true,
				Validators:          []validator.Map{mapvalidator.KeysAre(validators.QualifiedName())},
			},
			"network": schema.SingleNestedAttribute{
				MarkdownDescription: "How the API server is exposed, and the tenant cluster's networks. Unset values are Kamaji's " +
					"(or Cluster API's) defaults and are read back. Removing the whole block keeps the current settings; remove " +
					"a setting from the block to remove it.",
				Optional:      true,
				Computed:      true,
				PlanModifiers: keepObject,
				Attributes: map[string]schema.Attribute{
					"service_type": schema.StringAttribute{
						MarkdownDescription: "Type of the Service in front of the API server: `ClusterIP`, `NodePort` or `LoadBalancer` (default).",
						Optional:            true,
						Computed:            true,
						Validators:          []validator.String{stringvalidator.OneOf("ClusterIP", "NodePort", "LoadBalancer")},
						PlanModifiers:       keepString,
					},
					"service_labels": schema.MapAttribute{
						MarkdownDescription: "Extra labels of the API server's Service.",
						ElementType:         types.StringType,
						Optional:            true,
						Validators:          []validator.Map{mapvalidator.KeysAre(validators.QualifiedName()), mapvalidator.ValueStringsAre(validators.LabelValue())},
					},
					"service_annotations": schema.MapAttribute{
						MarkdownDescription: "Extra annotations of the API server's Service, e.g. for a cloud load balancer.",
						ElementType:         types.StringType,
						Optional:            true,
						Validators:          []validator.Map{mapvalidator.KeysAre(validators.QualifiedName())},
					},
					"address": schema.StringAttribute{
						MarkdownDescription: "Address the API server is exposed at (IP or host name). With `LoadBalancer` it may stay unset: " +
							"the load balancer's address is used.",
						Optional:   true,
						Validators: []validator.String{validators.Host()},
					},
					"advertise_address": schema.StringAttribute{
						MarkdownDescription: "IP address advertised to the tenant's workers and Konnectivity, when it differs from `address`.",
						Optional:            true,
						Validators:          []validator.String{validators.IP()},
					},
					"port": schema.Int64Attribute{
						MarkdownDescription: "Port of the API server. Default 6443.",
						Optional:            true,
						Computed:            true,
						Validators:          []validator.Int64{int64validator.Between(1, 65535)},
						PlanModifiers:       keepInt,
					},
					"cert_sans": stringListAttribute("Extra Subject Alternative Names of the API server's certificate.", false, nonEmpty),
					"service_cidrs": withReplace(stringListAttribute("Service networks of the tenant cluster, one per IP family "+
						"(dual-stack: two). Default 10.96.0.0/16. Changing them replaces the cluster.", true, validators.CIDR()), 2),
					"pod_cidrs": withReplace(stringListAttribute("Pod networks of the tenant cluster, one per IP family. Default "+
						"10.244.0.0/16 (bare mode). Changing them replaces the cluster.", true, validators.CIDR()), 2),
					"dns_service_ips": withListValidators(stringListAttribute("IPs of the cluster DNS Service (1 to 8), each inside the "+
						"Service network of its IP family. Leave it unset, not `[]`, for Kamaji's choice. Default: Kamaji computes it (10.96.0.10 for 10.96.0.0/16).", true, validators.IP()),
						listvalidator.SizeBetween(1, 8), validators.Named(listvalidator.UniqueValues())),
					"cluster_domain": schema.StringAttribute{
						MarkdownDescription: "DNS domain of the tenant cluster. Default `cluster.local`. Kamaji cannot change it on a " +
							"running cluster: changing it replaces the cluster.",
						Optional: true,
						Computed: true,
						Validators: []validator.String{validators.DNS1123Subdomain(),
							stringvalidator.RegexMatches(clusterDomainPattern, "must have at least two labels (Kamaji's rule), e.g. cluster.local")},
						PlanModifiers: []planmodifier.String{stringplanmodifier.UseStateForUnknown(), stringplanmodifier.RequiresReplaceIfConfigured()},
					},
					"load_balancer_class": schema.StringAttribute{
						MarkdownDescription: "Load balancer class of the Service (`LoadBalancer` only). Kamaji cannot set, change or " +
							"unset it on a running cluster: any change replaces the cluster.",
						Optional:      true,
						Validators:    []validator.String{nonEmpty},
						PlanModifiers: []planmodifier.String{stringplanmodifier.RequiresReplace()},
					},
					"load_balancer_source_ranges": withListValidators(stringListAttribute("Networks allowed to reach the API server "+
						"(`LoadBalancer` only), at most 16. `[]` is none: no restriction.", false, validators.CIDR()), listvalidator.SizeAtMost(16)),
				},
			},
			"addons": schema.SingleNestedAttribute{
				MarkdownDescription: "Add-ons Kamaji installs into the tenant cluster. An add-on is installed when its attribute is set " +
					"(`core_dns = {}`) and removed when it is unset.",
				Optional: true,
				Attributes: map[string]schema.Attribute{
					"core_dns":   imageAddon("CoreDNS"),
					"kube_proxy": imageAddon("kube-proxy"),
					"konnectivity": schema.SingleNestedAttribute{
						MarkdownDescription: "Install Konnectivity: a proxy next to the API server and agents in the tenant cluster, so " +
							"the API server reaches kubelets and webhooks behind NAT. `{}` uses Kamaji's defaults.",
						Optional: true,
						Attributes: map[string]schema.Attribute{
							"server_image": schema.StringAttribute{MarkdownDescription: "Image of the proxy server.", Optional: true, Computed: true, Validators: []validator.String{nonEmpty}, PlanModifiers: keepString},
							"server_version": schema.StringAttribute{MarkdownDescription: "Version (tag) of the proxy server. Default: matched " +
								"to the Kubernetes version by Kamaji.", Optional: true, Validators: []validator.String{nonEmpty}},
							"server_port": schema.Int64Attribute{MarkdownDescription: "Port of the proxy server. Default " +
								fmt.Sprint(cluster.DefaultKonnectivityPort) + ".", Optional: true, Computed: true, Validators: []validator.Int64{int64validator.Between(1, 65535)}, PlanModifiers: keepInt},
							"server_extra_args": stringListAttribute("Extra arguments of the proxy server, each `--flag` or `--flag=value`; `[]` is none.", false, validators.ExtraArg()),
							"agent_image":       schema.StringAttribute{MarkdownDescription: "Image of the agent.", Optional: true, Computed: true, Validators: []validator.String{nonEmpty}, PlanModifiers: keepString},
							"agent_version":     schema.StringAttribute{MarkdownDescription: "Version (tag) of the agent.", Optional: true, Validators: []validator.String{nonEmpty}},
							"agent_mode": schema.StringAttribute{MarkdownDescription: "How the agent runs: `DaemonSet` (default) or `Deployment`.",
								Optional: true, Computed: true, Validators: []validator.String{stringvalidator.OneOf("DaemonSet", "Deployment")}, PlanModifiers: keepString},
							"agent_extra_args": stringListAttribute("Extra arguments of the agent, each `--flag` or `--flag=value`; `[]` is none.", false, validators.ExtraArg()),
						},
					},
				},
			},
			"api_server":         component("kube-apiserver"),
			"controller_manager": component("kube-controller-manager"),
			"scheduler":          component("kube-scheduler"),
			"kubelet": schema.SingleNestedAttribute{
				MarkdownDescription: "What Kamaji's kubeadm configuration tells the tenant's kubelets.",
				Optional:            true,
				Computed:            true,
				PlanModifiers:       keepObject,
				Attributes: map[string]schema.Attribute{
					"preferred_address_types": withListValidators(stringListAttribute("Node address types the API server uses to reach "+
						"kubelets, in order of preference, each once; at least one (Kamaji needs one). Default (Kamaji's) `InternalIP`, "+
						"`ExternalIP`, `Hostname`.", true,
						stringvalidator.OneOf("InternalIP", "ExternalIP", "Hostname", "InternalDNS", "ExternalDNS")),
						listvalidator.SizeAtLeast(1), validators.Named(listvalidator.UniqueValues())),
					"config_patches": schema.ListNestedAttribute{
						MarkdownDescription: "RFC 6902 JSON patches applied to the kubelet configuration kubeadm generates, e.g. " +
							"`{ op = \"replace\", path = \"/cgroupDriver\", value = jsonencode(\"systemd\") }`. `[]` is the same as unset: none.",
						Optional: true,
						NestedObject: schema.NestedAttributeObject{Attributes: map[string]schema.Attribute{
							"op": schema.StringAttribute{MarkdownDescription: "`add`, `remove`, `replace`, `move`, `copy` or `test`.", Required: true,
								Validators: []validator.String{stringvalidator.OneOf("add", "remove", "replace", "move", "copy", "test")}},
							"path": schema.StringAttribute{MarkdownDescription: "JSON pointer (RFC 6901) of the target, e.g. `/cgroupDriver`; " +
								"write `~` in a key as `~0` and `/` as `~1`.", Required: true, Validators: []validator.String{validators.JSONPointer()}},
							"from": schema.StringAttribute{MarkdownDescription: "Source JSON pointer (RFC 6901) of `move` and `copy`.", Optional: true,
								Validators: []validator.String{validators.JSONPointer()}},
							"value": schema.StringAttribute{MarkdownDescription: "JSON-encoded value of `add`, `replace` and `test` (use `jsonencode()`).", Optional: true},
						}},
					},
				},
			},
			"cluster_api": schema.SingleNestedAttribute{
				MarkdownDescription: "Cluster API mode: instead of a bare TenantControlPlane, create a Cluster API `Cluster` whose " +
					"control plane is a `KamajiControlPlane` of the same name (Kamaji's Cluster API provider then makes the " +
					"TenantControlPlane). Required by `qumulus_worker_pool`. The network's CIDRs, domain and port go to the " +
					"Cluster's `clusterNetwork`. Switching modes replaces the cluster.",
				Optional:      true,
				PlanModifiers: []planmodifier.Object{objectplanmodifier.RequiresReplaceIf(modeSwitched, "Switching between bare and Cluster API mode replaces the cluster.", "Switching between bare and Cluster API mode replaces the cluster.")},
				Attributes: map[string]schema.Attribute{
					"infrastructure_ref": schema.SingleNestedAttribute{
						MarkdownDescription: "The Cluster's infrastructure object (e.g. an `OpenStackCluster`), made beforehand. " +
							"Changing it replaces the cluster.",
						Optional:      true,
						PlanModifiers: []planmodifier.Object{objectplanmodifier.RequiresReplace()},
						Attributes: map[string]schema.Attribute{
							"api_group": schema.StringAttribute{MarkdownDescription: "API group, e.g. `infrastructure.cluster.x-k8s.io`.", Required: true, Validators: []validator.String{validators.DNS1123Subdomain()}},
							"kind":      schema.StringAttribute{MarkdownDescription: "Kind, e.g. `OpenStackCluster`.", Required: true, Validators: []validator.String{stringvalidator.RegexMatches(kindPattern, "must be a Kubernetes kind such as OpenStackCluster")}},
							"name":      schema.StringAttribute{MarkdownDescription: "Name, in the cluster's namespace.", Required: true, Validators: []validator.String{validators.DNS1123Subdomain()}},
						},
					},
				},
			},
			"wait_for_ready": schema.BoolAttribute{
				MarkdownDescription: "Wait on create and update until the control plane is `Ready` at the requested version. Default " +
					"`true`. With `false`, `status`, `installed_version`, `endpoint` and `ca_certificate` may be empty or stale until a refresh.",
				Optional: true,
				Computed: true,
				Default:  booldefault.StaticBool(true),
			},
			"status": schema.StringAttribute{
				MarkdownDescription: "Kamaji's status of the control plane: `Provisioning`, `Upgrading`, `Ready`, `NotReady`, `Sleeping`, ...; `Pending` while no TenantControlPlane exists yet; " +
					"`Incomplete` in Cluster API mode when the Cluster or the KamajiControlPlane was deleted out of band (the next apply writes it again).",
				Computed: true,
			},
			"installed_version": schema.StringAttribute{
				MarkdownDescription: "Kubernetes version the control plane runs, as Kamaji reports it.",
				Computed:            true,
			},
			"endpoint": schema.StringAttribute{
				MarkdownDescription: "`host:port` of the tenant's API server.",
				Computed:            true,
			},
			"kubeconfig_secret_name": schema.StringAttribute{
				MarkdownDescription: "Secret in `namespace` holding the admin kubeconfig (key `" + kamaji.AdminKubeconfigKey + "`). Read it with the `qumulus_kubeconfig` data source; its content never enters this resource's state.",
				Computed:            true,
			},
			"ca_certificate": schema.StringAttribute{
				MarkdownDescription: "PEM CA certificate of the tenant's API server (public; the key is never read).",
				Computed:            true,
			},
		},
		Blocks: map[string]schema.Block{
			"timeouts": timeouts.Block(ctx, timeouts.Opts{Create: true, Update: true, Delete: true}),
		},
	}
}

var clusterSchemaType = sync.OnceValue(func() attr.Type { return clusterSchema(context.Background()).Type() })

// clusterDomainPattern is the pattern of Kamaji's networkProfile.clusterDomain.
var clusterDomainPattern = regexp.MustCompile(`.*\..*`)

func withListValidators(a schema.ListAttribute, v ...validator.List) schema.ListAttribute {
	a.Validators = append(a.Validators, v...)
	return a
}

func withReplace(a schema.ListAttribute, maxItems int) schema.ListAttribute {
	a.Validators = append(a.Validators, listvalidator.SizeBetween(1, maxItems))
	a.PlanModifiers = append(a.PlanModifiers, listplanmodifier.RequiresReplaceIfConfigured())
	return a
}

// attrTypes returns the attribute types of the object attribute at names (nested through
// single nested attributes, and the element of list nested ones).
func attrTypes(names ...string) map[string]attr.Type {
	return schemaAttrTypes("qumulus_cluster", clusterSchemaType(), names...)
}

// attrTypesCache holds what schemaAttrTypes found, by resource and path: models are
// converted with them many times in every refresh. The maps are shared: never change one.
var attrTypesCache sync.Map

func schemaAttrTypes(resource string, t attr.Type, names ...string) map[string]attr.Type {
	key := resource + "/" + strings.Join(names, "/")
	if found, ok := attrTypesCache.Load(key); ok {
		if types, ok := found.(map[string]attr.Type); ok {
			return types
		}
	}
	for _, n := range names {
		obj, ok := t.(attr.TypeWithAttributeTypes)
		if !ok {
			panic(fmt.Sprintf("%s schema: %v is not an object", resource, names))
		}
		t = obj.AttributeTypes()[n]
		if l, ok := t.(types.ListType); ok {
			t = l.ElemType
		}
	}
	obj, ok := t.(attr.TypeWithAttributeTypes)
	if !ok {
		panic(fmt.Sprintf("%s schema: %v is not an object", resource, names))
	}
	found := obj.AttributeTypes()
	attrTypesCache.Store(key, found)
	return found
}
