package validators

import (
	"context"
	"strings"
	"testing"

	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/schema/validator"
	"github.com/hashicorp/terraform-plugin-framework/types"
)

func TestKubernetesValidators(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		validator validator.String
		value     types.String
		wantError string
	}{
		{"label ok", DNS1123Label(), types.StringValue("acme-1"), ""},
		{"label upper case", DNS1123Label(), types.StringValue("Acme"), "DNS-1123 label"},
		{"label too long", DNS1123Label(), types.StringValue(strings.Repeat("a", 64)), "at most 63"},
		{"label null", DNS1123Label(), types.StringNull(), ""},
		{"label unknown", DNS1123Label(), types.StringUnknown(), ""},
		{"subdomain ok", DNS1123Subdomain(), types.StringValue("ci.bot"), ""},
		{"subdomain underscore", DNS1123Subdomain(), types.StringValue("ci_bot"), "DNS-1123 subdomain"},
		{"qualified name with prefix", QualifiedName(), types.StringValue("count/tenantcontrolplanes.kamaji.clastix.io"), ""},
		{"qualified name with space", QualifiedName(), types.StringValue("requests cpu"), "qualified name"},
		{"label value ok", LabelValue(), types.StringValue("team_a.1"), ""},
		{"label value slash", LabelValue(), types.StringValue("a/b"), "label value"},
		{"quantity ok", Quantity(), types.StringValue("512Mi"), ""},
		{"quantity milli", Quantity(), types.StringValue("250m"), ""},
		{"quantity words", Quantity(), types.StringValue("lots"), "not a quantity"},
		{"quantity negative", Quantity(), types.StringValue("-1"), "must not be negative"},
		{"cluster id ok", ClusterID(), types.StringValue("tenant-acme/prod"), ""},
		{"cluster id without slash", ClusterID(), types.StringValue("prod"), "no '/'"},
		{"cluster id bad namespace", ClusterID(), types.StringValue("Tenant/prod"), "namespace: "},
		{"cluster id name starting with a digit", ClusterID(), types.StringValue("tenant-acme/1prod"), "name: "},
		{"cluster id two slashes", ClusterID(), types.StringValue("a/b/c"), "name: "},
		{"node label of own domain", NodeLabelKey(), types.StringValue("example.com/role"), ""},
		{"node label without domain", NodeLabelKey(), types.StringValue("role"), ""},
		{"node role label", NodeLabelKey(), types.StringValue("node-role.kubernetes.io/worker"), ""},
		{"kubelet label", NodeLabelKey(), types.StringValue("topology.kubernetes.io/zone"), ""},
		{"cluster api synced label", NodeLabelKey(), types.StringValue("node.cluster.x-k8s.io/pool"), ""},
		{"reserved kubernetes.io label", NodeLabelKey(), types.StringValue("kubernetes.io/role"), "kubelet refuses"},
		{"reserved k8s.io subdomain label", NodeLabelKey(), types.StringValue("foo.k8s.io/x"), "kubelet refuses"},
		{"json object", JSONObject(), types.StringValue(`{"a": {"b": 1}}`), ""},
		{"json array", JSONObject(), types.StringValue(`[1]`), "must be a JSON object"},
		{"json broken", JSONObject(), types.StringValue(`{"a":`), "jsonencode"},
		{"json unknown", JSONObject(), types.StringUnknown(), ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			req := validator.StringRequest{Path: path.Root("x"), ConfigValue: tt.value}
			var resp validator.StringResponse
			tt.validator.ValidateString(context.Background(), req, &resp)
			if tt.wantError == "" {
				if resp.Diagnostics.HasError() {
					t.Fatalf("unexpected error: %v", resp.Diagnostics)
				}
				return
			}
			if !resp.Diagnostics.HasError() {
				t.Fatalf("want an error containing %q", tt.wantError)
			}
			if got := resp.Diagnostics.Errors()[0].Detail(); !strings.Contains(got, tt.wantError) {
				t.Fatalf("error %q does not contain %q", got, tt.wantError)
			}
		})
	}
}

func TestZeroOrAtLeast(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name      string
		value     types.Int64
		wantError string
	}{
		{"zero", types.Int64Value(0), ""},
		{"minimum", types.Int64Value(30), ""},
		{"large", types.Int64Value(600), ""},
		{"below", types.Int64Value(10), "must be 0 (off) or between 30 and 2147483647, got: 10"},
		{"negative", types.Int64Value(-1), "got: -1"},
		{"too large", types.Int64Value(1 << 40), "got: 1099511627776"},
		{"null", types.Int64Null(), ""},
		{"unknown", types.Int64Unknown(), ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			resp := &validator.Int64Response{}
			ZeroOrAtLeast(30).ValidateInt64(context.Background(), validator.Int64Request{Path: path.Root("timeout"), ConfigValue: tc.value}, resp)
			got := ""
			if resp.Diagnostics.HasError() {
				got = resp.Diagnostics.Errors()[0].Detail()
				if n := resp.Diagnostics.ErrorsCount(); n != 1 {
					t.Errorf("%d errors, want one", n)
				}
			}
			if (tc.wantError == "") != (got == "") || !strings.Contains(got, tc.wantError) {
				t.Errorf("error %q, want one containing %q", got, tc.wantError)
			}
		})
	}
}
