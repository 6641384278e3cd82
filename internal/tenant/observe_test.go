package tenant

import (
	"context"
	"errors"
	"reflect"
	"slices"
	"testing"

	networkingv1 "k8s.io/api/networking/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"

	"github.com/qumulus/terraform-provider-qumulus/internal/kube"
)

// applyTenant writes every object of s, as Apply does without prune.
func applyTenant(t *testing.T, c *Client, s Spec) {
	t.Helper()
	ctx := context.Background()
	if _, err := c.Kube.CoreV1().Namespaces().Apply(ctx, s.NamespaceApply(), applyOptions); err != nil {
		t.Fatal(err)
	}
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
}

// TestObserveRequests checks that Observe reads a tenant in six requests: the namespace,
// then the Role, quota and limits by name and the bindings and policies in one list each,
// selected by the ownership labels.
func TestObserveRequests(t *testing.T) {
	t.Parallel()
	s := fullSpec()
	c := newFakeClient()
	applyTenant(t, c, s)
	cs := c.Kube.(*fake.Clientset)
	cs.ClearActions()
	if _, err := c.Observe(context.Background(), s.Name, s.Namespace); err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, a := range cs.Actions() {
		r := a.GetVerb() + " " + a.GetResource().Resource
		if l, ok := a.(k8stesting.ListAction); ok {
			r += "?" + l.GetListRestrictions().Labels.String()
		}
		got = append(got, r)
	}
	slices.Sort(got)
	selector := "?" + kube.OwnershipSelector(s.Name)
	want := []string{"get limitranges", "get namespaces", "get resourcequotas", "get roles",
		"list networkpolicies" + selector, "list rolebindings" + selector}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("Observe made\n%q\nwant\n%q", got, want)
	}
}

// TestObserveIgnoresOthers checks that bindings and policies the provider did not write for
// the tenant, or under other names, change nothing.
func TestObserveIgnoresOthers(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := fullSpec()
	c := newFakeClient()
	applyTenant(t, c, s)
	want, err := c.Observe(ctx, s.Name, s.Namespace)
	if err != nil {
		t.Fatal(err)
	}
	meta := func(name string, labels map[string]string) metav1.ObjectMeta {
		return metav1.ObjectMeta{Name: name, Namespace: s.Namespace, Labels: labels}
	}
	subject := rbacv1.Subject{Kind: KindUser, APIGroup: rbacv1.GroupName, Name: "mallory"}
	for _, obj := range []runtime.Object{
		&rbacv1.RoleBinding{ObjectMeta: meta("extra", kube.OwnershipLabels(s.Name)), Subjects: []rbacv1.Subject{subject},
			RoleRef: rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: RoleAdmin}},
		&rbacv1.RoleBinding{ObjectMeta: meta("hand-made", nil), Subjects: []rbacv1.Subject{subject},
			RoleRef: rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: RoleAdmin}},
		&networkingv1.NetworkPolicy{ObjectMeta: meta("extra", kube.OwnershipLabels(s.Name))},
		&networkingv1.NetworkPolicy{ObjectMeta: meta("other-tenant", kube.OwnershipLabels("other"))},
	} {
		if err := c.Kube.(*fake.Clientset).Tracker().Add(obj); err != nil {
			t.Fatal(err)
		}
	}
	got, err := c.Observe(ctx, s.Name, s.Namespace)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("other objects changed the tenant:\n%+v\nwant\n%+v", got, want)
	}

	// A binding and a policy relabelled for another tenant no longer count.
	rb, err := c.Kube.RbacV1().RoleBindings(s.Namespace).Get(ctx, ClusterRoleBindingName(RoleAdmin), metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	rb.Labels = kube.OwnershipLabels("other")
	if _, err := c.Kube.RbacV1().RoleBindings(s.Namespace).Update(ctx, rb, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	p, err := c.Kube.NetworkingV1().NetworkPolicies(s.Namespace).Get(ctx, PolicyControlPlanes, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	delete(p.Labels, kube.LabelManagedBy)
	if _, err := c.Kube.NetworkingV1().NetworkPolicies(s.Namespace).Update(ctx, p, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	if got, err = c.Observe(ctx, s.Name, s.Namespace); err != nil {
		t.Fatal(err)
	}
	if slices.Contains(got.Names.RoleBindings, rb.Name) || slices.ContainsFunc(got.Members, func(m Member) bool { return m.Role == RoleAdmin }) {
		t.Errorf("a binding of another tenant counts: %v %+v", got.Names.RoleBindings, got.Members)
	}
	if got.Network == nil || got.Network.AllowControlPlaneIngress {
		t.Errorf("an unmanaged control-plane policy counts: %+v", got.Network)
	}
}

// TestObserveListErrors checks that a failed list names what was listed.
func TestObserveListErrors(t *testing.T) {
	t.Parallel()
	s := fullSpec()
	for resource, object := range map[string]string{
		"rolebindings":    "RoleBindings in namespace " + s.Namespace,
		"networkpolicies": "NetworkPolicies in namespace " + s.Namespace,
	} {
		c := newFakeClient()
		applyTenant(t, c, s)
		boom := errors.New("boom")
		c.Kube.(*fake.Clientset).PrependReactor("list", resource, func(k8stesting.Action) (bool, runtime.Object, error) {
			return true, nil, boom
		})
		_, err := c.Observe(context.Background(), s.Name, s.Namespace)
		var oe *kube.ObjectError
		if !errors.As(err, &oe) || oe.Action != "listing" || oe.Object != object || !errors.Is(err, boom) {
			t.Errorf("listing %s failed with %v, want listing %s: boom", resource, err, object)
		}
	}
}
