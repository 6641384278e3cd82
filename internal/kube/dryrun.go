package kube

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/client-go/dynamic"
)

// A dry run sends the objects an apply would write, as it would write them, with
// dryRun=All: the API server runs everything a write runs — its own validation, the CRDs'
// schemas and CEL rules, admission webhooks and policies, quota — and stores nothing. What
// it refuses, an apply would fail on.

// DryRunAction is the Action of the *ObjectError of a dry run that could not be made.
const DryRunAction = "dry-run applying"

// Cause is one reason the API server gives for refusing an object: the field it names
// (e.g. spec.networkProfile.clusterDomain; "" when it names none) and its message.
type Cause struct {
	Field, Message string
}

// Refusal is the API server's refusal of one object.
type Refusal struct {
	// Object names the object, e.g. "TenantControlPlane tenant-a/prod"; Kind is its kind.
	Object, Kind string
	// Causes are the fields and messages the server gave: at least one.
	Causes []Cause
	// Admission is true when an admission webhook or policy of the management cluster
	// refused, rather than the API server's own validation or a CRD's schema.
	Admission bool
	// Err is the server's answer.
	Err error
}

// RefusedError means the API server would refuse objects a dry run sent.
type RefusedError struct {
	Refusals []Refusal
}

func (e *RefusedError) Error() string {
	parts := make([]string, 0, len(e.Refusals))
	for _, r := range e.Refusals {
		parts = append(parts, fmt.Sprintf("%s: %v", r.Object, r.Err))
	}
	return "refused: " + strings.Join(parts, "; ")
}

// DryRunResult says what a dry run checked.
type DryRunResult struct {
	// Checked names the objects the API server accepted.
	Checked []string
	// Skipped names the objects that could not be checked because their namespace does
	// not exist yet (it is made by the same apply), or that a plan creates although they
	// exist (the create half of a replacement, or a name taken, which the apply reports).
	Skipped []string
}

// DryRun sends objects with dryRun=All one after the other and gathers the outcome. Its
// zero value is ready to use.
type DryRun struct {
	result   DryRunResult
	refusals []Refusal
	// missing are the namespaces found not to exist: their objects are skipped without a
	// request.
	missing map[string]bool
}

// Apply dry-runs a server-side apply of obj, with the field manager, force and strict
// field validation of Apply. A refusal is recorded (see Err); an object whose namespace
// does not exist is skipped. Any other failure (no answer, a timeout, credentials that may
// not write) is returned: it says nothing about the object, and the caller stops.
func (d *DryRun) Apply(ctx context.Context, r dynamic.ResourceInterface, obj *unstructured.Unstructured) error {
	what := describe(obj)
	if ns := obj.GetNamespace(); ns != "" && d.missing[ns] {
		d.result.Skipped = append(d.result.Skipped, what)
		return nil
	}
	_, err := apply(ctx, r, obj, []string{metav1.DryRunAll})
	switch {
	case err == nil:
		d.result.Checked = append(d.result.Checked, what)
	case IsNamespaceNotFound(err, obj.GetNamespace()):
		if d.missing == nil {
			d.missing = map[string]bool{}
		}
		d.missing[obj.GetNamespace()] = true
		d.result.Skipped = append(d.result.Skipped, what)
	default:
		refusal := RefusalOf(what, obj.GetKind(), err)
		if refusal == nil {
			return &ObjectError{Action: DryRunAction, Object: what, Err: err}
		}
		if creating, _ := ctx.Value(creatingKey{}).(bool); creating {
			// A create whose object already exists is the create half of a replacement
			// (Terraform plans it with no prior state) or a name already taken, which the
			// apply reports: the server checked it as an update, against rules (immutable
			// fields) the new object does not meet.
			if _, getErr := r.Get(ctx, obj.GetName(), metav1.GetOptions{}); getErr == nil {
				d.result.Skipped = append(d.result.Skipped, what)
				return nil
			}
		}
		d.refusals = append(d.refusals, *refusal)
	}
	return nil
}

type creatingKey struct{}

// Creating marks ctx as the dry run of objects a plan creates: a refusal of an object
// that already exists is then not reported (see DryRun.Apply).
func Creating(ctx context.Context) context.Context {
	return context.WithValue(ctx, creatingKey{}, true)
}

// Result is what the objects sent so far came to.
func (d *DryRun) Result() DryRunResult { return d.result }

// Err is a *RefusedError listing every refusal, or nil when there was none.
func (d *DryRun) Err() error {
	if len(d.refusals) == 0 {
		return nil
	}
	return &RefusedError{Refusals: d.refusals}
}

// IsNamespaceNotFound reports whether err says that namespace does not exist (the answer
// to a write into a namespace not yet made).
func IsNamespaceNotFound(err error, namespace string) bool {
	var status apierrors.APIStatus
	if namespace == "" || !errors.As(err, &status) || !apierrors.IsNotFound(err) {
		return false
	}
	d := status.Status().Details
	return d != nil && d.Kind == "namespaces" && d.Name == namespace
}

// RefusalOf returns the refusal err is, for the object what of kind, or nil when err is
// not the API server refusing the object: no answer, a timeout, credentials that may not
// write it (plans often run with read-only credentials), a webhook that cannot be reached
// or that does not support dry runs, a kind the server does not serve.
func RefusalOf(what, kind string, err error) *Refusal {
	var apiStatus apierrors.APIStatus
	if !errors.As(err, &apiStatus) {
		return nil
	}
	status := apiStatus.Status()
	msg := status.Message
	admission := isAdmissionDenial(msg)
	switch {
	case strings.Contains(msg, "does not support dry run"), strings.Contains(msg, "failed calling webhook"):
		return nil
	case admission, status.Code == http.StatusUnprocessableEntity, status.Code == http.StatusBadRequest:
	case status.Code == http.StatusForbidden && strings.Contains(msg, "exceeded quota"):
	case IsUnknownField(err):
	default:
		return nil
	}
	r := &Refusal{Object: what, Kind: kind, Admission: admission, Err: err}
	if status.Details != nil {
		for _, c := range status.Details.Causes {
			if c.Field == "" && c.Message == "" {
				continue
			}
			r.Causes = append(r.Causes, Cause{Field: c.Field, Message: c.Message})
		}
	}
	if len(r.Causes) == 0 {
		r.Causes = []Cause{{Message: msg}}
	}
	return r
}

// isAdmissionDenial reports whether msg is an admission webhook's or a
// ValidatingAdmissionPolicy's denial, as the API server words them.
func isAdmissionDenial(msg string) bool {
	return strings.Contains(msg, "admission webhook ") && strings.Contains(msg, " denied the request") ||
		strings.Contains(msg, "ValidatingAdmissionPolicy ") && strings.Contains(msg, " denied request")
}
