package kube

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
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

// WatchRefusedError means the API server refused to list or watch in a way that retrying
// cannot mend: no permission, or no such resource.
type WatchRefusedError struct{ Err error }

func (e *WatchRefusedError) Error() string { return "watch refused: " + e.Err.Error() }
func (e *WatchRefusedError) Unwrap() error { return e.Err }

// UnreachableError means the API server did not answer a wait's lists and watches when
// the wait ended: the wait could not tell whether the object became ready.
type UnreachableError struct {
	// Since is when it stopped answering.
	Since time.Time
	Err   error
}

func (e *UnreachableError) Error() string {
	return fmt.Sprintf("the API server has not answered since %s: %v", e.Since.UTC().Format(time.TimeOnly+" UTC"), e.Err)
}
func (e *UnreachableError) Unwrap() error { return e.Err }

// outage remembers whether the last list or watch of a wait got no answer, and since when.
type outage struct {
	mu    sync.Mutex
	since time.Time
	err   error
}

func (o *outage) record(err error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	var status apierrors.APIStatus
	switch {
	case err == nil || errors.As(err, &status):
		o.since, o.err = time.Time{}, nil
	case errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded):
	default:
		if o.err == nil {
			o.since = time.Now()
		}
		o.err = err
	}
}

// current is the outage under way, nil when the API server answered last.
func (o *outage) current() *UnreachableError {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.err == nil {
		return nil
	}
	return &UnreachableError{Since: o.since, Err: o.err}
}

// refusable wraps lw so that the first refusal a retry cannot mend cancels the returned
// context with a *WatchRefusedError as its cause. The informer under UntilWithSync would
// retry it silently until the context ends. Lists and watches that get no answer are
// recorded in out.
func refusable(ctx context.Context, lw *cache.ListWatch, out *outage) (context.Context, context.CancelFunc, *cache.ListWatch) {
	ctx, cancel := context.WithCancelCause(ctx)
	check := func(err error) {
		out.record(err)
		if apierrors.IsForbidden(err) || apierrors.IsUnauthorized(err) || apierrors.IsNotFound(err) {
			cancel(&WatchRefusedError{Err: err})
		}
	}
	return ctx, func() { cancel(nil) }, &cache.ListWatch{
		ListWithContextFunc: func(ctx context.Context, o metav1.ListOptions) (runtime.Object, error) {
			list, err := lw.ListWithContextFunc(ctx, o)
			check(err)
			return list, err
		},
		WatchFuncWithContext: func(ctx context.Context, o metav1.ListOptions) (watch.Interface, error) {
			w, err := lw.WatchFuncWithContext(ctx, o)
			check(err)
			return w, err
		},
	}
}

// WatchObject watches the object of r called name, calling done with it (nil while it does
// not exist) first and at every change, until done returns true or ctx ends. The watch's
// first event answers what a read before it would: no read is needed. A refused list or
// watch ends it at once with a *WatchRefusedError. The watch outlives API server outages
// (it lists and watches again); when ctx ends during one, the error wraps an
// *UnreachableError.
func WatchObject(ctx context.Context, r dynamic.ResourceInterface, name string, done func(*unstructured.Unstructured) bool) error {
	var out outage
	ctx, cancel, lw := refusable(ctx, ListWatch(r, NameSelector(name)), &out)
	defer cancel()
	_, err := watchtools.UntilWithSync(ctx, lw, &unstructured.Unstructured{}, func(store cache.Store) (bool, error) {
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
	var refused *WatchRefusedError
	if errors.As(context.Cause(ctx), &refused) {
		return refused
	}
	if unreachable := out.current(); err != nil && unreachable != nil {
		return fmt.Errorf("%w (%w)", err, unreachable)
	}
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
