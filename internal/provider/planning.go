package provider

import (
	"context"

	"github.com/hashicorp/terraform-plugin-framework/attr"
	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/planmodifier"
	"github.com/hashicorp/terraform-plugin-framework/tfsdk"
	"github.com/hashicorp/terraform-plugin-framework/types"
)

// configModel reads the configuration of a ValidateConfig call; ok is false when it
// cannot be read.
func (l *lifecycle[M, C, W]) configModel(ctx context.Context, config tfsdk.Config, diags *diag.Diagnostics) (m M, ok bool) {
	diags.Append(getModel(ctx, config, config.Raw, l.stateType(ctx), &m)...)
	return m, !diags.HasError()
}

// planAndState reads the plan, the configuration and the prior state (nil on create) of
// a ModifyPlan call; ok is false on a destroy or when they cannot be read.
func (l *lifecycle[M, C, W]) planAndState(ctx context.Context, req resource.ModifyPlanRequest, diags *diag.Diagnostics) (plan, config M, state *M, ok bool) {
	if req.Plan.Raw.IsNull() {
		return plan, config, nil, false
	}
	t := l.stateType(ctx)
	diags.Append(getModel(ctx, req.Plan, req.Plan.Raw, t, &plan)...)
	diags.Append(getModel(ctx, req.Config, req.Config.Raw, t, &config)...)
	if !req.State.Raw.IsNull() {
		state = new(M)
		diags.Append(getModel(ctx, req.State, req.State.Raw, t, state)...)
	}
	return plan, config, state, !diags.HasError()
}

// setModel writes the model m as the whole of data (a state or a plan).
func (l *lifecycle[M, C, W]) setModel(ctx context.Context, data stateSetter, m *M) diag.Diagnostics {
	v, diags := stateValue(ctx, l.stateType(ctx), m)
	if diags.HasError() {
		return diags
	}
	return data.Set(ctx, v)
}

// replacing reports whether the plan replaces the resource, or may (unknown values
// count). The framework decides that from the attributes' plan modifiers but does not
// tell ModifyPlan, so this runs the RequiresReplace modifiers of s again, the schema
// being the one place that says which attributes replace. Attributes nested in lists and
// sets are not looked into: none of ours replaces.
func replacing(ctx context.Context, s schema.Schema, req resource.ModifyPlanRequest) bool {
	if req.State.Raw.IsNull() || req.Plan.Raw.IsNull() {
		return false
	}
	for name, a := range s.Attributes {
		if attributeReplaces(ctx, path.Root(name), a, req) {
			return true
		}
	}
	return false
}

func attributeReplaces(ctx context.Context, at path.Path, a schema.Attribute, req resource.ModifyPlanRequest) bool {
	switch a := a.(type) {
	case schema.StringAttribute:
		return modifiersReplace(ctx, at, req, a.PlanModifiers, func(m planmodifier.String, c, p, s types.String) (bool, types.String) {
			resp := &planmodifier.StringResponse{PlanValue: p}
			m.PlanModifyString(ctx, planmodifier.StringRequest{Path: at, Config: req.Config, ConfigValue: c, Plan: req.Plan, PlanValue: p, State: req.State, StateValue: s}, resp)
			return resp.RequiresReplace, resp.PlanValue
		})
	case schema.Int64Attribute:
		return modifiersReplace(ctx, at, req, a.PlanModifiers, func(m planmodifier.Int64, c, p, s types.Int64) (bool, types.Int64) {
			resp := &planmodifier.Int64Response{PlanValue: p}
			m.PlanModifyInt64(ctx, planmodifier.Int64Request{Path: at, Config: req.Config, ConfigValue: c, Plan: req.Plan, PlanValue: p, State: req.State, StateValue: s}, resp)
			return resp.RequiresReplace, resp.PlanValue
		})
	case schema.BoolAttribute:
		return modifiersReplace(ctx, at, req, a.PlanModifiers, func(m planmodifier.Bool, c, p, s types.Bool) (bool, types.Bool) {
			resp := &planmodifier.BoolResponse{PlanValue: p}
			m.PlanModifyBool(ctx, planmodifier.BoolRequest{Path: at, Config: req.Config, ConfigValue: c, Plan: req.Plan, PlanValue: p, State: req.State, StateValue: s}, resp)
			return resp.RequiresReplace, resp.PlanValue
		})
	case schema.ListAttribute:
		return listReplaces(ctx, at, req, a.PlanModifiers)
	case schema.ListNestedAttribute:
		return listReplaces(ctx, at, req, a.PlanModifiers)
	case schema.MapAttribute:
		return modifiersReplace(ctx, at, req, a.PlanModifiers, func(m planmodifier.Map, c, p, s types.Map) (bool, types.Map) {
			resp := &planmodifier.MapResponse{PlanValue: p}
			m.PlanModifyMap(ctx, planmodifier.MapRequest{Path: at, Config: req.Config, ConfigValue: c, Plan: req.Plan, PlanValue: p, State: req.State, StateValue: s}, resp)
			return resp.RequiresReplace, resp.PlanValue
		})
	case schema.SetAttribute:
		return setReplaces(ctx, at, req, a.PlanModifiers)
	case schema.SetNestedAttribute:
		return setReplaces(ctx, at, req, a.PlanModifiers)
	case schema.SingleNestedAttribute:
		if modifiersReplace(ctx, at, req, a.PlanModifiers, func(m planmodifier.Object, c, p, s types.Object) (bool, types.Object) {
			resp := &planmodifier.ObjectResponse{PlanValue: p}
			m.PlanModifyObject(ctx, planmodifier.ObjectRequest{Path: at, Config: req.Config, ConfigValue: c, Plan: req.Plan, PlanValue: p, State: req.State, StateValue: s}, resp)
			return resp.RequiresReplace, resp.PlanValue
		}) {
			return true
		}
		for name, nested := range a.Attributes {
			if attributeReplaces(ctx, at.AtName(name), nested, req) {
				return true
			}
		}
	}
	return false
}

func listReplaces(ctx context.Context, at path.Path, req resource.ModifyPlanRequest, modifiers []planmodifier.List) bool {
	return modifiersReplace(ctx, at, req, modifiers, func(m planmodifier.List, c, p, s types.List) (bool, types.List) {
		resp := &planmodifier.ListResponse{PlanValue: p}
		m.PlanModifyList(ctx, planmodifier.ListRequest{Path: at, Config: req.Config, ConfigValue: c, Plan: req.Plan, PlanValue: p, State: req.State, StateValue: s}, resp)
		return resp.RequiresReplace, resp.PlanValue
	})
}

func setReplaces(ctx context.Context, at path.Path, req resource.ModifyPlanRequest, modifiers []planmodifier.Set) bool {
	return modifiersReplace(ctx, at, req, modifiers, func(m planmodifier.Set, c, p, s types.Set) (bool, types.Set) {
		resp := &planmodifier.SetResponse{PlanValue: p}
		m.PlanModifySet(ctx, planmodifier.SetRequest{Path: at, Config: req.Config, ConfigValue: c, Plan: req.Plan, PlanValue: p, State: req.State, StateValue: s}, resp)
		return resp.RequiresReplace, resp.PlanValue
	})
}

// modifiersReplace runs modifiers in order, as the framework does, on the values of at,
// and reports whether one asks for replacement. Values that cannot be read count as a
// replacement.
func modifiersReplace[V attr.Value, M any](ctx context.Context, at path.Path, req resource.ModifyPlanRequest, modifiers []M, run func(m M, config, plan, state V) (bool, V)) bool {
	if len(modifiers) == 0 {
		return false
	}
	var config, plan, state V
	if req.Config.GetAttribute(ctx, at, &config).HasError() || req.Plan.GetAttribute(ctx, at, &plan).HasError() ||
		req.State.GetAttribute(ctx, at, &state).HasError() {
		return true
	}
	for _, m := range modifiers {
		var replace bool
		if replace, plan = run(m, config, plan, state); replace {
			return true
		}
	}
	return false
}
