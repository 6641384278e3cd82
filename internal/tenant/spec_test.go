package tenant

import (
	"context"
	"errors"
	"reflect"
	"slices"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	dynamicfake "k8s.io/client-go/dynamic/fake"
	"k8s.io/client-go/kubernetes/fake"

	"github.com/qumulus/terraform-provider-qumulus/internal/kube"
)

func q(s string) resource.Quantity { return resource.MustParse(s) }

func fullSpec() Spec {
	return Spec{
		Name:        "acme",
		Namespace:   "tenant-acme",
		Labels:      map[string]string{"team": "a"},
		Annotations: map[string]string{"example.com/owner": "ops"},
		Members: []Member{
			{Kind: KindUser, Name: "alice", Role: RoleView},
			{Kind: KindGroup, Name: "admins", Role: RoleAdmin},
			{Kind: KindServiceAccount, Name: "ci", Role: RoleEdit},
			{Kind: KindServiceAccount, Name: "bot", Namespace: "ci", Role: RoleEdit},
		},
		Network: &NetworkIsolation{
			AllowedNamespaces:         []string{"kamaji-system", "monitoring"},
			AllowedNamespaceSelectors: []map[string]string{{"role": "ingress"}},
			AllowControlPlaneIngress:  true,
		},
		Quota:  map[string]resource.Quantity{"requests.cpu": q("4"), "count/tenantcontrolplanes.kamaji.clastix.io": q("2")},
		Limits: &Limits{Default: map[string]resource.Quantity{"cpu": q("500m")}, Max: map[string]resource.Quantity{"memory": q("2Gi")}},
	}
}

func TestObjectNames(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		spec Spec
		want Names
	}{
		{
			name: "nothing but the namespace",
			spec: Spec{Name: "a", Namespace: "tenant-a"},
			want: Names{},
		},
		{
			name: "everything",
			spec: fullSpec(),
			want: Names{
				Roles:           []string{PlatformRole},
				RoleBindings:    []string{"qumulus-admin", "qumulus-edit", PlatformRole, "qumulus-view"},
				NetworkPolicies: []string{PolicyControlPlanes, PolicyPlatform, PolicySameNamespace, PolicyDefaultDeny},
				ResourceQuota:   ResourceQuotaName,
				LimitRange:      LimitRangeName,
			},
		},
		{
			name: "isolation without platform namespaces or control-plane ingress",
			spec: Spec{Name: "a", Namespace: "tenant-a", Network: &NetworkIsolation{}, Members: []Member{{Kind: KindUser, Name: "u", Role: RoleEdit}}},
			want: Names{
				Roles:           []string{PlatformRole},
				RoleBindings:    []string{"qumulus-edit", PlatformRole},
				NetworkPolicies: []string{PolicySameNamespace, PolicyDefaultDeny},
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := tt.spec.ObjectNames(); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("ObjectNames() = %+v, want %+v", got, tt.want)
			}
		})
	}
}

func TestSubjects(t *testing.T) {
	t.Parallel()
	s := fullSpec()
	var got []string
	for _, sub := range s.subjects(RoleEdit) {
		ns, group := "", ""
		if sub.Namespace != nil {
			ns = *sub.Namespace
		}
		if sub.APIGroup != nil {
			group = *sub.APIGroup
		}
		got = append(got, *sub.Kind+"|"+ns+"|"+*sub.Name+"|"+group)
	}
	// A service account without a namespace is the tenant's own; users and groups carry
	// the RBAC API group.
	want := []string{"ServiceAccount|tenant-acme|ci|", "ServiceAccount|ci|bot|"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("edit subjects = %v, want %v", got, want)
	}
	view := s.subjects(RoleView)
	if len(view) != 1 || *view[0].APIGroup != "rbac.authorization.k8s.io" {
		t.Errorf("view subjects = %+v", view)
	}
}

func TestPlatformRules(t *testing.T) {
	t.Parallel()
	for _, rule := range platformRules() {
		// Members read their clusters; they never write them or their status.
		if !reflect.DeepEqual(rule.Verbs, []string{"get", "list", "watch"}) {
			t.Errorf("%v: verbs %v", rule.APIGroups, rule.Verbs)
		}
		for _, r := range rule.Resources {
			if r == "*" || strings.Contains(r, "/") {
				t.Errorf("%v: resource %q grants more than the objects themselves", rule.APIGroups, r)
			}
		}
	}
}

func TestPlatformSubjectsOncePerMember(t *testing.T) {
	t.Parallel()
	s := Spec{Name: "a", Namespace: "tenant-a", Members: []Member{
		{Kind: KindUser, Name: "alice", Role: RoleAdmin},
		{Kind: KindUser, Name: "alice", Role: RoleView},
		{Kind: KindServiceAccount, Name: "ci", Role: RoleEdit},
		{Kind: KindServiceAccount, Name: "ci", Namespace: "tenant-a", Role: RoleView},
	}}
	if got := len(s.platformSubjects()); got != 2 {
		t.Errorf("platform binding has %d subjects, want 2 (alice, tenant-a/ci)", got)
	}
}

func TestDefaultedLimits(t *testing.T) {
	t.Parallel()
	written := &Limits{Max: map[string]resource.Quantity{"cpu": q("2")}, Min: map[string]resource.Quantity{"memory": q("64Mi")}}
	// What the API server stores for it (SetDefaults_LimitRangeItem).
	stored := &Limits{
		Default:        map[string]resource.Quantity{"cpu": q("2")},
		DefaultRequest: map[string]resource.Quantity{"cpu": q("2"), "memory": q("64Mi")},
		Max:            map[string]resource.Quantity{"cpu": q("2000m")},
		Min:            map[string]resource.Quantity{"memory": q("64Mi")},
	}
	if !SameLimits(written, stored) {
		t.Errorf("SameLimits(%+v, %+v) = false", written, stored)
	}
	stored.Max["cpu"] = q("3")
	if SameLimits(written, stored) {
		t.Error("a changed max still counts as the same")
	}
	if !SameLimits(nil, nil) || SameLimits(written, nil) {
		t.Error("nil handling")
	}
}

func TestNetworkPolicies(t *testing.T) {
	t.Parallel()
	policies := fullSpec().NetworkPoliciesApply()
	byName := map[string]int{}
	for i, p := range policies {
		byName[*p.Name] = i
		if p.Labels[kube.LabelTenant] != "acme" || *p.Namespace != "tenant-acme" {
			t.Errorf("%s: labels %v namespace %s", *p.Name, p.Labels, *p.Namespace)
		}
	}
	deny := policies[byName[PolicyDefaultDeny]]
	if len(deny.Spec.Ingress) != 0 || deny.Spec.PolicyTypes[0] != "Ingress" {
		t.Errorf("default deny has ingress rules %+v", deny.Spec.Ingress)
	}
	platform := policies[byName[PolicyPlatform]]
	peers := platform.Spec.Ingress[0].From
	if len(peers) != 2 {
		t.Fatalf("platform peers %d, want 2", len(peers))
	}
	expr := peers[0].NamespaceSelector.MatchExpressions[0]
	if *expr.Key != corev1.LabelMetadataName || !reflect.DeepEqual(expr.Values, []string{"kamaji-system", "monitoring"}) {
		t.Errorf("platform namespaces %s %v", *expr.Key, expr.Values)
	}
	if !reflect.DeepEqual(peers[1].NamespaceSelector.MatchLabels, map[string]string{"role": "ingress"}) {
		t.Errorf("platform selector %v", peers[1].NamespaceSelector.MatchLabels)
	}
	cp := policies[byName[PolicyControlPlanes]]
	if len(cp.Spec.Ingress) != 1 || cp.Spec.Ingress[0].From != nil || *cp.Spec.PodSelector.MatchExpressions[0].Key != "kamaji.clastix.io/name" {
		t.Errorf("control-plane policy %+v", cp.Spec)
	}
}

// TestNetworkPolicyObjects: the policy without rules sends an empty ingress list, which
// the apply then owns (a rule someone adds is removed); the others send their rules.
func TestNetworkPolicyObjects(t *testing.T) {
	t.Parallel()
	for _, obj := range fullSpec().NetworkPolicyObjects() {
		ingress, found, err := unstructured.NestedSlice(obj.Object, "spec", "ingress")
		if err != nil || !found {
			t.Errorf("%s sends no ingress list (%v)", obj.GetName(), err)
			continue
		}
		if (obj.GetName() == PolicyDefaultDeny) != (len(ingress) == 0) {
			t.Errorf("%s sends %d ingress rules", obj.GetName(), len(ingress))
		}
		if obj.GetKind() != "NetworkPolicy" || obj.GetNamespace() != "tenant-acme" {
			t.Errorf("%s: kind %q namespace %q", obj.GetName(), obj.GetKind(), obj.GetNamespace())
		}
	}
}

func newFakeClient(objects ...runtime.Object) *Client {
	cs := fake.NewClientset(objects...)
	return &Client{Kube: cs, Dynamic: dynamicfake.NewSimpleDynamicClient(runtime.NewScheme()), Discovery: cs.Discovery()}
}

// TestApplyThenObserve checks that what Apply writes reads back as the same spec.
func TestApplyThenObserve(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	c := newFakeClient()
	s := fullSpec()
	if _, err := c.Kube.CoreV1().Namespaces().Apply(ctx, s.NamespaceApply(), applyOptions); err != nil {
		t.Fatal(err)
	}
	// Apply without prune: the fake dynamic client knows no list kinds.
	for _, r := range s.RolesApply() {
		if _, err := c.Kube.RbacV1().Roles(s.Namespace).Apply(ctx, r, applyOptions); err != nil {
			t.Fatal(err)
		}
	}
	for _, b := range s.RoleBindingsApply() {
		if _, err := c.Kube.RbacV1().RoleBindings(s.Namespace).Apply(ctx, b, applyOptions); err != nil {
			t.Fatal(err)
		}
	}
	for _, p := range s.NetworkPoliciesApply() {
		if _, err := c.Kube.NetworkingV1().NetworkPolicies(s.Namespace).Apply(ctx, p, applyOptions); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := c.Kube.CoreV1().ResourceQuotas(s.Namespace).Apply(ctx, s.ResourceQuotaApply(), applyOptions); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Kube.CoreV1().LimitRanges(s.Namespace).Apply(ctx, s.LimitRangeApply(), applyOptions); err != nil {
		t.Fatal(err)
	}

	o, err := c.Observe(ctx, s.Name, s.Namespace)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(o.Names, s.ObjectNames()) {
		t.Errorf("observed names %+v, want %+v", o.Names, s.ObjectNames())
	}
	if !reflect.DeepEqual(o.Members, sortedMembers(withNamespaces(s.Members, s.Namespace))) {
		t.Errorf("observed members %+v, want %+v", o.Members, s.Members)
	}
	if !reflect.DeepEqual(o.Network, s.Network) {
		t.Errorf("observed network %+v, want %+v", o.Network, s.Network)
	}
	if !reflect.DeepEqual(o.Labels, s.Labels) || !reflect.DeepEqual(o.Annotations, s.Annotations) {
		t.Errorf("observed labels %v annotations %v", o.Labels, o.Annotations)
	}
	if cpu := o.Quota["requests.cpu"]; len(o.Quota) != 2 || cpu.Cmp(q("4")) != 0 {
		t.Errorf("observed quota %v", o.Quota)
	}
	if o.Limits == nil || o.Limits.DefaultRequest != nil || !o.Limits.Max["memory"].Equal(q("2Gi")) {
		t.Errorf("observed limits %+v", o.Limits)
	}

	// A policy changed out of band no longer counts; its name drops out.
	p, err := c.Kube.NetworkingV1().NetworkPolicies(s.Namespace).Get(ctx, PolicySameNamespace, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	p.Spec.Ingress = nil
	if _, err := c.Kube.NetworkingV1().NetworkPolicies(s.Namespace).Update(ctx, p, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	// A member removed from the platform binding is no longer a member, and its role's
	// binding no longer counts; a subject added to one binding only makes it not count.
	rb, err := c.Kube.RbacV1().RoleBindings(s.Namespace).Get(ctx, PlatformRole, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	rb.Subjects = slices.DeleteFunc(rb.Subjects, func(sub rbacv1.Subject) bool { return sub.Name == "alice" })
	if _, err := c.Kube.RbacV1().RoleBindings(s.Namespace).Update(ctx, rb, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	if rb, err = c.Kube.RbacV1().RoleBindings(s.Namespace).Get(ctx, "qumulus-admin", metav1.GetOptions{}); err != nil {
		t.Fatal(err)
	}
	rb.Subjects = append(rb.Subjects, rbacv1.Subject{Kind: KindUser, APIGroup: rbacv1.GroupName, Name: "mallory"})
	if _, err := c.Kube.RbacV1().RoleBindings(s.Namespace).Update(ctx, rb, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	o, err = c.Observe(ctx, s.Name, s.Namespace)
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range o.Names.NetworkPolicies {
		if n == PolicySameNamespace {
			t.Errorf("a changed policy still counts: %v", o.Names.NetworkPolicies)
		}
	}
	for _, m := range o.Members {
		if m.Name == "alice" || m.Name == "mallory" {
			t.Errorf("a subject in only one of the bindings counts as a member: %+v", m)
		}
	}
	if want := []string{"qumulus-edit", PlatformRole}; !reflect.DeepEqual(o.Names.RoleBindings, want) {
		t.Errorf("bindings as written %v, want %v", o.Names.RoleBindings, want)
	}
}

func withNamespaces(members []Member, ns string) []Member {
	var out []Member
	for _, m := range members {
		if m.Kind == KindServiceAccount && m.Namespace == "" {
			m.Namespace = ns
		}
		out = append(out, m)
	}
	return out
}

func TestObserveNotFound(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	other := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "tenant-b", Labels: kube.OwnershipLabels("someone-else")}}
	c := newFakeClient(other)
	for _, ns := range []string{"missing", "tenant-b"} {
		if _, err := c.Observe(ctx, "acme", ns); !errors.Is(err, ErrNotFound) {
			t.Errorf("Observe(%s) = %v, want ErrNotFound", ns, err)
		}
	}
}

func TestCreateRefusesExistingNamespaces(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	plain := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "tenant-plain"}}
	owned := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "tenant-old", Labels: kube.OwnershipLabels("old")}}
	c := newFakeClient(plain, owned)

	var exists *NamespaceExistsError
	if _, err := c.Create(ctx, Spec{Name: "plain", Namespace: "tenant-plain"}); !errors.As(err, &exists) || exists.Tenant != "" {
		t.Errorf("Create on a foreign namespace: %v", err)
	}
	var taken *NameTakenError
	if _, err := c.Create(ctx, Spec{Name: "old", Namespace: "elsewhere"}); !errors.As(err, &taken) || taken.Namespace != "tenant-old" {
		t.Errorf("Create of a second tenant named old: %v", err)
	}
}
