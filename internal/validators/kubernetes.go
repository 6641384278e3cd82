package validators

import (
	"context"
	"fmt"
	"strings"

	"github.com/hashicorp/terraform-plugin-framework/schema/validator"
	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/apimachinery/pkg/util/validation"
)

// DNS1123Label accepts what Kubernetes accepts as a namespace name: at most 63 lower-case
// letters, digits and '-', starting and ending with a letter or digit.
func DNS1123Label() validator.String {
	return kubeString{"a DNS-1123 label (lower-case letters, digits and '-', at most 63 characters)", validation.IsDNS1123Label}
}

// DNS1123Subdomain accepts what Kubernetes accepts as the name of most objects.
func DNS1123Subdomain() validator.String {
	return kubeString{"a DNS-1123 subdomain (lower-case letters, digits, '-' and '.', at most 253 characters)", validation.IsDNS1123Subdomain}
}

// QualifiedName accepts a label or annotation key, or a resource name such as
// requests.cpu or count/tenantcontrolplanes.kamaji.clastix.io.
func QualifiedName() validator.String {
	return kubeString{"a qualified name ([prefix/]name, e.g. example.com/team)", validation.IsQualifiedName}
}

// LabelValue accepts a label value.
func LabelValue() validator.String {
	return kubeString{"a label value (at most 63 letters, digits, '-', '_' and '.')", validation.IsValidLabelValue}
}

// Quantity accepts a non-negative Kubernetes quantity such as 500m, 2, 4Gi.
func Quantity() validator.String {
	return kubeString{"a non-negative Kubernetes quantity (e.g. 500m, 2, 4Gi)", func(s string) []string {
		q, err := resource.ParseQuantity(s)
		if err != nil {
			return []string{"not a quantity: write a number with an optional suffix such as m, k, M, G, Ki, Mi, Gi"}
		}
		if q.Sign() < 0 {
			return []string{"must not be negative"}
		}
		return nil
	}}
}

type kubeString struct {
	what  string
	check func(string) []string
}

func (v kubeString) Description(_ context.Context) string           { return "must be " + v.what }
func (v kubeString) MarkdownDescription(ctx context.Context) string { return v.Description(ctx) }

func (v kubeString) ValidateString(_ context.Context, req validator.StringRequest, resp *validator.StringResponse) {
	if req.ConfigValue.IsNull() || req.ConfigValue.IsUnknown() {
		return
	}
	value := req.ConfigValue.ValueString()
	if problems := v.check(value); len(problems) > 0 {
		resp.Diagnostics.AddAttributeError(req.Path, "Invalid Value",
			fmt.Sprintf("%s: %q is not %s: %s.", req.Path, value, v.what, strings.Join(problems, "; ")))
	}
}
