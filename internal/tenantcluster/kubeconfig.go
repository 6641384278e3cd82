// Package tenantcluster turns a Qumulus cluster (a Kamaji TenantControlPlane on the
// management cluster) into the credentials of its tenant API server, and into clients for
// it that are shared and rebuilt when Kamaji rotates the credentials.
package tenantcluster

import (
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"strings"

	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
)

// Key names a cluster: the namespace and name of its TenantControlPlane (in Cluster API
// mode, of its Cluster, KamajiControlPlane and TenantControlPlane alike).
type Key struct {
	Namespace, Name string
}

func (k Key) String() string { return k.Namespace + "/" + k.Name }

// ParseKey reads "<namespace>/<name>", the ID of a qumulus_cluster.
func ParseKey(id string) (Key, error) {
	ns, name, ok := strings.Cut(id, "/")
	if !ok || ns == "" || name == "" || strings.Contains(name, "/") {
		return Key{}, fmt.Errorf("%q is not <namespace>/<name>", id)
	}
	return Key{Namespace: ns, Name: name}, nil
}

// Kubeconfig is one kubeconfig of Kamaji's admin kubeconfig Secret, with the connection
// settings of its current context taken apart. It never shows the credentials when printed
// with fmt, marshalled to JSON (as tflog does with fields) or logged with slog.
type Kubeconfig struct {
	// Cluster is the cluster the kubeconfig belongs to; SecretName and SecretKey say
	// where it was read (in the cluster's namespace).
	Cluster               Key
	SecretName, SecretKey string

	// Raw is the kubeconfig as Kamaji wrote it.
	Raw []byte

	// Host is the URL of the tenant API server; TLSServerName the name to verify its
	// certificate against when it differs from the host; ProxyURL the proxy to reach it
	// through. Insecure skips the verification of its certificate.
	Host, TLSServerName, ProxyURL string
	Insecure                      bool
	// CACertificate, ClientCertificate and ClientKey are PEM; Token is a bearer token.
	// Each is empty when the kubeconfig does not use it.
	CACertificate, ClientCertificate, ClientKey []byte
	Token                                       string
}

func (k *Kubeconfig) String() string {
	if k == nil {
		return "<nil kubeconfig>"
	}
	return fmt.Sprintf("kubeconfig %s of cluster %s for %s (credentials redacted)", k.SecretKey, k.Cluster, k.Host)
}

// GoString keeps %#v from printing the credentials.
func (k *Kubeconfig) GoString() string { return k.String() }

// MarshalJSON keeps JSON loggers (tflog, hclog) from printing the credentials.
func (k *Kubeconfig) MarshalJSON() ([]byte, error) { return json.Marshal(k.String()) }

// LogValue keeps log/slog from printing the credentials.
func (k *Kubeconfig) LogValue() slog.Value { return slog.StringValue(k.String()) }

// ErrNotSelfContained is wrapped by Parse's error for a kubeconfig that needs something
// besides itself: files on the machine that runs Terraform, an exec plugin or an auth
// provider. A kubeconfig read from a Secret must carry its credentials inline.
var ErrNotSelfContained = errors.New("the kubeconfig is not self-contained")

// Parse reads a kubeconfig's current context. It refuses kubeconfigs that would make the
// provider read local files or run commands.
func Parse(raw []byte) (*Kubeconfig, error) {
	cfg, err := clientcmd.Load(raw)
	if err != nil {
		return nil, fmt.Errorf("not a kubeconfig: %w", err)
	}
	name := cfg.CurrentContext
	if name == "" {
		if len(cfg.Contexts) != 1 {
			return nil, fmt.Errorf("the kubeconfig has no current-context and %d contexts", len(cfg.Contexts))
		}
		for n := range cfg.Contexts {
			name = n
		}
	}
	ctx, ok := cfg.Contexts[name]
	if !ok {
		return nil, fmt.Errorf("the kubeconfig's current-context %q does not exist", name)
	}
	cluster, ok := cfg.Clusters[ctx.Cluster]
	if !ok {
		return nil, fmt.Errorf("context %q names cluster %q, which the kubeconfig does not define", name, ctx.Cluster)
	}
	user, ok := cfg.AuthInfos[ctx.AuthInfo]
	if !ok {
		return nil, fmt.Errorf("context %q names user %q, which the kubeconfig does not define", name, ctx.AuthInfo)
	}
	if err := selfContained(cluster, user); err != nil {
		return nil, err
	}
	if cluster.Server == "" {
		return nil, fmt.Errorf("cluster %q of the kubeconfig has no server", ctx.Cluster)
	}
	if cluster.ProxyURL != "" {
		if _, err := url.Parse(cluster.ProxyURL); err != nil {
			return nil, fmt.Errorf("cluster %q of the kubeconfig has an invalid proxy-url: %w", ctx.Cluster, err)
		}
	}
	if len(user.ClientCertificateData) > 0 != (len(user.ClientKeyData) > 0) {
		return nil, fmt.Errorf("user %q of the kubeconfig has a client certificate or key without the other", ctx.AuthInfo)
	}
	if len(user.ClientCertificateData) == 0 && user.Token == "" {
		return nil, fmt.Errorf("user %q of the kubeconfig has neither a client certificate nor a token", ctx.AuthInfo)
	}
	return &Kubeconfig{
		Raw:               raw,
		Host:              cluster.Server,
		TLSServerName:     cluster.TLSServerName,
		ProxyURL:          cluster.ProxyURL,
		Insecure:          cluster.InsecureSkipTLSVerify,
		CACertificate:     cluster.CertificateAuthorityData,
		ClientCertificate: user.ClientCertificateData,
		ClientKey:         user.ClientKeyData,
		Token:             user.Token,
	}, nil
}

func selfContained(cluster *clientcmdapi.Cluster, user *clientcmdapi.AuthInfo) error {
	var refs []string
	for what, set := range map[string]bool{
		"certificate-authority (a file)": cluster.CertificateAuthority != "",
		"client-certificate (a file)":    user.ClientCertificate != "",
		"client-key (a file)":            user.ClientKey != "",
		"tokenFile":                      user.TokenFile != "",
		"exec":                           user.Exec != nil,
		"auth-provider":                  user.AuthProvider != nil,
		"username/password":              user.Username != "" || user.Password != "",
		"impersonation":                  user.Impersonate != "" || user.ImpersonateUID != "" || len(user.ImpersonateGroups) > 0,
	} {
		if set {
			refs = append(refs, what)
		}
	}
	if len(refs) == 0 {
		return nil
	}
	slices.Sort(refs)
	return fmt.Errorf("%w: it uses %s", ErrNotSelfContained, strings.Join(refs, ", "))
}

// RESTConfig is a client configuration for the tenant API server.
func (k *Kubeconfig) RESTConfig(userAgent string, qps float32, burst int) *rest.Config {
	cfg := &rest.Config{
		Host:        k.Host,
		BearerToken: k.Token,
		TLSClientConfig: rest.TLSClientConfig{
			Insecure:   k.Insecure,
			ServerName: k.TLSServerName,
			CAData:     k.CACertificate,
			CertData:   k.ClientCertificate,
			KeyData:    k.ClientKey,
		},
		UserAgent: userAgent,
		QPS:       qps,
		Burst:     burst,
	}
	if u, err := url.Parse(k.ProxyURL); err == nil && k.ProxyURL != "" {
		cfg.Proxy = http.ProxyURL(u)
	}
	return cfg
}
