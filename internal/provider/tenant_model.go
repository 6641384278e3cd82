package provider

import (
	"context"
	"maps"
	"slices"
	"sort"

	"github.com/hashicorp/terraform-plugin-framework-timeouts/resource/timeouts"
	"github.com/hashicorp/terraform-plugin-framework/attr"
	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/types"
	"k8s.io/apimachinery/pkg/api/resource"

	"github.com/qumulus/terraform-provider-qumulus/internal/tenant"
)

type tenantModel struct {
	ID                 types.String   `tfsdk:"id"`
	Name               types.String   `tfsdk:"name"`
	Namespace          types.String   `tfsdk:"namespace"`
	Labels             types.Map      `tfsdk:"labels"`
	Annotations        types.Map      `tfsdk:"annotations"`
	Members            types.Set      `tfsdk:"members"`
	NetworkIsolation   types.Object   `tfsdk:"network_isolation"`
	Quota              types.Map      `tfsdk:"quota"`
	LimitRange         types.Object   `tfsdk:"limit_range"`
	ForceDestroy       types.Bool     `tfsdk:"force_destroy"`
	Status             types.String   `tfsdk:"status"`
	RoleNames          types.List     `tfsdk:"role_names"`
	RoleBindingNames   types.List     `tfsdk:"role_binding_names"`
	NetworkPolicyNames types.List     `tfsdk:"network_policy_names"`
	ResourceQuotaName  types.String   `tfsdk:"resource_quota_name"`
	LimitRangeName     types.String   `tfsdk:"limit_range_name"`
	Timeouts           timeouts.Value `tfsdk:"timeouts"`
}

type memberModel struct {
	Kind      types.String `tfsdk:"kind"`
	Name      types.String `tfsdk:"name"`
	Namespace types.String `tfsdk:"namespace"`
	Role      types.String `tfsdk:"role"`
}

type networkIsolationModel struct {
	Enabled                   types.Bool `tfsdk:"enabled"`
	AllowedNamespaces         types.Set  `tfsdk:"allowed_namespaces"`
	AllowedNamespaceSelectors types.Set  `tfsdk:"allowed_namespace_selectors"`
	AllowControlPlaneIngress  types.Bool `tfsdk:"allow_control_plane_ingress"`
}

type limitRangeModel struct {
	Default        types.Map `tfsdk:"default"`
	DefaultRequest types.Map `tfsdk:"default_request"`
	Max            types.Map `tfsdk:"max"`
	Min            types.Map `tfsdk:"min"`
	MaxRatio       types.Map `tfsdk:"max_limit_request_ratio"`
}

var (
	memberAttrTypes = map[string]attr.Type{
		"kind": types.StringType, "name": types.StringType, "namespace": types.StringType, "role": types.StringType,
	}
	selectorType              = types.MapType{ElemType: types.StringType}
	networkIsolationAttrTypes = map[string]attr.Type{
		"enabled":                     types.BoolType,
		"allowed_namespaces":          types.SetType{ElemType: types.StringType},
		"allowed_namespace_selectors": types.SetType{ElemType: selectorType},
		"allow_control_plane_ingress": types.BoolType,
	}
	quantityMapType     = types.MapType{ElemType: types.StringType}
	limitRangeAttrTypes = map[string]attr.Type{
		"default": quantityMapType, "default_request": quantityMapType, "max": quantityMapType, "min": quantityMapType,
		"max_limit_request_ratio": quantityMapType,
	}
)

func defaultAllowedNamespaces() types.Set {
	var allowed []attr.Value
	for _, ns := range tenant.DefaultAllowedNamespaces {
		allowed = append(allowed, types.StringValue(ns))
	}
	return types.SetValueMust(types.StringType, allowed)
}

// defaultNetworkIsolation is network_isolation when the configuration leaves it out.
func defaultNetworkIsolation() types.Object {
	return types.ObjectValueMust(networkIsolationAttrTypes, map[string]attr.Value{
		"enabled":                     types.BoolValue(true),
		"allowed_namespaces":          defaultAllowedNamespaces(),
		"allowed_namespace_selectors": types.SetValueMust(selectorType, nil),
		"allow_control_plane_ingress": types.BoolValue(true),
	})
}

// spec maps the model to what the tenant should be. The model must be fully known.
func (m tenantModel) spec(ctx context.Context) (tenant.Spec, diag.Diagnostics) {
	var diags diag.Diagnostics
	s := tenant.Spec{Name: m.Name.ValueString(), Namespace: m.Namespace.ValueString()}
	if s.Namespace == "" {
		s.Namespace = tenant.DefaultNamespace(s.Name)
	}
	diags.Append(m.Labels.ElementsAs(ctx, &s.Labels, false)...)
	diags.Append(m.Annotations.ElementsAs(ctx, &s.Annotations, false)...)

	var members []memberModel
	diags.Append(m.Members.ElementsAs(ctx, &members, false)...)
	for _, mm := range members {
		s.Members = append(s.Members, tenant.Member{
			Kind: mm.Kind.ValueString(), Name: mm.Name.ValueString(), Namespace: mm.Namespace.ValueString(), Role: mm.Role.ValueString(),
		})
	}

	if !m.NetworkIsolation.IsNull() {
		var n networkIsolationModel
		diags.Append(m.NetworkIsolation.As(ctx, &n, objectAsOptions)...)
		if n.Enabled.ValueBool() {
			s.Network = &tenant.NetworkIsolation{AllowControlPlaneIngress: n.AllowControlPlaneIngress.ValueBool()}
			diags.Append(n.AllowedNamespaces.ElementsAs(ctx, &s.Network.AllowedNamespaces, false)...)
			sort.Strings(s.Network.AllowedNamespaces)
			diags.Append(n.AllowedNamespaceSelectors.ElementsAs(ctx, &s.Network.AllowedNamespaceSelectors, false)...)
		}
	}

	s.Quota = quantityMap(ctx, m.Quota, &diags)
	if !m.LimitRange.IsNull() {
		var l limitRangeModel
		diags.Append(m.LimitRange.As(ctx, &l, objectAsOptions)...)
		s.Limits = &tenant.Limits{
			Default:        quantityMap(ctx, l.Default, &diags),
			DefaultRequest: quantityMap(ctx, l.DefaultRequest, &diags),
			Max:            quantityMap(ctx, l.Max, &diags),
			Min:            quantityMap(ctx, l.Min, &diags),

			MaxLimitRequestRatio: quantityMap(ctx, l.MaxRatio, &diags),
		}
	}
	return s, diags
}

func quantityMap(ctx context.Context, m types.Map, diags *diag.Diagnostics) map[string]resource.Quantity {
	if m.IsNull() || m.IsUnknown() {
		return nil
	}
	var raw map[string]string
	diags.Append(m.ElementsAs(ctx, &raw, false)...)
	out := map[string]resource.Quantity{}
	for k, v := range raw {
		q, err := resource.ParseQuantity(v)
		if err != nil {
			diags.AddError("Invalid Quantity", "The quantity "+v+" of "+k+" cannot be parsed: "+err.Error())
			continue
		}
		out[k] = q
	}
	return out
}

// setComputed fills in the attributes the provider computes from the spec, for a tenant
// whose namespace exists but could not be read back.
func (m *tenantModel) setComputed(s tenant.Spec, status string) {
	m.ID = types.StringValue(s.Name)
	m.Namespace = types.StringValue(s.Namespace)
	m.Status = types.StringValue(status)
	m.setNames(s.ObjectNames())
}

func (m *tenantModel) setNames(names tenant.Names) {
	m.RoleNames = stringList(names.Roles)
	m.RoleBindingNames = stringList(names.RoleBindings)
	m.NetworkPolicyNames = stringList(names.NetworkPolicies)
	m.ResourceQuotaName = optionalString(names.ResourceQuota)
	m.LimitRangeName = optionalString(names.LimitRange)
}

// fromObserved writes what the cluster has into the model. prior (the state before, or the
// plan after an apply) decides how equal values are spelled: a quantity keeps the prior
// spelling when it means the same, an empty collection stays null when it was null.
func (m *tenantModel) fromObserved(ctx context.Context, o *tenant.Observed, prior tenantModel) diag.Diagnostics {
	var diags diag.Diagnostics
	m.ID = types.StringValue(o.Name)
	m.Name = types.StringValue(o.Name)
	m.Namespace = types.StringValue(o.Namespace)
	m.Status = types.StringValue(o.Phase)
	if o.Unlabelled && o.Phase == statusActive {
		m.Status = types.StringValue(statusUnlabelled)
	}
	m.setNames(o.Names)
	m.Labels = stringMap(o.Labels, prior.Labels)
	m.Annotations = stringMap(o.Annotations, prior.Annotations)

	var priorMembers []memberModel
	if !prior.Members.IsNull() && !prior.Members.IsUnknown() {
		diags.Append(prior.Members.ElementsAs(ctx, &priorMembers, false)...)
	}
	var members []attr.Value
	for _, mem := range o.Members {
		ns := types.StringNull()
		if mem.Kind == tenant.KindServiceAccount && mem.Namespace != o.Namespace {
			ns = types.StringValue(mem.Namespace)
		} else if mem.Kind == tenant.KindServiceAccount && slices.ContainsFunc(priorMembers, func(p memberModel) bool {
			return p.Kind.ValueString() == mem.Kind && p.Name.ValueString() == mem.Name && p.Role.ValueString() == mem.Role && p.Namespace.ValueString() == mem.Namespace
		}) {
			// The configuration names the tenant's own namespace explicitly.
			ns = types.StringValue(mem.Namespace)
		}
		members = append(members, types.ObjectValueMust(memberAttrTypes, map[string]attr.Value{
			"kind": types.StringValue(mem.Kind), "name": types.StringValue(mem.Name), "namespace": ns, "role": types.StringValue(mem.Role),
		}))
	}
	if len(members) == 0 && (prior.Members.IsNull() || prior.Members.IsUnknown()) {
		m.Members = types.SetNull(types.ObjectType{AttrTypes: memberAttrTypes})
	} else {
		m.Members = types.SetValueMust(types.ObjectType{AttrTypes: memberAttrTypes}, members)
	}

	m.NetworkIsolation = observedNetwork(o.Network, prior.NetworkIsolation, &diags)

	var priorQuota types.Map
	if !prior.Quota.IsUnknown() {
		priorQuota = prior.Quota
	}
	m.Quota = quantityValues(ctx, o.Quota, priorQuota, &diags)

	var written *tenant.Limits
	if !prior.LimitRange.IsNull() && !prior.LimitRange.IsUnknown() {
		var pl limitRangeModel
		diags.Append(prior.LimitRange.As(ctx, &pl, objectAsOptions)...)
		written = &tenant.Limits{
			Default: quantityMap(ctx, pl.Default, &diags), DefaultRequest: quantityMap(ctx, pl.DefaultRequest, &diags),
			Max: quantityMap(ctx, pl.Max, &diags), Min: quantityMap(ctx, pl.Min, &diags),
			MaxLimitRequestRatio: quantityMap(ctx, pl.MaxRatio, &diags),
		}
	}
	switch {
	case o.Limits == nil:
		m.LimitRange = types.ObjectNull(limitRangeAttrTypes)
	case written != nil && tenant.SameLimits(written, o.Limits):
		// The API server fills defaults in from max and min; what was written is unchanged.
		m.LimitRange = prior.LimitRange
	default:
		var pl limitRangeModel
		if !prior.LimitRange.IsNull() && !prior.LimitRange.IsUnknown() {
			diags.Append(prior.LimitRange.As(ctx, &pl, objectAsOptions)...)
		} else {
			pl = limitRangeModel{Default: types.MapNull(types.StringType), DefaultRequest: types.MapNull(types.StringType), Max: types.MapNull(types.StringType),
				Min: types.MapNull(types.StringType), MaxRatio: types.MapNull(types.StringType)}
		}
		m.LimitRange = types.ObjectValueMust(limitRangeAttrTypes, map[string]attr.Value{
			"default":         quantityValues(ctx, o.Limits.Default, pl.Default, &diags),
			"default_request": quantityValues(ctx, o.Limits.DefaultRequest, pl.DefaultRequest, &diags),
			"max":             quantityValues(ctx, o.Limits.Max, pl.Max, &diags),
			"min":             quantityValues(ctx, o.Limits.Min, pl.Min, &diags),

			"max_limit_request_ratio": quantityValues(ctx, o.Limits.MaxLimitRequestRatio, pl.MaxRatio, &diags),
		})
	}
	return diags
}

func observedNetwork(n *tenant.NetworkIsolation, prior types.Object, diags *diag.Diagnostics) types.Object {
	base := defaultNetworkIsolation().Attributes()
	if !prior.IsNull() && !prior.IsUnknown() {
		base = maps.Clone(prior.Attributes())
	}
	if n == nil {
		base["enabled"] = types.BoolValue(false)
		return types.ObjectValueMust(networkIsolationAttrTypes, base)
	}
	var allowed []attr.Value
	for _, ns := range n.AllowedNamespaces {
		allowed = append(allowed, types.StringValue(ns))
	}
	var selectors []attr.Value
	for _, sel := range n.AllowedNamespaceSelectors {
		labels := map[string]attr.Value{}
		for k, v := range sel {
			labels[k] = types.StringValue(v)
		}
		mv, d := types.MapValue(types.StringType, labels)
		diags.Append(d...)
		selectors = append(selectors, mv)
	}
	allowedSet, d := types.SetValue(types.StringType, allowed)
	diags.Append(d...)
	selectorSet, d := types.SetValue(selectorType, selectors)
	diags.Append(d...)
	return types.ObjectValueMust(networkIsolationAttrTypes, map[string]attr.Value{
		"enabled":                     types.BoolValue(true),
		"allowed_namespaces":          allowedSet,
		"allowed_namespace_selectors": selectorSet,
		"allow_control_plane_ingress": types.BoolValue(n.AllowControlPlaneIngress),
	})
}

// quantityValues returns observed quantities, spelled as in prior where they are equal.
func quantityValues(ctx context.Context, observed map[string]resource.Quantity, prior types.Map, diags *diag.Diagnostics) types.Map {
	var spelled map[string]string
	if !prior.IsNull() && !prior.IsUnknown() {
		diags.Append(prior.ElementsAs(ctx, &spelled, false)...)
	}
	out := map[string]string{}
	for k, q := range observed {
		out[k] = q.String()
		if p, ok := spelled[k]; ok {
			if pq, err := resource.ParseQuantity(p); err == nil && pq.Cmp(q) == 0 {
				out[k] = p
			}
		}
	}
	return stringMap(out, prior)
}
