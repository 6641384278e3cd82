package kube

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes/fake"
)

func TestErrors(t *testing.T) {
	t.Parallel()
	cause := context.DeadlineExceeded
	cases := []struct {
		err  error
		want string
	}{
		{&ObjectError{"reading", "Secret a/b", errors.New("boom")}, "reading Secret a/b: boom"},
		{&ExistsError{Object: "Cluster a/b"}, "Cluster a/b already exists"},
		{&NotReadyError{Object: "MachineDeployment a/b", Last: "1 of 3 available", Err: cause}, "MachineDeployment a/b is not ready: 1 of 3 available"},
		{&StuckError{Remaining: []string{"Cluster a/x (finalizers: f)", "KamajiControlPlane a/x"}, Err: cause},
			"still there: Cluster a/x (finalizers: f); KamajiControlPlane a/x (context deadline exceeded)"},
		{&StuckError{Container: "namespace a", Remaining: []string{"Cluster x (finalizers: f)", "Secret y"}, Conditions: []string{"NamespaceContentRemaining: 1 left"}, Err: cause},
			"namespace a is still being deleted; still in it: Cluster x (finalizers: f), Secret y; namespace conditions: NamespaceContentRemaining: 1 left (context deadline exceeded)"},
		{&UnsupportedFieldError{Object: "TenantControlPlane", Err: errors.New(`unknown field "spec.x"`)}, "the TenantControlPlane CRD installed does not know"},
	}
	for _, c := range cases {
		if got := c.err.Error(); !strings.Contains(got, c.want) {
			t.Errorf("%T: %q does not contain %q", c.err, got, c.want)
		}
	}
	wrapped := fmt.Errorf("applying: %w", &NotReadyError{Err: cause})
	if !errors.Is(wrapped, context.DeadlineExceeded) {
		t.Error("NotReadyError does not unwrap to its cause")
	}
	if !errors.Is(fmt.Errorf("cluster %w", ErrNotFound), ErrNotFound) {
		t.Error("a domain package's not-found error does not wrap ErrNotFound")
	}
}

func TestExistsErrorFor(t *testing.T) {
	t.Parallel()
	mine := &metav1.ObjectMeta{Labels: map[string]string{LabelManagedBy: ManagedBy}}
	if e := ExistsErrorFor("Cluster a/b", mine); !e.Managed {
		t.Error("an object with the provider's label is not reported as managed")
	}
	if e := ExistsErrorFor("Cluster a/b", &metav1.ObjectMeta{}); e.Managed {
		t.Error("an object without the provider's label is reported as managed")
	}
	if got := Describe("Cluster a/b", &metav1.ObjectMeta{Finalizers: []string{"f1", "f2"}}); got != "Cluster a/b (finalizers: f1, f2)" {
		t.Errorf("Describe = %q", got)
	}
}

func TestNamespaceTenant(t *testing.T) {
	t.Parallel()
	k := fake.NewClientset(&corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "tenant-a", Labels: map[string]string{LabelTenant: "a"}}})
	if tenant, err := NamespaceTenant(context.Background(), k, "tenant-a"); err != nil || tenant != "a" {
		t.Errorf("NamespaceTenant(tenant-a) = %q, %v", tenant, err)
	}
	var missing *NamespaceMissingError
	if _, err := NamespaceTenant(context.Background(), k, "nope"); !errors.As(err, &missing) || missing.Namespace != "nope" {
		t.Errorf("NamespaceTenant(nope) = %v, want a NamespaceMissingError", err)
	}
}
