package validators

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
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
			fmt.Sprintf("%s must be a JSON object, written with jsonencode({ ... }): %s.", req.Path, detail))
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

// poolAttributes names the attribute of qumulus_worker_pool that holds each field of
// workerpool.Spec a reserved kubelet flag is written from.
var poolAttributes = map[string]string{"NodeLabels": "node_labels", "NodeTaints": "node_taints"}

// KubeletArgName checks a key of kubelet_extra_args: a kubelet flag name without the
// leading --, and not one the provider writes from another attribute (node-labels from
// node_labels, register-with-taints from node_taints).
func KubeletArgName() validator.String {
	return attributeCheck{"must be a kubelet flag name without the leading --, not one another attribute sets", "Invalid Kubelet Flag",
		func(name string) (string, error) {
			err := workerpool.CheckKubeletArgName(name)
			var reserved *workerpool.ReservedArgError
			if errors.As(err, &reserved) {
				attr := poolAttributes[reserved.Field]
				return "Kubelet Flag Set By Another Attribute", fmt.Errorf("the key %q is the kubelet flag --%s, which the provider "+
					"writes from %s: set it there instead (e.g. %s), and remove it from kubelet_extra_args", name, reserved.Arg, attr, attrExample(attr))
			}
			if err != nil {
				return "", fmt.Errorf("the key %w", err)
			}
			return "", nil
		}}
}

func attrExample(attr string) string {
	if attr == "node_taints" {
		return `node_taints = [{ key = "dedicated", value = "db", effect = "NoSchedule" }]`
	}
	return `node_labels = { "example.com/role" = "db" }`
}

// KubeletArgValue checks a value of kubelet_extra_args.
func KubeletArgValue() validator.String {
	return attributeCheck{"must be at most 1024 characters", "Invalid Kubelet Flag Value", plain(workerpool.CheckKubeletArgValue)}
}

// IntOrPercent checks a count of machines: a whole number or a percentage (1, 25%).
func IntOrPercent() validator.String {
	return attributeCheck{"must be a whole number or a percentage such as 25%", "Invalid Machine Count",
		plain(func(s string) error { _, err := workerpool.ParseIntOrPercent(s); return err })}
}

// MaxUnavailable checks rollout.max_unavailable: a count, at most 100%.
func MaxUnavailable() validator.String {
	return attributeCheck{"must be a whole number or a percentage of at most 100%", "Invalid Machine Count", plain(workerpool.CheckMaxUnavailable)}
}

// FilePath checks the absolute path of a file written on the machines.
func FilePath() validator.String {
	return attributeCheck{"must be an absolute file path", "Invalid File Path", plain(workerpool.CheckFilePath)}
}

// FileOwner checks the owner of a file: user or user:group.
func FileOwner() validator.String {
	return attributeCheck{"must be user or user:group", "Invalid File Owner", plain(workerpool.CheckFileOwner)}
}

// FilePermissions checks octal file permissions.
func FilePermissions() validator.String {
	return attributeCheck{"must be octal permissions such as 0644", "Invalid File Permissions", plain(workerpool.CheckFilePermissions)}
}

// SecretKey checks the key of a Secret's data.
func SecretKey() validator.String {
	return attributeCheck{"must be a key a Secret can have", "Invalid Secret Key", plain(workerpool.CheckSecretKey)}
}

// Command checks a command run on the machines.
func Command() validator.String {
	return attributeCheck{"must be at most 10240 characters", "Command Too Long", plain(workerpool.CheckCommand)}
}

// attributeCheck is a validator from a check that may choose its own summary; the detail
// starts with the attribute's path, so that a map key or a list entry is named.
type attributeCheck struct {
	description, summary string
	check                func(string) (summary string, err error)
}

func plain(check func(string) error) func(string) (string, error) {
	return func(s string) (string, error) { return "", check(s) }
}

func (v attributeCheck) Description(context.Context) string             { return v.description }
func (v attributeCheck) MarkdownDescription(ctx context.Context) string { return v.Description(ctx) }
func (v attributeCheck) ValidateString(_ context.Context, req validator.StringRequest, resp *validator.StringResponse) {
	if req.ConfigValue.IsNull() || req.ConfigValue.IsUnknown() {
		return
	}
	summary, err := v.check(req.ConfigValue.ValueString())
	if err == nil {
		return
	}
	if summary == "" {
		summary = v.summary
	}
	resp.Diagnostics.AddAttributeError(req.Path, summary, fmt.Sprintf("%s: %s.", req.Path, err))
}

// ZeroOrAtLeast requires 0 (which turns a check off) or at least minimum, in one
// diagnostic (int64validator.Any would report both of its alternatives).
func ZeroOrAtLeast(minimum int64) validator.Int64 { return zeroOrAtLeast{minimum} }

type zeroOrAtLeast struct{ minimum int64 }

func (v zeroOrAtLeast) Description(context.Context) string {
	return fmt.Sprintf("must be 0 or at least %d", v.minimum)
}
func (v zeroOrAtLeast) MarkdownDescription(ctx context.Context) string { return v.Description(ctx) }

func (v zeroOrAtLeast) ValidateInt64(_ context.Context, req validator.Int64Request, resp *validator.Int64Response) {
	if req.ConfigValue.IsNull() || req.ConfigValue.IsUnknown() {
		return
	}
	if n := req.ConfigValue.ValueInt64(); n != 0 && (n < v.minimum || n > math.MaxInt32) {
		resp.Diagnostics.AddAttributeError(req.Path, "Invalid Attribute Value",
			fmt.Sprintf("%s must be 0 (off) or between %d and %d, got: %d.", req.Path, v.minimum, math.MaxInt32, n))
	}
}
