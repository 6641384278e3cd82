// Package kube turns connection settings into Kubernetes clients. It knows nothing of
// Terraform: the provider package maps its configuration onto Config.
package kube

import (
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
)

// Default client-side rate limits. client-go's own defaults (5 QPS, burst 10) throttle a
// provider that reconciles dozens of objects in one apply, and 50/100 still did: creating
// 100 worker pools (about 15 requests each) took 30 s, all of it waiting in the client's
// limiter, and each create returned a second after its pool was ready (BENCHMARKS.md). A
// Terraform run is short and bursty; the API server's priority and fairness queues or
// refuses (429) what it cannot take, and client-go retries a 429 after its Retry-After.
const (
	DefaultQPS   = 200
	DefaultBurst = 400
)

// ExecConfig runs a client-go credential plugin (for example `aws eks get-token`).
type ExecConfig struct {
	APIVersion string
	Command    string
	Args       []string
	Env        map[string]string
}

// Config describes how to reach a Kubernetes API server. The sources, in order:
// a kubeconfig (files or inline content) or in-cluster service-account credentials as the
// base, then the explicit fields (Host, Token, certificates, Exec ...) layered on top.
type Config struct {
	// ConfigPaths are kubeconfig files, merged like $KUBECONFIG (first file wins per key).
	ConfigPaths []string
	// ConfigContent is a whole kubeconfig document.
	ConfigContent string
	// Context selects a context of the kubeconfig; empty means its current-context.
	Context string
	// ContextCluster and ContextAuthInfo replace the cluster and user of that context.
	ContextCluster  string
	ContextAuthInfo string

	// InCluster uses the pod's service account. Only honoured when asked for.
	InCluster bool

	Host                 string
	Token                string
	ClientCertificate    string
	ClientKey            string
	ClusterCACertificate string
	Insecure             bool
	TLSServerName        string
	ProxyURL             string
	Exec                 *ExecConfig

	QPS   float32
	Burst int

	// UserAgent identifies the caller in the API server's audit log.
	UserAgent string

	// WrapTransport, when set, wraps the transport of every request: tests count requests
	// with it, or answer them without an API server.
	WrapTransport func(http.RoundTripper) http.RoundTripper
}

// ErrNotConfigured is returned when no setting says where the API server is.
var ErrNotConfigured = errors.New("no Kubernetes API server is configured")

func (c Config) hasKubeconfig() bool {
	return len(c.ConfigPaths) > 0 || c.ConfigContent != ""
}

// Validate reports settings that contradict each other. It does not touch the network or
// the file system.
func (c Config) Validate() error {
	var errs []error
	if len(c.ConfigPaths) > 0 && c.ConfigContent != "" {
		errs = append(errs, errors.New("a kubeconfig file (config_path/config_paths) and inline kubeconfig content (config_content) are both set; choose one"))
	}
	if c.InCluster && c.hasKubeconfig() {
		errs = append(errs, errors.New("in_cluster is set together with a kubeconfig; in-cluster credentials and a kubeconfig are alternatives, choose one"))
	}
	for name, v := range map[string]string{"config_context": c.Context, "config_context_cluster": c.ContextCluster, "config_context_auth_info": c.ContextAuthInfo} {
		if v != "" && !c.hasKubeconfig() {
			errs = append(errs, fmt.Errorf("%s %q is set but no kubeconfig (config_path, config_paths or config_content) is", name, v))
		}
	}
	if (c.ClientCertificate == "") != (c.ClientKey == "") {
		errs = append(errs, errors.New("client_certificate and client_key must be set together"))
	}
	if c.Exec != nil && c.Exec.Command == "" {
		errs = append(errs, errors.New("exec.command must not be empty"))
	}
	if c.Exec != nil && c.Exec.APIVersion == "" {
		errs = append(errs, errors.New("exec.api_version must not be empty (for example client.authentication.k8s.io/v1)"))
	}
	if c.QPS < 0 || c.Burst < 0 {
		errs = append(errs, errors.New("qps and burst must not be negative"))
	}
	if !c.hasKubeconfig() && !c.InCluster && c.Host == "" {
		errs = append(errs, ErrNotConfigured)
	}
	return errors.Join(errs...)
}

// RESTConfig builds a client-go configuration. It never falls back to localhost or to
// ~/.kube/config: with nothing configured it returns ErrNotConfigured.
func (c Config) RESTConfig() (*rest.Config, error) {
	if err := c.Validate(); err != nil {
		return nil, err
	}

	overrides := &clientcmd.ConfigOverrides{
		Context:        clientcmdapi.Context{Cluster: c.ContextCluster, AuthInfo: c.ContextAuthInfo},
		CurrentContext: c.Context,
	}
	if c.Host != "" {
		overrides.ClusterInfo.Server = c.Host
	}
	if c.ClusterCACertificate != "" {
		overrides.ClusterInfo.CertificateAuthorityData = []byte(c.ClusterCACertificate)
	}
	if c.Insecure {
		overrides.ClusterInfo.InsecureSkipTLSVerify = true
	}
	if c.TLSServerName != "" {
		overrides.ClusterInfo.TLSServerName = c.TLSServerName
	}
	if c.ProxyURL != "" {
		overrides.ClusterInfo.ProxyURL = c.ProxyURL
	}
	if c.Token != "" {
		overrides.AuthInfo.Token = c.Token
	}
	if c.ClientCertificate != "" {
		overrides.AuthInfo.ClientCertificateData = []byte(c.ClientCertificate)
		overrides.AuthInfo.ClientKeyData = []byte(c.ClientKey)
	}
	if c.Exec != nil {
		overrides.AuthInfo.Exec = c.Exec.toClientcmd()
	}

	var cfg *rest.Config
	var err error
	switch {
	case c.InCluster:
		cfg, err = rest.InClusterConfig()
		if err != nil {
			return nil, fmt.Errorf("in_cluster is set but the in-cluster service account could not be loaded: %w", err)
		}
		applyOverrides(cfg, overrides)
	case c.hasKubeconfig():
		cfg, err = c.kubeconfigClientConfig(overrides).ClientConfig()
		if err != nil {
			return nil, fmt.Errorf("loading the kubeconfig: %w", err)
		}
	default:
		cfg, err = clientcmd.NewDefaultClientConfig(clientcmdapi.Config{}, overrides).ClientConfig()
		if err != nil {
			return nil, err
		}
	}
	if cfg.Host == "" {
		return nil, ErrNotConfigured
	}

	cfg.QPS = c.QPS
	if cfg.QPS == 0 {
		cfg.QPS = DefaultQPS
	}
	cfg.Burst = c.Burst
	if cfg.Burst == 0 {
		cfg.Burst = DefaultBurst
	}
	if c.UserAgent != "" {
		cfg.UserAgent = c.UserAgent
	}
	if c.WrapTransport != nil {
		cfg.Wrap(c.WrapTransport)
	}
	return cfg, nil
}

func (c Config) kubeconfigClientConfig(overrides *clientcmd.ConfigOverrides) clientcmd.ClientConfig {
	if c.ConfigContent != "" {
		raw, err := clientcmd.Load([]byte(c.ConfigContent))
		if err != nil {
			return errClientConfig{fmt.Errorf("config_content is not a valid kubeconfig: %w", err)}
		}
		return clientcmd.NewNonInteractiveClientConfig(*raw, c.Context, overrides, nil)
	}
	paths := make([]string, 0, len(c.ConfigPaths))
	for _, p := range c.ConfigPaths {
		expanded, err := ExpandPath(p)
		if err != nil {
			return errClientConfig{err}
		}
		if _, err := os.Stat(expanded); err != nil {
			return errClientConfig{fmt.Errorf("kubeconfig file %q: %w", p, err)}
		}
		paths = append(paths, expanded)
	}
	rules := &clientcmd.ClientConfigLoadingRules{Precedence: paths}
	return clientcmd.NewNonInteractiveDeferredLoadingClientConfig(rules, overrides)
}

// applyOverrides lays explicit settings over in-cluster credentials, as clientcmd does for a
// kubeconfig.
func applyOverrides(cfg *rest.Config, o *clientcmd.ConfigOverrides) {
	if o.ClusterInfo.Server != "" {
		cfg.Host = o.ClusterInfo.Server
	}
	if len(o.ClusterInfo.CertificateAuthorityData) > 0 {
		cfg.CAData = o.ClusterInfo.CertificateAuthorityData
		cfg.CAFile = ""
	}
	if o.ClusterInfo.InsecureSkipTLSVerify {
		cfg.Insecure = true
		cfg.CAData, cfg.CAFile = nil, ""
	}
	if o.ClusterInfo.TLSServerName != "" {
		cfg.ServerName = o.ClusterInfo.TLSServerName
	}
	if o.AuthInfo.Token != "" {
		cfg.BearerToken = o.AuthInfo.Token
		cfg.BearerTokenFile = ""
	}
	if len(o.AuthInfo.ClientCertificateData) > 0 {
		cfg.CertData = o.AuthInfo.ClientCertificateData
		cfg.KeyData = o.AuthInfo.ClientKeyData
	}
	if o.AuthInfo.Exec != nil {
		cfg.ExecProvider = o.AuthInfo.Exec
		cfg.BearerToken, cfg.BearerTokenFile = "", ""
	}
}

func (e *ExecConfig) toClientcmd() *clientcmdapi.ExecConfig {
	env := make([]clientcmdapi.ExecEnvVar, 0, len(e.Env))
	names := make([]string, 0, len(e.Env))
	for k := range e.Env {
		names = append(names, k)
	}
	sort.Strings(names)
	for _, k := range names {
		env = append(env, clientcmdapi.ExecEnvVar{Name: k, Value: e.Env[k]})
	}
	return &clientcmdapi.ExecConfig{
		APIVersion:      e.APIVersion,
		Command:         e.Command,
		Args:            append([]string(nil), e.Args...),
		Env:             env,
		InteractiveMode: clientcmdapi.NeverExecInteractiveMode,
	}
}

// ExpandPath resolves a leading ~ to the user's home directory.
func ExpandPath(p string) (string, error) {
	if p != "~" && !strings.HasPrefix(p, "~/") {
		return p, nil
	}
	home, err := os.UserHomeDir()
	if err != nil {
		return "", fmt.Errorf("expanding %q: %w", p, err)
	}
	return filepath.Join(home, strings.TrimPrefix(p, "~")), nil
}

// errClientConfig carries a loading error through the clientcmd.ClientConfig interface.
type errClientConfig struct{ err error }

func (e errClientConfig) RawConfig() (clientcmdapi.Config, error) {
	return clientcmdapi.Config{}, e.err
}
func (e errClientConfig) ClientConfig() (*rest.Config, error)  { return nil, e.err }
func (e errClientConfig) Namespace() (string, bool, error)     { return "", false, e.err }
func (e errClientConfig) ConfigAccess() clientcmd.ConfigAccess { return nil }
