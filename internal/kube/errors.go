package kube

import (
	"context"
	"errors"
	"fmt"
	"strings"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
)

// The errors every domain package returns for what goes wrong with the objects it writes,
// so that the provider turns each into one kind of diagnostic.

// ObjectError is a failed API call about one object.
type ObjectError struct {
	// Action is what was attempted ("reading", "applying", ...); Object names the object,
	// e.g. "TenantControlPlane tenant-a/prod".
	Action, Object string
	Err            error
}

func (e *ObjectError) Error() string { return fmt.Sprintf("%s %s: %v", e.Action, e.Object, e.Err) }
func (e *ObjectError) Unwrap() error { return e.Err }

// NamespaceMissingError means the namespace an object would be made in does not exist.
type NamespaceMissingError struct{ Namespace string }

func (e *NamespaceMissingError) Error() string {
	return fmt.Sprintf("namespace %s does not exist", e.Namespace)
}

// ExistsError means an object a create would make is already there.
type ExistsError struct {
	Object string
	// Managed is true when the provider made it (it carries the provider's labels).
	Managed bool
}

func (e *ExistsError) Error() string { return e.Object + " already exists" }

// ExistsErrorFor is the ExistsError for obj, found in the way of a create.
func ExistsErrorFor(object string, obj metav1.Object) *ExistsError {
	return &ExistsError{Object: object, Managed: obj.GetLabels()[LabelManagedBy] == ManagedBy}
}

// UnsupportedFieldError means the installed CRD does not know a field the provider sent:
// the controller release in the management cluster is older than the field.
type UnsupportedFieldError struct {
	// Object is the kind whose CRD refused the field.
	Object string
	Err    error
}

func (e *UnsupportedFieldError) Error() string {
	return fmt.Sprintf("the %s CRD installed does not know a field that was set: %v", e.Object, e.Err)
}
func (e *UnsupportedFieldError) Unwrap() error { return e.Err }

// NotReadyError means an object did not become ready before the context ended.
type NotReadyError struct {
	Object string
	// Last describes the last status seen.
	Last string
	Err  error
}

func (e *NotReadyError) Error() string { return fmt.Sprintf("%s is not ready: %s", e.Object, e.Last) }
func (e *NotReadyError) Unwrap() error { return e.Err }

// StuckError means deleted objects were still there when the context ended.
type StuckError struct {
	// Container, when set, is the object being deleted (a namespace) that Remaining are in.
	Container string
	// Remaining describes each object left, with its finalizers.
	Remaining []string
	// Conditions are conditions of the container that report a problem (a namespace's
	// deletion conditions).
	Conditions []string
	Err        error
}

func (e *StuckError) Error() string {
	var b strings.Builder
	if e.Container != "" {
		fmt.Fprintf(&b, "%s is still being deleted", e.Container)
		if len(e.Remaining) > 0 {
			fmt.Fprintf(&b, "; still in it: %s", strings.Join(e.Remaining, ", "))
		}
		if len(e.Conditions) > 0 {
			fmt.Fprintf(&b, "; %s conditions: %s", strings.SplitN(e.Container, " ", 2)[0], strings.Join(e.Conditions, "; "))
		}
	} else {
		fmt.Fprintf(&b, "still there: %s", strings.Join(e.Remaining, "; "))
	}
	if e.Err != nil {
		fmt.Fprintf(&b, " (%v)", e.Err)
	}
	return b.String()
}
func (e *StuckError) Unwrap() error { return e.Err }

// Describe names an object with its finalizers, for a StuckError.
func Describe(object string, obj metav1.Object) string {
	if f := obj.GetFinalizers(); len(f) > 0 {
		return object + " (finalizers: " + strings.Join(f, ", ") + ")"
	}
	return object
}

// NamespaceTenant checks that namespace exists and returns its tenant label ("" when it
// has none).
func NamespaceTenant(ctx context.Context, k kubernetes.Interface, namespace string) (string, error) {
	ns, err := k.CoreV1().Namespaces().Get(ctx, namespace, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return "", &NamespaceMissingError{Namespace: namespace}
	}
	if err != nil {
		return "", &ObjectError{"reading", "namespace " + namespace, err}
	}
	return ns.Labels[LabelTenant], nil
}

// ReadNamespaceTenant is NamespaceTenant through read when one is given (kube.Clients'
// NamespaceTenant, which remembers it during a plan), else from a GET with k.
func ReadNamespaceTenant(ctx context.Context, read func(context.Context, string) (string, error), k kubernetes.Interface, namespace string) (string, error) {
	if read != nil {
		return read(ctx, namespace)
	}
	return NamespaceTenant(ctx, k, namespace)
}

// ErrNotFound is wrapped by each domain package's "not found" error: the object the
// provider manages is gone, so Terraform forgets it.
var ErrNotFound = errors.New("not found")
