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

	env := &envtest.Environment{
		CRDs:                     set.CRDs,
		ControlPlaneStartTimeout: 2 * time.Minute,
		ControlPlaneStopTimeout:  time.Minute,
		ControlPlane: envtest.ControlPlane{
			APIServer: &envtest.APIServer{Path: kas},
			Etcd:      &envtest.Etcd{Path: etcd},
		},
	}
	env.ControlPlane.APIServer.Configure().Set("token-auth-file", tokenFile)
	if _, err := env.Start(); err != nil {
		_ = os.RemoveAll(tokenDir)
		return nil, fmt.Errorf("starting the local management cluster: %w", err)
	}
	c := &Cluster{env: env, kas: kas, CRDs: set, AdminToken: token, tokenFile: tokenDir, Simulated: true}
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
		errs = append(errs, c.env.Stop())
		c.env = nil
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

// startTenantServer starts a kube-apiserver for a tenant control plane. It shares the
// management cluster's etcd under a prefix of its own, new for every server, so a
// re-created tenant starts empty.
func (c *Cluster) startTenantServer(_ context.Context, name string) (simulator.TenantServer, error) {
	srv := &envtest.APIServer{
		Path:         c.kas,
		EtcdURL:      c.env.ControlPlane.Etcd.URL,
		StartTimeout: 2 * time.Minute,
		StopTimeout:  time.Minute,
	}
	srv.Configure().Set("etcd-prefix", "/qumulus-tenants/"+name+"-"+randomHex(4))
	if err := srv.Start(); err != nil {
		return nil, fmt.Errorf("starting tenant API server %s: %w", name, err)
	}
	plane := &envtest.ControlPlane{APIServer: srv}
	admin, err := plane.AddUser(envtest.User{Name: "qumulus-simulator", Groups: []string{"system:masters"}}, unlimited())
	if err != nil {
		_ = srv.Stop()
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
	users sync.Mutex
}

func (t *tenantServer) URL() string              { return t.cfg.Host }
func (t *tenantServer) CA() []byte               { return t.srv.CA }
func (t *tenantServer) RESTConfig() *rest.Config { return rest.CopyConfig(t.cfg) }
func (t *tenantServer) Stop() error              { return t.srv.Stop() }

func (t *tenantServer) AddAdmin(user string) ([]byte, []byte, error) {
	t.users.Lock()
	defer t.users.Unlock()
	u, err := t.plane.AddUser(envtest.User{Name: user, Groups: []string{"system:masters"}}, nil)
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
