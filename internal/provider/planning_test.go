package provider

import (
	"context"
	"testing"

	"github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/planmodifier"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/stringplanmodifier"
	"github.com/hashicorp/terraform-plugin-framework/tfsdk"
	"github.com/hashicorp/terraform-plugin-go/tftypes"
)

func TestReplacing(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := schema.Schema{Attributes: map[string]schema.Attribute{
		"name": schema.StringAttribute{Required: true, PlanModifiers: []planmodifier.String{stringplanmodifier.RequiresReplace()}},
		"size": schema.StringAttribute{Optional: true},
		"net": schema.SingleNestedAttribute{Optional: true, Attributes: map[string]schema.Attribute{
			"domain": schema.StringAttribute{Optional: true, Computed: true, PlanModifiers: []planmodifier.String{
				stringplanmodifier.UseStateForUnknown(), stringplanmodifier.RequiresReplaceIfConfigured(),
			}},
		}},
	}}
	typ := s.Type().TerraformType(ctx).(tftypes.Object)
	netType := typ.AttributeTypes["net"]
	value := func(name, size, domain any) tftypes.Value {
		net := tftypes.NewValue(netType, nil)
		if domain != nil {
			net = tftypes.NewValue(netType, map[string]tftypes.Value{"domain": tftypes.NewValue(tftypes.String, domain)})
		}
		return tftypes.NewValue(typ, map[string]tftypes.Value{
			"name": tftypes.NewValue(tftypes.String, name), "size": tftypes.NewValue(tftypes.String, size), "net": net,
		})
	}
	unknown := tftypes.UnknownValue
	// net = {} in the configuration: domain is left to the state.
	domainNotSet := tftypes.NewValue(typ, map[string]tftypes.Value{
		"name": tftypes.NewValue(tftypes.String, "a"), "size": tftypes.NewValue(tftypes.String, "1"),
		"net": tftypes.NewValue(netType, map[string]tftypes.Value{"domain": tftypes.NewValue(tftypes.String, nil)}),
	})
	cases := []struct {
		name                string
		state, config, plan tftypes.Value
		want                bool
	}{
		{"nothing changes", value("a", "1", "x"), value("a", "1", "x"), value("a", "1", "x"), false},
		{"an in-place attribute changes", value("a", "1", "x"), value("a", "2", "x"), value("a", "2", "x"), false},
		{"a replacing attribute changes", value("a", "1", "x"), value("b", "1", "x"), value("b", "1", "x"), true},
		{"a replacing attribute is unknown", value("a", "1", "x"), value(unknown, "1", "x"), value(unknown, "1", "x"), true},
		{"a nested replacing attribute changes", value("a", "1", "x"), value("a", "1", "y"), value("a", "1", "y"), true},
		{"a nested computed attribute is left to the state", value("a", "1", "x"), domainNotSet, value("a", "1", unknown), false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			req := resource.ModifyPlanRequest{
				Config: tfsdk.Config{Schema: s, Raw: c.config},
				Plan:   tfsdk.Plan{Schema: s, Raw: c.plan},
				State:  tfsdk.State{Schema: s, Raw: c.state},
			}
			if got := replacing(ctx, s, req); got != c.want {
				t.Errorf("replacing = %v, want %v", got, c.want)
			}
		})
	}
	create := resource.ModifyPlanRequest{Plan: tfsdk.Plan{Schema: s, Raw: value("a", "1", "x")}, State: tfsdk.State{Schema: s, Raw: tftypes.NewValue(typ, nil)}}
	if replacing(ctx, s, create) {
		t.Error("a create is reported as a replacement")
	}
}
