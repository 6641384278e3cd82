package provider

// Conversions between Terraform values and the plain values of the domain packages,
// shared by every resource.

import (
	"context"
	"fmt"
	"time"

	"github.com/hashicorp/terraform-plugin-framework/attr"
	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/types"
	"github.com/hashicorp/terraform-plugin-framework/types/basetypes"
)

func int64Ptr(v types.Int64) *int64 {
	if v.IsNull() || v.IsUnknown() {
		return nil
	}
	i := v.ValueInt64()
	return &i
}

// listOf returns nil for a null or unknown list (not sent), else its strings.
func listOf(ctx context.Context, l types.List, diags *diag.Diagnostics) []string {
	if l.IsNull() || l.IsUnknown() {
		return nil
	}
	out := []string{}
	diags.Append(l.ElementsAs(ctx, &out, false)...)
	return out
}

func mapOf(ctx context.Context, m types.Map, diags *diag.Diagnostics) map[string]string {
	if m.IsNull() || m.IsUnknown() {
		return nil
	}
	out := map[string]string{}
	diags.Append(m.ElementsAs(ctx, &out, false)...)
	return out
}

func int64Value(v *int64) types.Int64 {
	if v == nil {
		return types.Int64Null()
	}
	return types.Int64Value(*v)
}

func nullableList(s []string) types.List {
	if s == nil {
		return types.ListNull(types.StringType)
	}
	return stringList(s)
}

func nullableMap(m map[string]string) types.Map {
	if m == nil {
		return types.MapNull(types.StringType)
	}
	return stringMap(m, types.MapValueMust(types.StringType, map[string]attr.Value{}))
}

// isKnown reports whether v and everything inside it is known.
func isKnown(ctx context.Context, v attr.Value) bool {
	tv, err := v.ToTerraformValue(ctx)
	return err == nil && tv.IsFullyKnown()
}

func stringList(s []string) types.List {
	vals := make([]attr.Value, 0, len(s))
	for _, v := range s {
		vals = append(vals, types.StringValue(v))
	}
	return types.ListValueMust(types.StringType, vals)
}

func optionalString(s string) types.String {
	if s == "" {
		return types.StringNull()
	}
	return types.StringValue(s)
}

// stringMap returns observed as a map value; empty stays null when prior was null.
func stringMap(observed map[string]string, prior types.Map) types.Map {
	if len(observed) == 0 && (prior.IsNull() || prior.IsUnknown()) {
		return types.MapNull(types.StringType)
	}
	vals := map[string]attr.Value{}
	for k, v := range observed {
		vals[k] = types.StringValue(v)
	}
	return types.MapValueMust(types.StringType, vals)
}

// minutes writes a whole number of minutes as Terraform's timeouts do, e.g. 5m.
func minutes(d time.Duration) string {
	return fmt.Sprintf("%dm", int(d.Minutes()))
}

var objectAsOptions = basetypes.ObjectAsOptions{}

// listValue returns observed as a list value; empty stays null when prior was null.
func listValue(observed []string, prior types.List) types.List {
	if len(observed) == 0 && (prior.IsNull() || prior.IsUnknown()) {
		return types.ListNull(types.StringType)
	}
	return stringList(observed)
}

// presence is nil for a null value, else the value ("" while unknown).
func presence(v types.String) *string {
	if v.IsNull() {
		return nil
	}
	s := v.ValueString()
	return &s
}

// namespacedID is the <namespace>/<name> ID of a namespaced object.
func namespacedID(namespace, name types.String) string {
	return namespace.ValueString() + "/" + name.ValueString()
}
