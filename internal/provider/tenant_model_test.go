package provider

import (
	"context"
	"testing"

	"github.com/hashicorp/terraform-plugin-framework/attr"
	"github.com/hashicorp/terraform-plugin-framework/types"
	"k8s.io/apimachinery/pkg/api/resource"

	"github.com/qumulus/terraform-provider-qumulus/internal/tenant"
)

func member(kind, name, namespace, role string) attr.Value {
	ns := types.StringNull()
	if namespace != "" {
		ns = types.StringValue(namespace)
	}
	return types.ObjectValueMust(memberAttrTypes, map[string]attr.Value{
		"kind": types.StringValue(kind), "name": types.StringValue(name), "namespace": ns, "role": types.StringValue(role),
	})
}

func emptyTenantModel() tenantModel {
	return tenantModel{
		Name: types.StringValue("acme"), Namespace: types.StringNull(),
		Labels: types.MapNull(types.StringType), Annotations: types.MapNull(types.StringType),
		Members:          types.SetNull(types.ObjectType{AttrTypes: memberAttrTypes}),
		NetworkIsolation: defaultNetworkIsolation(),
		Quota:            types.MapNull(types.StringType), LimitRange: types.ObjectNull(limitRangeAttrTypes),
	}
}

func TestTenantSpecFromModel(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	m := emptyTenantModel()
	m.Members = types.SetValueMust(types.ObjectType{AttrTypes: memberAttrTypes}, []attr.Value{
		member("ServiceAccount", "ci", "", "edit"), member("User", "alice", "", "view"),
	})
	m.Quota = types.MapValueMust(types.StringType, map[string]attr.Value{"pods": types.StringValue("10")})
	s, diags := m.spec(ctx)
	if diags.HasError() {
		t.Fatal(diags)
	}
	if s.Namespace != "tenant-acme" {
		t.Errorf("namespace %q, want the default tenant-acme", s.Namespace)
	}
	if len(s.Members) != 2 || s.Network == nil || !s.Network.AllowControlPlaneIngress || s.Network.AllowedNamespaces[0] != "kamaji-system" {
		t.Errorf("spec %+v", s)
	}
	if p := s.Quota["pods"]; p.Value() != 10 {
		t.Errorf("quota %v", s.Quota)
	}

	disabled := emptyTenantModel()
	attrs := defaultNetworkIsolation().Attributes()
	attrs["enabled"] = types.BoolValue(false)
	disabled.NetworkIsolation = types.ObjectValueMust(networkIsolationAttrTypes, attrs)
	if s, diags := disabled.spec(ctx); diags.HasError() {
		t.Error(diags)
	} else if s.Network != nil {
		t.Errorf("enabled = false still has network isolation %+v", s.Network)
	}
}

func TestTenantFromObserved(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	prior := emptyTenantModel()
	prior.Members = types.SetValueMust(types.ObjectType{AttrTypes: memberAttrTypes}, []attr.Value{
		member("ServiceAccount", "ci", "", "edit"),
		member("ServiceAccount", "explicit", "tenant-acme", "view"),
	})
	prior.Quota = types.MapValueMust(types.StringType, map[string]attr.Value{
		"requests.memory": types.StringValue("8192Mi"), "pods": types.StringValue("10"),
	})
	o := &tenant.Observed{
		Spec: tenant.Spec{
			Name: "acme", Namespace: "tenant-acme",
			Members: []tenant.Member{
				{Kind: "ServiceAccount", Name: "ci", Namespace: "tenant-acme", Role: "edit"},
				{Kind: "ServiceAccount", Name: "explicit", Namespace: "tenant-acme", Role: "view"},
				{Kind: "ServiceAccount", Name: "bot", Namespace: "ci", Role: "view"},
			},
			Quota: map[string]resource.Quantity{"requests.memory": resource.MustParse("8Gi"), "pods": resource.MustParse("20")},
		},
		Phase:      "Active",
		Unlabelled: true,
	}
	var got tenantModel
	if diags := got.fromObserved(ctx, o, prior); diags.HasError() {
		t.Fatal(diags)
	}
	want := types.SetValueMust(types.ObjectType{AttrTypes: memberAttrTypes}, []attr.Value{
		member("ServiceAccount", "ci", "", "edit"),                  // left out in the configuration: stays null
		member("ServiceAccount", "explicit", "tenant-acme", "view"), // written out: stays written out
		member("ServiceAccount", "bot", "ci", "view"),
	})
	if !got.Members.Equal(want) {
		t.Errorf("members %v, want %v", got.Members, want)
	}
	wantQuota := types.MapValueMust(types.StringType, map[string]attr.Value{
		"requests.memory": types.StringValue("8192Mi"), // same quantity: the configuration's spelling
		"pods":            types.StringValue("20"),     // changed out of band: the cluster's value
	})
	if !got.Quota.Equal(wantQuota) {
		t.Errorf("quota %v, want %v", got.Quota, wantQuota)
	}
	if got.Status.ValueString() != statusUnlabelled {
		t.Errorf("status %s, want %s for a namespace that lost its tenant label", got.Status, statusUnlabelled)
	}
	if !got.Labels.IsNull() || !got.LimitRange.IsNull() {
		t.Errorf("labels %v limit_range %v, want null as before", got.Labels, got.LimitRange)
	}
	// No policies: isolation reads as disabled, the other settings as configured.
	n := got.NetworkIsolation.Attributes()
	if !n["enabled"].Equal(types.BoolValue(false)) || !n["allowed_namespaces"].Equal(defaultNetworkIsolation().Attributes()["allowed_namespaces"]) {
		t.Errorf("network_isolation %v", got.NetworkIsolation)
	}
}

func TestSameJSONComparesNumbersByValue(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		a, b string
		same bool
	}{
		{`1.0`, `1`, true},
		{`{"a": 1.50, "b": [1e3]}`, `{"b":[1000],"a":1.5}`, true},
		{`"systemd"`, `"systemd"`, true},
		{`"1"`, `1`, false},
		{`{"a": 1}`, `{"a": 2}`, false},
		{`not json`, `not json`, false},
	} {
		if got := sameJSON(c.a, c.b); got != c.same {
			t.Errorf("sameJSON(%s, %s) = %v, want %v", c.a, c.b, got, c.same)
		}
	}
}
