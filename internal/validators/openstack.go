package validators

import (
	"context"
	"crypto/x509"
	"encoding/pem"

	"github.com/hashicorp/terraform-plugin-framework/schema/validator"

	"github.com/qumulus/terraform-provider-qumulus/internal/chartsource"
	"github.com/qumulus/terraform-provider-qumulus/internal/openstack"
)

// stringCheck is a validator from a check function: known values that check refuses are
// an attribute error with summary and check's error.
type stringCheck struct {
	description, summary string
	check                func(string) error
}

func (v stringCheck) Description(context.Context) string             { return v.description }
func (v stringCheck) MarkdownDescription(ctx context.Context) string { return v.Description(ctx) }
func (v stringCheck) ValidateString(_ context.Context, req validator.StringRequest, resp *validator.StringResponse) {
	if req.ConfigValue.IsNull() || req.ConfigValue.IsUnknown() {
		return
	}
	if err := v.check(req.ConfigValue.ValueString()); err != nil {
		resp.Diagnostics.AddAttributeError(req.Path, v.summary, capitalized(err)+".")
	}
}

// VersionConstraint requires a chart version or a semantic version constraint (~2026.1).
func VersionConstraint() validator.String {
	return stringCheck{"must be a chart version or a version constraint such as ~2026.1", "Invalid Chart Version",
		chartsource.ValidateConstraint}
}

// PEMCertificate requires one or more PEM certificates.
func PEMCertificate() validator.String {
	return stringCheck{"must be PEM certificates", "Invalid CA Certificate", func(s string) error {
		rest := []byte(s)
		found := false
		for {
			var b *pem.Block
			b, rest = pem.Decode(rest)
			if b == nil {
				break
			}
			if b.Type != "CERTIFICATE" {
				return errorf("the PEM block %q is not a CERTIFICATE", b.Type)
			}
			if _, err := x509.ParseCertificate(b.Bytes); err != nil {
				return errorf("a certificate does not parse: %v", err)
			}
			found = true
		}
		if !found {
			return errorf("no PEM certificate found; give the CA certificate as PEM (-----BEGIN CERTIFICATE-----)")
		}
		return nil
	}}
}

// YAMLMap requires a YAML document of Helm values: a map, or empty.
func YAMLMap() validator.String {
	return stringCheck{"must be a YAML map of Helm values", "Invalid Helm Values", func(s string) error {
		_, err := openstack.ParseValues([]byte(s))
		return err
	}}
}
