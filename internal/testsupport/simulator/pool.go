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
	// AddAdmin provisions a user in the system:masters group and returns its PEM client
	// certificate and key.
	AddAdmin(user string) (cert, key []byte, err error)
	// RESTConfig is an admin connection to the server.
	RESTConfig() *rest.Config
	Stop() error
}

// TenantServerStarter starts a tenant API server. name is unique for the simulator's life.
type TenantServerStarter func(ctx context.Context, name string) (TenantServer, error)

// serverPool hands out tenant API servers, perServer tenants to a server, and runs the
// tenant workload simulator on each.
type serverPool struct {
	start     TenantServerStarter
	perServer int
	delay     time.Duration
	log       logr.Logger

	mu       sync.Mutex
	servers  []*pooledServer
	byTenant map[string]*pooledServer
	started  int
}

type pooledServer struct {
	TenantServer
	tenants       map[string]bool
	stopWorkloads context.CancelFunc
}

func newServerPool(start TenantServerStarter, perServer int, delay time.Duration, log logr.Logger) *serverPool {
	return &serverPool{start: start, perServer: perServer, delay: delay, log: log, byTenant: map[string]*pooledServer{}}
}

// acquire returns the server of tenant, starting one when no running server has room.
func (p *serverPool) acquire(ctx context.Context, tenant string) (*pooledServer, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if s, ok := p.byTenant[tenant]; ok {
		return s, nil
	}
	for _, s := range p.servers {
		if len(s.tenants) < p.perServer {
			s.tenants[tenant] = true
			p.byTenant[tenant] = s
			return s, nil
		}
	}
	if p.start == nil {
		return nil, errors.New("the simulator has no way to start tenant API servers")
	}
	p.started++
	srv, err := p.start(ctx, fmt.Sprintf("tenant-%d", p.started))
	if err != nil {
		return nil, err
	}
	wctx, cancel := context.WithCancel(context.Background())
	if err := runWorkloads(wctx, srv.RESTConfig(), p.delay, p.log.WithValues("server", srv.URL())); err != nil {
		cancel()
		_ = srv.Stop()
		return nil, err
	}
	s := &pooledServer{TenantServer: srv, tenants: map[string]bool{tenant: true}, stopWorkloads: cancel}
	p.servers = append(p.servers, s)
	p.byTenant[tenant] = s
	p.log.Info("tenant API server started", "tenant", tenant, "url", srv.URL())
	return s, nil
}

// release drops tenant from its server and stops the server when it serves nobody.
func (p *serverPool) release(tenant string) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	s, ok := p.byTenant[tenant]
	if !ok {
		return nil
	}
	delete(p.byTenant, tenant)
	delete(s.tenants, tenant)
	if len(s.tenants) > 0 {
		return nil
	}
	for i, other := range p.servers {
		if other == s {
			p.servers = append(p.servers[:i], p.servers[i+1:]...)
			break
		}
	}
	s.stopWorkloads()
	p.log.Info("tenant API server stopped", "tenant", tenant, "url", s.URL())
	return s.Stop()
}

func (p *serverPool) stopAll() {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, s := range p.servers {
		s.stopWorkloads()
		_ = s.Stop()
	}
	p.servers = nil
	p.byTenant = map[string]*pooledServer{}
}

func (p *serverPool) running() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.servers)
}
