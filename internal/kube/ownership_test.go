package kube

import (
	"encoding/json"
	"reflect"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

func TestAppliedKeys(t *testing.T) {
	t.Parallel()
	obj := &metav1.ObjectMeta{ManagedFields: []metav1.ManagedFieldsEntry{
		{
			Manager: FieldManager, Operation: metav1.ManagedFieldsOperationApply,
			FieldsV1: metav1.NewFieldsV1(`{"f:metadata":{"f:labels":{"f:team":{},"f:tier":{}}},"f:spec":{"f:hard":{"f:pods":{}}}}`),
		},
		// Fields set by our own Create (an Update) or by others are not ours to read.
		{
			Manager: FieldManager, Operation: metav1.ManagedFieldsOperationUpdate,
			FieldsV1: metav1.NewFieldsV1(`{"f:metadata":{"f:labels":{"f:created":{}}}}`),
		},
		{
			Manager: "kubectl-edit", Operation: metav1.ManagedFieldsOperationUpdate,
			FieldsV1: metav1.NewFieldsV1(`{"f:metadata":{"f:labels":{"f:other":{}}}}`),
		},
	}}
	tests := []struct {
		path []string
		want map[string]bool
	}{
		{[]string{"metadata", "labels"}, map[string]bool{"team": true, "tier": true}},
		{[]string{"spec", "hard"}, map[string]bool{"pods": true}},
		{[]string{"metadata", "annotations"}, map[string]bool{}},
	}
	// An object read by the dynamic client holds its managed fields as decoded JSON.
	u := &unstructured.Unstructured{Object: map[string]any{"apiVersion": "v1", "kind": "Namespace"}}
	u.SetManagedFields(obj.ManagedFields)
	raw, err := json.Marshal(u.Object)
	if err != nil {
		t.Fatal(err)
	}
	decoded := &unstructured.Unstructured{}
	if err := decoded.UnmarshalJSON(raw); err != nil {
		t.Fatal(err)
	}
	for _, tt := range tests {
		for name, o := range map[string]metav1.Object{"typed": obj, "unstructured": u, "decoded": decoded} {
			if got := AppliedKeys(o, tt.path...); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("AppliedKeys(%s, %v) = %v, want %v", name, tt.path, got, tt.want)
			}
		}
	}
}
