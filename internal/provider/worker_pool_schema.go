package provider

import (
	"context"
	"fmt"
	"math"
	"sync"

	"github.com/hashicorp/terraform-plugin-framework-timeouts/resource/timeouts"
	"github.com/hashicorp/terraform-plugin-framework-validators/int64validator"
	"github.com/hashicorp/terraform-plugin-framework-validators/listvalidator"
	"github.com/hashicorp/terraform-plugin-framework-validators/mapvalidator"
	"github.com/hashicorp/terraform-plugin-framework-validators/objectvalidator"
	"github.com/hashicorp/terraform-plugin-framework-validators/stringvalidator"
	"github.com/hashicorp/terraform-plugin-framework/attr"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/booldefault"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/planmodifier"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/stringplanmodifier"
	"github.com/hashicorp/terraform-plugin-framework/schema/validator"
	"github.com/hashicorp/terraform-plugin-framework/types"

	"github.com/qumulus/terraform-provider-qumulus/internal/validators"
	"github.com/qumulus/terraform-provider-qumulus/internal/workerpool"
)

func intOrPercentAttribute(description string, check validator.String) schema.StringAttribute {
	return schema.StringAttribute{
		MarkdownDescription: description + " A number (`1`) or a percentage of the replicas (`25%`).",
		Optional:            true,
		Validators:          []validator.String{check},
	}
}

// workerPoolSchema is the schema of qumulus_worker_pool, built once per provider process.
var workerPoolSchema = cachedSchema(buildWorkerPoolSchema)

func buildWorkerPoolSchema(ctx context.Context) schema.Schema {
	nonEmpty := stringvalidator.LengthAtLeast(1)
	computedCount := func(what string) schema.Int64Attribute {
		return schema.Int64Attribute{MarkdownDescription: what + " (`status` of the MachineDeployment, as last read).", Computed: true}
	}
	return schema.Schema{
		MarkdownDescription: "A pool of worker machines for a tenant cluster in Cluster API mode (`qumulus_cluster` with " +
			"`cluster_api`): a Cluster API `MachineDeployment` (`cluster.x-k8s.io/v1beta2`), its `KubeadmConfigTemplate` " +
			"(`bootstrap.cluster.x-k8s.io/v1beta2`), an infrastructure machine template of any Cluster API infrastructure " +
			"provider (generated from `infrastructure.spec`, or an existing one named by `infrastructure.name`), and " +
			"optionally a `MachineHealthCheck`.\n\n" +
			"**Templates are immutable.** The generated templates are named `<name>-<hash of their content>`: a change to " +
			"anything that goes into a template (node labels and taints, kubelet arguments, files, commands, " +
			"`infrastructure`) creates a new template, points the MachineDeployment at it — a rolling update of the " +
			"machines, shown in the plan as a change of `bootstrap_template_name` or `infrastructure_template_name` — " +
			"and removes the old template once no MachineSet uses it. Nobody renames templates by hand.\n\n" +
			"Create and update wait, with a watch, until Cluster API reports every machine available and up to date " +
			"(`observedGeneration`, `replicas`, `availableReplicas`, `upToDateReplicas` and the `Available` condition of " +
			"the v1beta2 status), unless `wait_for_ready = false`. Destroy deletes the MachineHealthCheck and the " +
			"MachineDeployment, waits until Cluster API has removed the machines, then deletes the templates.\n\n" +
			fmt.Sprintf("Default timeouts: create %s, update %s, delete %s.", minutes(poolCreateTimeout), minutes(poolUpdateTimeout), minutes(poolDeleteTimeout)),
		Attributes: map[string]schema.Attribute{
			"id": schema.StringAttribute{
				MarkdownDescription: "`<namespace>/<name>`, also the import ID.",
				Computed:            true,
				PlanModifiers:       keepString,
			},
			"namespace": schema.StringAttribute{
				MarkdownDescription: "The tenant's namespace, the cluster's: `qumulus_cluster.<name>.namespace`. Changing it replaces the pool.",
				Required:            true,
				Validators:          []validator.String{validators.DNS1123Label()},
				PlanModifiers:       []planmodifier.String{stringplanmodifier.RequiresReplace()},
			},
			"cluster_name": schema.StringAttribute{
				MarkdownDescription: "Name of the cluster the machines join: `qumulus_cluster.<name>.name`. The cluster must be " +
					"in Cluster API mode (`cluster_api {}`); otherwise apply fails. Changing it replaces the pool.",
				Required:      true,
				Validators:    []validator.String{validators.DNS1035Label()},
				PlanModifiers: []planmodifier.String{stringplanmodifier.RequiresReplace()},
			},
			"name": schema.StringAttribute{
				MarkdownDescription: "Name of the pool and of its MachineDeployment, a DNS-1123 label (lower-case letters, " +
					"digits and `-`, at most 63 characters). Unique in the namespace. Changing it replaces the pool.",
				Required:      true,
				Validators:    []validator.String{validators.DNS1123Label()},
				PlanModifiers: []planmodifier.String{stringplanmodifier.RequiresReplace()},
			},
			"version": schema.StringAttribute{
				MarkdownDescription: "Kubernetes version of the machines, `v1.35.0` or `1.35.0`. Default: the control plane's " +
					"version, followed when the cluster is upgraded (the plan after the cluster's upgrade rolls the pool). " +
					"To upgrade both in one apply, set `version = qumulus_cluster.<name>.version`. Apply refuses a version " +
					fmt.Sprintf("newer than the control plane's or more than %d minor versions older (the kubelet version skew "+
						"policy). Changing it is a rolling update.", workerpool.MaxKubeletSkew),
				Optional:   true,
				Computed:   true,
				Validators: []validator.String{validators.KubernetesVersion()},
			},
			"replicas": schema.Int64Attribute{
				MarkdownDescription: "Number of machines. Default 1. Conflicts with `autoscaling`; with `autoscaling` it is " +
					"the number the autoscaler last chose, never changed by the provider. Scaling happens in place.",
				Optional:   true,
				Computed:   true,
				Validators: []validator.Int64{int64validator.Between(0, math.MaxInt32)},
			},
			"autoscaling": schema.SingleNestedAttribute{
				MarkdownDescription: "Let the Kubernetes cluster-autoscaler (Cluster API provider) scale the pool between `min` " +
					"and `max`: the provider sets its node-group annotations and no longer sets `spec.replicas`, so it never " +
					"undoes the autoscaler's choice. Cluster API starts a new pool at `min`.",
				Optional:   true,
				Validators: []validator.Object{objectvalidator.ConflictsWith(path.MatchRoot("replicas"))},
				Attributes: map[string]schema.Attribute{
					"min": schema.Int64Attribute{MarkdownDescription: "Fewest machines (`0` lets the autoscaler scale the pool away, if it supports scale from zero).", Required: true, Validators: []validator.Int64{int64validator.Between(0, math.MaxInt32)}},
					"max": schema.Int64Attribute{MarkdownDescription: "Most machines; at least `min`.", Required: true, Validators: []validator.Int64{int64validator.Between(1, math.MaxInt32)}},
				},
			},
			"failure_domain": schema.StringAttribute{
				MarkdownDescription: "Failure domain (availability zone) of the machines, one the infrastructure provider reports for the cluster. Changing it is a rolling update.",
				Optional:            true,
				Validators:          []validator.String{nonEmpty, stringvalidator.LengthAtMost(workerpool.MaxFailureDomainLength)},
			},
			"node_labels": schema.MapAttribute{
				MarkdownDescription: "Labels of the Nodes. Cluster API does not copy arbitrary Machine labels to Nodes, so these " +
					"are passed to the kubelet (`--node-labels`), except those in the `node-role.kubernetes.io/`, " +
					"`node-restriction.kubernetes.io/` and `node.cluster.x-k8s.io/` domains, which a kubelet may not set on " +
					"itself: those go on the Machines, and Cluster API keeps them on the Nodes. Other `kubernetes.io` and " +
					"`k8s.io` labels are refused, as the kubelet would refuse to start with them. Changing a kubelet label " +
					"is a rolling update; Machine labels change in place.",
				ElementType: types.StringType,
				Optional:    true,
				Validators: []validator.Map{
					mapvalidator.KeysAre(validators.QualifiedName(), validators.NodeLabelKey()), mapvalidator.ValueStringsAre(validators.LabelValue()),
				},
			},
			"node_taints": schema.ListNestedAttribute{
				MarkdownDescription: "Taints the Nodes register with (kubeadm's `nodeRegistration.taints`). `[]` is the same as " +
					"leaving it out: no taints. Changing them is a rolling update.",
				Optional:   true,
				Validators: []validator.List{listvalidator.SizeAtMost(workerpool.MaxTaints)},
				NestedObject: schema.NestedAttributeObject{Attributes: map[string]schema.Attribute{
					"key":   schema.StringAttribute{MarkdownDescription: "Taint key. Two taints may not have the same key and effect.", Required: true, Validators: []validator.String{validators.QualifiedName()}},
					"value": schema.StringAttribute{MarkdownDescription: "Taint value; leave it out for none.", Optional: true, Validators: []validator.String{nonEmpty, validators.LabelValue()}},
					"effect": schema.StringAttribute{MarkdownDescription: "`NoSchedule`, `PreferNoSchedule` or `NoExecute`.", Required: true,
						Validators: []validator.String{stringvalidator.OneOf("NoSchedule", "PreferNoSchedule", "NoExecute")}},
				}},
			},
			"kubelet_extra_args": schema.MapAttribute{
				MarkdownDescription: "Extra kubelet flags without the leading `--`, e.g. `{ \"max-pods\" = \"110\" }` " +
					"(kubeadm's `kubeletExtraArgs`). The flags the provider writes from other attributes are refused here: " +
					"`node-labels` (use `node_labels`) and `register-with-taints` (use `node_taints`). At most " +
					fmt.Sprintf("%d flags, counting the `node-labels` flag `node_labels` makes; values at most %d characters. ", workerpool.MaxKubeletArgs, workerpool.MaxKubeletArgValue) +
					"`{}` is the same as leaving it out. Changing them is a rolling update.",
				ElementType: types.StringType,
				Optional:    true,
				Validators:  []validator.Map{mapvalidator.KeysAre(validators.KubeletArgName()), mapvalidator.ValueStringsAre(validators.KubeletArgValue())},
			},
			"files": schema.ListNestedAttribute{
				MarkdownDescription: "Files written on the machines before kubeadm runs. Give `content`, or `secret_name` and " +
					"`secret_key` to take the content from a Secret in the namespace (for anything secret: `content` is " +
					fmt.Sprintf("stored in the template and in the Terraform state). Each path at most once; at most %d files. ", workerpool.MaxFiles) +
					"`[]` is the same as leaving it out: no files. Changing them is a rolling update.",
				Optional: true,
				NestedObject: schema.NestedAttributeObject{Attributes: map[string]schema.Attribute{
					"path": schema.StringAttribute{MarkdownDescription: fmt.Sprintf("Absolute path of the file, at most %d characters.", workerpool.MaxFilePathLength), Required: true, Validators: []validator.String{validators.FilePath()}},
					"content": schema.StringAttribute{MarkdownDescription: fmt.Sprintf("Content of the file, at most %d bytes, in `encoding` "+
						"(not empty: leave out content and secret_name for an empty file).", workerpool.MaxFileContentLength), Optional: true,
						Validators: []validator.String{nonEmpty, stringvalidator.ConflictsWith(path.MatchRelative().AtParent().AtName("secret_name"))}},
					"secret_name": schema.StringAttribute{MarkdownDescription: "Secret in the namespace that holds the content.", Optional: true, Validators: []validator.String{validators.DNS1123Subdomain(), stringvalidator.AlsoRequires(path.MatchRelative().AtParent().AtName("secret_key"))}},
					"secret_key":  schema.StringAttribute{MarkdownDescription: "Key of the content in the Secret.", Optional: true, Validators: []validator.String{validators.SecretKey(), stringvalidator.AlsoRequires(path.MatchRelative().AtParent().AtName("secret_name"))}},
					"owner":       schema.StringAttribute{MarkdownDescription: "Owner, `user` or `user:group`, e.g. `root:root`.", Optional: true, Validators: []validator.String{validators.FileOwner()}},
					"permissions": schema.StringAttribute{MarkdownDescription: "Permissions in octal, e.g. `0644`.", Optional: true, Validators: []validator.String{validators.FilePermissions()}},
					"encoding": schema.StringAttribute{MarkdownDescription: "Encoding of `content`: `base64` (write it with `base64encode()`) or " +
						"`gzip+base64` (`base64gzip()`); `gzip` only with `secret_name`, as Terraform strings cannot hold gzip data. " +
						"Inline content is checked against it at plan. Default: plain text.", Optional: true, Validators: []validator.String{stringvalidator.OneOf(workerpool.FileEncodings...)}},
					"append": schema.BoolAttribute{MarkdownDescription: "Append to the file instead of replacing it. Default `false`.", Optional: true, Computed: true, Default: booldefault.StaticBool(false)},
				}},
				Validators: []validator.List{listvalidator.SizeAtMost(workerpool.MaxFiles)},
			},
			"pre_kubeadm_commands":  commandsAttribute("Commands run on each machine before `kubeadm join`."),
			"post_kubeadm_commands": commandsAttribute("Commands run on each machine after `kubeadm join`."),
			"infrastructure": schema.SingleNestedAttribute{
				MarkdownDescription: "The machines' infrastructure template, of any Cluster API infrastructure provider " +
					"installed in the management cluster.",
				Required: true,
				Attributes: map[string]schema.Attribute{
					"api_group": schema.StringAttribute{MarkdownDescription: "API group of the template kind, e.g. `infrastructure.cluster.x-k8s.io`. The version is the one the management cluster prefers.", Required: true, Validators: []validator.String{validators.DNS1123Subdomain()}},
					"kind":      schema.StringAttribute{MarkdownDescription: "Template kind, e.g. `OpenStackMachineTemplate`.", Required: true, Validators: []validator.String{stringvalidator.RegexMatches(kindPattern, "must be a Kubernetes kind such as OpenStackMachineTemplate")}},
					"spec": schema.StringAttribute{
						MarkdownDescription: "The machines' spec — what goes in the template's `spec.template.spec` — as a JSON " +
							"object: `jsonencode({ flavor = \"m1.large\", image = { filter = { name = \"ubuntu-2404-kube-v1.35.0\" } } })`. " +
							"The provider makes the template `<name>-<hash>`. Fields the provider's webhooks add are not drift.",
						Optional: true,
						Validators: []validator.String{
							validators.JSONObject(),
							stringvalidator.ExactlyOneOf(path.MatchRelative().AtParent().AtName("name")),
						},
					},
					"name": schema.StringAttribute{MarkdownDescription: "Name of an existing template in the namespace to use as it is. The provider neither changes nor deletes it.", Optional: true, Validators: []validator.String{validators.DNS1123Subdomain()}},
				},
			},
			"rollout": schema.SingleNestedAttribute{
				MarkdownDescription: "How machines are replaced when a template or the version changes. Default: Cluster API's " +
					"(`RollingUpdate`, one extra machine, none unavailable); `{}` is the same. `max_surge` and `max_unavailable` may " +
					"not both be `0` (or `0%`): the rollout could never progress.",
				Optional: true,
				Attributes: map[string]schema.Attribute{
					"strategy": schema.StringAttribute{MarkdownDescription: "`RollingUpdate`, or `OnDelete` (a machine is replaced only when someone deletes it; the wait then does not require machines to be up to date).",
						Optional: true, Validators: []validator.String{stringvalidator.OneOf(workerpool.StrategyRollingUpdate, workerpool.StrategyOnDelete)}},
					"max_surge":       intOrPercentAttribute("Machines above `replicas` during a rolling update.", validators.IntOrPercent()),
					"max_unavailable": intOrPercentAttribute("Machines that may be unavailable during a rolling update, at most `100%`.", validators.MaxUnavailable()),
				},
			},
			"health_check": schema.SingleNestedAttribute{
				MarkdownDescription: "A `MachineHealthCheck` named after the pool: Cluster API replaces machines whose Node does not come up, or shows an unhealthy condition for long enough.",
				Optional:            true,
				Attributes: map[string]schema.Attribute{
					"node_startup_timeout_seconds": schema.Int64Attribute{MarkdownDescription: "How long a machine may take to get a Node before it is replaced, at least 30. Default: Cluster API's (10 minutes); `0` disables the check.", Optional: true,
						Validators: []validator.Int64{validators.ZeroOrAtLeast(workerpool.MinNodeStartupTimeoutSeconds)}},
					"unhealthy_node_conditions": schema.ListNestedAttribute{
						MarkdownDescription: "Node conditions that make a machine unhealthy, e.g. `{ type = \"Ready\", status = \"False\", timeout_seconds = 300 }`. `[]` is the same as leaving it out.",
						Optional:            true,
						Validators:          []validator.List{listvalidator.SizeAtMost(workerpool.MaxNodeConditions)},
						NestedObject: schema.NestedAttributeObject{Attributes: map[string]schema.Attribute{
							"type":            schema.StringAttribute{MarkdownDescription: "Node condition type, e.g. `Ready`.", Required: true, Validators: []validator.String{nonEmpty}},
							"status":          schema.StringAttribute{MarkdownDescription: "`True`, `False` or `Unknown`.", Required: true, Validators: []validator.String{stringvalidator.OneOf("True", "False", "Unknown")}},
							"timeout_seconds": schema.Int64Attribute{MarkdownDescription: "How long the condition must hold.", Required: true, Validators: []validator.Int64{int64validator.Between(0, math.MaxInt32)}},
						}},
					},
					"max_unhealthy": intOrPercentAttribute("Stop remediating when more machines than this are unhealthy.", validators.IntOrPercent()),
				},
			},
			"wait_for_ready": schema.BoolAttribute{
				MarkdownDescription: "Wait, on create and update, until every machine is available and up to date. Default `true`.",
				Optional:            true,
				Computed:            true,
				Default:             booldefault.StaticBool(true),
			},
			"bootstrap_template_name": schema.StringAttribute{
				MarkdownDescription: "Name of the pool's `KubeadmConfigTemplate`, `<name>-<hash>`. A change in the plan means a rolling update.",
				Computed:            true,
			},
			"infrastructure_template_name": schema.StringAttribute{
				MarkdownDescription: "Name of the infrastructure template the machines are made from: `<name>-<hash>`, or `infrastructure.name`. A change in the plan means a rolling update.",
				Computed:            true,
			},
			"ready_replicas":      computedCount("Machines whose Node is ready"),
			"available_replicas":  computedCount("Machines available for at least their minimum ready time"),
			"up_to_date_replicas": computedCount("Machines made from the current templates and version"),
		},
		Blocks: map[string]schema.Block{
			"timeouts": timeouts.Block(ctx, timeouts.Opts{Create: true, Update: true, Delete: true}),
		},
	}
}

// commandsAttribute is a list of commands run on the machines, within Cluster API's bounds.
func commandsAttribute(description string) schema.ListAttribute {
	a := stringListAttribute(description+fmt.Sprintf(" At most %d, each at most %d characters. `[]` is the same as leaving it out. ", workerpool.MaxCommands, workerpool.MaxCommandLength)+
		"Changing them is a rolling update.", false, stringvalidator.LengthAtLeast(1), validators.Command())
	a.Validators = append(a.Validators, listvalidator.SizeAtMost(workerpool.MaxCommands))
	return a
}

var workerPoolSchemaType = sync.OnceValue(func() attr.Type { return workerPoolSchema(context.Background()).Type() })

// poolAttrTypes is attrTypes for qumulus_worker_pool.
func poolAttrTypes(names ...string) map[string]attr.Type {
	return schemaAttrTypes("qumulus_worker_pool", workerPoolSchemaType(), names...)
}
