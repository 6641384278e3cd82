package provider

import (
	"context"

	"github.com/hashicorp/terraform-plugin-framework-timeouts/resource/timeouts"
	"github.com/hashicorp/terraform-plugin-framework/attr"
	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/types"

	"github.com/qumulus/terraform-provider-qumulus/internal/kube"
	"github.com/qumulus/terraform-provider-qumulus/internal/workerpool"
)

type workerPoolModel struct {
	ID                         types.String   `tfsdk:"id"`
	Namespace                  types.String   `tfsdk:"namespace"`
	ClusterName                types.String   `tfsdk:"cluster_name"`
	Name                       types.String   `tfsdk:"name"`
	Version                    types.String   `tfsdk:"version"`
	Replicas                   types.Int64    `tfsdk:"replicas"`
	Autoscaling                types.Object   `tfsdk:"autoscaling"`
	FailureDomain              types.String   `tfsdk:"failure_domain"`
	NodeLabels                 types.Map      `tfsdk:"node_labels"`
	NodeTaints                 types.List     `tfsdk:"node_taints"`
	KubeletExtraArgs           types.Map      `tfsdk:"kubelet_extra_args"`
	Files                      types.List     `tfsdk:"files"`
	PreKubeadmCommands         types.List     `tfsdk:"pre_kubeadm_commands"`
	PostKubeadmCommands        types.List     `tfsdk:"post_kubeadm_commands"`
	Infrastructure             types.Object   `tfsdk:"infrastructure"`
	Rollout                    types.Object   `tfsdk:"rollout"`
	HealthCheck                types.Object   `tfsdk:"health_check"`
	WaitForReady               types.Bool     `tfsdk:"wait_for_ready"`
	BootstrapTemplateName      types.String   `tfsdk:"bootstrap_template_name"`
	InfrastructureTemplateName types.String   `tfsdk:"infrastructure_template_name"`
	ReadyReplicas              types.Int64    `tfsdk:"ready_replicas"`
	AvailableReplicas          types.Int64    `tfsdk:"available_replicas"`
	UpToDateReplicas           types.Int64    `tfsdk:"up_to_date_replicas"`
	Timeouts                   timeouts.Value `tfsdk:"timeouts"`
}

type autoscalingModel struct {
	Min types.Int64 `tfsdk:"min"`
	Max types.Int64 `tfsdk:"max"`
}

type taintModel struct {
	Key    types.String `tfsdk:"key"`
	Value  types.String `tfsdk:"value"`
	Effect types.String `tfsdk:"effect"`
}

type fileModel struct {
	Path        types.String `tfsdk:"path"`
	Content     types.String `tfsdk:"content"`
	SecretName  types.String `tfsdk:"secret_name"`
	SecretKey   types.String `tfsdk:"secret_key"`
	Owner       types.String `tfsdk:"owner"`
	Permissions types.String `tfsdk:"permissions"`
	Encoding    types.String `tfsdk:"encoding"`
	Append      types.Bool   `tfsdk:"append"`
}

type infrastructureModel struct {
	APIGroup types.String `tfsdk:"api_group"`
	Kind     types.String `tfsdk:"kind"`
	Spec     types.String `tfsdk:"spec"`
	Name     types.String `tfsdk:"name"`
}

type rolloutModel struct {
	Strategy       types.String `tfsdk:"strategy"`
	MaxSurge       types.String `tfsdk:"max_surge"`
	MaxUnavailable types.String `tfsdk:"max_unavailable"`
}

type healthCheckModel struct {
	NodeStartupTimeoutSeconds types.Int64  `tfsdk:"node_startup_timeout_seconds"`
	UnhealthyNodeConditions   types.List   `tfsdk:"unhealthy_node_conditions"`
	MaxUnhealthy              types.String `tfsdk:"max_unhealthy"`
}

type nodeConditionModel struct {
	Type           types.String `tfsdk:"type"`
	Status         types.String `tfsdk:"status"`
	TimeoutSeconds types.Int64  `tfsdk:"timeout_seconds"`
}

// templatesKnown reports whether everything that goes into the generated templates is
// known, so that their names can be computed at plan.
func (m workerPoolModel) templatesKnown(ctx context.Context) bool {
	for _, v := range []attr.Value{m.Name, m.NodeLabels, m.NodeTaints, m.KubeletExtraArgs, m.Files, m.PreKubeadmCommands, m.PostKubeadmCommands, m.Infrastructure} {
		if !isKnown(ctx, v) {
			return false
		}
	}
	return true
}

// spec maps the model to the pool. Unknown values are left out; the version is normalised
// ("" when not set: the control plane's).
func (m workerPoolModel) spec(ctx context.Context) (workerpool.Spec, diag.Diagnostics) {
	var diags diag.Diagnostics
	s := workerpool.Spec{
		Namespace:           m.Namespace.ValueString(),
		Cluster:             m.ClusterName.ValueString(),
		Name:                m.Name.ValueString(),
		FailureDomain:       m.FailureDomain.ValueString(),
		NodeLabels:          mapOf(ctx, m.NodeLabels, &diags),
		KubeletExtraArgs:    mapOf(ctx, m.KubeletExtraArgs, &diags),
		PreKubeadmCommands:  listOf(ctx, m.PreKubeadmCommands, &diags),
		PostKubeadmCommands: listOf(ctx, m.PostKubeadmCommands, &diags),
	}
	if v := m.Version.ValueString(); v != "" && !m.Version.IsUnknown() {
		if n, err := kube.NormalizeVersion(v); err == nil {
			s.Version = n
		}
	}
	var a autoscalingModel
	if objectAs(ctx, m.Autoscaling, &a, &diags) {
		s.Autoscaling = &workerpool.Autoscaling{Min: a.Min.ValueInt64(), Max: a.Max.ValueInt64()}
	} else {
		s.Replicas = int64Ptr(m.Replicas)
	}
	if !m.NodeTaints.IsNull() && !m.NodeTaints.IsUnknown() {
		var taints []taintModel
		diags.Append(m.NodeTaints.ElementsAs(ctx, &taints, false)...)
		s.NodeTaints = []workerpool.Taint{}
		for _, t := range taints {
			s.NodeTaints = append(s.NodeTaints, workerpool.Taint{Key: t.Key.ValueString(), Value: t.Value.ValueString(), Effect: t.Effect.ValueString()})
		}
	}
	if !m.Files.IsNull() && !m.Files.IsUnknown() {
		var files []fileModel
		diags.Append(m.Files.ElementsAs(ctx, &files, false)...)
		for _, f := range files {
			s.Files = append(s.Files, workerpool.File{
				Path: f.Path.ValueString(), Content: f.Content.ValueString(), SecretName: f.SecretName.ValueString(), SecretKey: f.SecretKey.ValueString(),
				Owner: f.Owner.ValueString(), Permissions: f.Permissions.ValueString(), Encoding: f.Encoding.ValueString(), Append: f.Append.ValueBool(),
			})
		}
	}
	var infra infrastructureModel
	if objectAs(ctx, m.Infrastructure, &infra, &diags) {
		s.Infrastructure = workerpool.Infrastructure{APIGroup: infra.APIGroup.ValueString(), Kind: infra.Kind.ValueString(), Name: infra.Name.ValueString()}
		if !infra.Spec.IsNull() && !infra.Spec.IsUnknown() {
			canonical, err := workerpool.CanonicalJSON(infra.Spec.ValueString())
			if err != nil {
				diags.AddError("Template Spec Is Not A JSON Object", "infrastructure.spec: "+err.Error())
			}
			s.Infrastructure.Spec = canonical
		}
	}
	var r rolloutModel
	if objectAs(ctx, m.Rollout, &r, &diags) {
		s.Rollout = &workerpool.Rollout{Strategy: r.Strategy.ValueString(), MaxSurge: r.MaxSurge.ValueString(), MaxUnavailable: r.MaxUnavailable.ValueString()}
	}
	var h healthCheckModel
	if objectAs(ctx, m.HealthCheck, &h, &diags) {
		s.HealthCheck = &workerpool.HealthCheck{NodeStartupTimeoutSeconds: int64Ptr(h.NodeStartupTimeoutSeconds), MaxUnhealthy: h.MaxUnhealthy.ValueString()}
		if !h.UnhealthyNodeConditions.IsNull() && !h.UnhealthyNodeConditions.IsUnknown() {
			var conds []nodeConditionModel
			diags.Append(h.UnhealthyNodeConditions.ElementsAs(ctx, &conds, false)...)
			for _, c := range conds {
				s.HealthCheck.UnhealthyNodeConditions = append(s.HealthCheck.UnhealthyNodeConditions, workerpool.NodeCondition{
					Type: c.Type.ValueString(), Status: c.Status.ValueString(), TimeoutSeconds: c.TimeoutSeconds.ValueInt64(),
				})
			}
		}
	}
	return s, diags
}

// fromObserved writes what the management cluster has into the model. prior (the state
// before, or the plan after an apply) decides the spelling of equal values: the version
// as written, an infrastructure spec the template still contains, null instead of empty.
func (m *workerPoolModel) fromObserved(ctx context.Context, o *workerpool.Observed, prior workerPoolModel) diag.Diagnostics {
	var diags diag.Diagnostics
	s := o.Spec
	m.ID = types.StringValue(s.Namespace + "/" + s.Name)
	m.Namespace = types.StringValue(s.Namespace)
	m.Name = types.StringValue(s.Name)
	m.ClusterName = types.StringValue(s.Cluster)
	m.Version = types.StringValue(s.Version)
	if !prior.Version.IsNull() && !prior.Version.IsUnknown() && kube.SameVersion(prior.Version.ValueString(), s.Version) {
		m.Version = prior.Version
	}
	m.Replicas = int64Value(s.Replicas)
	m.Autoscaling = types.ObjectNull(poolAttrTypes("autoscaling"))
	if a := s.Autoscaling; a != nil {
		m.Autoscaling = objectValue(ctx, poolAttrTypes("autoscaling"), autoscalingModel{Min: types.Int64Value(a.Min), Max: types.Int64Value(a.Max)}, &diags)
	}
	m.FailureDomain = optionalString(s.FailureDomain)
	m.NodeLabels = stringMap(s.NodeLabels, prior.NodeLabels)
	m.KubeletExtraArgs = stringMap(s.KubeletExtraArgs, prior.KubeletExtraArgs)
	m.PreKubeadmCommands = listValue(s.PreKubeadmCommands, prior.PreKubeadmCommands)
	m.PostKubeadmCommands = listValue(s.PostKubeadmCommands, prior.PostKubeadmCommands)

	taintType := poolAttrTypes("node_taints")
	m.NodeTaints = types.ListNull(types.ObjectType{AttrTypes: taintType})
	if s.NodeTaints != nil && (len(s.NodeTaints) > 0 || !prior.NodeTaints.IsNull()) {
		taints := make([]taintModel, 0, len(s.NodeTaints))
		for _, t := range s.NodeTaints {
			taints = append(taints, taintModel{Key: types.StringValue(t.Key), Value: optionalString(t.Value), Effect: types.StringValue(t.Effect)})
		}
		l, d := types.ListValueFrom(ctx, types.ObjectType{AttrTypes: taintType}, taints)
		diags.Append(d...)
		m.NodeTaints = l
	}
	fileType := poolAttrTypes("files")
	m.Files = types.ListNull(types.ObjectType{AttrTypes: fileType})
	// files = [] means no files, and stays [] as written.
	if len(s.Files) > 0 || (!prior.Files.IsNull() && !prior.Files.IsUnknown()) {
		files := make([]fileModel, 0, len(s.Files))
		for _, f := range s.Files {
			fm := fileModel{
				Path: types.StringValue(f.Path), Content: optionalString(f.Content), SecretName: optionalString(f.SecretName), SecretKey: optionalString(f.SecretKey),
				Owner: optionalString(f.Owner), Permissions: optionalString(f.Permissions), Encoding: optionalString(f.Encoding), Append: types.BoolValue(f.Append),
			}
			files = append(files, fm)
		}
		l, d := types.ListValueFrom(ctx, types.ObjectType{AttrTypes: fileType}, files)
		diags.Append(d...)
		m.Files = l
	}

	var priorInfra infrastructureModel
	objectAs(ctx, prior.Infrastructure, &priorInfra, &diags)
	infra := infrastructureModel{
		APIGroup: types.StringValue(s.Infrastructure.APIGroup), Kind: types.StringValue(s.Infrastructure.Kind),
		Spec: types.StringNull(), Name: optionalString(s.Infrastructure.Name),
	}
	if s.Infrastructure.Spec != nil {
		infra.Spec = types.StringValue(string(s.Infrastructure.Spec))
		// The template may hold more than was written (defaults of the provider's CRD or
		// webhook): as long as it holds everything the configuration asked for, keep it.
		if p := priorInfra.Spec; !p.IsNull() && !p.IsUnknown() {
			if want, err := workerpool.CanonicalJSON(p.ValueString()); err == nil && workerpool.Contains(s.Infrastructure.Spec, want) {
				infra.Spec = p
			}
		}
	}
	m.Infrastructure = objectValue(ctx, poolAttrTypes("infrastructure"), infra, &diags)

	m.Rollout = types.ObjectNull(poolAttrTypes("rollout"))
	if r := s.Rollout; r != nil {
		ro := rolloutModel{Strategy: optionalString(r.Strategy), MaxSurge: optionalString(r.MaxSurge), MaxUnavailable: optionalString(r.MaxUnavailable)}
		// The provider writes the RollingUpdate type itself when only max_surge or
		// max_unavailable is set (the CRD requires it): that is not a setting of the user's.
		var priorRollout rolloutModel
		if r.Strategy == workerpool.StrategyRollingUpdate && (r.MaxSurge != "" || r.MaxUnavailable != "") &&
			(!objectAs(ctx, prior.Rollout, &priorRollout, &diags) || priorRollout.Strategy.IsNull()) {
			ro.Strategy = types.StringNull()
		}
		m.Rollout = objectValue(ctx, poolAttrTypes("rollout"), ro, &diags)
	} else if isEmptyObject(prior.Rollout) {
		// rollout = {} means Cluster API's defaults, as no rollout does: keep it as written.
		m.Rollout = prior.Rollout
	}
	m.HealthCheck = types.ObjectNull(poolAttrTypes("health_check"))
	if h := s.HealthCheck; h != nil {
		condType := types.ObjectType{AttrTypes: poolAttrTypes("health_check", "unhealthy_node_conditions")}
		conds := types.ListNull(condType)
		var priorHealth healthCheckModel
		priorConds := objectAs(ctx, prior.HealthCheck, &priorHealth, &diags) && !priorHealth.UnhealthyNodeConditions.IsNull() && !priorHealth.UnhealthyNodeConditions.IsUnknown()
		if len(h.UnhealthyNodeConditions) > 0 || priorConds {
			cs := []nodeConditionModel{}
			for _, c := range h.UnhealthyNodeConditions {
				cs = append(cs, nodeConditionModel{Type: types.StringValue(c.Type), Status: types.StringValue(c.Status), TimeoutSeconds: types.Int64Value(c.TimeoutSeconds)})
			}
			l, d := types.ListValueFrom(ctx, condType, cs)
			diags.Append(d...)
			conds = l
		}
		m.HealthCheck = objectValue(ctx, poolAttrTypes("health_check"), healthCheckModel{
			NodeStartupTimeoutSeconds: int64Value(h.NodeStartupTimeoutSeconds), UnhealthyNodeConditions: conds, MaxUnhealthy: optionalString(h.MaxUnhealthy),
		}, &diags)
	}

	// A template that is gone has no name: the plan then makes it again.
	m.BootstrapTemplateName = types.StringNull()
	if o.BootstrapFound {
		m.BootstrapTemplateName = types.StringValue(o.BootstrapTemplate)
	}
	m.InfrastructureTemplateName = types.StringNull()
	if o.InfrastructureFound {
		m.InfrastructureTemplateName = types.StringValue(o.InfrastructureTemplate)
	}
	m.ReadyReplicas = types.Int64Value(o.Status.ReadyReplicas)
	m.AvailableReplicas = types.Int64Value(o.Status.Available)
	m.UpToDateReplicas = types.Int64Value(o.Status.UpToDate)
	if m.WaitForReady.IsNull() || m.WaitForReady.IsUnknown() {
		m.WaitForReady = types.BoolValue(true)
	}
	return diags
}

// isEmptyObject reports whether v is a known object whose attributes are all null, such
// as rollout = {}.
func isEmptyObject(v types.Object) bool {
	if v.IsNull() || v.IsUnknown() {
		return false
	}
	for _, a := range v.Attributes() {
		if !a.IsNull() {
			return false
		}
	}
	return true
}
