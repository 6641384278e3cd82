package simulator

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/go-logr/logr"
	"k8s.io/client-go/rest"
)

// TenantServer is a running tenant API server.
type TenantServer interface {
	// URL is the https URL of the server.
	URL() string
	// CA is the PEM CA certificate that signed the serving certificate.
	CA() []byte
	// AddAdmin provisions a cluster admin user and returns its PEM client certificate and
	// key.
	AddAdmin(user string) (cert, key []byte, err error)
	// RESTConfig is an admin connection to the server.
	RESTConfig() *rest.Config
	Stop() error
}

// TenantServerStarter starts a tenant API server. name is unique for the simulator's life.
type TenantServerStarter func(ctx context.Context, name string) (TenantServer, error)

// serverPool hands out tenant API servers, perServer tenants to a server, and runs the
// tenant workload simulator on each. Servers start outside the pool's lock, at most
// maxParallelStarts at a time, so that many tenants do not queue behind one start.
type serverPool struct {
	start     TenantServerStarter
	perServer int
	delay     time.Duration
	log       logr.Logger
	starts    chan struct{}

	mu       sync.Mutex
	servers  []*pooledServer
	byTenant map[string]*pooledServer
	started  int
}

// maxParallelStarts bounds the tenant API servers starting at once: each start takes a few
// CPU-seconds.
const maxParallelStarts = 4

type pooledServer struct {
	TenantServer
	name string
	// group, when set, is the SharedServerLabel value of every tenant of the server.
	group         string
	tenants       map[string]bool
	stopWorkloads context.CancelFunc
	// ready is closed once the server has started, or failed to (err).
	ready chan struct{}
	err   error
}

func newServerPool(start TenantServerStarter, perServer int, delay time.Duration, log logr.Logger) *serverPool {
	return &serverPool{
		start: start, perServer: perServer, delay: delay, log: log,
		starts:   make(chan struct{}, maxParallelStarts),
		byTenant: map[string]*pooledServer{},
	}
}

// acquire returns the server of tenant, starting one when no server has room. Tenants of
// one group (SharedServerLabel) share one server, however many they are.
func (p *serverPool) acquire(ctx context.Context, tenant, group string) (*pooledServer, error) {
	s, starting, err := p.reserve(tenant, group)
	if err != nil {
		return nil, err
	}
	if starting {
		p.startServer(ctx, s, tenant)
	}
	select {
	case <-s.ready:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	return s, s.err
}

// prepare starts, in the background, the server tenant will acquire, so that it is up by
// the time the tenant's control plane is reported ready.
func (p *serverPool) prepare(tenant, group string) {
	s, starting, err := p.reserve(tenant, group)
	if err == nil && starting {
		go p.startServer(context.Background(), s, tenant)
	}
}

// reserve assigns tenant a place on a server, a new one (starting true, for the caller to
// start) when none has room.
func (p *serverPool) reserve(tenant, group string) (s *pooledServer, starting bool, err error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if s, ok := p.byTenant[tenant]; ok {
		return s, false, nil
	}
	for _, s := range p.servers {
		if s.group == group && (group != "" || len(s.tenants) < p.perServer) {
			s.tenants[tenant] = true
			p.byTenant[tenant] = s
			return s, false, nil
		}
	}
	if p.start == nil {
		return nil, false, errors.New("the simulator has no way to start tenant API servers")
	}
	p.started++
	s = &pooledServer{name: fmt.Sprintf("tenant-%d", p.started), group: group, tenants: map[string]bool{tenant: true}, ready: make(chan struct{})}
	p.servers = append(p.servers, s)
	p.byTenant[tenant] = s
	return s, true, nil
}

// startServer starts reserved server s and closes its ready channel. On failure the server
// and the tenants that reserved places on it are dropped, so that they try again.
func (p *serverPool) startServer(ctx context.Context, s *pooledServer, tenant string) {
	defer close(s.ready)
	s.err = func() error {
		select {
		case p.starts <- struct{}{}:
			defer func() { <-p.starts }()
		case <-ctx.Done():
			return ctx.Err()
		}
		srv, err := p.start(ctx, s.name)
		if err != nil {
			return err
		}
		wctx, cancel := context.WithCancel(context.Background())
		if err := runWorkloads(wctx, srv.RESTConfig(), p.delay, p.log.WithValues("server", srv.URL())); err != nil {
			cancel()
			_ = srv.Stop()
			return err
		}
		s.TenantServer, s.stopWorkloads = srv, cancel
		return nil
	}()
	if s.err != nil {
		p.mu.Lock()
		p.drop(s)
		for t := range s.tenants {
			delete(p.byTenant, t)
		}
		p.mu.Unlock()
		return
	}
	p.log.Info("tenant API server started", "tenant", tenant, "url", s.URL())
}

// drop removes s from the running servers; p.mu is held.
func (p *serverPool) drop(s *pooledServer) {
	for i, other := range p.servers {
		if other == s {
			p.servers = append(p.servers[:i], p.servers[i+1:]...)
			return
		}
	}
}

// release drops tenant from its server and stops the server when it serves nobody.
func (p *serverPool) release(tenant string) error {
	p.mu.Lock()
	s, ok := p.byTenant[tenant]
	if !ok {
		p.mu.Unlock()
		return nil
	}
	delete(p.byTenant, tenant)
	delete(s.tenants, tenant)
	if len(s.tenants) > 0 {
		p.mu.Unlock()
		return nil
	}
	p.drop(s)
	p.mu.Unlock()
	// Stopping takes a moment; others need not wait for it.
	if !s.started() {
		return nil
	}
	s.stopWorkloads()
	p.log.Info("tenant API server stopped", "tenant", tenant, "url", s.URL())
	return s.Stop()
}

func (p *serverPool) stopAll() {
	p.mu.Lock()
	servers := p.servers
	p.servers = nil
	p.byTenant = map[string]*pooledServer{}
	p.mu.Unlock()
	for _, s := range servers {
		if s.started() {
			s.stopWorkloads()
			_ = s.Stop()
		}
	}
}

// started waits until s has started or failed to, and reports whether it runs.
func (s *pooledServer) started() bool {
	<-s.ready
	return s.err == nil
}

// serverOf returns the started server of tenant, nil when it has none.
func (p *serverPool) serverOf(tenant string) TenantServer {
	p.mu.Lock()
	s, ok := p.byTenant[tenant]
	p.mu.Unlock()
	if !ok {
		return nil
	}
	select {
	case <-s.ready:
		if s.err == nil {
			return s.TenantServer
		}
	default:
	}
	return nil
}

// running counts the servers that have started.
func (p *serverPool) running() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	n := 0
	for _, s := range p.servers {
		select {
		case <-s.ready:
			if s.err == nil {
				n++
			}
		default:
		}
	}
	return n
}
