// Package mgmtcluster runs the local management cluster the tests and the demo use: a real
// kube-apiserver and etcd (through controller-runtime's envtest), the Kamaji, Kamaji
// control-plane provider and Cluster API CRDs, and the platform simulator. With
// QUMULUS_TEST_KUBECONFIG set it connects to that cluster instead and starts nothing.
package mgmtcluster

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"syscall"
	"time"

	"github.com/go-logr/logr"
	"github.com/go-logr/stdr"
	authorizationv1 "k8s.io/api/authorization/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
	"sigs.k8s.io/controller-runtime/pkg/envtest"
	ctrllog "sigs.k8s.io/controller-runtime/pkg/log"

	"github.com/qumulus/terraform-provider-qumulus/internal/kamaji"
	"github.com/qumulus/terraform-provider-qumulus/internal/testsupport/crds"
	"github.com/qumulus/terraform-provider-qumulus/internal/testsupport/proc"
	"github.com/qumulus/terraform-provider-qumulus/internal/testsupport/simulator"
	"github.com/qumulus/terraform-provider-qumulus/internal/testsupport/testbin"
)

// ExistingClusterEnv names a kubeconfig of a real management cluster (kind + Kamaji +
// Cluster API) to test against instead of the local one.
const ExistingClusterEnv = "QUMULUS_TEST_KUBECONFIG"

// AdminUser is the user of the admin kubeconfig and of the static admin token.
const AdminUser = "qumulus-admin"

// Options tune the local cluster.
type Options struct {
	// Simulator tunes the platform simulator; StartTenantServer is filled in here.
	Simulator simulator.Options
	// Log receives progress lines and, when Verbose, the simulator's log. Default stderr.
	Log io.Writer
	// Verbose also logs the simulator's reconciliations.
	Verbose bool
}

// Cluster is a running management cluster.
type Cluster struct {
	// RESTConfig is an admin connection (client certificate, system:masters).
	RESTConfig *rest.Config
	// Kubeconfig is RESTConfig as a kubeconfig document.
	Kubeconfig []byte
	// Host and CA are the API server URL and the PEM CA of its serving certificate.
	Host string
	CA   []byte
	// AdminToken is a static bearer token of AdminUser (system:masters); empty for an
	// existing cluster.
	AdminToken string
	// ClientCertificate and ClientKey are AdminUser's PEM client credentials.
	ClientCertificate, ClientKey []byte
	// CRDs says which CRD set was installed.
	CRDs crds.Set
	// Simulated is true when the platform simulator runs (the local cluster).
	Simulated bool

	env       *envtest.Environment
	kas       string
	sim       *simulator.Simulator
	stopSim   context.CancelFunc
	simDone   chan error
	tokenFile string
	// certDir holds the API server's serving certificate and client CA. It is ours, not
	// envtest's, so that a restart (StartAPIServer) serves the same certificates.
	certDir string
	// serverMu serialises StopAPIServer and StartAPIServer; stopped says the API server
	// was stopped by StopAPIServer.
	serverMu sync.Mutex
	stopped  bool
}

// FromEnvironment connects to QUMULUS_TEST_KUBECONFIG when set, else starts a local cluster.
func FromEnvironment(ctx context.Context, opts Options) (*Cluster, error) {
	if path := os.Getenv(ExistingClusterEnv); path != "" {
		return Existing(path)
	}
	return Start(ctx, opts)
}

// Existing wraps the cluster of a kubeconfig file. Nothing is started or installed.
func Existing(kubeconfigPath string) (*Cluster, error) {
	raw, err := os.ReadFile(kubeconfigPath)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", ExistingClusterEnv, err)
	}
	cfg, err := clientcmd.RESTConfigFromKubeConfig(raw)
	if err != nil {
		return nil, fmt.Errorf("%s=%s: %w", ExistingClusterEnv, kubeconfigPath, err)
	}
	return &Cluster{
		RESTConfig:        cfg,
		Kubeconfig:        raw,
		Host:              cfg.Host,
		CA:                cfg.CAData,
		ClientCertificate: cfg.CertData,
		ClientKey:         cfg.KeyData,
	}, nil
}

// Start builds (once) the binaries, starts kube-apiserver and etcd, installs the CRDs and
// starts the simulator. Stop undoes all of it.
func Start(ctx context.Context, opts Options) (_ *Cluster, retErr error) {
	out := opts.Log
	if out == nil {
		out = os.Stderr
	}
	logger := logr.Discard()
	if opts.Verbose {
		logger = stdr.New(log.New(out, "", log.LstdFlags))
	}
	ctrllog.SetLogger(logger)

	kas, err := testbin.KubeAPIServer(ctx)
	if err != nil {
		return nil, err
	}
	etcd, err := testbin.Etcd(ctx)
	if err != nil {
		return nil, err
	}
	if n := reapOrphans(kas, etcd); n > 0 {
		fmt.Fprintf(out, "mgmtcluster: stopped %d kube-apiserver/etcd processes left behind by an earlier run that exited without cleaning up\n", n)
	}
	set, err := crds.Load(ctx)
	if err != nil {
		return nil, fmt.Errorf("loading CRDs: %w", err)
	}
	fmt.Fprintf(out, "mgmtcluster: installing CRDs: %s\n", set)

	token := randomHex(24)
	tokenDir, err := os.MkdirTemp("", "qumulus-mgmt-")
	if err != nil {
		return nil, err
	}
	tokenFile := filepath.Join(tokenDir, "tokens.csv")
	if err := os.WriteFile(tokenFile, fmt.Appendf(nil, "%s,%s,%s,\"system:masters\"\n", token, AdminUser, AdminUser), 0o600); err != nil {
		return nil, err
	}

	certDir := filepath.Join(tokenDir, "certs")
	if err := os.Mkdir(certDir, 0o700); err != nil {
		return nil, err
	}
	env := &envtest.Environment{
		CRDs:                     set.CRDs,
		ControlPlaneStartTimeout: 2 * time.Minute,
		ControlPlaneStopTimeout:  time.Minute,
		ControlPlane: envtest.ControlPlane{
			APIServer: &envtest.APIServer{Path: kas, CertDir: certDir},
			Etcd:      &envtest.Etcd{Path: etcd},
		},
	}
	env.ControlPlane.APIServer.Configure().Set("token-auth-file", tokenFile)
	if _, err := env.Start(); err != nil {
		_ = os.RemoveAll(tokenDir)
		return nil, fmt.Errorf("starting the local management cluster: %w", err)
	}
	c := &Cluster{env: env, kas: kas, CRDs: set, AdminToken: token, tokenFile: tokenDir, certDir: certDir, Simulated: true}
	defer func() {
		if retErr != nil {
			_ = c.Stop()
		}
	}()

	admin, err := env.AddUser(envtest.User{Name: AdminUser, Groups: []string{"system:masters"}}, unlimited())
	if err != nil {
		return nil, err
	}
	c.RESTConfig = admin.Config()
	c.Host, c.CA = c.RESTConfig.Host, c.RESTConfig.CAData
	c.ClientCertificate, c.ClientKey = c.RESTConfig.CertData, c.RESTConfig.KeyData
	if c.Kubeconfig, err = kubeconfig(c.RESTConfig, "qumulus-local"); err != nil {
		return nil, err
	}

	if err := installDefaultDataStore(ctx, c.RESTConfig, env.ControlPlane.Etcd.URL.Host); err != nil {
		return nil, err
	}
	simOpts := opts.Simulator
	simOpts.StartTenantServer = c.startTenantServer
	simOpts.Log = logger.WithName("simulator")
	c.sim, err = simulator.New(c.RESTConfig, simOpts)
	if err != nil {
		return nil, err
	}
	simCtx, cancel := context.WithCancel(context.Background())
	c.stopSim, c.simDone = cancel, make(chan error, 1)
	go func() { c.simDone <- c.sim.Run(simCtx) }()
	if err := waitForAggregatedRoles(ctx, c.RESTConfig); err != nil {
		return nil, err
	}
	return c, nil
}

// waitForAggregatedRoles waits until the simulator has filled the built-in admin role
// (aggregated from edit, itself aggregated from view): before that, RoleBindings to it
// grant nothing, unlike on a real cluster.
func waitForAggregatedRoles(ctx context.Context, cfg *rest.Config) error {
	cs, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return err
	}
	err = wait.PollUntilContextTimeout(ctx, 100*time.Millisecond, time.Minute, true, func(ctx context.Context) (bool, error) {
		admin, err := cs.RbacV1().ClusterRoles().Get(ctx, "admin", metav1.GetOptions{})
		if apierrors.IsNotFound(err) {
			return false, nil
		}
		if err != nil {
			return false, err
		}
		for _, rule := range admin.Rules {
			// get on pods comes from view, through edit.
			if slices.Contains(rule.Resources, "pods") && slices.Contains(rule.Verbs, "get") {
				return true, nil
			}
		}
		return false, nil
	})
	if err != nil {
		return fmt.Errorf("the simulator did not aggregate the built-in admin ClusterRole: %w", err)
	}
	return nil
}

// installDefaultDataStore creates the etcd DataStore Kamaji's Helm chart installs as its
// default, pointing at the management etcd. Nobody connects to it: the simulated tenant
// API servers get their own etcd prefixes.
func installDefaultDataStore(ctx context.Context, cfg *rest.Config, etcd string) error {
	placeholder := base64.StdEncoding.EncodeToString([]byte("simulated: the simulator's tenant API servers do not use it"))
	ds := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": kamaji.GroupVersion.String(),
		"kind":       "DataStore",
		"metadata":   map[string]any{"name": simulator.DefaultDataStore},
		"spec": map[string]any{
			"driver":    "etcd",
			"endpoints": []any{etcd},
			"tlsConfig": map[string]any{
				"certificateAuthority": map[string]any{
					"certificate": map[string]any{"content": placeholder},
					"privateKey":  map[string]any{"content": placeholder},
				},
				"clientCertificate": map[string]any{
					"certificate": map[string]any{"content": placeholder},
					"privateKey":  map[string]any{"content": placeholder},
				},
			},
		},
	}}
	dyn, err := dynamic.NewForConfig(cfg)
	if err != nil {
		return err
	}
	if _, err := dyn.Resource(kamaji.DataStoreGVR).Create(ctx, ds, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
		return fmt.Errorf("creating the default DataStore: %w", err)
	}
	return nil
}

// Simulator returns the running simulator, or nil for an existing cluster.
func (c *Cluster) Simulator() *simulator.Simulator {
	return c.sim
}

// Stop stops the simulator, every tenant API server, kube-apiserver and etcd, and removes
// their data. It does nothing for an existing cluster.
func (c *Cluster) Stop() error {
	var errs []error
	if c.stopSim != nil {
		c.stopSim()
		if err := <-c.simDone; err != nil && !errors.Is(err, context.Canceled) {
			errs = append(errs, err)
		}
		c.stopSim = nil
	}
	if c.env != nil {
		// A stopped API server is not started again: envtest's Stop skips what has exited.
		c.serverMu.Lock()
		errs = append(errs, c.env.Stop())
		c.env = nil
		c.serverMu.Unlock()
	}
	if c.tokenFile != "" {
		errs = append(errs, os.RemoveAll(c.tokenFile))
	}
	return errors.Join(errs...)
}

// WriteKubeconfig writes the admin kubeconfig to path (mode 0600).
func (c *Cluster) WriteKubeconfig(path string) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	return os.WriteFile(path, c.Kubeconfig, 0o600)
}

// ErrNotLocal is returned by what only the local management cluster can do.
var ErrNotLocal = errors.New("mgmtcluster: only the local management cluster can do this; " + ExistingClusterEnv + " names a real one")

// StopAPIServer stops the management cluster's kube-apiserver (SIGTERM, then waits for it
// to exit): connections are refused and watches end until StartAPIServer. etcd, the
// simulator and the tenant API servers keep running. Stopping a stopped server does
// nothing.
func (c *Cluster) StopAPIServer(context.Context) error {
	c.serverMu.Lock()
	defer c.serverMu.Unlock()
	if c.env == nil {
		return ErrNotLocal
	}
	c.stopped = true
	return stopServer(c.env.ControlPlane.APIServer)
}

// StartAPIServer starts the kube-apiserver StopAPIServer stopped, with the same address,
// arguments, serving certificate and client CA (every kubeconfig of the cluster keeps
// working) and the same etcd, and waits until it is ready. Starting a running server
// only waits until it is ready.
func (c *Cluster) StartAPIServer(ctx context.Context) error {
	c.serverMu.Lock()
	defer c.serverMu.Unlock()
	if c.env == nil {
		return ErrNotLocal
	}
	return restart(ctx, c.env.ControlPlane.APIServer, c.RESTConfig, &c.stopped)
}

// restart starts srv again when *stopped says it was stopped, and waits until /readyz
// answers ok. envtest keeps srv's address and its client CA; the serving certificate stays
// on disk in srv's CertDir, which envtest reuses as it did not make it itself. (Starting a
// running srv would start a second process, which cannot bind the port, in its place.)
func restart(ctx context.Context, srv *envtest.APIServer, cfg *rest.Config, stopped *bool) error {
	if *stopped {
		if err := srv.Start(); err != nil {
			return fmt.Errorf("restarting kube-apiserver: %w", err)
		}
		*stopped = false
	}
	return waitReadyz(ctx, cfg)
}

// waitReadyz waits until the API server at cfg answers /readyz with ok: it has caught up
// with etcd and its informers, and serves watches again.
func waitReadyz(ctx context.Context, cfg *rest.Config) error {
	cfg = rest.CopyConfig(cfg)
	cfg.Timeout = 5 * time.Second
	cs, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return err
	}
	var last error
	err = wait.PollUntilContextTimeout(ctx, 100*time.Millisecond, 2*time.Minute, true, func(ctx context.Context) (bool, error) {
		body, err := cs.Discovery().RESTClient().Get().AbsPath("/readyz").DoRaw(ctx)
		last = err
		return err == nil && string(body) == "ok", nil
	})
	if err != nil && last != nil {
		return fmt.Errorf("kube-apiserver at %s not ready: %w (last answer: %w)", cfg.Host, err, last)
	}
	if err != nil {
		return fmt.Errorf("kube-apiserver at %s not ready: %w", cfg.Host, err)
	}
	return nil
}

// stopGrace is how long stopServer lets kube-apiserver shut down gracefully. Its graceful
// shutdown can wait a minute for connections to drain; an outage need not.
const stopGrace = 5 * time.Second

// stopServer stops srv's kube-apiserver: SIGTERM, then SIGKILL when it has not exited
// within stopGrace. envtest's Stop then sees it gone and forgets the process without
// removing the certificates, which are in a directory of ours.
func stopServer(srv *envtest.APIServer) error {
	if pid := serverPID(srv); pid != 0 {
		_ = syscall.Kill(pid, syscall.SIGTERM)
		deadline := time.Now().Add(stopGrace)
		for proc.Alive(pid) && time.Now().Before(deadline) {
			time.Sleep(50 * time.Millisecond)
		}
		if proc.Alive(pid) {
			_ = syscall.Kill(pid, syscall.SIGKILL)
		}
		for proc.Alive(pid) {
			time.Sleep(20 * time.Millisecond)
		}
	}
	// envtest reaps the process in the background: until it has, its Stop signals the
	// exited process's group, which can fail.
	var err error
	for range 50 {
		if err = srv.Stop(); err == nil {
			return nil
		}
		time.Sleep(20 * time.Millisecond)
	}
	return err
}

// serverPID finds srv's process among this process's children: the kube-apiserver binary
// serving srv's port. 0 when it does not run.
func serverPID(srv *envtest.APIServer) int {
	port := "--secure-port=" + srv.Port
	for _, p := range proc.All() {
		if p.Parent != os.Getpid() || proc.Exe(p.PID) != srv.Path || !proc.Alive(p.PID) {
			continue
		}
		if slices.Contains(proc.Cmdline(p.PID), port) {
			return p.PID
		}
	}
	return 0
}

// StopTenantAPIServer stops the tenant API server of the TenantControlPlane
// namespace/name, as StopAPIServer does the management one; StartTenantAPIServer starts it
// again. The TenantControlPlane stays Ready: Kamaji does not notice its pods' outages
// either.
func (c *Cluster) StopTenantAPIServer(_ context.Context, namespace, name string) error {
	t, err := c.tenantServer(namespace, name)
	if err != nil {
		return err
	}
	t.serverMu.Lock()
	defer t.serverMu.Unlock()
	t.stopped = true
	return stopServer(t.srv)
}

// StartTenantAPIServer starts the tenant API server StopTenantAPIServer stopped, at the
// same address with the same certificates, and waits until it is ready.
func (c *Cluster) StartTenantAPIServer(ctx context.Context, namespace, name string) error {
	t, err := c.tenantServer(namespace, name)
	if err != nil {
		return err
	}
	t.serverMu.Lock()
	defer t.serverMu.Unlock()
	return restart(ctx, t.srv, t.cfg, &t.stopped)
}

func (c *Cluster) tenantServer(namespace, name string) (*tenantServer, error) {
	if c.sim == nil {
		return nil, ErrNotLocal
	}
	t, ok := c.sim.TenantServer(namespace, name).(*tenantServer)
	if !ok {
		return nil, fmt.Errorf("mgmtcluster: TenantControlPlane %s/%s has no tenant API server running", namespace, name)
	}
	return t, nil
}

// startTenantServer starts a kube-apiserver for a tenant control plane. It shares the
// management cluster's etcd under a prefix of its own, new for every server, so a
// re-created tenant starts empty.
func (c *Cluster) startTenantServer(_ context.Context, name string) (simulator.TenantServer, error) {
	certDir, err := os.MkdirTemp("", "qumulus-tenant-")
	if err != nil {
		return nil, err
	}
	srv := &envtest.APIServer{
		Path:         c.kas,
		CertDir:      certDir,
		EtcdURL:      c.env.ControlPlane.Etcd.URL,
		StartTimeout: 2 * time.Minute,
		StopTimeout:  time.Minute,
	}
	srv.Configure().Set("etcd-prefix", "/qumulus-tenants/"+name+"-"+randomHex(4))
	if err := srv.Start(); err != nil {
		_ = os.RemoveAll(certDir)
		return nil, fmt.Errorf("starting tenant API server %s: %w", name, err)
	}
	plane := &envtest.ControlPlane{APIServer: srv}
	admin, err := plane.AddUser(envtest.User{Name: "qumulus-simulator", Groups: []string{"system:masters"}}, unlimited())
	if err != nil {
		_ = srv.Stop()
		_ = os.RemoveAll(certDir)
		return nil, err
	}
	return &tenantServer{srv: srv, plane: plane, cfg: admin.Config()}, nil
}

// unlimited is the base of the admin connections: as envtest's own, without client-go's
// default limit of 5 requests per second, which a test or benchmark of many tenants
// would otherwise measure.
func unlimited() *rest.Config {
	return &rest.Config{QPS: 1000, Burst: 2000}
}

type tenantServer struct {
	srv   *envtest.APIServer
	plane *envtest.ControlPlane
	cfg   *rest.Config
	// users serialises AddAdmin: envtest's CA is not safe for concurrent use.
	users  sync.Mutex
	issued int
	// serverMu serialises the stops and restarts of srv; stopped says it was stopped by
	// StopTenantAPIServer.
	serverMu sync.Mutex
	stopped  bool
}

func (t *tenantServer) URL() string              { return t.cfg.Host }
func (t *tenantServer) CA() []byte               { return t.srv.CA }
func (t *tenantServer) RESTConfig() *rest.Config { return rest.CopyConfig(t.cfg) }

// Stop stops the server for good and removes its certificates.
func (t *tenantServer) Stop() error {
	t.serverMu.Lock()
	defer t.serverMu.Unlock()
	return errors.Join(t.srv.Stop(), os.RemoveAll(t.srv.CertDir))
}

// AdminGroupPrefix starts the group of every admin credential a tenant API server
// issues: <prefix><n>, bound to cluster-admin by the ClusterRoleBinding of the same name
// (see AdminBinding). A client certificate cannot be revoked, a binding can: deleting it
// makes the tenant API server refuse that credential, as a rotated credential is refused.
const AdminGroupPrefix = "qumulus-admins-"

// AdminBinding is the ClusterRoleBinding of an admin credential's group.
func AdminBinding(group string) string { return group }

// AddAdmin issues a client certificate for user in a group of its own, bound to
// cluster-admin, and waits until the tenant API server authorises it.
func (t *tenantServer) AddAdmin(user string) ([]byte, []byte, error) {
	t.users.Lock()
	defer t.users.Unlock()
	t.issued++
	group := fmt.Sprintf("%s%d", AdminGroupPrefix, t.issued)
	cs, err := kubernetes.NewForConfig(t.cfg)
	if err != nil {
		return nil, nil, err
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	binding := &rbacv1.ClusterRoleBinding{
		ObjectMeta: metav1.ObjectMeta{Name: AdminBinding(group)},
		RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: "cluster-admin"},
		Subjects:   []rbacv1.Subject{{Kind: rbacv1.GroupKind, APIGroup: rbacv1.GroupName, Name: group}},
	}
	if _, err := cs.RbacV1().ClusterRoleBindings().Create(ctx, binding, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
		return nil, nil, fmt.Errorf("binding %s to cluster-admin: %w", group, err)
	}
	// The authoriser learns of the binding through a watch.
	err = wait.PollUntilContextCancel(ctx, 50*time.Millisecond, true, func(ctx context.Context) (bool, error) {
		review, err := cs.AuthorizationV1().SubjectAccessReviews().Create(ctx, &authorizationv1.SubjectAccessReview{Spec: authorizationv1.SubjectAccessReviewSpec{
			User: user, Groups: []string{group},
			ResourceAttributes: &authorizationv1.ResourceAttributes{Verb: "*", Group: "*", Resource: "*"},
		}}, metav1.CreateOptions{})
		return err == nil && review.Status.Allowed, nil
	})
	if err != nil {
		return nil, nil, fmt.Errorf("waiting for the binding of %s: %w", group, err)
	}
	u, err := t.plane.AddUser(envtest.User{Name: user, Groups: []string{group}}, nil)
	if err != nil {
		return nil, nil, err
	}
	cfg := u.Config()
	return cfg.CertData, cfg.KeyData, nil
}

func kubeconfig(cfg *rest.Config, name string) ([]byte, error) {
	return clientcmd.Write(clientcmdapi.Config{
		Clusters:       map[string]*clientcmdapi.Cluster{name: {Server: cfg.Host, CertificateAuthorityData: cfg.CAData}},
		AuthInfos:      map[string]*clientcmdapi.AuthInfo{AdminUser: {ClientCertificateData: cfg.CertData, ClientKeyData: cfg.KeyData}},
		Contexts:       map[string]*clientcmdapi.Context{name: {Cluster: name, AuthInfo: AdminUser}},
		CurrentContext: name,
	})
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// reapOrphans stops kube-apiserver and etcd processes of these binaries whose parent is
// gone: a test binary that exits through os.Exit (as the test framework does when it
// cannot run the CLI) never reaches Stop. Processes of a running devcluster or test still
// have their parent and are left alone.
func reapOrphans(binaries ...string) int {
	reaped := 0
	for _, p := range proc.All() {
		if p.Parent != 1 || !slices.Contains(binaries, proc.Exe(p.PID)) {
			continue
		}
		if syscall.Kill(p.PID, syscall.SIGKILL) == nil {
			reaped++
		}
	}
	return reaped
}
