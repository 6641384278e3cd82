package tenantcluster

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"log/slog"
	"math/big"
	"strings"
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
	"k8s.io/client-go/kubernetes/fake"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"

	"github.com/qumulus/terraform-provider-qumulus/internal/kamaji"
	"github.com/qumulus/terraform-provider-qumulus/internal/kube"
)

// credentials is a client certificate and key that crypto/tls accepts.
func credentials(t testing.TB, user string) (cert, key []byte) {
	t.Helper()
	priv, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(time.Now().UnixNano()),
		Subject:      pkix.Name{CommonName: user, Organization: []string{"system:masters"}},
		NotBefore:    time.Now().Add(-time.Minute),
		NotAfter:     time.Now().Add(time.Hour),
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &priv.PublicKey, priv)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalECPrivateKey(priv)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
		pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: keyDER})
}

func kubeconfig(t testing.TB, edit func(*clientcmdapi.Cluster, *clientcmdapi.AuthInfo)) []byte {
	t.Helper()
	cert, key := credentials(t, "kubernetes-admin")
	c := &clientcmdapi.Cluster{Server: "https://10.0.0.1:6443", CertificateAuthorityData: []byte("CA")}
	u := &clientcmdapi.AuthInfo{ClientCertificateData: cert, ClientKeyData: key}
	if edit != nil {
		edit(c, u)
	}
	raw, err := clientcmd.Write(clientcmdapi.Config{
		Clusters:       map[string]*clientcmdapi.Cluster{"prod": c},
		AuthInfos:      map[string]*clientcmdapi.AuthInfo{"kubernetes-admin": u},
		Contexts:       map[string]*clientcmdapi.Context{"kubernetes-admin@prod": {Cluster: "prod", AuthInfo: "kubernetes-admin"}},
		CurrentContext: "kubernetes-admin@prod",
	})
	if err != nil {
		t.Fatal(err)
	}
	return raw
}

func TestParse(t *testing.T) {
	t.Parallel()
	raw := kubeconfig(t, func(c *clientcmdapi.Cluster, _ *clientcmdapi.AuthInfo) { c.TLSServerName = "api.prod" })
	kc, err := Parse(raw)
	if err != nil {
		t.Fatal(err)
	}
	if kc.Host != "https://10.0.0.1:6443" || string(kc.CACertificate) != "CA" || kc.TLSServerName != "api.prod" ||
		!strings.Contains(string(kc.ClientCertificate), "BEGIN CERTIFICATE") || !strings.Contains(string(kc.ClientKey), "PRIVATE KEY") || kc.Token != "" {
		t.Errorf("parsed %+v", *kc)
	}
	cfg := kc.RESTConfig("ua", 5, 10)
	if cfg.Host != kc.Host || string(cfg.KeyData) != string(kc.ClientKey) || cfg.ServerName != "api.prod" || cfg.UserAgent != "ua" || cfg.QPS != 5 || cfg.Burst != 10 {
		t.Errorf("REST config %+v", cfg)
	}

	token, err := Parse(kubeconfig(t, func(_ *clientcmdapi.Cluster, u *clientcmdapi.AuthInfo) {
		u.ClientCertificateData, u.ClientKeyData, u.Token = nil, nil, "abc.def"
	}))
	if err != nil || token.Token != "abc.def" || token.RESTConfig("", 0, 0).BearerToken != "abc.def" {
		t.Errorf("token kubeconfig: %v %v", token, err)
	}

	for name, tc := range map[string]struct {
		raw  []byte
		want string
	}{
		"not yaml":        {[]byte("{"), "not a kubeconfig"},
		"empty":           {[]byte("apiVersion: v1\nkind: Config\n"), "no current-context and 0 contexts"},
		"missing context": {[]byte("apiVersion: v1\nkind: Config\ncurrent-context: x\n"), `current-context "x" does not exist`},
		"file CA":         {kubeconfig(t, func(c *clientcmdapi.Cluster, _ *clientcmdapi.AuthInfo) { c.CertificateAuthority = "/etc/ca" }), "certificate-authority (a file)"},
		"exec": {kubeconfig(t, func(_ *clientcmdapi.Cluster, u *clientcmdapi.AuthInfo) {
			u.Exec = &clientcmdapi.ExecConfig{Command: "x"}
		}), "exec"},
		"key file":         {kubeconfig(t, func(_ *clientcmdapi.Cluster, u *clientcmdapi.AuthInfo) { u.ClientKey = "/k" }), "client-key (a file)"},
		"no server":        {kubeconfig(t, func(c *clientcmdapi.Cluster, _ *clientcmdapi.AuthInfo) { c.Server = "" }), "has no server"},
		"cert without key": {kubeconfig(t, func(_ *clientcmdapi.Cluster, u *clientcmdapi.AuthInfo) { u.ClientKeyData = nil }), "without the other"},
		"no credentials": {kubeconfig(t, func(_ *clientcmdapi.Cluster, u *clientcmdapi.AuthInfo) {
			u.ClientKeyData, u.ClientCertificateData = nil, nil
		}), "neither"},
		"basic auth refused": {kubeconfig(t, func(_ *clientcmdapi.Cluster, u *clientcmdapi.AuthInfo) { u.Username, u.Password = "a", "b" }), "username/password"},
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			_, err := Parse(tc.raw)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %v, want one containing %q", err, tc.want)
			}
		})
	}
}

func TestKubeconfigNeverPrintsCredentials(t *testing.T) {
	t.Parallel()
	kc, err := Parse(kubeconfig(t, func(_ *clientcmdapi.Cluster, u *clientcmdapi.AuthInfo) { u.Token = "secret-token" }))
	if err != nil {
		t.Fatal(err)
	}
	kc.Cluster, kc.SecretKey = Key{"tenant-acme", "prod"}, kamaji.AdminKubeconfigKey
	conn := &Connection{Clients: &kube.Clients{REST: kc.RESTConfig("", 0, 0)}, Kubeconfig: kc}
	var logged bytes.Buffer
	logger := slog.New(slog.NewJSONHandler(&logged, nil))
	for _, v := range []any{kc, conn} {
		var outputs []string
		for _, format := range []string{"%v", "%+v", "%#v", "%s"} {
			outputs = append(outputs, fmt.Sprintf(format, v))
		}
		// tflog and hclog write fields as JSON.
		b, err := json.Marshal(map[string]any{"field": v})
		if err != nil {
			t.Fatal(err)
		}
		logger.Info("connected", "field", v)
		outputs = append(outputs, string(b), logged.String())
		for _, out := range outputs {
			if strings.Contains(out, "PRIVATE KEY") || strings.Contains(out, "secret-token") || strings.Contains(out, "LS0t") ||
				!strings.Contains(out, "tenant-acme/prod") {
				t.Errorf("%T printed %q", v, out)
			}
		}
	}
}

func TestParseKey(t *testing.T) {
	t.Parallel()
	if k, err := ParseKey("tenant-acme/prod"); err != nil || k != (Key{"tenant-acme", "prod"}) {
		t.Errorf("got %v %v", k, err)
	}
	for _, bad := range []string{"", "prod", "/prod", "ns/", "a/b/c"} {
		if _, err := ParseKey(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}

// testNamespace is the tenant namespace of the unit tests.
const testNamespace = "tenant-acme"

func tenantControlPlane(name, phase, secret string, deleting bool) *unstructured.Unstructured {
	tcp := &unstructured.Unstructured{Object: map[string]any{}}
	tcp.SetGroupVersionKind(kamaji.TenantControlPlaneGVK)
	tcp.SetNamespace(testNamespace)
	tcp.SetName(name)
	if phase != "" {
		_ = unstructured.SetNestedField(tcp.Object, phase, "status", "kubernetesResources", "version", "status")
	}
	if secret != "" {
		_ = unstructured.SetNestedField(tcp.Object, secret, "status", "kubeconfig", "admin", "secretName")
	}
	if deleting {
		now := metav1.Now()
		tcp.SetDeletionTimestamp(&now)
		tcp.SetFinalizers([]string{kamaji.Finalizer})
	}
	return tcp
}

func secret(name string, data map[string][]byte) *corev1.Secret {
	return &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: testNamespace, Name: name}, Data: data}
}

func reader(objects []runtime.Object, secrets ...runtime.Object) Reader {
	scheme := runtime.NewScheme()
	dyn := dynamicfake.NewSimpleDynamicClientWithCustomListKinds(scheme,
		map[schema.GroupVersionResource]string{kamaji.TenantControlPlaneGVR: "TenantControlPlaneList"}, objects...)
	return Reader{Kube: fake.NewClientset(secrets...), Dynamic: dyn}
}

func TestRead(t *testing.T) {
	t.Parallel()
	admin := kubeconfig(t, nil)
	key := Key{"tenant-acme", "prod"}
	ready := func(secretName string) []runtime.Object {
		return []runtime.Object{tenantControlPlane("prod", kamaji.StatusReady, secretName, false)}
	}
	for name, tc := range map[string]struct {
		tcps    []runtime.Object
		secrets []runtime.Object
		key     string
		check   func(t *testing.T, kc *Kubeconfig, err error)
	}{
		"secret named by the status": {
			tcps: ready("custom"), secrets: []runtime.Object{secret("custom", map[string][]byte{"admin.conf": admin})},
			check: func(t *testing.T, kc *Kubeconfig, err error) {
				if err != nil || kc.SecretName != "custom" || kc.Cluster != key || kc.SecretKey != "admin.conf" || string(kc.Raw) != string(admin) {
					t.Errorf("got %v, %v", kc, err)
				}
			},
		},
		"fallback name while the status names none": {
			tcps: ready(""), secrets: []runtime.Object{secret("prod-admin-kubeconfig", map[string][]byte{"admin.conf": admin})},
			check: func(t *testing.T, kc *Kubeconfig, err error) {
				if err != nil || kc.SecretName != "prod-admin-kubeconfig" {
					t.Errorf("got %v, %v", kc, err)
				}
			},
		},
		"usable while upgrading and sleeping": {
			tcps:    []runtime.Object{tenantControlPlane("prod", kamaji.StatusUpgrading, "", false)},
			secrets: []runtime.Object{secret("prod-admin-kubeconfig", map[string][]byte{"admin.conf": admin})},
			check: func(t *testing.T, _ *Kubeconfig, err error) {
				if err != nil {
					t.Error(err)
				}
			},
		},
		"not found (another cluster exists)": {
			tcps: []runtime.Object{tenantControlPlane("staging", kamaji.StatusReady, "", false)},
			check: func(t *testing.T, _ *Kubeconfig, err error) {
				var nf *NotFoundError
				if !errors.As(err, &nf) || nf.Cluster != key {
					t.Errorf("got %v", err)
				}
			},
		},
		"provisioning": {
			tcps: []runtime.Object{tenantControlPlane("prod", kamaji.StatusProvisioning, "", false)},
			check: func(t *testing.T, _ *Kubeconfig, err error) {
				var nr *NotReadyError
				if !errors.As(err, &nr) || nr.Phase != kamaji.StatusProvisioning || err.Error() != "TenantControlPlane tenant-acme/prod is Provisioning, not Ready" {
					t.Errorf("got %v", err)
				}
			},
		},
		"no status": {
			tcps: []runtime.Object{tenantControlPlane("prod", "", "", false)},
			check: func(t *testing.T, _ *Kubeconfig, err error) {
				var nr *NotReadyError
				if !errors.As(err, &nr) || !strings.Contains(err.Error(), "no status yet") {
					t.Errorf("got %v", err)
				}
			},
		},
		"deleting": {
			tcps: []runtime.Object{tenantControlPlane("prod", kamaji.StatusReady, "", true)},
			check: func(t *testing.T, _ *Kubeconfig, err error) {
				var nr *NotReadyError
				if !errors.As(err, &nr) || !nr.Deleting {
					t.Errorf("got %v", err)
				}
			},
		},
		"secret missing": {
			tcps: ready("prod-admin-kubeconfig"),
			check: func(t *testing.T, _ *Kubeconfig, err error) {
				var sm *SecretMissingError
				if !errors.As(err, &sm) || sm.Secret != "prod-admin-kubeconfig" || !sm.FromStatus {
					t.Errorf("got %v", err)
				}
			},
		},
		"key missing": {
			tcps: ready(""), key: kamaji.SuperAdminKubeconfigKey,
			secrets: []runtime.Object{secret("prod-admin-kubeconfig", map[string][]byte{"admin.conf": admin, "a": nil})},
			check: func(t *testing.T, _ *Kubeconfig, err error) {
				var km *KeyMissingError
				if !errors.As(err, &km) || km.Key != "super-admin.conf" || strings.Join(km.Present, ",") != "a,admin.conf" {
					t.Errorf("got %v", err)
				}
			},
		},
		"invalid kubeconfig": {
			tcps: ready(""), secrets: []runtime.Object{secret("prod-admin-kubeconfig", map[string][]byte{"admin.conf": []byte("apiVersion: v1\nkind: Config\n")})},
			check: func(t *testing.T, _ *Kubeconfig, err error) {
				var inv *InvalidError
				if !errors.As(err, &inv) || inv.Secret != "prod-admin-kubeconfig" {
					t.Errorf("got %v", err)
				}
			},
		},
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			k := tc.key
			if k == "" {
				k = kamaji.AdminKubeconfigKey
			}
			kc, err := reader(tc.tcps, tc.secrets...).Read(context.Background(), key, k)
			tc.check(t, kc, err)
		})
	}
}

func TestUsable(t *testing.T) {
	t.Parallel()
	for phase, want := range map[string]bool{
		"Ready": true, "Upgrading": true, "Migrating": true, "WriteLimited": true, "Sleeping": true,
		"Provisioning": false, "CertificateAuthorityRotating": false, "NotReady": false, "Unknown": false, "": false,
	} {
		if Usable(phase) != want {
			t.Errorf("Usable(%q) = %v", phase, !want)
		}
	}
}

// countingCache is a Cache whose client builds are counted instead of made.
func countingCache(r Reader) (*Cache, *int) {
	c := NewCache(r, ClientOptions{UserAgent: "test"})
	var mu sync.Mutex
	builds := 0
	c.newClients = func(cfg *rest.Config) (*kube.Clients, error) {
		mu.Lock()
		defer mu.Unlock()
		builds++
		return &kube.Clients{REST: cfg}, nil
	}
	return c, &builds
}

func TestCacheReusesClientsUntilTheCredentialsChange(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	key := Key{"tenant-acme", "prod"}
	first := kubeconfig(t, nil)
	r := reader([]runtime.Object{tenantControlPlane("prod", kamaji.StatusReady, "", false)},
		secret("prod-admin-kubeconfig", map[string][]byte{"admin.conf": first, "super-admin.conf": kubeconfig(t, nil)}))
	c, builds := countingCache(r)

	a, err := c.Get(ctx, key, "admin.conf")
	if err != nil {
		t.Fatal(err)
	}
	b, err := c.Get(ctx, key, "admin.conf")
	if err != nil {
		t.Fatal(err)
	}
	if a != b || *builds != 1 {
		t.Fatalf("second Get built new clients (%d builds)", *builds)
	}
	if a.REST.UserAgent != "test" || string(a.REST.KeyData) != string(a.Kubeconfig.ClientKey) {
		t.Errorf("clients built from %+v", a.REST)
	}
	super, err := c.Get(ctx, key, "super-admin.conf")
	if err != nil || super == a || *builds != 2 {
		t.Fatalf("super-admin.conf shares the admin clients: %v (%d builds)", err, *builds)
	}

	// Kamaji rotates the credentials.
	rotated := kubeconfig(t, nil)
	_, err = r.Kube.CoreV1().Secrets("tenant-acme").Update(ctx,
		secret("prod-admin-kubeconfig", map[string][]byte{"admin.conf": rotated}), metav1.UpdateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	d, err := c.Get(ctx, key, "admin.conf")
	if err != nil {
		t.Fatal(err)
	}
	if d == a || *builds != 3 || string(d.Kubeconfig.Raw) != string(rotated) {
		t.Errorf("rotated credentials not picked up (%d builds)", *builds)
	}

	// A cluster that stopped being usable is reported, not served from the cache.
	if err := r.Dynamic.Resource(kamaji.TenantControlPlaneGVR).Namespace("tenant-acme").Delete(ctx, "prod", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	var nf *NotFoundError
	if _, err := c.Get(ctx, key, "admin.conf"); !errors.As(err, &nf) {
		t.Errorf("Get after the cluster was deleted: %v", err)
	}
}

func TestCacheConcurrentGets(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	key := Key{"tenant-acme", "prod"}
	r := reader([]runtime.Object{tenantControlPlane("prod", kamaji.StatusReady, "", false)},
		secret("prod-admin-kubeconfig", map[string][]byte{"admin.conf": kubeconfig(t, nil), "super-admin.conf": kubeconfig(t, nil)}))
	c, builds := countingCache(r)
	var wg sync.WaitGroup
	conns := make([]*Connection, 16)
	for i := range conns {
		wg.Go(func() {
			conn, err := c.Get(ctx, key, kubeconfigKeys[i%2])
			if err != nil {
				t.Error(err)
			}
			conns[i] = conn
		})
	}
	wg.Wait()
	if *builds != 2 {
		t.Errorf("%d client builds for two kubeconfigs", *builds)
	}
	for i := range conns {
		if conns[i] != conns[i%2] {
			t.Errorf("Get %d returned another connection", i)
		}
	}
}

var kubeconfigKeys = []string{kamaji.AdminKubeconfigKey, kamaji.SuperAdminKubeconfigKey}

func TestCacheBuildsRealClients(t *testing.T) {
	t.Parallel()
	r := reader([]runtime.Object{tenantControlPlane("prod", kamaji.StatusReady, "", false)},
		secret("prod-admin-kubeconfig", map[string][]byte{"admin.conf": kubeconfig(t, func(c *clientcmdapi.Cluster, _ *clientcmdapi.AuthInfo) {
			c.CertificateAuthorityData = nil
			c.InsecureSkipTLSVerify = true
		})}))
	conn, err := NewCache(r, ClientOptions{}).Get(context.Background(), Key{"tenant-acme", "prod"}, "admin.conf")
	if err != nil {
		t.Fatal(err)
	}
	if conn.Kubernetes == nil || conn.Dynamic == nil || conn.Mapper == nil || !conn.REST.Insecure {
		t.Errorf("incomplete connection %+v", conn.Clients)
	}
}

func TestCacheDoRetriesOnceAfterRotation(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	key := Key{"tenant-acme", "prod"}
	r := reader([]runtime.Object{tenantControlPlane("prod", kamaji.StatusReady, "", false)},
		secret("prod-admin-kubeconfig", map[string][]byte{"admin.conf": kubeconfig(t, nil)}))
	c, _ := countingCache(r)
	unauthorized := apierrors.NewUnauthorized("certificate revoked")

	// Rejected and unchanged: the error is the caller's.
	calls := 0
	err := c.Do(ctx, key, "admin.conf", func(*Connection) error { calls++; return unauthorized })
	if !apierrors.IsUnauthorized(err) || calls != 1 {
		t.Errorf("unchanged credentials: %v after %d calls", err, calls)
	}

	// Rejected because Kamaji rotated them meanwhile: one more try with the new ones.
	calls = 0
	var seen []*Connection
	err = c.Do(ctx, key, "admin.conf", func(conn *Connection) error {
		calls++
		seen = append(seen, conn)
		if calls == 1 {
			_, err := r.Kube.CoreV1().Secrets("tenant-acme").Update(ctx,
				secret("prod-admin-kubeconfig", map[string][]byte{"admin.conf": kubeconfig(t, nil)}), metav1.UpdateOptions{})
			if err != nil {
				t.Fatal(err)
			}
			return unauthorized
		}
		return nil
	})
	if err != nil || calls != 2 || seen[0] == seen[1] {
		t.Errorf("rotated credentials: %v after %d calls", err, calls)
	}

	// Other errors are returned as they are.
	other := errors.New("boom")
	if err := c.Do(ctx, key, "admin.conf", func(*Connection) error { return other }); !errors.Is(err, other) {
		t.Errorf("got %v", err)
	}
}

func BenchmarkCacheGet(b *testing.B) {
	r := reader([]runtime.Object{tenantControlPlane("prod", kamaji.StatusReady, "", false)},
		secret("prod-admin-kubeconfig", map[string][]byte{"admin.conf": kubeconfig(b, nil)}))
	c, builds := countingCache(r)
	ctx := context.Background()
	key := Key{"tenant-acme", "prod"}
	for b.Loop() {
		if _, err := c.Get(ctx, key, "admin.conf"); err != nil {
			b.Fatal(err)
		}
	}
	if *builds != 1 {
		b.Fatalf("%d client builds", *builds)
	}
}
