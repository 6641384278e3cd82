// Package validators holds the schema validators the framework's validator libraries do
// not provide.
package validators

import (
	"context"
	"fmt"

	"github.com/hashicorp/terraform-plugin-framework/attr"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/schema/validator"
)

// ConflictsWhenTrue fails when the boolean is true and any of the other attributes is set.
// Unlike boolvalidator.ConflictsWith, an explicit false conflicts with nothing, so a
// variable that passes false through stays valid.
func ConflictsWhenTrue(expressions ...path.Expression) validator.Bool {
	return conflictsWhenTrue{expressions: expressions}
}

type conflictsWhenTrue struct {
	expressions path.Expressions
}

func (v conflictsWhenTrue) Description(_ context.Context) string {
	return fmt.Sprintf("when true, none of %s may be set", v.expressions)
}

func (v conflictsWhenTrue) MarkdownDescription(ctx context.Context) string {
	return v.Description(ctx)
}

func (v conflictsWhenTrue) ValidateBool(ctx context.Context, req validator.BoolRequest, resp *validator.BoolResponse) {
	if req.ConfigValue.IsNull() || req.ConfigValue.IsUnknown() || !req.ConfigValue.ValueBool() {
		return
	}
	for _, expr := range req.PathExpression.MergeExpressions(v.expressions...) {
		paths, diags := req.Config.PathMatches(ctx, expr)
		resp.Diagnostics.Append(diags...)
		for _, p := range paths {
			var val attr.Value
			d := req.Config.GetAttribute(ctx, p, &val)
			resp.Diagnostics.Append(d...)
			if d.HasError() || val == nil {
				continue
			}
			if !val.IsNull() {
				resp.Diagnostics.AddAttributeError(req.Path, "Conflicting Attributes",
					fmt.Sprintf("%s = true cannot be combined with %s: they are alternative ways to reach the API server. Remove one of them.", req.Path, p))
			}
		}
	}
}
