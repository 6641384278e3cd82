package kube

import (
	"context"
	"sync"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
)

// ReadCache serves the GETs of a refresh from one LIST per kind and namespace when many
// objects of one namespace are read, as in a plan of a hundred clusters or worker pools:
// the first DirectReads GETs of a kind in a namespace go to the API server as they are;
// the next one lists that kind in the namespace once, and that list answers every further
// GET of it for TTL. A refresh of one object therefore costs what it did, and a refresh
// of N objects of a namespace about DirectReads + 1 requests per kind instead of N.
//
// A list answers only plain GETs (no subresource, no resource version). A list that fails
// (for example, the credentials may get but not list) or that would need more than one
// page (more than ListLimit objects) is not used: those GETs go to the API server. Reset
// forgets every list; the provider calls it whenever it writes, so that nothing it reads
// after its own write is older than the write.
type ReadCache struct {
	dyn dynamic.Interface
	now func() time.Time

	mu      sync.Mutex
	lists   map[listKey]*list
	tenants map[string]*tenantRead
}

// tenantRead is one read of a namespace's tenant label, shared by the readers that ask
// while it is made.
type tenantRead struct {
	done   chan struct{}
	at     time.Time
	tenant string
	err    error
}

// DirectReads is how many GETs of one kind in one namespace go to the API server before
// a ReadCache lists them; TTL is how long a list answers GETs; ListLimit is the most
// objects a usable list may hold.
const (
	DirectReads = 2
	TTL         = 10 * time.Second
	ListLimit   = 500
)

type listKey struct {
	gvr       schema.GroupVersionResource
	namespace string
}

type list struct {
	gets int
	// done is nil until the list is made, and closed once it is.
	done   chan struct{}
	at     time.Time
	usable bool
	items  map[string]*unstructured.Unstructured
}

// NewReadCache returns a ReadCache over dyn.
func NewReadCache(dyn dynamic.Interface) *ReadCache {
	return &ReadCache{dyn: dyn, now: time.Now, lists: map[listKey]*list{}, tenants: map[string]*tenantRead{}}
}

// Reset forgets every list.
func (c *ReadCache) Reset() {
	if c == nil {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	clear(c.lists)
	clear(c.tenants)
}

// NamespaceTenant is NamespaceTenant (the tenant label of a namespace that must exist)
// remembered for TTL: the plan-time dry runs of many clusters or pools of one namespace
// read it once. Concurrent readers share one GET; a failed read is not remembered.
func (c *ReadCache) NamespaceTenant(ctx context.Context, k kubernetes.Interface, namespace string) (string, error) {
	c.mu.Lock()
	r := c.tenants[namespace]
	if r != nil {
		select {
		case <-r.done:
			if r.err != nil || c.now().Sub(r.at) > TTL {
				r = nil
			}
		default:
		}
	}
	if r != nil {
		c.mu.Unlock()
		select {
		case <-r.done:
		case <-ctx.Done():
			return "", ctx.Err()
		}
		if r.err == nil {
			return r.tenant, nil
		}
		return NamespaceTenant(ctx, k, namespace)
	}
	r = &tenantRead{done: make(chan struct{})}
	c.tenants[namespace] = r
	c.mu.Unlock()
	r.tenant, r.err = NamespaceTenant(ctx, k, namespace)
	r.at = c.now()
	close(r.done)
	return r.tenant, r.err
}

// Dynamic is a dynamic client whose namespaced GETs go through the cache; everything else
// goes to the client the cache was made with.
func (c *ReadCache) Dynamic() dynamic.Interface { return cachedDynamic{c} }

// get answers a GET of name, from a list of its namespace when there is one.
func (c *ReadCache) get(ctx context.Context, k listKey, name string, direct func() (*unstructured.Unstructured, error)) (*unstructured.Unstructured, error) {
	c.mu.Lock()
	l := c.lists[k]
	if l != nil && l.done != nil {
		select {
		case <-l.done:
			if c.now().Sub(l.at) > TTL {
				l = nil
			}
		default:
		}
	}
	if l == nil {
		l = &list{}
		c.lists[k] = l
	}
	if l.done == nil {
		if l.gets < DirectReads {
			l.gets++
			c.mu.Unlock()
			return direct()
		}
		l.done = make(chan struct{})
		c.mu.Unlock()
		c.fill(ctx, k, l)
	} else {
		c.mu.Unlock()
		select {
		case <-l.done:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	if !l.usable {
		return direct()
	}
	obj, ok := l.items[name]
	if !ok {
		return nil, apierrors.NewNotFound(k.gvr.GroupResource(), name)
	}
	return obj.DeepCopy(), nil
}

// fill lists k into l and closes l.done. It does not hold the lock while it lists; l is
// written only here, before done is closed, and read only after.
func (c *ReadCache) fill(ctx context.Context, k listKey, l *list) {
	defer close(l.done)
	l.at = c.now()
	objs, err := c.dyn.Resource(k.gvr).Namespace(k.namespace).List(ctx, metav1.ListOptions{Limit: ListLimit})
	if err != nil || objs.GetContinue() != "" {
		return
	}
	l.items = make(map[string]*unstructured.Unstructured, len(objs.Items))
	for i := range objs.Items {
		l.items[objs.Items[i].GetName()] = &objs.Items[i]
	}
	l.usable = true
}

type cachedDynamic struct{ c *ReadCache }

func (d cachedDynamic) Resource(gvr schema.GroupVersionResource) dynamic.NamespaceableResourceInterface {
	return cachedResource{NamespaceableResourceInterface: d.c.dyn.Resource(gvr), c: d.c, gvr: gvr}
}

// cachedResource passes cluster-scoped calls through and caches namespaced GETs.
type cachedResource struct {
	dynamic.NamespaceableResourceInterface
	c   *ReadCache
	gvr schema.GroupVersionResource
}

func (r cachedResource) Namespace(ns string) dynamic.ResourceInterface {
	return cachedNamespaced{ResourceInterface: r.NamespaceableResourceInterface.Namespace(ns), c: r.c, key: listKey{gvr: r.gvr, namespace: ns}}
}

type cachedNamespaced struct {
	dynamic.ResourceInterface
	c   *ReadCache
	key listKey
}

func (r cachedNamespaced) Get(ctx context.Context, name string, options metav1.GetOptions, subresources ...string) (*unstructured.Unstructured, error) {
	direct := func() (*unstructured.Unstructured, error) {
		return r.ResourceInterface.Get(ctx, name, options, subresources...)
	}
	if len(subresources) > 0 || options.ResourceVersion != "" {
		return direct()
	}
	return r.c.get(ctx, r.key, name, direct)
}
