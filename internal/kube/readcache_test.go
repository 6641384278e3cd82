package kube

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	dynamicfake "k8s.io/client-go/dynamic/fake"
	kubefake "k8s.io/client-go/kubernetes/fake"
	clienttesting "k8s.io/client-go/testing"
)

var widgets = schema.GroupVersionResource{Group: "example.com", Version: "v1", Resource: "widgets"}

// widgetClient is a fake API server holding n widgets in namespace a and one in b.
func widgetClient(n int) *dynamicfake.FakeDynamicClient {
	var objs []runtime.Object
	widget := func(ns, name string) *unstructured.Unstructured {
		u := &unstructured.Unstructured{}
		u.SetAPIVersion("example.com/v1")
		u.SetKind("Widget")
		u.SetNamespace(ns)
		u.SetName(name)
		return u
	}
	for i := range n {
		objs = append(objs, widget("a", fmt.Sprintf("w%d", i)))
	}
	objs = append(objs, widget("b", "w0"))
	return dynamicfake.NewSimpleDynamicClientWithCustomListKinds(runtime.NewScheme(), map[schema.GroupVersionResource]string{widgets: "WidgetList"}, objs...)
}

// verbs lists the requests the fake received since the last call, as "verb namespace".
func verbs(f *dynamicfake.FakeDynamicClient) []string {
	var out []string
	for _, a := range f.Actions() {
		out = append(out, a.GetVerb()+" "+a.GetNamespace())
	}
	f.ClearActions()
	return out
}

func TestReadCache(t *testing.T) {
	ctx := context.Background()
	fake := widgetClient(5)
	now := time.Unix(1000, 0)
	c := NewReadCache(fake)
	c.now = func() time.Time { return now }
	get := func(ns, name string) error {
		obj, err := c.Dynamic().Resource(widgets).Namespace(ns).Get(ctx, name, metav1.GetOptions{})
		if err == nil && (obj.GetName() != name || obj.GetNamespace() != ns) {
			t.Fatalf("Get(%s/%s) = %s/%s", ns, name, obj.GetNamespace(), obj.GetName())
		}
		return err
	}
	expect := func(step string, want ...string) {
		t.Helper()
		if got := verbs(fake); !slices.Equal(got, want) {
			t.Errorf("%s: requests %q, want %q", step, got, want)
		}
	}

	for i := range 5 {
		if err := get("a", fmt.Sprintf("w%d", i)); err != nil {
			t.Fatal(err)
		}
	}
	expect("five reads", "get a", "get a", "list a")
	if err := get("a", "missing"); !apierrors.IsNotFound(err) {
		t.Errorf("a name the list does not hold: %v, want NotFound", err)
	}
	if err := get("b", "w0"); err != nil {
		t.Fatal(err)
	}
	expect("another namespace, a name not listed", "get b")

	// What the list answers is a copy.
	obj, _ := c.Dynamic().Resource(widgets).Namespace("a").Get(ctx, "w1", metav1.GetOptions{})
	obj.SetLabels(map[string]string{"changed": "yes"})
	if again, _ := c.Dynamic().Resource(widgets).Namespace("a").Get(ctx, "w1", metav1.GetOptions{}); again.GetLabels() != nil {
		t.Error("a change to an object the cache returned reached the cache")
	}
	// Subresources and resource versions go to the API server.
	_, _ = c.Dynamic().Resource(widgets).Namespace("a").Get(ctx, "w1", metav1.GetOptions{}, "status")
	_, _ = c.Dynamic().Resource(widgets).Namespace("a").Get(ctx, "w1", metav1.GetOptions{ResourceVersion: "0"})
	expect("subresource and resource version", "get a", "get a")

	c.Reset()
	for _, name := range []string{"w0", "w1", "w2"} {
		_ = get("a", name)
	}
	expect("after Reset", "get a", "get a", "list a")

	now = now.Add(TTL + time.Second)
	_ = get("a", "w3")
	expect("after the TTL", "get a")
}

func TestReadCacheListRefused(t *testing.T) {
	ctx := context.Background()
	fake := widgetClient(4)
	fake.PrependReactor("list", "widgets", func(clienttesting.Action) (bool, runtime.Object, error) {
		return true, nil, apierrors.NewForbidden(widgets.GroupResource(), "", fmt.Errorf("may not list"))
	})
	c := NewReadCache(fake)
	for i := range 4 {
		if _, err := c.Dynamic().Resource(widgets).Namespace("a").Get(ctx, fmt.Sprintf("w%d", i), metav1.GetOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	if got, want := verbs(fake), []string{"get a", "get a", "list a", "get a", "get a"}; !slices.Equal(got, want) {
		t.Errorf("requests %q, want %q: a refused list leaves the GETs to the API server", got, want)
	}
}

func TestReadCacheConcurrent(t *testing.T) {
	ctx := context.Background()
	fake := widgetClient(40)
	c := NewReadCache(fake)
	var wg sync.WaitGroup
	for i := range 40 {
		wg.Go(func() {
			if _, err := c.Dynamic().Resource(widgets).Namespace("a").Get(ctx, fmt.Sprintf("w%d", i), metav1.GetOptions{}); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	counts := map[string]int{}
	for _, v := range verbs(fake) {
		counts[v]++
	}
	if counts["list a"] != 1 || counts["get a"] != DirectReads {
		t.Errorf("40 concurrent reads made %v, want %d GETs and one list", counts, DirectReads)
	}
}

func TestClientsForRead(t *testing.T) {
	fake := widgetClient(1)
	c := &Clients{Dynamic: fake, Reads: NewReadCache(fake)}
	if r := c.ForRead(); r.Dynamic == c.Dynamic || c.Dynamic != fake {
		t.Error("ForRead must return a copy whose dynamic client reads through the cache")
	}
	if bare := (&Clients{Dynamic: fake}); bare.ForRead() != bare {
		t.Error("clients without a cache read directly")
	}
}

// TestReadCacheNamespaceTenant checks that a namespace's tenant label is read once for
// concurrent and later readers, read again after TTL and Reset, and that a missing
// namespace is reported and not remembered.
func TestReadCacheNamespaceTenant(t *testing.T) {
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "tenant-a", Labels: OwnershipLabels("a")}}
	cs := kubefake.NewClientset(ns)
	gets := func() int {
		n := 0
		for _, a := range cs.Actions() {
			if a.GetVerb() == "get" && a.GetResource().Resource == "namespaces" {
				n++
			}
		}
		cs.ClearActions()
		return n
	}
	c := NewReadCache(widgetClient(0))
	now := time.Now()
	c.now = func() time.Time { return now }
	ctx := context.Background()

	var wg sync.WaitGroup
	for range 20 {
		wg.Go(func() {
			if tenant, err := c.NamespaceTenant(ctx, cs, "tenant-a"); err != nil || tenant != "a" {
				t.Errorf("NamespaceTenant: %q, %v", tenant, err)
			}
		})
	}
	wg.Wait()
	if n := gets(); n != 1 {
		t.Errorf("20 readers sent %d GETs of the namespace, want 1", n)
	}
	now = now.Add(TTL + time.Second)
	if _, err := c.NamespaceTenant(ctx, cs, "tenant-a"); err != nil {
		t.Fatal(err)
	}
	c.Reset()
	if _, err := c.NamespaceTenant(ctx, cs, "tenant-a"); err != nil {
		t.Fatal(err)
	}
	if n := gets(); n != 2 {
		t.Errorf("after TTL and after Reset: %d GETs, want 2", n)
	}
	var missing *NamespaceMissingError
	for range 2 {
		if _, err := c.NamespaceTenant(ctx, cs, "tenant-gone"); !errors.As(err, &missing) {
			t.Errorf("a missing namespace: %v", err)
		}
	}
	if n := gets(); n != 2 {
		t.Errorf("a missing namespace read twice: %d GETs, want 2 (not remembered)", n)
	}
}
