// Package simulator plays, on a real API server, the documented status contracts of the
// controllers that cannot run on the machines this project is tested on (no container
// runtime, no kubelet): Kamaji (its controller and the webhook rules the provider relies
// on), Kamaji's Cluster API control-plane provider, Cluster API's Cluster and
// MachineDeployment controllers, kube-controller-manager's namespace and ClusterRole
// aggregation controllers, and the workload controllers of tenant clusters.
//
// It is test and demo support only. It never runs against a real platform: with
// QUMULUS_TEST_KUBECONFIG the tests use real controllers and leave the simulator off.
package simulator

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/go-logr/logr"
	"k8s.io/apimachinery/pkg/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/config"
	"sigs.k8s.io/controller-runtime/pkg/manager"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"
)

// HoldAnnotation set to "true" on a TenantControlPlane, KamajiControlPlane or
// MachineDeployment keeps it from ever becoming ready, for tests of timeouts. On a Ready
// TenantControlPlane it stops the simulator from repairing its kubeconfig Secret.
const HoldAnnotation = "simulator.qumulus.io/hold"

// SharedServerLabel on TenantControlPlanes makes all those with the same value share one
// tenant API server, as TenantsPerServer does for all: a test of many control planes that
// never uses their tenant clusters (a load test) need not start a server for each.
const SharedServerLabel = "simulator.qumulus.io/tenant-server"

// FieldManager is the field manager of everything the simulator writes.
const FieldManager = "qumulus-simulator"

// Options tune the simulator.
type Options struct {
	// ReadyDelay is how long an object stays in its transitional state (Provisioning,
	// Upgrading, scaling) before it is reported ready. Default 1s.
	ReadyDelay time.Duration
	// DeleteDelay is how long Kamaji's finalizer stays on a deleted TenantControlPlane.
	// Default 500ms.
	DeleteDelay time.Duration
	// StartTenantServer starts a tenant API server. Required for TenantControlPlanes to
	// become ready.
	StartTenantServer TenantServerStarter
	// TenantsPerServer is how many TenantControlPlanes share one tenant API server.
	// Default 1: every tenant control plane gets its own server, and so a clean view.
	// Larger values save memory in benchmarks; tenants that share a server see each
	// other's objects.
	TenantsPerServer int
	// WorkloadDelay is how long after its creation a tenant cluster's Job completes and
	// its Deployment, StatefulSet or DaemonSet becomes available, as when images are pulled
	// and containers start. Default 0: at once.
	WorkloadDelay time.Duration
	// Log receives the simulator's progress.
	Log logr.Logger
}

func (o *Options) defaults() {
	if o.ReadyDelay == 0 {
		o.ReadyDelay = time.Second
	}
	if o.DeleteDelay == 0 {
		o.DeleteDelay = 500 * time.Millisecond
	}
	if o.TenantsPerServer <= 0 {
		o.TenantsPerServer = 1
	}
}

// Simulator runs the simulated controllers until its context ends.
type Simulator struct {
	opts  Options
	mgr   manager.Manager
	pool  *serverPool
	clock *transitions
	holds holdSet
}

// New prepares a simulator for the management cluster at cfg.
func New(cfg *rest.Config, opts Options) (*Simulator, error) {
	opts.defaults()
	mgr, err := newManager(cfg, opts.Log.WithName("management"))
	if err != nil {
		return nil, err
	}
	s := &Simulator{
		opts:  opts,
		mgr:   mgr,
		clock: newTransitions(),
	}
	s.pool = newServerPool(opts.StartTenantServer, opts.TenantsPerServer, opts.WorkloadDelay, opts.Log.WithName("tenants"))
	for _, setup := range []func() error{
		s.setupNamespaces, s.setupClusterRoleAggregation, s.setupKamaji, s.setupKamajiControlPlane, s.setupClusters, s.setupMachineDeployments,
		func() error { return s.setupWebhook(cfg) },
	} {
		if err := setup(); err != nil {
			return nil, err
		}
	}
	return s, nil
}

// Run blocks until ctx ends, then stops every tenant API server it started.
func (s *Simulator) Run(ctx context.Context) error {
	err := s.mgr.Start(ctx)
	s.pool.stopAll()
	return err
}

// HoldTenantControlPlane keeps the TenantControlPlane namespace/name (which need not exist
// yet) from becoming ready, as HoldAnnotation does, until release is called: for tests that
// act while the provider waits, without an annotation in the configuration. A held
// control plane that is already Ready stays Ready.
func (s *Simulator) HoldTenantControlPlane(namespace, name string) (release func()) {
	return s.holds.hold("tcp/" + namespace + "/" + name)
}

// HoldMachineDeployment is HoldTenantControlPlane for a MachineDeployment: it keeps its
// replicas from becoming ready until release is called.
func (s *Simulator) HoldMachineDeployment(namespace, name string) (release func()) {
	return s.holds.hold("md/" + namespace + "/" + name)
}

// TenantServer returns the tenant API server of the TenantControlPlane namespace/name, nil
// when it has none running.
func (s *Simulator) TenantServer(namespace, name string) TenantServer {
	return s.pool.serverOf(namespace + "/" + name)
}

// TenantServers reports how many tenant API servers are running.
func (s *Simulator) TenantServers() int {
	return s.pool.running()
}

// The simulator stands in for several controllers, each with its own client and workers
// on a real platform. With client-go's default 5 requests per second and one worker per
// controller, a batch of 100 tenants became ready one a second, whatever ReadyDelay said.
const (
	clientQPS               = 1000
	clientBurst             = 2000
	maxConcurrentReconciles = 20
)

// fastConfig is cfg without client-go's default rate limit. Deprecation warnings (v1
// Endpoints, DockerMachineTemplate v1beta2) are noise here.
func fastConfig(cfg *rest.Config) *rest.Config {
	cfg = rest.CopyConfig(cfg)
	cfg.QPS, cfg.Burst = clientQPS, clientBurst
	cfg.WarningHandler = rest.NoWarnings{}
	return cfg
}

func newManager(cfg *rest.Config, log logr.Logger) (manager.Manager, error) {
	scheme := runtime.NewScheme()
	if err := clientgoscheme.AddToScheme(scheme); err != nil {
		return nil, err
	}
	skip := true
	mgr, err := ctrl.NewManager(fastConfig(cfg), manager.Options{
		Scheme:                 scheme,
		Logger:                 log,
		Metrics:                metricsserver.Options{BindAddress: "0"},
		HealthProbeBindAddress: "0",
		Controller: config.Controller{
			// Every tenant cluster runs the same controllers under the same names.
			SkipNameValidation:      &skip,
			MaxConcurrentReconciles: maxConcurrentReconciles,
		},
	})
	if err != nil {
		return nil, fmt.Errorf("simulator: %w", err)
	}
	return mgr, nil
}

// holdSet is the objects tests hold not ready through the Simulator's methods. The
// reconcilers of held objects poll (every ReadyDelay) for the release.
type holdSet struct{ keys sync.Map }

func (h *holdSet) hold(key string) func() {
	token := new(int)
	h.keys.Store(key, token)
	return func() { h.keys.CompareAndDelete(key, token) }
}

func (h *holdSet) held(key string) bool {
	_, ok := h.keys.Load(key)
	return ok
}

// transitions remembers when an object entered its current generation, so that the
// simulator can hold the transitional state for ReadyDelay without sleeping.
type transitions struct {
	mu   sync.Mutex
	seen map[string]entry
}

type entry struct {
	generation int64
	at         time.Time
}

func newTransitions() *transitions {
	return &transitions{seen: map[string]entry{}}
}

// since returns how long key has been at generation.
func (t *transitions) since(key string, generation int64) time.Duration {
	t.mu.Lock()
	defer t.mu.Unlock()
	e, ok := t.seen[key]
	if !ok || e.generation != generation {
		e = entry{generation: generation, at: time.Now()}
		t.seen[key] = e
	}
	return time.Since(e.at)
}

// first reports whether this is the first call for key at generation.
func (t *transitions) first(key string, generation int64) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	if e, ok := t.seen[key]; ok && e.generation == generation {
		return false
	}
	t.seen[key] = entry{generation: generation, at: time.Now()}
	return true
}

func (t *transitions) forget(key string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	delete(t.seen, key)
}
