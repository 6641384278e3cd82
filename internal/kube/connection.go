package kube

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"k8s.io/client-go/discovery"
	"k8s.io/client-go/discovery/cached/memory"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/restmapper"
	"k8s.io/client-go/util/flowcontrol"
)

// Clients is the set of clients for one API server, built once and shared.
type Clients struct {
	REST       *rest.Config
	Kubernetes kubernetes.Interface
	Dynamic    dynamic.Interface
	Discovery  discovery.CachedDiscoveryInterface
	Mapper     *restmapper.DeferredDiscoveryRESTMapper
	// Reads serves a refresh's GETs of many objects of one namespace from one list (see
	// ReadCache); ForRead returns clients that use it.
	Reads *ReadCache
	// NamespaceTenant reads the tenant label of a namespace that must exist (see the
	// function NamespaceTenant); ForRead's remembers it for a moment.
	NamespaceTenant func(ctx context.Context, namespace string) (string, error)
}

// ForRead returns a copy of c whose dynamic client's namespaced GETs go through c.Reads.
// Use it for reads that may be a moment old (a refresh, a plan); writes, and reads after
// them, use c.
func (c *Clients) ForRead() *Clients {
	if c.Reads == nil {
		return c
	}
	r := *c
	r.Dynamic = c.Reads.Dynamic()
	r.NamespaceTenant = func(ctx context.Context, namespace string) (string, error) {
		return c.Reads.NamespaceTenant(ctx, c.Kubernetes, namespace)
	}
	return &r
}

// NewClients builds every client from one REST configuration. They share one client-side
// rate limiter of cfg's QPS and Burst (client-go gives each client its own, so that a
// provider with a Kubernetes, a dynamic and a Helm client would send up to three times
// what its settings allow), and retry transient failures with DefaultRetryPolicy.
func NewClients(cfg *rest.Config) (*Clients, error) {
	cfg = rest.CopyConfig(cfg)
	if cfg.RateLimiter == nil && cfg.QPS > 0 {
		if cfg.Burst <= 0 {
			return nil, fmt.Errorf("a QPS of %v needs a burst of at least 1", cfg.QPS)
		}
		cfg.RateLimiter = flowcontrol.NewTokenBucketRateLimiter(cfg.QPS, cfg.Burst)
	}
	cfg.Wrap(DefaultRetryPolicy.Wrap)
	cs, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return nil, fmt.Errorf("building the Kubernetes client: %w", err)
	}
	dyn, err := dynamic.NewForConfig(cfg)
	if err != nil {
		return nil, fmt.Errorf("building the dynamic client: %w", err)
	}
	disc := memory.NewMemCacheClient(cs.Discovery())
	return &Clients{
		REST:       cfg,
		Kubernetes: cs,
		Dynamic:    dyn,
		Discovery:  disc,
		Mapper:     restmapper.NewDeferredDiscoveryRESTMapper(disc),
		Reads:      NewReadCache(dyn),
		NamespaceTenant: func(ctx context.Context, namespace string) (string, error) {
			return NamespaceTenant(ctx, cs, namespace)
		},
	}, nil
}

// ErrUnknownAtPlan is returned by a Connection whose settings were not known when the
// provider was configured (they depend on resources not yet created).
var ErrUnknownAtPlan = errors.New("the management cluster connection depends on values that are not known until apply")

// Connection builds its clients on first use and hands the same set to every caller. A
// Connection whose configuration failed, or was not yet known, returns that error from
// Clients instead, so that only the resources that need the API report it.
type Connection struct {
	build func() (*rest.Config, error)

	once    sync.Once
	clients *Clients
	err     error
}

// NewConnection returns a Connection for a fully known Config.
func NewConnection(cfg Config) *Connection {
	return &Connection{build: cfg.RESTConfig}
}

// NewFailedConnection returns a Connection that reports err whenever clients are asked for.
func NewFailedConnection(err error) *Connection {
	return &Connection{build: func() (*rest.Config, error) { return nil, err }}
}

// Clients returns the shared client set, building it on the first call.
func (c *Connection) Clients() (*Clients, error) {
	c.once.Do(func() {
		cfg, err := c.build()
		if err != nil {
			c.err = err
			return
		}
		c.clients, c.err = NewClients(cfg)
	})
	return c.clients, c.err
}
