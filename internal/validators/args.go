package validators

import (
	"context"
	"fmt"

	"github.com/hashicorp/terraform-plugin-framework/schema/validator"

	"github.com/qumulus/terraform-provider-qumulus/internal/cluster"
)

// ExtraArg accepts a command-line argument of a control-plane component or of
// Konnectivity as Kamaji passes it on: --flag or --flag=value (cluster.ParseFlag).
func ExtraArg() validator.String { return extraArg{} }

type extraArg struct{}

func (extraArg) Description(context.Context) string {
	return "must be --flag or --flag=value, the flag name of lower-case letters, digits and '-' (e.g. --v=2)"
}
func (v extraArg) MarkdownDescription(ctx context.Context) string { return v.Description(ctx) }

func (extraArg) ValidateString(_ context.Context, req validator.StringRequest, resp *validator.StringResponse) {
	if req.ConfigValue.IsNull() || req.ConfigValue.IsUnknown() {
		return
	}
	if _, err := cluster.ParseFlag(req.ConfigValue.ValueString()); err != nil {
		resp.Diagnostics.AddAttributeError(req.Path, "Invalid Command-Line Argument",
			fmt.Sprintf("%s: %s. Each entry is one argument, --flag or --flag=value, e.g. \"--v=2\" or \"--profiling\".", req.Path, err))
	}
}

// JSONPointer accepts an RFC 6901 JSON pointer (cluster.CheckJSONPointer).
func JSONPointer() validator.String { return jsonPointer{} }

type jsonPointer struct{}

func (jsonPointer) Description(context.Context) string {
	return "must be a JSON pointer (RFC 6901), e.g. /cgroupDriver"
}
func (v jsonPointer) MarkdownDescription(ctx context.Context) string { return v.Description(ctx) }

func (jsonPointer) ValidateString(_ context.Context, req validator.StringRequest, resp *validator.StringResponse) {
	if req.ConfigValue.IsNull() || req.ConfigValue.IsUnknown() {
		return
	}
	if err := cluster.CheckJSONPointer(req.ConfigValue.ValueString()); err != nil {
		resp.Diagnostics.AddAttributeError(req.Path, "Invalid JSON Pointer", fmt.Sprintf("%s: %s.", req.Path, err))
	}
}
