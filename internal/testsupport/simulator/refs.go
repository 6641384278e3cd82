package simulator

import (
	"context"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// objectRef is a Cluster API v1beta2 reference: apiGroup, kind and name, the version
// left to the API server (Cluster API reads it from the CRD's contract label).
type objectRef struct {
	APIGroup, Kind, Name string
}

func refAt(o *unstructured.Unstructured, path ...string) (objectRef, bool) {
	m, found, _ := unstructured.NestedStringMap(o.Object, path...)
	if !found || m["kind"] == "" || m["name"] == "" {
		return objectRef{}, false
	}
	return objectRef{APIGroup: m["apiGroup"], Kind: m["kind"], Name: m["name"]}, true
}

func (r objectRef) String() string { return r.Kind + " " + r.Name }

// get reads the object ref names in namespace from the API server; nil when neither it
// nor its kind exists.
func (s *Simulator) get(ctx context.Context, namespace string, ref objectRef) (*unstructured.Unstructured, error) {
	mapping, err := s.mgr.GetRESTMapper().RESTMapping(schema.GroupKind{Group: ref.APIGroup, Kind: ref.Kind})
	if meta.IsNoMatchError(err) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	obj := &unstructured.Unstructured{}
	obj.SetGroupVersionKind(mapping.GroupVersionKind)
	err = s.mgr.GetAPIReader().Get(ctx, client.ObjectKey{Namespace: namespace, Name: ref.Name}, obj)
	if apierrors.IsNotFound(err) {
		return nil, nil
	}
	return obj, err
}
