package kube

import (
	"context"
	"errors"
	"net/http"
	"slices"
	"testing"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/validation/field"
	"k8s.io/client-go/dynamic"
)

func statusError(code int32, reason metav1.StatusReason, msg string, causes ...metav1.StatusCause) error {
	return &apierrors.StatusError{ErrStatus: metav1.Status{
		Status: metav1.StatusFailure, Code: code, Reason: reason, Message: msg,
		Details: &metav1.StatusDetails{Causes: causes},
	}}
}

func TestRefusalOf(t *testing.T) {
	t.Parallel()
	tcp := schema.GroupKind{Group: "kamaji.clastix.io", Kind: "TenantControlPlane"}
	invalid := apierrors.NewInvalid(tcp, "prod", field.ErrorList{
		field.Invalid(field.NewPath("spec", "networkProfile", "clusterDomain"), "clusterlocal", `should match '.*\..*'`),
	})
	cases := []struct {
		name       string
		err        error
		refused    bool
		admission  bool
		wantCauses []Cause
	}{
		{name: "CRD schema", err: invalid, refused: true, wantCauses: []Cause{{Field: "spec.networkProfile.clusterDomain",
			Message: `Invalid value: "clusterlocal": should match '.*\..*'`}}},
		{name: "webhook denial (controller-runtime's 403)", refused: true, admission: true,
			err:        statusError(http.StatusForbidden, metav1.StatusReasonForbidden, `admission webhook "vtcp.kamaji.clastix.io" denied the request: missing DataStore does not exist`),
			wantCauses: []Cause{{Message: `admission webhook "vtcp.kamaji.clastix.io" denied the request: missing DataStore does not exist`}}},
		{name: "ValidatingAdmissionPolicy", refused: true, admission: true,
			err: statusError(http.StatusUnprocessableEntity, metav1.StatusReasonInvalid, "ValidatingAdmissionPolicy 'p' with binding 'b' denied request: no",
				metav1.StatusCause{Message: "ValidatingAdmissionPolicy 'p' with binding 'b' denied request: no"}),
			wantCauses: []Cause{{Message: "ValidatingAdmissionPolicy 'p' with binding 'b' denied request: no"}}},
		{name: "quota", refused: true, err: statusError(http.StatusForbidden, metav1.StatusReasonForbidden, `tenantcontrolplanes.kamaji.clastix.io "b" is forbidden: exceeded quota: q`),
			wantCauses: []Cause{{Message: `tenantcontrolplanes.kamaji.clastix.io "b" is forbidden: exceeded quota: q`}}},
		{name: "RBAC may not patch", err: apierrors.NewForbidden(schema.GroupResource{Resource: "namespaces"}, "a", errors.New(`User "ro" cannot patch resource "namespaces"`))},
		{name: "RBAC escalation", err: apierrors.NewForbidden(schema.GroupResource{Resource: "rolebindings"}, "a", errors.New(`user "u" is attempting to grant RBAC permissions not currently held`))},
		{name: "webhook without dry-run support", err: apierrors.NewBadRequest(`admission webhook "x" does not support dry run`)},
		{name: "webhook unreachable", err: apierrors.NewInternalError(errors.New(`failed calling webhook "x": connection refused`))},
		{name: "unauthorized", err: apierrors.NewUnauthorized("no")},
		{name: "not served", err: apierrors.NewNotFound(schema.GroupResource{Resource: "tenantcontrolplanes"}, "prod")},
		{name: "timeout", err: apierrors.NewTimeoutError("slow", 1)},
		{name: "no answer", err: context.DeadlineExceeded},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			r := RefusalOf("TenantControlPlane a/prod", "TenantControlPlane", c.err)
			if (r != nil) != c.refused {
				t.Fatalf("refusal = %v, want refused %v", r, c.refused)
			}
			if r == nil {
				return
			}
			if r.Admission != c.admission || !slices.Equal(r.Causes, c.wantCauses) || r.Kind != "TenantControlPlane" || !errors.Is(r.Err, c.err) {
				t.Errorf("refusal = %+v, want admission %v, causes %+v", r, c.admission, c.wantCauses)
			}
		})
	}
}

// patchRecorder is a dynamic resource that answers patches with the error its answer
// gives for the object's name, recording what was sent.
type patchRecorder struct {
	dynamic.ResourceInterface
	answer func(name string) error
	sent   []string
	opts   []metav1.PatchOptions
}

func (p *patchRecorder) Patch(_ context.Context, name string, pt types.PatchType, _ []byte, opts metav1.PatchOptions, _ ...string) (*unstructured.Unstructured, error) {
	p.sent = append(p.sent, string(pt)+" "+name)
	p.opts = append(p.opts, opts)
	if err := p.answer(name); err != nil {
		return nil, err
	}
	return &unstructured.Unstructured{}, nil
}

func object(kind, namespace, name string) *unstructured.Unstructured {
	o := &unstructured.Unstructured{}
	o.SetKind(kind)
	o.SetNamespace(namespace)
	o.SetName(name)
	return o
}

func TestDryRun(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	refused := apierrors.NewInvalid(schema.GroupKind{Kind: "LimitRange"}, "bad", field.ErrorList{field.Invalid(field.NewPath("spec", "limits").Index(0).Child("default").Key("cpu"), "2", "must be <= max")})
	r := &patchRecorder{answer: func(name string) error {
		switch name {
		case "bad":
			return refused
		case "unreachable":
			return context.DeadlineExceeded
		}
		return nil
	}}
	var d DryRun
	for _, o := range []*unstructured.Unstructured{object("Namespace", "", "ok"), object("LimitRange", "a", "bad"), object("Role", "a", "ok")} {
		if err := d.Apply(ctx, r, o); err != nil {
			t.Fatal(err)
		}
	}
	if want := []string{"Namespace ok", "Role a/ok"}; !slices.Equal(d.Result().Checked, want) {
		t.Errorf("checked %q, want %q", d.Result().Checked, want)
	}
	var re *RefusedError
	if !errors.As(d.Err(), &re) || len(re.Refusals) != 1 || re.Refusals[0].Object != "LimitRange a/bad" ||
		re.Refusals[0].Causes[0].Field != "spec.limits[0].default[cpu]" {
		t.Errorf("Err() = %v, want the LimitRange's refusal naming spec.limits[0].default[cpu]", d.Err())
	}
	for i, o := range r.opts {
		if !slices.Equal(o.DryRun, []string{metav1.DryRunAll}) || o.FieldManager != FieldManager || o.Force == nil || !*o.Force ||
			o.FieldValidation != metav1.FieldValidationStrict {
			t.Errorf("patch %d sent with %+v, want dryRun=All and the options of Apply", i, o)
		}
		if r.sent[i][:len(types.ApplyPatchType)] != string(types.ApplyPatchType) {
			t.Errorf("patch %d is %s, want a server-side apply", i, r.sent[i])
		}
	}

	var stopped DryRun
	err := stopped.Apply(ctx, r, object("TenantControlPlane", "a", "unreachable"))
	var objErr *ObjectError
	if !errors.As(err, &objErr) || objErr.Action != DryRunAction || !errors.Is(err, context.DeadlineExceeded) || stopped.Err() != nil {
		t.Errorf("a dry run without answer: %v, want an ObjectError of %q and no refusal", err, DryRunAction)
	}
}

func TestDryRunSkipsMissingNamespace(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	missing := apierrors.NewNotFound(schema.GroupResource{Resource: "namespaces"}, "new")
	r := &patchRecorder{answer: func(string) error { return missing }}
	var d DryRun
	for _, o := range []*unstructured.Unstructured{object("Role", "new", "a"), object("RoleBinding", "new", "b")} {
		if err := d.Apply(ctx, r, o); err != nil {
			t.Fatal(err)
		}
	}
	if want := []string{"Role new/a", "RoleBinding new/b"}; !slices.Equal(d.Result().Skipped, want) || d.Err() != nil {
		t.Errorf("skipped %q (err %v), want %q", d.Result().Skipped, d.Err(), want)
	}
	if len(r.sent) != 1 {
		t.Errorf("sent %q: once the namespace is known to be missing, its objects need no request", r.sent)
	}
	// A missing object of another kind is no missing namespace.
	if IsNamespaceNotFound(apierrors.NewNotFound(schema.GroupResource{Resource: "roles"}, "new"), "new") ||
		IsNamespaceNotFound(missing, "other") || IsNamespaceNotFound(missing, "") {
		t.Error("IsNamespaceNotFound matched an error about something else")
	}
}
