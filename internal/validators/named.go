package validators

import (
	"context"
	"strings"

	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/schema/validator"
)

// Named runs a list validator of the framework's library and names the attribute in the
// details of its errors that do not (listvalidator.UniqueValues says "This attribute"),
// so that every error says which attribute it is about.
func Named(v validator.List) validator.List { return named{v} }

type named struct{ validator.List }

func (n named) ValidateList(ctx context.Context, req validator.ListRequest, resp *validator.ListResponse) {
	inner := &validator.ListResponse{}
	n.List.ValidateList(ctx, req, inner)
	for _, d := range inner.Diagnostics {
		detail := d.Detail()
		if !strings.Contains(detail, req.Path.String()) {
			detail = req.Path.String() + ": " + detail
		}
		if d.Severity() == diag.SeverityError {
			resp.Diagnostics.AddAttributeError(req.Path, d.Summary(), detail)
		} else {
			resp.Diagnostics.AddAttributeWarning(req.Path, d.Summary(), detail)
		}
	}
}
