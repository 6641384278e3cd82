package provider

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/hashicorp/terraform-plugin-framework-timeouts/resource/timeouts"
	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-framework/types"
	"github.com/hashicorp/terraform-plugin-log/tflog"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/qumulus/terraform-provider-qumulus/internal/kube"
	"github.com/qumulus/terraform-provider-qumulus/internal/validators"
	"github.com/qumulus/terraform-provider-qumulus/internal/workerpool"
)

var _ managedResource = (*workerPoolResource)(nil)

const (
	poolCreateTimeout = 30 * time.Minute
	poolUpdateTimeout = 60 * time.Minute
	poolDeleteTimeout = 30 * time.Minute

	// templateSettleTimeout is how long an apply waits, after the rollout, for Cluster API
	// to delete the old MachineSets so that their templates can go.
	templateSettleTimeout = 2 * time.Minute
)

// NewWorkerPoolResource is qumulus_worker_pool.
func NewWorkerPoolResource() resource.Resource {
	return &workerPoolResource{lifecycle[workerPoolModel, *workerpool.Client, workerpool.Status]{
		kind: "worker_pool", noun: "worker pool", schema: workerPoolSchema,
		create: poolCreateTimeout, update: poolUpdateTimeout, delete: poolDeleteTimeout,
		newClient: func(c *kube.Clients) *workerpool.Client {
			return &workerpool.Client{Kube: c.Kubernetes, Dynamic: c.Dynamic, Mapper: c.Mapper, NamespaceTenant: c.NamespaceTenant}
		},
		timeouts: func(m *workerPoolModel) timeouts.Value { return m.Timeouts },
		id:       func(m *workerPoolModel) string { return namespacedID(m.Namespace, m.Name) },
		apply:    applyPool,
		read:     readPool,
		remove:   removePool,
		diagnose: addPoolError,
	}}
}

type workerPoolResource struct {
	lifecycle[workerPoolModel, *workerpool.Client, workerpool.Status]
}

// ValidateConfig checks the rules that span attributes or list entries, as Cluster API's
// webhooks and the kubelet would at apply (the rules live in the workerpool package):
// min <= max, a rollout that can progress, no rolling-update settings with OnDelete, a
// health check that checks something, unique taints and file paths, inline file content
// in its encoding, and the number and size of the kubelet's flags.
func (r *workerPoolResource) ValidateConfig(ctx context.Context, req resource.ValidateConfigRequest, resp *resource.ValidateConfigResponse) {
	m, ok := r.configModel(ctx, req.Config, &resp.Diagnostics)
	if !ok {
		return
	}
	diags := &resp.Diagnostics
	var a autoscalingModel
	if objectAs(ctx, m.Autoscaling, &a, diags) && !a.Min.IsUnknown() && !a.Max.IsUnknown() {
		if err := workerpool.CheckAutoscaling(workerpool.Autoscaling{Min: a.Min.ValueInt64(), Max: a.Max.ValueInt64()}); err != nil {
			diags.AddAttributeError(path.Root("autoscaling").AtName("min"), "Autoscaling Minimum Above Maximum", "autoscaling."+err.Error()+".")
		}
	}
	validatePoolRollout(ctx, m, diags)
	var h healthCheckModel
	if objectAs(ctx, m.HealthCheck, &h, diags) && h.NodeStartupTimeoutSeconds.IsNull() &&
		(h.UnhealthyNodeConditions.IsNull() || (!h.UnhealthyNodeConditions.IsUnknown() && len(h.UnhealthyNodeConditions.Elements()) == 0)) {
		diags.AddAttributeError(path.Root("health_check"), "Health Check Checks Nothing",
			"health_check needs node_startup_timeout_seconds or unhealthy_node_conditions (or both), e.g. "+
				"unhealthy_node_conditions = [{ type = \"Ready\", status = \"False\", timeout_seconds = 300 }]. Remove health_check for no MachineHealthCheck.")
	}
	validatePoolTaints(ctx, m, diags)
	validatePoolFiles(ctx, m, diags)
	if isKnown(ctx, m.NodeLabels) {
		labels := mapOf(ctx, m.NodeLabels, diags)
		if err := workerpool.CheckNodeLabelsArg(labels); err != nil {
			diags.AddAttributeError(path.Root("node_labels"), "Node Labels Too Long", capitalize(err.Error())+".")
		}
		if isKnown(ctx, m.KubeletExtraArgs) {
			if err := workerpool.CheckKubeletArgCount(mapOf(ctx, m.KubeletExtraArgs, diags), labels); err != nil {
				diags.AddAttributeError(path.Root("kubelet_extra_args"), "Too Many Kubelet Flags", capitalize(err.Error())+".")
			}
		}
	}
}

func validatePoolRollout(ctx context.Context, m workerPoolModel, diags *diag.Diagnostics) {
	var ro rolloutModel
	if !objectAs(ctx, m.Rollout, &ro, diags) {
		return
	}
	if ro.Strategy.ValueString() == workerpool.StrategyOnDelete {
		for name, v := range map[string]types.String{"max_surge": ro.MaxSurge, "max_unavailable": ro.MaxUnavailable} {
			if !v.IsNull() {
				diags.AddAttributeError(path.Root("rollout").AtName(name), "Rolling Update Setting With OnDelete",
					fmt.Sprintf("rollout.%s only applies to strategy = \"RollingUpdate\"; with \"OnDelete\" machines are replaced when "+
						"someone deletes them. Remove it or change the strategy.", name))
			}
		}
		return
	}
	if ro.Strategy.IsUnknown() || ro.MaxSurge.IsUnknown() || ro.MaxUnavailable.IsUnknown() {
		return
	}
	err := workerpool.CheckRollout(workerpool.Rollout{Strategy: ro.Strategy.ValueString(), MaxSurge: ro.MaxSurge.ValueString(), MaxUnavailable: ro.MaxUnavailable.ValueString()})
	if err != nil {
		at := path.Root("rollout").AtName("max_unavailable")
		if ro.MaxUnavailable.IsNull() {
			at = path.Root("rollout").AtName("max_surge")
		}
		diags.AddAttributeError(at, "Rollout Can Never Progress", "rollout: "+err.Error()+". Cluster API refuses such a MachineDeployment.")
	}
}

// validatePoolTaints refuses two taints with one key and effect.
func validatePoolTaints(ctx context.Context, m workerPoolModel, diags *diag.Diagnostics) {
	if !isKnown(ctx, m.NodeTaints) || m.NodeTaints.IsNull() {
		return
	}
	var taints []taintModel
	diags.Append(m.NodeTaints.ElementsAs(ctx, &taints, false)...)
	var known []workerpool.Taint
	var index []int
	for i, t := range taints {
		if !t.Key.IsUnknown() && !t.Effect.IsUnknown() {
			known = append(known, workerpool.Taint{Key: t.Key.ValueString(), Effect: t.Effect.ValueString()})
			index = append(index, i)
		}
	}
	for _, d := range workerpool.CheckTaints(known) {
		first, second := index[d.First], index[d.Second]
		diags.AddAttributeError(path.Root("node_taints").AtListIndex(second), "Duplicate Node Taint",
			fmt.Sprintf("node_taints[%d] and node_taints[%d] have the same %s: Kubernetes refuses a Node with both, so the machines "+
				"would never register. Keep one, or give them different keys or effects.", first, second, d.What))
	}
}

// validatePoolFiles refuses two files with one path and inline content that is not in its
// declared encoding.
func validatePoolFiles(ctx context.Context, m workerPoolModel, diags *diag.Diagnostics) {
	if !isKnown(ctx, m.Files) || m.Files.IsNull() {
		return
	}
	var files []fileModel
	diags.Append(m.Files.ElementsAs(ctx, &files, false)...)
	var known []workerpool.File
	var index []int
	for i, f := range files {
		if !f.Content.IsNull() && !f.Content.IsUnknown() && !f.Encoding.IsUnknown() {
			if err := workerpool.CheckFileContent(f.Content.ValueString(), f.Encoding.ValueString()); err != nil {
				diags.AddAttributeError(path.Root("files").AtListIndex(i).AtName("content"), "Invalid File Content",
					fmt.Sprintf("files[%d].content: %s.", i, capitalize(err.Error())))
			}
		}
		if !f.Path.IsUnknown() {
			known = append(known, workerpool.File{Path: f.Path.ValueString()})
			index = append(index, i)
		}
	}
	for _, d := range workerpool.CheckFilePaths(known) {
		first, second := index[d.First], index[d.Second]
		diags.AddAttributeError(path.Root("files").AtListIndex(second).AtName("path"), "Duplicate File Path",
			fmt.Sprintf("files[%d].path: files[%d] and files[%d] have the same %s: Cluster API refuses a KubeadmConfigTemplate that "+
				"writes one path twice. Merge them into one file, or change one path.", second, first, second, d.What))
	}
}

// ModifyPlan fills in what is known before apply: the default version (the control
// plane's), the default replicas, the template names (hashes of the planned content), the
// counters a waited-for apply produces, and the ID; then it has the management cluster
// check the planned objects (see dryRunPlan).
func (r *workerPoolResource) ModifyPlan(ctx context.Context, req resource.ModifyPlanRequest, resp *resource.ModifyPlanResponse) {
	plan, config, state, ok := r.planAndState(ctx, req, &resp.Diagnostics)
	if !ok {
		return
	}
	if isKnown(ctx, plan.Namespace) && isKnown(ctx, plan.Name) {
		plan.ID = types.StringValue(plan.Namespace.ValueString() + "/" + plan.Name.ValueString())
	}

	// version: the control plane's unless set, so that the pool follows the cluster's upgrades.
	if config.Version.IsNull() {
		if v := r.controlPlaneVersion(ctx, plan); v != "" {
			plan.Version = types.StringValue(v)
			if state != nil && kube.SameVersion(state.Version.ValueString(), v) {
				plan.Version = state.Version
			}
		} else if state == nil {
			plan.Version = types.StringUnknown()
		}
	}

	// replicas: 1 unless set. While autoscaling the framework's plan stands: the state's
	// (the autoscaler's choice) when nothing changes, unknown otherwise.
	autoscaled := !config.Autoscaling.IsNull()
	if !autoscaled && config.Replicas.IsNull() {
		plan.Replicas = types.Int64Value(1)
	}

	// Template names: hashes of the planned content. A template that is gone has no name
	// in state, so this plans making it again.
	plan.BootstrapTemplateName = types.StringUnknown()
	plan.InfrastructureTemplateName = types.StringUnknown()
	if plan.templatesKnown(ctx) {
		if spec, diags := plan.spec(ctx); !diags.HasError() {
			plan.BootstrapTemplateName = types.StringValue(spec.BootstrapTemplateName())
			plan.InfrastructureTemplateName = types.StringValue(spec.InfrastructureTemplateName())
		}
	}

	// The framework marks computed values unknown only when the configuration changes;
	// a change made here (a default version following the control plane, the default
	// replicas, a template to make again) must do the same.
	if state != nil && (!plan.Version.Equal(state.Version) || !plan.Replicas.Equal(state.Replicas) ||
		!plan.BootstrapTemplateName.Equal(state.BootstrapTemplateName) || !plan.InfrastructureTemplateName.Equal(state.InfrastructureTemplateName)) {
		plan.ReadyReplicas, plan.AvailableReplicas, plan.UpToDateReplicas = types.Int64Unknown(), types.Int64Unknown(), types.Int64Unknown()
		if autoscaled {
			plan.Replicas = types.Int64Unknown()
		}
	}

	// Counters: on a change, what a waited-for apply ends with when that is known.
	if plan.ReadyReplicas.IsUnknown() && plan.WaitForReady.ValueBool() && !plan.WaitForReady.IsUnknown() &&
		!autoscaled && isKnown(ctx, plan.Replicas) && !plan.Replicas.IsNull() && !onDelete(ctx, plan) {
		plan.ReadyReplicas, plan.AvailableReplicas, plan.UpToDateReplicas = plan.Replicas, plan.Replicas, plan.Replicas
	}
	resp.Diagnostics.Append(r.setModel(ctx, &resp.Plan, &plan)...)
	r.dryRunPlan(ctx, req, resp, &plan, workerPoolFields, dryRunOf(plan.spec, (*workerpool.Client).Prepare, (*workerpool.Client).DryRun))
}

func onDelete(ctx context.Context, m workerPoolModel) bool {
	var ro rolloutModel
	var diags diag.Diagnostics
	return objectAs(ctx, m.Rollout, &ro, &diags) && ro.Strategy.ValueString() == workerpool.StrategyOnDelete
}

// controlPlaneVersion reads the version of the pool's control plane at plan time, or ""
// when it cannot be known yet (the cluster is created in the same apply, the connection
// is not known, or it fails: apply reports that).
func (r *workerPoolResource) controlPlaneVersion(ctx context.Context, plan workerPoolModel) string {
	if r.data == nil || !isKnown(ctx, plan.Namespace) || !isKnown(ctx, plan.ClusterName) {
		return ""
	}
	c, _, diags := r.readClient(&plan)
	if diags.HasError() {
		return ""
	}
	v, err := c.ControlPlaneVersion(ctx, plan.Namespace.ValueString(), plan.ClusterName.ValueString())
	if err != nil {
		tflog.Debug(ctx, "control plane version not known at plan", map[string]any{"error": err.Error()})
		return ""
	}
	if n, err := kube.NormalizeVersion(v); err == nil {
		return n
	}
	return ""
}

func poolKinds(ctx context.Context, m *workerPoolModel, diags *diag.Diagnostics) []schema.GroupKind {
	var infra infrastructureModel
	if objectAs(ctx, m.Infrastructure, &infra, diags) {
		return []schema.GroupKind{{Group: infra.APIGroup.ValueString(), Kind: infra.Kind.ValueString()}}
	}
	return nil
}

// applyPool writes the pool's objects, waits for the rollout (unless wait_for_ready is
// false) and removes the templates no MachineSet uses any more. A pool that did not
// become ready is still saved: its objects exist.
func applyPool(o *op[workerPoolModel, *workerpool.Client, workerpool.Status], prior *workerPoolModel) bool {
	spec, ok := prepared(o, prior == nil, o.plan.spec, o.client.Prepare, o.client.CheckFree)
	if !ok {
		return false
	}
	var previous []schema.GroupKind
	if prior != nil {
		previous = poolKinds(o.ctx, prior, o.diags)
	}
	o.info("applying the worker pool's objects", map[string]any{"cluster": spec.Cluster, "version": spec.Version,
		"bootstrap_template": spec.BootstrapTemplateName(), "infrastructure_template": spec.InfrastructureTemplateName()})
	if err := o.client.Apply(o.ctx, spec); err != nil {
		o.fail(err)
		// Templates made before the failure carry the pool's labels: the next apply (or a
		// destroy) removes the ones not used.
		return prior == nil
	}
	waiting := o.plan.WaitForReady.ValueBool()
	if waiting {
		err := waitReady(o, "worker pool", workerpool.Status.Describe,
			func(progress func(workerpool.Status)) (workerpool.Status, error) {
				return o.client.WaitReady(o.ctx, spec, progress)
			})
		if err != nil {
			o.fail(err)
			return true
		}
	}
	kinds := append([]schema.GroupKind{{Group: spec.Infrastructure.APIGroup, Kind: spec.Infrastructure.Kind}}, previous...)
	var inUse []string
	var err error
	if waiting {
		// Cluster API deletes the old MachineSets right after the rollout: give it a moment.
		settle, cancel := context.WithTimeout(o.ctx, templateSettleTimeout)
		inUse, err = o.client.RemoveTemplatesWhenUnused(settle, spec, kinds...)
		cancel()
	} else {
		inUse, err = o.client.RemoveUnusedTemplates(o.ctx, spec, kinds...)
	}
	if err != nil {
		o.fail(err)
	} else if len(inUse) > 0 && waiting {
		o.diags.AddWarning("Old Templates Still In Use",
			fmt.Sprintf("Worker pool %s/%s is ready, but MachineSets of earlier rollouts still use %s, so they were kept. Cluster API "+
				"deletes old MachineSets once they are scaled down; the next apply that changes the pool removes these templates.",
				spec.Namespace, spec.Name, strings.Join(inUse, ", ")))
	}
	return true
}

func readPool(ctx context.Context, c *workerpool.Client, m *workerPoolModel, _ *workerpool.Status, diags *diag.Diagnostics) error {
	o, err := c.Observe(ctx, m.Namespace.ValueString(), m.Name.ValueString())
	if err != nil {
		return err
	}
	diags.Append(m.fromObserved(ctx, o, *m)...)
	return nil
}

func removePool(ctx context.Context, c *workerpool.Client, state *workerPoolModel, diags *diag.Diagnostics) error {
	return c.Delete(ctx, state.Namespace.ValueString(), state.ClusterName.ValueString(), state.Name.ValueString(), poolKinds(ctx, state, diags)...)
}

func (r *workerPoolResource) ImportState(ctx context.Context, req resource.ImportStateRequest, resp *resource.ImportStateResponse) {
	namespace, name, ok := importNamespacedID(ctx, req.ID, validators.DNS1123Label(),
		"Import a worker pool as <namespace>/<name> (the MachineDeployment's), e.g. "+
			"`terraform import qumulus_worker_pool.workers tenant-acme/workers`", &resp.Diagnostics)
	if ok {
		setImported(ctx, &resp.State, map[string]any{"id": namespace + "/" + name, "namespace": namespace, "name": name, "wait_for_ready": true}, &resp.Diagnostics)
	}
}

// addPoolError turns an error of the workerpool package into a diagnostic that names the
// pool and what to do.
func addPoolError(diags *diag.Diagnostics, host string, m *workerPoolModel, action string, timeout time.Duration, err error) {
	var (
		namespace, name, clusterName = m.Namespace.ValueString(), m.Name.ValueString(), m.ClusterName.ValueString()
		clusterErr                   *workerpool.ClusterError
		versionErr                   *workerpool.VersionError
		notServed                    *workerpool.KindNotServedError
		template                     *workerpool.TemplateMissingError
		subject                      = fmt.Sprintf("worker pool %s/%s", namespace, name)
		inspect                      = fmt.Sprintf("kubectl -n %s describe machinedeployment %s; kubectl -n %s get machinesets,machines -l cluster.x-k8s.io/deployment-name=%s",
			namespace, name, namespace, name)
	)
	switch {
	case errors.As(err, &clusterErr) && clusterErr.Bare:
		diags.AddAttributeError(path.Root("cluster_name"), "Cluster Not In Cluster API Mode",
			fmt.Sprintf("Cluster %s/%s is a bare TenantControlPlane: worker pools need a cluster in Cluster API mode, whose "+
				"machines Cluster API joins to it. Add `cluster_api {}` to its qumulus_cluster (this replaces the cluster), or "+
				"join workers to it another way.", clusterErr.Namespace, clusterErr.Name))
	case errors.As(err, &clusterErr):
		diags.AddAttributeError(path.Root("cluster_name"), "Cluster Not Found",
			fmt.Sprintf("There is no Cluster API Cluster %s/%s in the management cluster at %s for %s. Set "+
				"cluster_name = qumulus_cluster.<name>.name (a cluster with cluster_api {}), so that Terraform also creates it first.",
				clusterErr.Namespace, clusterErr.Name, host, subject))
	case errors.As(err, &versionErr) && versionErr.Newer:
		diags.AddAttributeError(path.Root("version"), "Worker Version Newer Than Control Plane",
			fmt.Sprintf("%s asks for %s, but the control plane of cluster %s runs %s: kubelets must not be newer than their API "+
				"server. Upgrade the cluster first (set version = qumulus_cluster.<name>.version to move both in one apply), or "+
				"lower version.", capitalize(subject), versionErr.Pool, clusterName, versionErr.ControlPlane))
	case errors.As(err, &versionErr):
		diags.AddAttributeError(path.Root("version"), "Worker Version Too Old",
			fmt.Sprintf("%s asks for %s, but the control plane of cluster %s runs %s: kubelets may be at most %d minor versions "+
				"older than their API server. Raise version.", capitalize(subject), versionErr.Pool, clusterName, versionErr.ControlPlane, workerpool.MaxKubeletSkew))
	case errors.As(err, &notServed):
		diags.AddAttributeError(path.Root("infrastructure").AtName("kind"), "Infrastructure Template Kind Not Served",
			fmt.Sprintf("The management cluster at %s does not serve %s (API group %s), so %s cannot use it. Install that "+
				"Cluster API infrastructure provider, or correct infrastructure.api_group and infrastructure.kind.\n\n%s",
				host, notServed.Kind.Kind, notServed.Kind.Group, subject, notServed.Err))
	case errors.As(err, &template):
		diags.AddAttributeError(path.Root("infrastructure").AtName("name"), "Infrastructure Template Not Found",
			fmt.Sprintf("%s %s/%s, which %s refers to, does not exist. Create it first, correct infrastructure.name, or give "+
				"infrastructure.spec to let the provider make the template.", template.Kind.Kind, template.Namespace, template.Name, subject))
	default:
		objectErrors{
			title: "Worker Pool", subject: subject, importID: namespace + "/" + name,
			namespaceAdvice:  "Refer to the cluster (namespace = qumulus_cluster.<name>.namespace) so that Terraform creates it first.",
			unsupportedTitle: "Field Not Known To The Installed Cluster API",
			unsupportedAdvice: "Cluster API, or the infrastructure provider, is older than the field; for infrastructure.spec, the " +
				"field may be misspelled. Upgrade it, or remove the attribute or field named below.",
			notReady: func(e *kube.NotReadyError) (string, string) {
				return "Worker Pool Not Ready In Time", fmt.Sprintf("%s was applied, but its machines were not all available and up "+
					"to date within %s. Last seen: %s.\n\nInspect `%s`, the logs of Cluster API, of its kubeadm bootstrap provider "+
					"and of the infrastructure provider, and the quota of the infrastructure. %s",
					capitalize(subject), timeout, e.Last, inspect, untaintAdvice(action, "pool", "the rollout until it finishes"))
			},
			stuck: func(e *kube.StuckError) (string, string) {
				return "Worker Pool Not Deleted In Time", fmt.Sprintf("%s was deleted but is not gone after %s: %s.\n\nCluster API "+
					"drains and deletes the machines before it lets the MachineDeployment go; a Node that cannot be drained (a "+
					"PodDisruptionBudget) or an infrastructure provider that cannot delete a machine holds it. Inspect `%s`. Then "+
					"destroy again, or raise timeouts.delete.", capitalize(subject), timeout, strings.Join(e.Remaining, "; "), inspect)
			},
		}.add(diags, host, action, timeout, err)
	}
}
