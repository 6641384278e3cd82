package kube

import (
	"context"
	"encoding/json"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/tools/cache"
	watchtools "k8s.io/client-go/tools/watch"
)

// ListWatch lists and watches the objects of r that opts selects (its field and label
// selectors).
func ListWatch(r dynamic.ResourceInterface, opts metav1.ListOptions) *cache.ListWatch {
	return &cache.ListWatch{
		ListWithContextFunc: func(ctx context.Context, o metav1.ListOptions) (runtime.Object, error) {
			o.FieldSelector, o.LabelSelector = opts.FieldSelector, opts.LabelSelector
			return r.List(ctx, o)
		},
		WatchFuncWithContext: func(ctx context.Context, o metav1.ListOptions) (watch.Interface, error) {
			o.FieldSelector, o.LabelSelector = opts.FieldSelector, opts.LabelSelector
			return r.Watch(ctx, o)
		},
	}
}

// NameSelector selects the object called name.
func NameSelector(name string) metav1.ListOptions {
	return metav1.ListOptions{FieldSelector: fields.OneTermEqualSelector("metadata.name", name).String()}
}

// WatchObject watches the object of r called name, calling done with it (nil while it does
// not exist) first and at every change, until done returns true or ctx ends.
func WatchObject(ctx context.Context, r dynamic.ResourceInterface, name string, done func(*unstructured.Unstructured) bool) error {
	_, err := watchtools.UntilWithSync(ctx, ListWatch(r, NameSelector(name)), &unstructured.Unstructured{}, func(store cache.Store) (bool, error) {
		for _, item := range store.List() {
			if obj, ok := item.(*unstructured.Unstructured); ok {
				return done(obj), nil
			}
		}
		return done(nil), nil
	}, func(e watch.Event) (bool, error) {
		obj, _ := e.Object.(*unstructured.Unstructured)
		if e.Type == watch.Deleted {
			obj = nil
		}
		return done(obj), nil
	})
	return err
}

// WatchList watches the objects of r that opts selects, calling done first and at every
// change, until it returns true or ctx ends.
func WatchList(ctx context.Context, r dynamic.ResourceInterface, opts metav1.ListOptions, done func() bool) error {
	_, err := watchtools.UntilWithSync(ctx, ListWatch(r, opts), &unstructured.Unstructured{}, func(cache.Store) (bool, error) {
		return done(), nil
	}, func(watch.Event) (bool, error) {
		return done(), nil
	})
	return err
}

// NestedString is the string at path of o, "" when absent.
func NestedString(o *unstructured.Unstructured, path ...string) string {
	v, _, _ := unstructured.NestedString(o.Object, path...)
	return v
}

// NestedInt64 is the integer at path of o (whatever number type holds it), nil when absent.
func NestedInt64(o *unstructured.Unstructured, path ...string) *int64 {
	v, found, err := unstructured.NestedFieldNoCopy(o.Object, path...)
	if !found || err != nil {
		return nil
	}
	var i int64
	switch n := v.(type) {
	case int64:
		i = n
	case int32:
		i = int64(n)
	case int:
		i = int64(n)
	case float64:
		i = int64(n)
	case json.Number:
		parsed, err := n.Int64()
		if err != nil {
			return nil
		}
		i = parsed
	default:
		return nil
	}
	return &i
}
