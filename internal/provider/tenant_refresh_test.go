package provider

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/qumulus/terraform-provider-qumulus/internal/kube"
	"github.com/qumulus/terraform-provider-qumulus/internal/tenant"
)

// tenantAPI is a management cluster holding tenant acme: its namespace with two members,
// network isolation, a quota and limits.
func tenantAPI() *memoryAPI {
	spec := tenant.Spec{
		Name: "acme", Namespace: benchNamespace, Labels: map[string]string{"team": "platform"},
		Members: []tenant.Member{{Kind: tenant.KindUser, Name: "alice@acme.example", Role: tenant.RoleAdmin},
			{Kind: tenant.KindGroup, Name: "acme-devs", Role: tenant.RoleEdit}},
		Network: &tenant.NetworkIsolation{AllowedNamespaces: tenant.DefaultAllowedNamespaces, AllowControlPlaneIngress: true},
		Quota:   map[string]resource.Quantity{"requests.cpu": resource.MustParse("8"), "requests.memory": resource.MustParse("16Gi")},
		Limits: (&tenant.Limits{Default: map[string]resource.Quantity{"cpu": resource.MustParse("500m")},
			DefaultRequest: map[string]resource.Quantity{"cpu": resource.MustParse("100m")}}).Defaulted(),
	}
	// object is an applied configuration as the API server returns it: with the fields
	// applied owned by the provider.
	object := func(applied any) map[string]any {
		raw, _ := json.Marshal(applied)
		var obj map[string]any
		_ = json.Unmarshal(raw, &obj)
		fields := fieldsOf(obj)
		delete(fields, "f:apiVersion")
		delete(fields, "f:kind")
		fieldsJSON, _ := json.Marshal(fields)
		meta := obj["metadata"].(map[string]any)
		meta["uid"], meta["resourceVersion"], meta["creationTimestamp"] = "5a5b5c5d-0000", "6001", "2026-12-01T08:00:00Z"
		meta["managedFields"] = []any{map[string]any{"manager": kube.FieldManager, "operation": string(metav1.ManagedFieldsOperationApply),
			"apiVersion": obj["apiVersion"], "fieldsType": "FieldsV1", "fieldsV1": json.RawMessage(fieldsJSON)}}
		return obj
	}
	api := newMemoryAPI()
	ns := object(spec.NamespaceApply())
	ns["status"] = map[string]any{"phase": "Active"}
	api.put("/api/v1/namespaces/"+benchNamespace, ns)
	api.put("/api/v1/namespaces", map[string]any{"kind": "NamespaceList", "apiVersion": "v1", "items": []any{ns}})
	at := "/namespaces/" + benchNamespace
	for _, r := range spec.RolesApply() {
		api.put("/apis/rbac.authorization.k8s.io/v1"+at+"/roles/"+*r.Name, object(r))
	}
	// The refresh lists bindings and policies by the ownership labels; memoryAPI answers by
	// path alone, so each list is at its collection's path.
	bindings := []any{}
	for _, rb := range spec.RoleBindingsApply() {
		bindings = append(bindings, object(rb))
	}
	api.put("/apis/rbac.authorization.k8s.io/v1"+at+"/rolebindings",
		map[string]any{"kind": "RoleBindingList", "apiVersion": "rbac.authorization.k8s.io/v1", "items": bindings})
	policies := []any{}
	for _, p := range spec.NetworkPoliciesApply() {
		policies = append(policies, object(p))
	}
	api.put("/apis/networking.k8s.io/v1"+at+"/networkpolicies",
		map[string]any{"kind": "NetworkPolicyList", "apiVersion": "networking.k8s.io/v1", "items": policies})
	api.put("/api/v1"+at+"/resourcequotas/"+tenant.ResourceQuotaName, object(spec.ResourceQuotaApply()))
	api.put("/api/v1"+at+"/limitranges/"+tenant.LimitRangeName, object(spec.LimitRangeApply()))
	return api
}

// BenchmarkTenantRefresh is the provider's work for one qumulus_tenant in `terraform
// plan`'s refresh.
func BenchmarkTenantRefresh(b *testing.B) {
	api := tenantAPI()
	p := newProtocolProvider(b, api)
	stored := p.importState(b, "qumulus_tenant", "acme")
	benchmarkProvider(b, api, func() { p.refresh(b, "qumulus_tenant", stored) })
}

// TestTenantRefreshRead checks the benchmark's setup: the refresh finds the tenant whole.
func TestTenantRefreshRead(t *testing.T) {
	t.Parallel()
	api := tenantAPI()
	p := newProtocolProvider(t, api)
	stored := p.importState(t, "qumulus_tenant", "acme")
	api.take()
	refreshed, _ := p.refresh(t, "qumulus_tenant", stored)
	if got := attribute(t, p.stateType("qumulus_tenant"), refreshed, "namespace"); got != benchNamespace {
		t.Errorf("namespace = %q, want %q", got, benchNamespace)
	}
	// The namespace, then concurrently the Role, quota and limits by name and one list each
	// of bindings and policies.
	at := "/namespaces/" + benchNamespace
	want := []string{
		"GET /api/v1" + at,
		"GET /api/v1" + at + "/limitranges/" + tenant.LimitRangeName,
		"GET /api/v1" + at + "/resourcequotas/" + tenant.ResourceQuotaName,
		"GET /apis/networking.k8s.io/v1" + at + "/networkpolicies",
		"GET /apis/rbac.authorization.k8s.io/v1" + at + "/rolebindings",
		"GET /apis/rbac.authorization.k8s.io/v1" + at + "/roles/" + tenant.PlatformRole,
	}
	if got := slices.Sorted(slices.Values(api.take())); !slices.Equal(got, want) {
		t.Errorf("a refresh made\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	var state map[string]any
	_ = json.Unmarshal(stateJSON(t, p.stateType("qumulus_tenant"), refreshed), &state)
	for _, attr := range []string{"members", "network_isolation", "quota", "limit_range"} {
		if state[attr] == nil {
			t.Errorf("%s not read back: %v", attr, state)
		}
	}
}
