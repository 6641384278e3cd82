package kube

import (
	"reflect"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
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
	for _, tt := range tests {
		if got := AppliedKeys(obj, tt.path...); !reflect.DeepEqual(got, tt.want) {
			t.Errorf("AppliedKeys(%v) = %v, want %v", tt.path, got, tt.want)
		}
	}
}
