package kube

import (
	"encoding/json"
	"strings"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

const (
	// FieldManager is the server-side apply field manager of everything the provider writes.
	FieldManager = "terraform-provider-qumulus"

	// LabelManagedBy and ManagedBy mark every object the provider creates.
	LabelManagedBy = "app.kubernetes.io/managed-by"
	ManagedBy      = "terraform-provider-qumulus"

	// LabelTenant names the qumulus_tenant an object belongs to.
	LabelTenant = "qumulus.io/tenant"

	// AnnotationCreateRequest holds a random identifier of the request that created an
	// object, so that a create whose answer was lost (a connection broken after the
	// request was sent, a 5xx) can tell the object it made from one someone else made.
	AnnotationCreateRequest = "qumulus.io/create-request"
)

// OwnershipLabels are the labels the provider puts on every object of a tenant.
func OwnershipLabels(tenant string) map[string]string {
	return map[string]string{LabelManagedBy: ManagedBy, LabelTenant: tenant}
}

// OwnershipSelector selects the objects the provider created for a tenant.
func OwnershipSelector(tenant string) string {
	return LabelManagedBy + "=" + ManagedBy + "," + LabelTenant + "=" + tenant
}

// IsReservedLabel reports whether key is one of the provider's ownership labels, which
// users may not set themselves.
func IsReservedLabel(key string) bool {
	return key == LabelManagedBy || key == LabelTenant
}

// AppliedKeys returns the keys of the map at path (e.g. "metadata", "labels") that
// FieldManager owns through server-side apply. A key another manager changed since is no
// longer owned: reading only owned keys shows that change as drift, and leaves keys other
// managers added alone.
func AppliedKeys(obj metav1.Object, path ...string) map[string]bool {
	if u, ok := obj.(*unstructured.Unstructured); ok {
		return appliedKeys(u, path)
	}
	keys := map[string]bool{}
	for _, entry := range obj.GetManagedFields() {
		if entry.Manager != FieldManager || entry.Operation != metav1.ManagedFieldsOperationApply || entry.FieldsV1 == nil {
			continue
		}
		var fields map[string]any
		if err := json.Unmarshal(entry.FieldsV1.GetRawBytes(), &fields); err != nil {
			continue
		}
		node := fields
		for _, p := range path {
			next, ok := node["f:"+p].(map[string]any)
			if !ok {
				node = nil
				break
			}
			node = next
		}
		for k := range node {
			if key, ok := strings.CutPrefix(k, "f:"); ok {
				keys[key] = true
			}
		}
	}
	return keys
}

// appliedKeys is AppliedKeys of an unstructured object, read from its map:
// GetManagedFields would convert every entry and encode its fields as JSON again, only
// for them to be decoded here.
func appliedKeys(u *unstructured.Unstructured, path []string) map[string]bool {
	keys := map[string]bool{}
	entries, _, _ := unstructured.NestedFieldNoCopy(u.Object, "metadata", "managedFields")
	list, _ := entries.([]any)
	for _, e := range list {
		entry, _ := e.(map[string]any)
		if entry["manager"] != FieldManager || entry["operation"] != string(metav1.ManagedFieldsOperationApply) {
			continue
		}
		node, _ := entry["fieldsV1"].(map[string]any)
		for _, p := range path {
			node, _ = node["f:"+p].(map[string]any)
		}
		for k := range node {
			if key, ok := strings.CutPrefix(k, "f:"); ok {
				keys[key] = true
			}
		}
	}
	return keys
}
