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

// FuzzConflictsWhenTrue: the flag conflicts with the other attribute exactly when the
// flag is true and the other is set, whatever its value.
func FuzzConflictsWhenTrue(f *testing.F) {
	f.Add(true, false, "x", false)
	f.Add(false, false, "x", false)
	f.Add(true, true, "", true)
	f.Add(true, false, "", true)
	sch := schema.Schema{Attributes: map[string]schema.Attribute{
		"flag":  schema.BoolAttribute{Optional: true},
		"other": schema.StringAttribute{Optional: true},
	}}
	objType := tftypes.Object{AttributeTypes: map[string]tftypes.Type{"flag": tftypes.Bool, "other": tftypes.String}}
	f.Fuzz(func(t *testing.T, flag, flagNull bool, other string, otherNull bool) {
		flagValue, otherValue := tftypes.NewValue(tftypes.Bool, flag), tftypes.NewValue(tftypes.String, other)
		if flagNull {
			flagValue = tftypes.NewValue(tftypes.Bool, nil)
		}
		if otherNull {
			otherValue = tftypes.NewValue(tftypes.String, nil)
		}
		config := tfsdk.Config{Schema: sch, Raw: tftypes.NewValue(objType, map[string]tftypes.Value{"flag": flagValue, "other": otherValue})}
		var v types.Bool
		if diags := config.GetAttribute(context.Background(), path.Root("flag"), &v); diags.HasError() {
			t.Fatal(diags)
		}
		var resp validator.BoolResponse
		ConflictsWhenTrue(path.MatchRoot("other")).ValidateBool(context.Background(),
			validator.BoolRequest{Path: path.Root("flag"), PathExpression: path.MatchRoot("flag"), ConfigValue: v, Config: config}, &resp)
		if want := flag && !flagNull && !otherNull; resp.Diagnostics.HasError() != want {
			t.Fatalf("flag %v (null %v), other %q (null %v): refused %v, want %v", flag, flagNull, other, otherNull, resp.Diagnostics.HasError(), want)
		}
	})
}
