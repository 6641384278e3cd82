package provider

import (
	"context"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/terraform-plugin-go/tfprotov6"
	"github.com/hashicorp/terraform-plugin-testing/echoprovider"
	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/knownvalue"
	"github.com/hashicorp/terraform-plugin-testing/plancheck"
	"github.com/hashicorp/terraform-plugin-testing/statecheck"
	"github.com/hashicorp/terraform-plugin-testing/terraform"
	"github.com/hashicorp/terraform-plugin-testing/tfjsonpath"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	"github.com/qumulus/terraform-provider-qumulus/internal/kamaji"
	"github.com/qumulus/terraform-provider-qumulus/internal/tenant"
	"github.com/qumulus/terraform-provider-qumulus/internal/tenantcluster"
	"github.com/qumulus/terraform-provider-qumulus/internal/testsupport/acctest"
	"github.com/qumulus/terraform-provider-qumulus/internal/testsupport/simulator"
)

const kubeconfigData = `
data "qumulus_kubeconfig" "test" {
  cluster_id = qumulus_cluster.test.id
}
`

// secretKubeconfig reads and parses a kubeconfig of a cluster's admin kubeconfig Secret.
func secretKubeconfig(ctx context.Context, cs kubernetes.Interface, ns, cluster, key string) (*tenantcluster.Kubeconfig, error) {
	s, err := cs.CoreV1().Secrets(ns).Get(ctx, kamaji.AdminKubeconfigSecretName(cluster), metav1.GetOptions{})
	if err != nil {
		return nil, err
	}
	return tenantcluster.Parse(s.Data[key])
}

// kubeconfigMatchesSecret checks that the data source's outputs are what the Secret of
// cluster "prod" holds.
func kubeconfigMatchesSecret(t *testing.T, addr, ns, key string) resource.TestCheckFunc {
	const cluster = "prod"
	cs, _ := kubeClients(t)
	return func(s *terraform.State) error {
		rs, ok := s.RootModule().Resources[addr]
		if !ok {
			return fmt.Errorf("%s not in state", addr)
		}
		kc, err := secretKubeconfig(context.Background(), cs, ns, cluster, key)
		if err != nil {
			return err
		}
		a := rs.Primary.Attributes
		for name, want := range map[string]string{
			"kubeconfig_raw": string(kc.Raw), "host": kc.Host, "cluster_ca_certificate": string(kc.CACertificate),
			"client_certificate": string(kc.ClientCertificate), "client_key": string(kc.ClientKey),
			"secret_name": kamaji.AdminKubeconfigSecretName(cluster),
		} {
			if a[name] != want {
				return fmt.Errorf("%s.%s does not match key %s of the Secret", addr, name, key)
			}
		}
		return nil
	}
}

// tenantAPIAnswers connects to the tenant API server with nothing but the data source's
// outputs, as a kubernetes or helm provider configured from them does.
func tenantAPIAnswers(t *testing.T, addr string) resource.TestCheckFunc {
	mgmt := acctest.Cluster(t)
	return func(s *terraform.State) error {
		a := s.RootModule().Resources[addr].Primary.Attributes
		if a["host"] == mgmt.RESTConfig.Host {
			return fmt.Errorf("%s.host is the management cluster's", addr)
		}
		cs, err := kubernetes.NewForConfig(&rest.Config{Host: a["host"], TLSClientConfig: rest.TLSClientConfig{
			CAData: []byte(a["cluster_ca_certificate"]), CertData: []byte(a["client_certificate"]), KeyData: []byte(a["client_key"]),
		}})
		if err != nil {
			return err
		}
		if _, err := cs.CoreV1().Namespaces().Get(context.Background(), "kube-system", metav1.GetOptions{}); err != nil {
			return fmt.Errorf("the tenant API server at %s: %w", a["host"], err)
		}
		return nil
	}
}

// certificateCommonName checks the CN of a PEM certificate attribute.
func certificateCommonName(addr, attribute, want string) resource.TestCheckFunc {
	return func(s *terraform.State) error {
		block, _ := pem.Decode([]byte(s.RootModule().Resources[addr].Primary.Attributes[attribute]))
		if block == nil {
			return fmt.Errorf("%s.%s is not PEM", addr, attribute)
		}
		cert, err := x509.ParseCertificate(block.Bytes)
		if err != nil {
			return err
		}
		if cert.Subject.CommonName != want {
			return fmt.Errorf("%s.%s is the certificate of %q, want %q", addr, attribute, cert.Subject.CommonName, want)
		}
		return nil
	}
}

// rotateKubeconfig makes Kamaji issue new credentials for the cluster.
func rotateKubeconfig(t *testing.T, ns, cluster string) {
	t.Helper()
	cs, _ := kubeClients(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	must(t, acctest.RotateKubeconfig(ctx, cs, ns, cluster))
}

func TestAccKubeconfig_dataSource(t *testing.T) {
	isolateEnv(t)
	tn := tenantName()
	ns := tenant.DefaultNamespace(tn)
	addr := "data.qumulus_kubeconfig.test"
	cluster := `
  name    = "prod"
  version = "1.35.0"
`
	byID := clusterConfig(t, tn, cluster) + kubeconfigData
	byName := clusterConfig(t, tn, cluster) + `
data "qumulus_kubeconfig" "test" {
  namespace         = qumulus_cluster.test.namespace
  name              = "prod"
  kubeconfig_key    = "super-admin.conf"
  verify_connection = true
  depends_on        = [qumulus_cluster.test]
}
`
	var firstCertificate string
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: protoV6ProviderFactories,
		CheckDestroy:             checkClustersDestroyed(t),
		Steps: []resource.TestStep{
			{
				// Tenant, cluster and kubeconfig in one apply: the kubeconfig is read once the
				// cluster is ready.
				Config: byID,
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectUnknownValue("qumulus_cluster.test", tfjsonpath.New("id")),
					plancheck.ExpectResourceAction(addr, plancheck.ResourceActionRead),
				}},
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue(addr, tfjsonpath.New("id"), knownvalue.StringExact(ns+"/prod")),
					statecheck.ExpectKnownValue(addr, tfjsonpath.New("namespace"), knownvalue.StringExact(ns)),
					statecheck.ExpectKnownValue(addr, tfjsonpath.New("name"), knownvalue.StringExact("prod")),
					statecheck.ExpectKnownValue(addr, tfjsonpath.New("token"), knownvalue.Null()),
					statecheck.ExpectKnownValue(addr, tfjsonpath.New("tls_server_name"), knownvalue.Null()),
					statecheck.ExpectKnownValue(addr, tfjsonpath.New("server_version"), knownvalue.Null()),
					statecheck.ExpectSensitiveValue(addr, tfjsonpath.New("client_key")),
					statecheck.ExpectSensitiveValue(addr, tfjsonpath.New("kubeconfig_raw")),
				},
				Check: resource.ComposeTestCheckFunc(
					kubeconfigMatchesSecret(t, addr, ns, kamaji.AdminKubeconfigKey),
					tenantAPIAnswers(t, addr),
					certificateCommonName(addr, "client_certificate", "kubernetes-admin"),
					func(s *terraform.State) error {
						host := s.RootModule().Resources[addr].Primary.Attributes["host"]
						endpoint := s.RootModule().Resources["qumulus_cluster.test"].Primary.Attributes["endpoint"]
						if host != "https://"+endpoint {
							return fmt.Errorf("host %q is not the cluster's endpoint %q", host, endpoint)
						}
						return nil
					},
					resource.TestCheckResourceAttrPair(addr, "cluster_ca_certificate", "qumulus_cluster.test", "ca_certificate"),
					func(s *terraform.State) error {
						firstCertificate = s.RootModule().Resources[addr].Primary.Attributes["client_certificate"]
						return nil
					},
				),
			},
			{
				// namespace and name, the super-admin kubeconfig, and a connection check.
				Config: byName,
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue(addr, tfjsonpath.New("id"), knownvalue.StringExact(ns+"/prod")),
					statecheck.ExpectKnownValue(addr, tfjsonpath.New("server_version"), knownvalue.StringRegexp(regexp.MustCompile(`^v1\.\d+\.\d+`))),
				},
				Check: resource.ComposeTestCheckFunc(
					kubeconfigMatchesSecret(t, addr, ns, kamaji.SuperAdminKubeconfigKey),
					certificateCommonName(addr, "client_certificate", "kubernetes-super-admin"),
					tenantAPIAnswers(t, addr),
				),
			},
			{
				// A change of how the API server is exposed may change its address: the
				// kubeconfig is read again after the apply, not at plan time.
				Config: clusterConfig(t, tn, cluster+`
  network = { cert_sans = ["prod.acme.example"] }
`) + kubeconfigData,
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectResourceAction("qumulus_cluster.test", plancheck.ResourceActionUpdate),
					plancheck.ExpectUnknownValue("qumulus_cluster.test", tfjsonpath.New("id")),
					plancheck.ExpectResourceAction(addr, plancheck.ResourceActionRead),
				}},
				Check: kubeconfigMatchesSecret(t, addr, ns, kamaji.AdminKubeconfigKey),
			},
			{
				// Kamaji issues new credentials: the next read returns them.
				PreConfig: func() { rotateKubeconfig(t, ns, "prod") },
				Config:    byID,
				Check: resource.ComposeTestCheckFunc(
					kubeconfigMatchesSecret(t, addr, ns, kamaji.AdminKubeconfigKey),
					tenantAPIAnswers(t, addr),
					func(s *terraform.State) error {
						if s.RootModule().Resources[addr].Primary.Attributes["client_certificate"] == firstCertificate {
							return fmt.Errorf("%s still has the certificate from before the rotation", addr)
						}
						return nil
					},
				),
			},
		},
	})
}

// errorText matches an error that contains each part in order, however the CLI wraps its
// lines.
func errorText(parts ...string) *regexp.Regexp {
	quoted := make([]string, len(parts))
	for i, p := range parts {
		quoted[i] = strings.ReplaceAll(regexp.QuoteMeta(p), " ", `\s+`)
	}
	return regexp.MustCompile(`(?s)` + strings.Join(quoted, ".*"))
}

func TestAccKubeconfig_errors(t *testing.T) {
	isolateEnv(t)
	if !acctest.Cluster(t).Simulated {
		t.Skip("holds the control plane and its Secret with the simulator's annotation")
	}
	tn := tenantName()
	ns := tenant.DefaultNamespace(tn)
	cs, _ := kubeClients(t)
	secretName := kamaji.AdminKubeconfigSecretName("prod")
	held := clusterConfig(t, tn, fmt.Sprintf(`
  name           = "prod"
  version        = "1.35.0"
  annotations    = { %q = "true" }
  wait_for_ready = false
`, simulator.HoldAnnotation))
	ready := clusterConfig(t, tn, `
  name    = "prod"
  version = "1.35.0"
`)
	byName := func(key string) string {
		return ready + fmt.Sprintf(`
data "qumulus_kubeconfig" "test" {
  namespace      = qumulus_cluster.test.namespace
  name           = qumulus_cluster.test.name
  kubeconfig_key = %q
}
`, key)
	}
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: protoV6ProviderFactories,
		CheckDestroy:             checkClustersDestroyed(t),
		Steps: []resource.TestStep{
			{
				Config:      held + kubeconfigData,
				ExpectError: errorText("Cluster Not Ready", "TenantControlPlane "+ns+"/prod", "once Kamaji reports the control plane Ready"),
			},
			{Config: ready},
			{
				// Kamaji has not written the Secret again (the simulator holds it).
				PreConfig:   func() { holdAndDeleteKubeconfig(t, ns, "prod") },
				Config:      byName("admin.conf"),
				ExpectError: errorText("Kubeconfig Secret Not Found", "Secret "+ns+"/"+secretName+" (the admin kubeconfig of TenantControlPlane "+ns+"/prod) not found"),
			},
			{
				// Something else wrote the Secret.
				PreConfig: func() {
					_, err := cs.CoreV1().Secrets(ns).Create(context.Background(), &corev1.Secret{
						ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: secretName},
						Data:       map[string][]byte{"admin.conf": []byte("apiVersion: v1\nkind: Config\n")},
					}, metav1.CreateOptions{})
					must(t, err)
				},
				Config:      byName("admin.conf"),
				ExpectError: errorText("Kubeconfig Not Usable", "Secret "+ns+"/"+secretName+`, key "admin.conf", cannot be used`),
			},
			{
				Config:      byName("super-admin.conf"),
				ExpectError: errorText("Kubeconfig Key Not Found", `has no key "super-admin.conf" (it has [admin.conf])`),
			},
			{
				Config: ready + `
data "qumulus_kubeconfig" "test" {
  cluster_id = "${qumulus_cluster.test.namespace}/staging"
}
`,
				ExpectError: errorText("Cluster Not Found", "TenantControlPlane "+ns+"/staging", "cluster_id = qumulus_cluster.<name>.id"),
			},
			{Config: ready},
		},
	})
}

func TestAccKubeconfig_invalidConfiguration(t *testing.T) {
	isolateEnv(t)
	for name, tc := range map[string]struct{ body, want string }{
		"both forms":       {`cluster_id = "a/b"` + "\n" + `name = "b"`, `(?s)Invalid Attribute Combination.*cluster_id`},
		"name alone":       {`name = "prod"`, `(?s)Invalid Attribute Combination.*namespace`},
		"nothing":          {``, `(?s)Missing Attribute Configuration.*cluster_id,name`},
		"not an id":        {`cluster_id = "prod"`, `no '/' between namespace and name`},
		"bad name":         {`cluster_id = "tenant-acme/Prod"`, `name: a DNS-1035 label`},
		"unknown key":      {`cluster_id = "tenant-acme/prod"` + "\n" + `kubeconfig_key = "kubelet.conf"`, `value must be one of`},
		"namespace and id": {`cluster_id = "a/b"` + "\n" + `namespace = "a"`, `(?s)Invalid Attribute Combination`},
	} {
		t.Run(name, func(t *testing.T) {
			resource.Test(t, resource.TestCase{
				ProtoV6ProviderFactories: protoV6ProviderFactories,
				Steps: []resource.TestStep{{
					Config:      acctest.ProviderBlock(t) + "data \"qumulus_kubeconfig\" \"test\" {\n" + tc.body + "\n}\n",
					ExpectError: regexp.MustCompile(tc.want),
					PlanOnly:    true,
				}},
			})
		})
	}
}

// echoKubeconfig copies what the ephemeral resource returned into the state of an echo
// resource (which takes its data when created only), keys only as digests.
func echoKubeconfig(resource string) string {
	return fmt.Sprintf(`
provider "echo" {
  data = {
    id                 = ephemeral.qumulus_kubeconfig.test.id
    secret_name        = ephemeral.qumulus_kubeconfig.test.secret_name
    host               = ephemeral.qumulus_kubeconfig.test.host
    ca                 = ephemeral.qumulus_kubeconfig.test.cluster_ca_certificate
    certificate        = ephemeral.qumulus_kubeconfig.test.client_certificate
    key_sha256         = sha256(ephemeral.qumulus_kubeconfig.test.client_key)
    kubeconfig_sha256  = sha256(ephemeral.qumulus_kubeconfig.test.kubeconfig_raw)
    server_version     = ephemeral.qumulus_kubeconfig.test.server_version
  }
}

resource "echo" %q {}
`, resource)
}

func sha256Hex(b []byte) string {
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

func TestAccKubeconfig_ephemeral(t *testing.T) {
	isolateEnv(t)
	acctest.UseOpenTofu(t)
	tn := tenantName()
	ns := tenant.DefaultNamespace(tn)
	cs, _ := kubeClients(t)
	cluster := clusterConfig(t, tn, `
  name    = "prod"
  version = "1.35.0"
`)
	echo := func(resource, key string) []statecheck.StateCheck {
		fromSecret := func(f func(*tenantcluster.Kubeconfig) string) knownvalue.Check {
			return expectedString(func() (string, error) {
				kc, err := secretKubeconfig(context.Background(), cs, ns, "prod", key)
				if err != nil {
					return "", err
				}
				return f(kc), nil
			})
		}
		data := tfjsonpath.New("data")
		return []statecheck.StateCheck{
			noKeyMaterialInState{cs: cs, ns: ns, cluster: "prod"},
			statecheck.ExpectKnownValue(resource, data.AtMapKey("id"), knownvalue.StringExact(ns+"/prod")),
			statecheck.ExpectKnownValue(resource, data.AtMapKey("secret_name"), knownvalue.StringExact("prod-admin-kubeconfig")),
			statecheck.ExpectKnownValue(resource, data.AtMapKey("host"), fromSecret(func(kc *tenantcluster.Kubeconfig) string { return kc.Host })),
			statecheck.ExpectKnownValue(resource, data.AtMapKey("ca"), fromSecret(func(kc *tenantcluster.Kubeconfig) string { return string(kc.CACertificate) })),
			statecheck.ExpectKnownValue(resource, data.AtMapKey("certificate"), fromSecret(func(kc *tenantcluster.Kubeconfig) string { return string(kc.ClientCertificate) })),
			statecheck.ExpectKnownValue(resource, data.AtMapKey("key_sha256"), fromSecret(func(kc *tenantcluster.Kubeconfig) string { return sha256Hex(kc.ClientKey) })),
			statecheck.ExpectKnownValue(resource, data.AtMapKey("kubeconfig_sha256"), fromSecret(func(kc *tenantcluster.Kubeconfig) string { return sha256Hex(kc.Raw) })),
		}
	}
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: map[string]func() (tfprotov6.ProviderServer, error){
			"qumulus": protoV6ProviderFactories["qumulus"],
			"echo":    echoprovider.NewProviderServer(),
		},
		CheckDestroy: checkClustersDestroyed(t),
		Steps: []resource.TestStep{
			{
				Config: cluster + `
ephemeral "qumulus_kubeconfig" "test" {
  cluster_id = qumulus_cluster.test.id
}
` + echoKubeconfig("admin"),
				ConfigStateChecks: append(echo("echo.admin", kamaji.AdminKubeconfigKey),
					statecheck.ExpectKnownValue("echo.admin", tfjsonpath.New("data").AtMapKey("server_version"), knownvalue.Null())),
			},
			{
				Config: cluster + `
ephemeral "qumulus_kubeconfig" "test" {
  namespace         = qumulus_cluster.test.namespace
  name              = qumulus_cluster.test.name
  kubeconfig_key    = "super-admin.conf"
  verify_connection = true
}
` + echoKubeconfig("super_admin"),
				ConfigStateChecks: append(echo("echo.super_admin", kamaji.SuperAdminKubeconfigKey),
					statecheck.ExpectKnownValue("echo.super_admin", tfjsonpath.New("data").AtMapKey("server_version"), knownvalue.StringRegexp(regexp.MustCompile(`^v1\.`)))),
			},
			{
				Config: cluster + `
ephemeral "qumulus_kubeconfig" "test" {
  cluster_id = "${qumulus_cluster.test.namespace}/staging"
}
` + echoKubeconfig("super_admin"),
				ExpectError: errorText("Cluster Not Found", "TenantControlPlane "+ns+"/staging"),
			},
			{
				// Kamaji has not written the Secret again (the simulator holds it).
				SkipFunc:  func() (bool, error) { return !acctest.Cluster(t).Simulated, nil },
				PreConfig: func() { holdAndDeleteKubeconfig(t, ns, "prod") },
				Config: cluster + `
ephemeral "qumulus_kubeconfig" "test" {
  cluster_id = qumulus_cluster.test.id
}
` + echoKubeconfig("super_admin"),
				ExpectError: errorText("Kubeconfig Secret Not Found", "Secret "+ns+"/prod-admin-kubeconfig"),
			},
			// OpenTofu opens ephemeral resources for destroy too.
			{Config: cluster},
		},
	})
}

// holdAndDeleteKubeconfig stops the simulator from repairing the cluster and deletes its
// kubeconfig Secret.
func holdAndDeleteKubeconfig(t *testing.T, ns, cluster string) {
	t.Helper()
	cs, dyn := kubeClients(t)
	patch := fmt.Sprintf(`{"metadata":{"annotations":{%q:"true"}}}`, simulator.HoldAnnotation)
	_, err := dyn.Resource(kamaji.TenantControlPlaneGVR).Namespace(ns).Patch(context.Background(), cluster,
		types.MergePatchType, []byte(patch), metav1.PatchOptions{})
	must(t, err)
	must(t, cs.CoreV1().Secrets(ns).Delete(context.Background(), kamaji.AdminKubeconfigSecretName(cluster), metav1.DeleteOptions{}))
}

// expectedString is a knownvalue.Check whose expected value is read when the check runs
// (after the apply), e.g. from a Secret.
type expectedString func() (string, error)

func (f expectedString) CheckValue(v any) error {
	want, err := f()
	if err != nil {
		return err
	}
	if got, ok := v.(string); !ok || got != want {
		return fmt.Errorf("got %v, want %q", v, want)
	}
	return nil
}

func (f expectedString) String() string { return "the value in the Secret" }

// noKeyMaterialInState fails when the state holds a qumulus_kubeconfig or any of the
// cluster's key material.
type noKeyMaterialInState struct {
	cs          kubernetes.Interface
	ns, cluster string
}

func (c noKeyMaterialInState) CheckState(_ context.Context, req statecheck.CheckStateRequest, resp *statecheck.CheckStateResponse) {
	material, err := keyMaterial(c.cs, c.ns, c.cluster)
	if err != nil {
		resp.Error = err
		return
	}
	b, err := json.Marshal(req.State)
	if err != nil {
		resp.Error = err
		return
	}
	if leaks(string(b), material) {
		resp.Error = errors.New("the state holds key material")
	}
	if req.State != nil && req.State.Values != nil && req.State.Values.RootModule != nil {
		for _, r := range req.State.Values.RootModule.Resources {
			if r.Type == "qumulus_kubeconfig" {
				resp.Error = fmt.Errorf("the state holds %s", r.Address)
			}
		}
	}
}

// keyMaterial returns strings that appear in every rendering of the cluster's private
// keys: lines of the PEM client keys (in the PEM itself, and in JSON strings), a piece of
// their base64 form (client-key-data in the kubeconfig) and of the whole kubeconfig's,
// tokens, and the simulator's CA key marker.
func keyMaterial(cs kubernetes.Interface, ns, cluster string) ([]string, error) {
	found := []string{simulator.CAKeyMarker}
	for _, key := range []string{kamaji.AdminKubeconfigKey, kamaji.SuperAdminKubeconfigKey} {
		kc, err := secretKubeconfig(context.Background(), cs, ns, cluster, key)
		if err != nil {
			return nil, err
		}
		for _, line := range strings.Split(string(kc.ClientKey), "\n") {
			if len(line) >= 40 && !strings.HasPrefix(line, "-----") {
				found = append(found, line)
			}
		}
		raw := string(kc.Raw)
		i := strings.Index(raw, "client-key-data: ")
		if i < 0 {
			return nil, fmt.Errorf("key %s has no client-key-data", key)
		}
		found = append(found, raw[i+len("client-key-data: "):][40:80])
		whole := base64.StdEncoding.EncodeToString(kc.Raw)
		found = append(found, whole[len(whole)/2:len(whole)/2+40])
		if kc.Token != "" {
			found = append(found, kc.Token)
		}
	}
	return found, nil
}

func leaks(text string, material []string) bool {
	for _, m := range material {
		if strings.Contains(text, m) {
			return true
		}
	}
	return false
}

// sensitiveKubeconfigAttributes are the attributes of qumulus_kubeconfig marked sensitive.
func sensitiveKubeconfigAttributes() []string {
	var names []string
	for _, a := range kubeconfigAttributes() {
		if a.sensitive {
			names = append(names, a.name)
		}
	}
	return names
}

// checkStateFile fails when the state file holds key material anywhere but in the
// sensitive attributes of the qumulus_kubeconfig data source (and, with ephemeral, at all).
func checkStateFile(t *testing.T, state []byte, material []string, allowDataSource bool) {
	t.Helper()
	var s struct {
		Resources []struct {
			Mode, Type, Name string
			Instances        []struct {
				Attributes map[string]json.RawMessage `json:"attributes"`
			}
		}
		Outputs map[string]json.RawMessage
	}
	must(t, json.Unmarshal(state, &s))
	for name, v := range s.Outputs {
		if leaks(string(v), material) {
			t.Errorf("state output %s holds key material", name)
		}
	}
	sensitive := sensitiveKubeconfigAttributes()
	for _, r := range s.Resources {
		if r.Type == "qumulus_kubeconfig" && !allowDataSource {
			t.Errorf("the state holds %s.%s", r.Type, r.Name)
		}
		for _, inst := range r.Instances {
			for name, v := range inst.Attributes {
				if !leaks(string(v), material) {
					continue
				}
				if r.Mode == "data" && r.Type == "qumulus_kubeconfig" && allowDataSource && slices.Contains(sensitive, name) {
					continue
				}
				t.Errorf("state: %s.%s.%s holds key material", r.Type, r.Name, name)
			}
		}
	}
	rest := string(state)
	if !allowDataSource && leaks(rest, material) {
		t.Error("the state file holds key material")
	}
}

// consumerConfig configures a second qumulus provider for the tenant cluster from the
// kubeconfig (source is "data" or "ephemeral"), as one would the kubernetes or helm
// provider, and reads the tenant API server through it.
func consumerConfig(source string) string {
	return fmt.Sprintf(`
%[1]s "qumulus_kubeconfig" "tenant" {
  cluster_id = qumulus_cluster.test.id
}

provider "qumulus" {
  alias                  = "tenant"
  host                   = %[1]s.qumulus_kubeconfig.tenant.host
  cluster_ca_certificate = %[1]s.qumulus_kubeconfig.tenant.cluster_ca_certificate
  client_certificate     = %[1]s.qumulus_kubeconfig.tenant.client_certificate
  client_key             = %[1]s.qumulus_kubeconfig.tenant.client_key
}

data "qumulus_management_cluster" "tenant" {
  provider   = qumulus.tenant
  depends_on = [qumulus_cluster.test]
}

output "tenant_api_server" {
  value = data.qumulus_management_cluster.tenant.host
}

output "tenant_runs_kamaji" {
  value = data.qumulus_management_cluster.tenant.kamaji_installed
}
`, source)
}

// TestAccKubeconfig_noKeyMaterial runs Terraform and OpenTofu as a user does, with
// TF_LOG=trace, configures a second provider from the kubeconfig and looks for the
// cluster's private keys in everything they print and store: the apply and plan output,
// the state rendered by show, the state file and the trace log.
func TestAccKubeconfig_noKeyMaterial(t *testing.T) {
	isolateEnv(t)
	for _, tc := range []struct {
		name   string
		tofu   bool
		source string
	}{
		{"terraform data source", false, "data"},
		{"opentofu ephemeral resource", true, "ephemeral"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tn := tenantName()
			ns := tenant.DefaultNamespace(tn)
			cli := acctest.NewCLI(t, tc.tofu)
			cli.Write(`
terraform {
  required_providers {
    qumulus = { source = "qumulus/qumulus" }
  }
}
` + clusterConfig(t, tn, `
  name    = "prod"
  version = "1.35.0"
`) + consumerConfig(tc.source))
			destroyed := false
			t.Cleanup(func() {
				if !destroyed {
					_, _ = cli.Run("destroy", "-auto-approve")
				}
			})

			apply := cli.MustRun("apply", "-auto-approve")
			material, err := keyMaterial(kubernetes.NewForConfigOrDie(acctest.Cluster(t).RESTConfig), ns, "prod")
			must(t, err)
			endpoint := ""
			if kc, err := secretKubeconfig(context.Background(), kubernetes.NewForConfigOrDie(acctest.Cluster(t).RESTConfig), ns, "prod", kamaji.AdminKubeconfigKey); err == nil {
				endpoint = kc.Host
			}
			if !strings.Contains(apply, fmt.Sprintf("tenant_api_server = %q", endpoint)) || !strings.Contains(apply, "tenant_runs_kamaji = false") {
				t.Errorf("the second provider did not reach the tenant API server at %s:\n%s", endpoint, apply)
			}
			plan, err := cli.Run("plan", "-detailed-exitcode")
			if err != nil {
				t.Errorf("plan after apply is not empty: %v\n%s", err, plan)
			}
			show := cli.MustRun("show")
			for what, text := range map[string]string{"apply output": apply, "plan output": plan, "show output": show} {
				if leaks(text, material) {
					t.Errorf("the %s holds key material", what)
				}
			}
			state := cli.State()
			checkStateFile(t, state, material, tc.source == "data")
			if tc.source == "data" && !leaks(string(state), material) {
				t.Error("the data source's sensitive attributes in the state hold none of the key material looked for: the scan looks for the wrong strings")
			}

			cli.MustRun("destroy", "-auto-approve")
			destroyed = true
			trace := cli.Trace()
			if !strings.Contains(string(trace), "[TRACE]") || !strings.Contains(string(trace), "provider.terraform-provider-qumulus") {
				t.Fatalf("the trace log (%d bytes) has no trace lines of the provider: TF_LOG=trace did not take effect", len(trace))
			}
			if leaks(string(trace), material) {
				for _, line := range strings.Split(string(trace), "\n") {
					if leaks(line, material) {
						t.Errorf("the trace log holds key material: %.200s", line)
						break
					}
				}
			}
		})
	}
}
