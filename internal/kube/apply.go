package kube

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/tools/cache"
	watchtools "k8s.io/client-go/tools/watch"
)

// Apply writes obj with server-side apply as FieldManager, forcing ownership of the fields
// it sends. Strict field validation makes the API server refuse fields its CRD does not
// know instead of dropping them silently: that is an *UnsupportedFieldError, any other
// failure an *ObjectError.
func Apply(ctx context.Context, r dynamic.ResourceInterface, obj *unstructured.Unstructured) (*unstructured.Unstructured, error) {
	applied, err := apply(ctx, r, obj, nil)
	switch {
	case err == nil:
		return applied, nil
	case IsUnknownField(err):
		return nil, &UnsupportedFieldError{Object: obj.GetKind(), Err: err}
	default:
		return nil, &ObjectError{"applying", describe(obj), err}
	}
}

// apply sends obj as a server-side apply patch with the options of every write of the
// provider, and dryRun (nil for a real write).
func apply(ctx context.Context, r dynamic.ResourceInterface, obj *unstructured.Unstructured, dryRun []string) (*unstructured.Unstructured, error) {
	body, err := json.Marshal(obj.Object)
	if err != nil {
		return nil, fmt.Errorf("encoding: %w", err)
	}
	force := true
	return r.Patch(ctx, obj.GetName(), types.ApplyPatchType, body, metav1.PatchOptions{
		FieldManager:    FieldManager,
		Force:           &force,
		FieldValidation: metav1.FieldValidationStrict,
		DryRun:          dryRun,
	})
}

// describe names obj in errors, e.g. "TenantControlPlane tenant-a/prod".
func describe(obj *unstructured.Unstructured) string {
	if obj.GetNamespace() != "" {
		return obj.GetKind() + " " + obj.GetNamespace() + "/" + obj.GetName()
	}
	return obj.GetKind() + " " + obj.GetName()
}

// IsUnknownField reports whether the API server refused a field its schema does not
// declare: the CRD installed is older than the field.
func IsUnknownField(err error) bool {
	// Server-side apply refuses an undeclared field while it builds the typed patch (an
	// internal error, not a 400); strict validation of other requests says "unknown field".
	var status apierrors.APIStatus
	msg := err.Error()
	return errors.As(err, &status) &&
		(strings.Contains(msg, "unknown field") || strings.Contains(msg, "field not declared in schema"))
}

// WaitGone watches the objects r lists with opts (a field or label selector) until there
// are none.
func WaitGone(ctx context.Context, r dynamic.ResourceInterface, opts metav1.ListOptions) error {
	var store cache.Store
	_, err := watchtools.UntilWithSync(ctx, ListWatch(r, opts), &unstructured.Unstructured{}, func(s cache.Store) (bool, error) {
		store = s
		return len(s.List()) == 0, nil
	}, func(watch.Event) (bool, error) {
		return len(store.List()) == 0, nil
	})
	return err
}
