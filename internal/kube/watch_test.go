package kube

import (
	"context"
	"errors"
	"testing"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/watch"
	dynamicfake "k8s.io/client-go/dynamic/fake"
	clienttesting "k8s.io/client-go/testing"
)

// TestWatchObjectRefused checks that a refused watch ends the wait at once instead of
// being retried until the timeout.
func TestWatchObjectRefused(t *testing.T) {
	t.Parallel()
	gvr := schema.GroupVersionResource{Group: "example.com", Version: "v1", Resource: "widgets"}
	for name, refusal := range map[string]error{
		"forbidden":    apierrors.NewForbidden(gvr.GroupResource(), "", errors.New("no list")),
		"unauthorized": apierrors.NewUnauthorized("no token"),
		"no such kind": apierrors.NewNotFound(gvr.GroupResource(), ""),
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			client := dynamicfake.NewSimpleDynamicClientWithCustomListKinds(runtime.NewScheme(), map[schema.GroupVersionResource]string{gvr: "WidgetList"})
			refuse := func(clienttesting.Action) (bool, runtime.Object, error) { return true, nil, refusal }
			client.PrependReactor("list", "widgets", refuse)
			client.PrependWatchReactor("widgets", func(clienttesting.Action) (bool, watch.Interface, error) { return true, nil, refusal })
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			started := time.Now()
			err := WatchObject(ctx, client.Resource(gvr).Namespace("a"), "w", func(*unstructured.Unstructured) bool { return false })
			var refused *WatchRefusedError
			if !errors.As(err, &refused) || !errors.Is(err, refusal) {
				t.Fatalf("WatchObject = %v, want a WatchRefusedError wrapping %v", err, refusal)
			}
			if waited := time.Since(started); waited > 10*time.Second {
				t.Errorf("WatchObject took %s to report the refusal", waited)
			}
		})
	}
}
