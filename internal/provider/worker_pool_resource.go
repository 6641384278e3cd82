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

	"github.com/qumulus/terraform-provider-qumulus/internal/cluster"
	"github.com/qumulus/terraform-provider-qumulus/internal/validators"
	"github.com/qumulus/terraform-provider-qumulus/internal/workerpool"
)

var (
	_ resource.ResourceWithConfigure      = (*workerPoolResource)(nil)
	_ resource.ResourceWithImportState    = (*workerPoolResource)(nil)
	_ resource.ResourceWithModifyPlan     = (*workerPoolResource)(nil)
	_ resource.ResourceWithValidateConfig = (*workerPoolResource)(nil)
)

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
	return &workerPoolResource{}
}

type workerPoolResource struct {
	data *providerData
}

func (r *workerPoolResource) Metadata(_ context.Context, req resource.MetadataRequest, resp *resource.MetadataResponse) {
	resp.TypeName = req.ProviderTypeName + "_worker_pool"
}

func (r *workerPoolResource) Schema(ctx context.Context, _ resource.SchemaRequest, resp *resource.SchemaResponse) {
	resp.Schema = workerPoolSchema(ctx)
}

func (r *workerPoolResource) Configure(_ context.Context, req resource.ConfigureRequest, resp *resource.ConfigureResponse) {
	if data := providerDataFrom(req.ProviderData, &resp.Diagnostics); data != nil {
		r.data = data
	}
}

// ValidateConfig checks the rules that span attributes: min <= max, no rolling-update
// settings with OnDelete, a non-empty health check.
func (r *workerPoolResource) ValidateConfig(ctx context.Context, req resource.ValidateConfigRequest, resp *resource.ValidateConfigResponse) {
	var m workerPoolModel
	resp.Diagnostics.Append(req.Config.Get(ctx, &m)...)
	if resp.Diagnostics.HasError() {
		return
	}
	var a autoscalingModel
	if objectAs(ctx, m.Autoscaling, &a, &resp.Diagnostics) && !a.Min.IsUnknown() && !a.Max.IsUnknown() && a.Min.ValueInt64() > a.Max.ValueInt64() {
		resp.Diagnostics.AddAttributeError(path.Root("autoscaling").AtName("min"), "Autoscaling Minimum Above Maximum",
			fmt.Sprintf("autoscaling.min (%d) is larger than autoscaling.max (%d): the autoscaler could never satisfy it. Lower min or raise max.",
				a.Min.ValueInt64(), a.Max.ValueInt64()))
	}
	var ro rolloutModel
	if objectAs(ctx, m.Rollout, &ro, &resp.Diagnostics) && ro.Strategy.ValueString() == workerpool.StrategyOnDelete {
		for name, v := range map[string]types.String{"max_surge": ro.MaxSurge, "max_unavailable": ro.MaxUnavailable} {
			if !v.IsNull() {
				resp.Diagnostics.AddAttributeError(path.Root("rollout").AtName(name), "Rolling Update Setting With OnDelete",
					fmt.Sprintf("rollout.%s only applies to strategy = \"RollingUpdate\"; with \"OnDelete\" machines are replaced when "+
						"someone deletes them. Remove it or change the strategy.", name))
			}
		}
	}
	if !m.Rollout.IsNull() && !m.Rollout.IsUnknown() && ro.Strategy.IsNull() && ro.MaxSurge.IsNull() && ro.MaxUnavailable.IsNull() {
		resp.Diagnostics.AddAttributeError(path.Root("rollout"), "Rollout Sets Nothing",
			"rollout = {} sets nothing: give strategy, max_surge or max_unavailable, or remove rollout for Cluster API's defaults.")
	}
	var h healthCheckModel
	if objectAs(ctx, m.HealthCheck, &h, &resp.Diagnostics) && h.NodeStartupTimeoutSeconds.IsNull() && h.UnhealthyNodeConditions.IsNull() {
		resp.Diagnostics.AddAttributeError(path.Root("health_check"), "Health Check Checks Nothing",
			"health_check needs node_startup_timeout_seconds or unhealthy_node_conditions (or both), e.g. "+
				"unhealthy_node_conditions = [{ type = \"Ready\", status = \"False\", timeout_seconds = 300 }].")
	}
}

// ModifyPlan fills in what is known before apply: the default version (the control
// plane's), the default replicas, the template names (hashes of the planned content), the
// counters a waited-for apply produces, and the ID.
func (r *workerPoolResource) ModifyPlan(ctx context.Context, req resource.ModifyPlanRequest, resp *resource.ModifyPlanResponse) {
	if req.Plan.Raw.IsNull() {
		return
	}
	var plan, config workerPoolModel
	resp.Diagnostics.Append(req.Plan.Get(ctx, &plan)...)
	resp.Diagnostics.Append(req.Config.Get(ctx, &config)...)
	if resp.Diagnostics.HasError() {
		return
	}
	var state *workerPoolModel
	if !req.State.Raw.IsNull() {
		state = &workerPoolModel{}
		resp.Diagnostics.Append(req.State.Get(ctx, state)...)
		if resp.Diagnostics.HasError() {
			return
		}
	}
	if isKnown(ctx, plan.Namespace) && isKnown(ctx, plan.Name) {
		plan.ID = types.StringValue(plan.Namespace.ValueString() + "/" + plan.Name.ValueString())
	}

	// version: the control plane's unless set, so that the pool follows the cluster's upgrades.
	if config.Version.IsNull() {
		if v := r.controlPlaneVersion(ctx, plan); v != "" {
			plan.Version = types.StringValue(v)
			if state != nil && cluster.SameVersion(state.Version.ValueString(), v) {
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
	resp.Diagnostics.Append(resp.Plan.Set(ctx, &plan)...)
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
	c, _, diags := r.client("qumulus_worker_pool." + plan.Name.ValueString())
	if diags.HasError() {
		return ""
	}
	v, err := c.ControlPlaneVersion(ctx, plan.Namespace.ValueString(), plan.ClusterName.ValueString())
	if err != nil {
		tflog.Debug(ctx, "control plane version not known at plan", map[string]any{"error": err.Error()})
		return ""
	}
	if n, err := cluster.NormalizeVersion(v); err == nil {
		return n
	}
	return ""
}

func (r *workerPoolResource) client(subject string) (*workerpool.Client, string, diag.Diagnostics) {
	clients, diags := r.data.managementClients(subject)
	if diags.HasError() {
		return nil, "", diags
	}
	return &workerpool.Client{Kube: clients.Kubernetes, Dynamic: clients.Dynamic, Mapper: clients.Mapper}, clients.REST.Host, nil
}

type poolApplying struct {
	plan    workerPoolModel
	spec    workerpool.Spec
	client  *workerpool.Client
	host    string
	timeout time.Duration
	ctx     context.Context
	cancel  context.CancelFunc
}

func (r *workerPoolResource) prepare(ctx context.Context, action string, planned tfsdkGetter, timeout func(timeouts.Value) (time.Duration, diag.Diagnostics), diags *diag.Diagnostics) *poolApplying {
	var a poolApplying
	diags.Append(planned.Get(ctx, &a.plan)...)
	if diags.HasError() {
		return nil
	}
	d, tdiags := timeout(a.plan.Timeouts)
	diags.Append(tdiags...)
	spec, sdiags := a.plan.spec(ctx)
	diags.Append(sdiags...)
	c, host, cdiags := r.client("qumulus_worker_pool." + a.plan.Name.ValueString())
	diags.Append(cdiags...)
	if diags.HasError() {
		return nil
	}
	a.spec, a.client, a.host, a.timeout = spec, c, host, d
	a.ctx, a.cancel = context.WithTimeout(ctx, d)
	if err := c.Prepare(a.ctx, &a.spec); err != nil {
		addPoolError(diags, host, a.spec, action, d, err)
		a.cancel()
		return nil
	}
	return &a
}

func (r *workerPoolResource) Create(ctx context.Context, req resource.CreateRequest, resp *resource.CreateResponse) {
	a := r.prepare(ctx, "creating", req.Plan, func(t timeouts.Value) (time.Duration, diag.Diagnostics) {
		return t.Create(ctx, poolCreateTimeout)
	}, &resp.Diagnostics)
	if a == nil {
		return
	}
	defer a.cancel()
	if err := a.client.CheckFree(a.ctx, a.spec); err != nil {
		addPoolError(&resp.Diagnostics, a.host, a.spec, "creating", a.timeout, err)
		return
	}
	tflog.Info(a.ctx, "creating worker pool", map[string]any{"pool": a.spec.Namespace + "/" + a.spec.Name, "cluster": a.spec.Cluster, "version": a.spec.Version})
	if err := a.client.Apply(a.ctx, a.spec); err != nil {
		addPoolError(&resp.Diagnostics, a.host, a.spec, "creating", a.timeout, err)
		// Templates made before the failure carry the pool's labels: the next apply (or a
		// destroy) removes the ones not used.
		r.saveObserved(ctx, a, &resp.State, &resp.Diagnostics)
		return
	}
	r.waitAndSave(ctx, a, "creating", nil, &resp.State, &resp.Diagnostics)
}

func (r *workerPoolResource) Update(ctx context.Context, req resource.UpdateRequest, resp *resource.UpdateResponse) {
	a := r.prepare(ctx, "updating", req.Plan, func(t timeouts.Value) (time.Duration, diag.Diagnostics) {
		return t.Update(ctx, poolUpdateTimeout)
	}, &resp.Diagnostics)
	if a == nil {
		return
	}
	defer a.cancel()
	var state workerPoolModel
	resp.Diagnostics.Append(req.State.Get(ctx, &state)...)
	var previous []schema.GroupKind
	var infra infrastructureModel
	if objectAs(ctx, state.Infrastructure, &infra, &resp.Diagnostics) {
		previous = append(previous, schema.GroupKind{Group: infra.APIGroup.ValueString(), Kind: infra.Kind.ValueString()})
	}
	tflog.Info(a.ctx, "updating worker pool", map[string]any{"pool": a.spec.Namespace + "/" + a.spec.Name, "version": a.spec.Version,
		"bootstrap_template": a.spec.BootstrapTemplateName(), "infrastructure_template": a.spec.InfrastructureTemplateName()})
	if err := a.client.Apply(a.ctx, a.spec); err != nil {
		addPoolError(&resp.Diagnostics, a.host, a.spec, "updating", a.timeout, err)
		return
	}
	r.waitAndSave(ctx, a, "updating", previous, &resp.State, &resp.Diagnostics)
}

// waitAndSave waits for the rollout (unless wait_for_ready is false), removes templates
// no MachineSet uses any more, and saves what the pool looks like. A pool that did not
// become ready is still saved: its objects exist.
func (r *workerPoolResource) waitAndSave(ctx context.Context, a *poolApplying, action string, previous []schema.GroupKind, into stateSetter, diags *diag.Diagnostics) {
	name := a.spec.Namespace + "/" + a.spec.Name
	if a.plan.WaitForReady.ValueBool() {
		started := time.Now()
		status, err := a.client.WaitReady(a.ctx, a.spec, func(s workerpool.Status) {
			tflog.Info(a.ctx, "waiting for the worker pool", map[string]any{
				"pool": name, "detail": s.Describe(), "elapsed": time.Since(started).Round(time.Second).String(),
			})
		})
		if err != nil {
			addPoolError(diags, a.host, a.spec, action, a.timeout, err)
			r.saveObserved(ctx, a, into, diags)
			return
		}
		tflog.Info(a.ctx, "worker pool ready", map[string]any{"pool": name, "detail": status.Describe(), "elapsed": time.Since(started).Round(time.Second).String()})
	}
	kinds := append([]schema.GroupKind{{Group: a.spec.Infrastructure.APIGroup, Kind: a.spec.Infrastructure.Kind}}, previous...)
	var inUse []string
	var err error
	if a.plan.WaitForReady.ValueBool() {
		// Cluster API deletes the old MachineSets right after the rollout: give it a moment.
		settle, cancel := context.WithTimeout(a.ctx, templateSettleTimeout)
		inUse, err = a.client.RemoveTemplatesWhenUnused(settle, a.spec, kinds...)
		cancel()
	} else {
		inUse, err = a.client.RemoveUnusedTemplates(a.ctx, a.spec, kinds...)
	}
	if err != nil {
		addPoolError(diags, a.host, a.spec, action, a.timeout, err)
	} else if len(inUse) > 0 && a.plan.WaitForReady.ValueBool() {
		diags.AddWarning("Old Templates Still In Use",
			fmt.Sprintf("Worker pool %s is ready, but MachineSets of earlier rollouts still use %s, so they were kept. Cluster API "+
				"deletes old MachineSets once they are scaled down; the next apply that changes the pool removes these templates.",
				name, strings.Join(inUse, ", ")))
	}
	r.saveObserved(ctx, a, into, diags)
}

// saveObserved reads the pool back into state.
func (r *workerPoolResource) saveObserved(ctx context.Context, a *poolApplying, into stateSetter, diags *diag.Diagnostics) {
	readCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Minute)
	defer cancel()
	o, err := a.client.Observe(readCtx, a.spec.Namespace, a.spec.Name)
	if errors.Is(err, workerpool.ErrNotFound) {
		return
	}
	if err != nil {
		if !diags.HasError() {
			addPoolError(diags, a.host, a.spec, "reading", a.timeout, err)
		}
		return
	}
	next := a.plan
	diags.Append(next.fromObserved(ctx, o, a.plan)...)
	diags.Append(into.Set(ctx, &next)...)
}

func (r *workerPoolResource) Read(ctx context.Context, req resource.ReadRequest, resp *resource.ReadResponse) {
	var state workerPoolModel
	resp.Diagnostics.Append(req.State.Get(ctx, &state)...)
	if resp.Diagnostics.HasError() {
		return
	}
	c, host, diags := r.client("qumulus_worker_pool." + state.Name.ValueString())
	resp.Diagnostics.Append(diags...)
	if resp.Diagnostics.HasError() {
		return
	}
	namespace, name := state.Namespace.ValueString(), state.Name.ValueString()
	o, err := c.Observe(ctx, namespace, name)
	if errors.Is(err, workerpool.ErrNotFound) {
		tflog.Warn(ctx, "worker pool is gone; removing it from state", map[string]any{"pool": namespace + "/" + name})
		resp.State.RemoveResource(ctx)
		return
	}
	if err != nil {
		addPoolError(&resp.Diagnostics, host, workerpool.Spec{Namespace: namespace, Name: name, Cluster: state.ClusterName.ValueString()}, "reading", 0, err)
		return
	}
	next := state
	resp.Diagnostics.Append(next.fromObserved(ctx, o, state)...)
	resp.Diagnostics.Append(resp.State.Set(ctx, &next)...)
}

func (r *workerPoolResource) Delete(ctx context.Context, req resource.DeleteRequest, resp *resource.DeleteResponse) {
	var state workerPoolModel
	resp.Diagnostics.Append(req.State.Get(ctx, &state)...)
	if resp.Diagnostics.HasError() {
		return
	}
	timeout, diags := state.Timeouts.Delete(ctx, poolDeleteTimeout)
	resp.Diagnostics.Append(diags...)
	c, host, diags := r.client("qumulus_worker_pool." + state.Name.ValueString())
	resp.Diagnostics.Append(diags...)
	if resp.Diagnostics.HasError() {
		return
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	s := workerpool.Spec{Namespace: state.Namespace.ValueString(), Cluster: state.ClusterName.ValueString(), Name: state.Name.ValueString()}
	var kinds []schema.GroupKind
	var infra infrastructureModel
	if objectAs(ctx, state.Infrastructure, &infra, &resp.Diagnostics) {
		kinds = append(kinds, schema.GroupKind{Group: infra.APIGroup.ValueString(), Kind: infra.Kind.ValueString()})
	}
	tflog.Info(ctx, "deleting worker pool", map[string]any{"pool": s.Namespace + "/" + s.Name})
	if err := c.Delete(ctx, s.Namespace, s.Cluster, s.Name, kinds...); err != nil {
		addPoolError(&resp.Diagnostics, host, s, "deleting", timeout, err)
	}
}

func (r *workerPoolResource) ImportState(ctx context.Context, req resource.ImportStateRequest, resp *resource.ImportStateResponse) {
	namespace, name, ok := strings.Cut(req.ID, "/")
	validateString(ctx, validators.DNS1123Label(), path.Root("namespace"), types.StringValue(namespace), &resp.Diagnostics)
	validateString(ctx, validators.DNS1123Label(), path.Root("name"), types.StringValue(name), &resp.Diagnostics)
	if !ok || resp.Diagnostics.HasError() {
		resp.Diagnostics.AddError("Invalid Import ID",
			fmt.Sprintf("Import a worker pool as <namespace>/<name> (the MachineDeployment's), e.g. "+
				"`terraform import qumulus_worker_pool.workers tenant-acme/workers`; got %q.", req.ID))
		return
	}
	for attr, v := range map[string]any{"id": namespace + "/" + name, "namespace": namespace, "name": name, "wait_for_ready": true} {
		resp.Diagnostics.Append(resp.State.SetAttribute(ctx, path.Root(attr), v)...)
	}
}

// addPoolError turns an error of the workerpool package into a diagnostic that names the
// pool and what to do.
func addPoolError(diags *diag.Diagnostics, host string, s workerpool.Spec, action string, timeout time.Duration, err error) {
	var (
		missing     *cluster.NamespaceMissingError
		clusterErr  *workerpool.ClusterError
		versionErr  *workerpool.VersionError
		notServed   *workerpool.KindNotServedError
		template    *workerpool.TemplateMissingError
		exists      *cluster.ExistsError
		unsupported *cluster.UnsupportedFieldError
		notReady    *workerpool.NotReadyError
		stuck       *cluster.StuckError
		subject     = fmt.Sprintf("worker pool %s/%s", s.Namespace, s.Name)
		Subject     = "Worker pool " + s.Namespace + "/" + s.Name
		inspect     = fmt.Sprintf("kubectl -n %s describe machinedeployment %s; kubectl -n %s get machinesets,machines -l cluster.x-k8s.io/deployment-name=%s",
			s.Namespace, s.Name, s.Namespace, s.Name)
	)
	switch {
	case errors.As(err, &missing):
		diags.AddAttributeError(path.Root("namespace"), "Tenant Namespace Not Found",
			fmt.Sprintf("Namespace %s does not exist in the management cluster at %s, so %s cannot be made in it. Refer to the "+
				"cluster (namespace = qumulus_cluster.<name>.namespace) so that Terraform creates it first.", missing.Namespace, host, subject))
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
				"lower version.", Subject, versionErr.Pool, s.Cluster, versionErr.ControlPlane))
	case errors.As(err, &versionErr):
		diags.AddAttributeError(path.Root("version"), "Worker Version Too Old",
			fmt.Sprintf("%s asks for %s, but the control plane of cluster %s runs %s: kubelets may be at most %d minor versions "+
				"older than their API server. Raise version.", Subject, versionErr.Pool, s.Cluster, versionErr.ControlPlane, workerpool.MaxKubeletSkew))
	case errors.As(err, &notServed):
		diags.AddAttributeError(path.Root("infrastructure").AtName("kind"), "Infrastructure Template Kind Not Served",
			fmt.Sprintf("The management cluster at %s does not serve %s (API group %s), so %s cannot use it. Install that "+
				"Cluster API infrastructure provider, or correct infrastructure.api_group and infrastructure.kind.\n\n%s",
				host, notServed.Kind.Kind, notServed.Kind.Group, subject, notServed.Err))
	case errors.As(err, &template):
		diags.AddAttributeError(path.Root("infrastructure").AtName("name"), "Infrastructure Template Not Found",
			fmt.Sprintf("%s %s/%s, which %s refers to, does not exist. Create it first, correct infrastructure.name, or give "+
				"infrastructure.spec to let the provider make the template.", template.Kind.Kind, template.Namespace, template.Name, subject))
	case errors.As(err, &exists):
		addExistsError(diags, "Worker Pool Already Exists", subject, exists, s.Namespace+"/"+s.Name)
	case errors.As(err, &unsupported):
		diags.AddError("Field Not Known To The Installed Cluster API",
			fmt.Sprintf("The management cluster at %s refused %s: the %s CRD installed there does not know a field the "+
				"configuration sets (Cluster API, or the infrastructure provider, is older than the field; for infrastructure.spec, "+
				"the field may be misspelled). Upgrade it, or remove the attribute or field named below.\n\n%s",
				host, subject, unsupported.Object, unsupported.Err))
	case errors.As(err, &notReady):
		next := "The pool is saved as tainted: the next apply replaces it. To keep it and wait again instead, run " +
			"`terraform untaint <address>` and apply (raise timeouts.create if it needs longer)."
		if action != "creating" {
			next = "The configuration is applied and saved; the next plan will not wait again. Watch the rollout until it " +
				"finishes (raise timeouts.update for next time), or set wait_for_ready = false."
		}
		diags.AddError("Worker Pool Not Ready In Time",
			fmt.Sprintf("%s was applied, but its machines were not all available and up to date within %s. Last seen: %s.\n\n"+
				"Inspect `%s`, the logs of Cluster API, of its kubeadm bootstrap provider and of the infrastructure provider, and "+
				"the quota of the infrastructure. %s", Subject, timeout, notReady.Last.Describe(), inspect, next))
	case errors.As(err, &stuck):
		diags.AddError("Worker Pool Not Deleted In Time",
			fmt.Sprintf("%s was deleted but is not gone after %s: %s.\n\nCluster API drains and deletes the machines before it "+
				"lets the MachineDeployment go; a Node that cannot be drained (a PodDisruptionBudget) or an infrastructure "+
				"provider that cannot delete a machine holds it. Inspect `%s`. Then destroy again, or raise timeouts.delete.",
				Subject, timeout, strings.Join(stuck.Remaining, "; "), inspect))
	default:
		addTimeoutOrAPIError(diags, "Worker Pool Timed Out", host, subject, action, timeout, err)
	}
}
