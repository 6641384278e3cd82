package validators

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/hashicorp/terraform-plugin-framework/schema/validator"

	"github.com/qumulus/terraform-provider-qumulus/internal/workerpool"
)

// NodeLabelKey refuses node labels the kubelet would refuse (workerpool.CheckNodeLabel).
func NodeLabelKey() validator.String { return nodeLabelKey{} }

type nodeLabelKey struct{}

func (nodeLabelKey) Description(context.Context) string {
	return "must not be a kubernetes.io or k8s.io label the kubelet may not set"
}
func (v nodeLabelKey) MarkdownDescription(ctx context.Context) string { return v.Description(ctx) }

func (nodeLabelKey) ValidateString(_ context.Context, req validator.StringRequest, resp *validator.StringResponse) {
	if req.ConfigValue.IsNull() || req.ConfigValue.IsUnknown() {
		return
	}
	if err := workerpool.CheckNodeLabel(req.ConfigValue.ValueString()); err != nil {
		resp.Diagnostics.AddAttributeError(req.Path, "Node Label Not Allowed", capitalized(err)+".")
	}
}

// JSONObject requires a JSON object, as infrastructure template specs are.
func JSONObject() validator.String { return jsonObject{} }

type jsonObject struct{}

func (jsonObject) Description(context.Context) string               { return "must be a JSON object" }
func (v jsonObject) MarkdownDescription(ctx context.Context) string { return v.Description(ctx) }

func (jsonObject) ValidateString(_ context.Context, req validator.StringRequest, resp *validator.StringResponse) {
	if req.ConfigValue.IsNull() || req.ConfigValue.IsUnknown() {
		return
	}
	if _, err := workerpool.CanonicalJSON(req.ConfigValue.ValueString()); err != nil {
		var syntax *json.SyntaxError
		detail := err.Error()
		if errors.As(err, &syntax) {
			detail = fmt.Sprintf("%s (at byte %d)", syntax, syntax.Offset)
		}
		resp.Diagnostics.AddAttributeError(req.Path, "Template Spec Is Not A JSON Object",
			fmt.Sprintf("spec must be a JSON object, written with jsonencode({ ... }): %s.", detail))
	}
}

func capitalized(err error) string {
	s := err.Error()
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}

func errorf(format string, a ...any) error { return fmt.Errorf(format, a...) }
