package validators

import (
	"context"
	"crypto/x509"
	"encoding/pem"
	"net/netip"
	"strings"
	"testing"

	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/schema/validator"
	"github.com/hashicorp/terraform-plugin-framework/types"
	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/apimachinery/pkg/util/validation"

	"github.com/qumulus/terraform-provider-qumulus/internal/chartsource"
	"github.com/qumulus/terraform-provider-qumulus/internal/cluster"
	"github.com/qumulus/terraform-provider-qumulus/internal/kube"
	"github.com/qumulus/terraform-provider-qumulus/internal/openstack"
	"github.com/qumulus/terraform-provider-qumulus/internal/tenant"
	"github.com/qumulus/terraform-provider-qumulus/internal/workerpool"
)

func none(problems []string) bool { return len(problems) == 0 }

func ok(err error) bool { return err == nil }

// stringValidators pairs every string validator of the package with the check it must
// agree with: accept exactly what the check accepts.
var stringValidators = []struct {
	name    string
	v       validator.String
	accepts func(string) bool
}{
	{"DNS1123Label", DNS1123Label(), func(s string) bool { return none(validation.IsDNS1123Label(s)) }},
	{"DNS1123Subdomain", DNS1123Subdomain(), func(s string) bool { return none(validation.IsDNS1123Subdomain(s)) }},
	{"DNS1035Label", DNS1035Label(), func(s string) bool { return none(validation.IsDNS1035Label(s)) }},
	{"QualifiedName", QualifiedName(), func(s string) bool { return none(validation.IsQualifiedName(s)) }},
	{"LabelValue", LabelValue(), func(s string) bool { return none(validation.IsValidLabelValue(s)) }},
	{"Quantity", Quantity(), func(s string) bool { q, err := resource.ParseQuantity(s); return err == nil && q.Sign() >= 0 }},
	{"CIDR", CIDR(), func(s string) bool { p, err := netip.ParsePrefix(s); return err == nil && p.Masked() == p }},
	{"IP", IP(), func(s string) bool { a, err := netip.ParseAddr(s); return err == nil && a.Zone() == "" }},
	{"Host", Host(), func(s string) bool {
		_, err := netip.ParseAddr(s)
		return err == nil || none(validation.IsDNS1123Subdomain(s))
	}},
	{"ClusterID", ClusterID(), func(s string) bool {
		ns, name, found := strings.Cut(s, "/")
		return found && none(validation.IsDNS1123Label(ns)) && none(validation.IsDNS1035Label(name))
	}},
	{"KubernetesVersion", KubernetesVersion(), func(s string) bool {
		v, err := kube.ParseVersion(s)
		return err == nil && cluster.CheckSupported(v) == nil
	}},
	{"NodeLabelKey", NodeLabelKey(), func(s string) bool { return ok(workerpool.CheckNodeLabel(s)) }},
	{"JSONObject", JSONObject(), func(s string) bool { _, err := workerpool.CanonicalJSON(s); return err == nil }},
	{"KubeletArgName", KubeletArgName(), func(s string) bool { return ok(workerpool.CheckKubeletArgName(s)) }},
	{"KubeletArgValue", KubeletArgValue(), func(s string) bool { return ok(workerpool.CheckKubeletArgValue(s)) }},
	{"IntOrPercent", IntOrPercent(), func(s string) bool { _, err := workerpool.ParseIntOrPercent(s); return err == nil }},
	{"MaxUnavailable", MaxUnavailable(), func(s string) bool { return ok(workerpool.CheckMaxUnavailable(s)) }},
	{"FilePath", FilePath(), func(s string) bool { return ok(workerpool.CheckFilePath(s)) }},
	{"FileOwner", FileOwner(), func(s string) bool { return ok(workerpool.CheckFileOwner(s)) }},
	{"FilePermissions", FilePermissions(), func(s string) bool { return ok(workerpool.CheckFilePermissions(s)) }},
	{"SecretKey", SecretKey(), func(s string) bool { return ok(workerpool.CheckSecretKey(s)) }},
	{"Command", Command(), func(s string) bool { return ok(workerpool.CheckCommand(s)) }},
	{"QuotaResourceName", QuotaResourceName(), func(s string) bool { return ok(tenant.CheckQuotaResourceName(s)) }},
	{"ContainerResourceName", ContainerResourceName(), func(s string) bool { return ok(tenant.CheckContainerResourceName(s)) }},
	{"VersionConstraint", VersionConstraint(), func(s string) bool { return ok(chartsource.ValidateConstraint(s)) }},
	{"YAMLMap", YAMLMap(), func(s string) bool { _, err := openstack.ParseValues([]byte(s)); return err == nil }},
	{"PEMCertificate", PEMCertificate(), acceptsPEM},
}

// acceptsPEM is the rule PEMCertificate states: at least one PEM block, every block a
// certificate that parses.
func acceptsPEM(s string) bool {
	rest, found := []byte(s), false
	for {
		var b *pem.Block
		if b, rest = pem.Decode(rest); b == nil {
			return found
		}
		if _, err := x509.ParseCertificate(b.Bytes); b.Type != "CERTIFICATE" || err != nil {
			return false
		}
		found = true
	}
}

// FuzzStringValidators runs every string validator on arbitrary input: none may panic,
// each accepts exactly what its check accepts, and a refusal is one error on the
// attribute's path whose detail names that path.
func FuzzStringValidators(f *testing.F) {
	for _, s := range []string{
		"", "a", "acme-1", "Acme", "-a", "a.b", "a_b", "example.com/role", "kubernetes.io/role", "node-role.kubernetes.io/db",
		"500m", "-1", "1Gi", "1e3", "0.5", "10.96.0.0/16", "10.96.0.1/16", "fd00::/64", "fe80::1%eth0", "10.0.0.1",
		"tenant-acme/prod", "a/b/c", "v1.35.0", "1.35", "v9.0.0", `{"a":1}`, "[1]", "null", "{", "max-pods", "--max-pods",
		"node-labels", "register-with-taints", "a=b", "25%", "101%", "0%", "01", "/etc/motd", "etc", "/", "root:root", "a:b:c",
		"0644", "0849", "ca.crt", "requests.cpu", "count/pods", "hugepages-2Mi", "example.com/gpu", "~2026.1", ">= 1, < 2",
		"a: b", "- 1", "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n", strings.Repeat("a", 64), "\x00", "é",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		at := path.Root("x").AtMapKey("k")
		for _, sv := range stringValidators {
			var resp validator.StringResponse
			sv.v.ValidateString(context.Background(), validator.StringRequest{Path: at, PathExpression: at.Expression(), ConfigValue: types.StringValue(s)}, &resp)
			refused := resp.Diagnostics.HasError()
			if want := !sv.accepts(s); refused != want {
				t.Fatalf("%s(%q): refused %v, its check refuses %v (%v)", sv.name, s, refused, want, resp.Diagnostics)
			}
			if !refused {
				continue
			}
			if n := resp.Diagnostics.ErrorsCount(); n != 1 {
				t.Fatalf("%s(%q): %d errors, want 1", sv.name, s, n)
			}
			d := resp.Diagnostics.Errors()[0]
			if d.Summary() == "" || d.Detail() == "" || !isPathDiagnostic(d, at) {
				t.Fatalf("%s(%q): diagnostic %q / %q is not an attribute error on %s", sv.name, s, d.Summary(), d.Detail(), at)
			}
		}
	})
}

func isPathDiagnostic(d interface{ Detail() string }, at path.Path) bool {
	p, ok := d.(interface{ Path() path.Path })
	return ok && p.Path().Equal(at)
}

// TestValidatorsHandleNullAndUnknown: null and unknown values are never refused.
func TestValidatorsHandleNullAndUnknown(t *testing.T) {
	t.Parallel()
	for _, sv := range stringValidators {
		for _, v := range []types.String{types.StringNull(), types.StringUnknown()} {
			var resp validator.StringResponse
			sv.v.ValidateString(context.Background(), validator.StringRequest{Path: path.Root("x"), ConfigValue: v}, &resp)
			if resp.Diagnostics.HasError() {
				t.Errorf("%s refuses %v: %v", sv.name, v, resp.Diagnostics)
			}
		}
		if sv.v.Description(context.Background()) == "" {
			t.Errorf("%s has no description", sv.name)
		}
	}
}
