package validators

import (
	"context"
	"testing"

	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/provider/schema"
	"github.com/hashicorp/terraform-plugin-framework/schema/validator"
	"github.com/hashicorp/terraform-plugin-framework/tfsdk"
	"github.com/hashicorp/terraform-plugin-framework/types"
	"github.com/hashicorp/terraform-plugin-go/tftypes"
)

func TestConflictsWhenTrue(t *testing.T) {
	t.Parallel()
	sch := schema.Schema{Attributes: map[string]schema.Attribute{
		"flag":  schema.BoolAttribute{Optional: true},
		"other": schema.StringAttribute{Optional: true},
	}}
	objType := tftypes.Object{AttributeTypes: map[string]tftypes.Type{"flag": tftypes.Bool, "other": tftypes.String}}
	tests := []struct {
		name  string
		flag  tftypes.Value
		other tftypes.Value
		fails bool
	}{
		{"true with other set", tftypes.NewValue(tftypes.Bool, true), tftypes.NewValue(tftypes.String, "x"), true},
		{"false with other set", tftypes.NewValue(tftypes.Bool, false), tftypes.NewValue(tftypes.String, "x"), false},
		{"true alone", tftypes.NewValue(tftypes.Bool, true), tftypes.NewValue(tftypes.String, nil), false},
		{"null with other set", tftypes.NewValue(tftypes.Bool, nil), tftypes.NewValue(tftypes.String, "x"), false},
		{"unknown with other set", tftypes.NewValue(tftypes.Bool, tftypes.UnknownValue), tftypes.NewValue(tftypes.String, "x"), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			config := tfsdk.Config{Schema: sch, Raw: tftypes.NewValue(objType, map[string]tftypes.Value{"flag": tt.flag, "other": tt.other})}
			var flag types.Bool
			if diags := config.GetAttribute(context.Background(), path.Root("flag"), &flag); diags.HasError() {
				t.Fatal(diags)
			}
			req := validator.BoolRequest{Path: path.Root("flag"), PathExpression: path.MatchRoot("flag"), ConfigValue: flag, Config: config}
			var resp validator.BoolResponse
			ConflictsWhenTrue(path.MatchRoot("other")).ValidateBool(context.Background(), req, &resp)
			if resp.Diagnostics.HasError() != tt.fails {
				t.Errorf("diagnostics = %v, want error %v", resp.Diagnostics, tt.fails)
			}
		})
	}
}
