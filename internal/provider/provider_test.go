package provider

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/hashicorp/terraform-plugin-framework/providerserver"
	"github.com/hashicorp/terraform-plugin-go/tfprotov6"
	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/knownvalue"
	"github.com/hashicorp/terraform-plugin-testing/statecheck"
	"github.com/hashicorp/terraform-plugin-testing/tfjsonpath"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/qumulus/terraform-provider-qumulus/internal/testsupport/acctest"
)

var protoV6ProviderFactories = map[string]func() (tfprotov6.ProviderServer, error){
	"qumulus": providerserver.NewProtocol6WithError(New("test")()),
}

func TestMain(m *testing.M) {
	os.Exit(acctest.Run(m))
}

// isolateEnv clears every QUMULUS_* connection variable for the test.
func isolateEnv(t *testing.T) {
	t.Helper()
	for _, name := range []string{
		envConfigPath, envConfigPaths, envConfigContent, envConfigContext, envConfigContextCluster, envConfigContextUser, envHost, envToken,
		envClientCertificate, envClientKey, envClusterCACertificate, envInsecure, envTLSServerName,
		envProxyURL, envInCluster, envQPS, envBurst, envPlanDryRun,
	} {
		t.Setenv(name, "")
	}
}

const managementClusterData = `
data "qumulus_management_cluster" "this" {}
`

// connected checks that the data source reached the management cluster with its CRDs.
func connected(t *testing.T) []statecheck.StateCheck {
	c := acctest.Cluster(t)
	addr := "data.qumulus_management_cluster.this"
	return []statecheck.StateCheck{
		statecheck.ExpectKnownValue(addr, tfjsonpath.New("host"), knownvalue.StringExact(c.Host)),
		statecheck.ExpectKnownValue(addr, tfjsonpath.New("kubernetes_version"), knownvalue.StringRegexp(regexp.MustCompile(`^v1\.\d+\.\d+`))),
		statecheck.ExpectKnownValue(addr, tfjsonpath.New("kamaji_installed"), knownvalue.Bool(true)),
		statecheck.ExpectKnownValue(addr, tfjsonpath.New("cluster_api_installed"), knownvalue.Bool(true)),
		statecheck.ExpectKnownValue(addr, tfjsonpath.New("kamaji_control_plane_provider_installed"), knownvalue.Bool(true)),
	}
}

func testConnection(t *testing.T, providerBlock string) {
	t.Helper()
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: protoV6ProviderFactories,
		Steps: []resource.TestStep{{
			Config:            providerBlock + managementClusterData,
			ConfigStateChecks: connected(t),
		}},
	})
}

func TestAccProvider_kubeconfigFile(t *testing.T) {
	isolateEnv(t)
	testConnection(t, fmt.Sprintf(`provider "qumulus" { config_path = %q }`, acctest.KubeconfigFile(t)))
}

func TestAccProvider_kubeconfigContent(t *testing.T) {
	isolateEnv(t)
	testConnection(t, acctest.ProviderBlock(t))
}

func TestAccProvider_kubeconfigPathsAndContext(t *testing.T) {
	isolateEnv(t)
	c := acctest.Cluster(t)
	// The first file's current context points nowhere; config_context picks the real one
	// from the second file.
	raw, err := clientcmd.Load(c.Kubeconfig)
	if err != nil {
		t.Fatal(err)
	}
	var good string
	for name := range raw.Contexts {
		good = name
	}
	broken := strings.ReplaceAll(`apiVersion: v1
kind: Config
clusters:
- name: broken
  cluster: {server: "https://127.0.0.1:1"}
users:
- name: nobody
  user: {token: nothing}
contexts:
- name: broken
  context: {cluster: broken, user: nobody}
current-context: broken
`, "\t", "  ")
	dir := t.TempDir()
	first := filepath.Join(dir, "first")
	if err := os.WriteFile(first, []byte(broken), 0o600); err != nil {
		t.Fatal(err)
	}
	testConnection(t, fmt.Sprintf(`provider "qumulus" {
  config_paths   = [%q, %q]
  config_context = %q
}`, first, acctest.KubeconfigFile(t), good))
}

func TestAccProvider_token(t *testing.T) {
	isolateEnv(t)
	c := acctest.Cluster(t)
	if c.AdminToken == "" {
		t.Skip("the existing cluster has no static token")
	}
	testConnection(t, fmt.Sprintf(`provider "qumulus" {
  host                   = %q
  token                  = %q
  cluster_ca_certificate = %s
}`, c.Host, c.AdminToken, acctest.HCLString(string(c.CA))))
}

func TestAccProvider_clientCertificate(t *testing.T) {
	isolateEnv(t)
	c := acctest.Cluster(t)
	if len(c.ClientKey) == 0 {
		t.Skip("the existing cluster's kubeconfig has no client certificate")
	}
	testConnection(t, fmt.Sprintf(`provider "qumulus" {
  host                   = %q
  client_certificate     = %s
  client_key             = %s
  cluster_ca_certificate = %s
}`, c.Host, acctest.HCLString(string(c.ClientCertificate)), acctest.HCLString(string(c.ClientKey)), acctest.HCLString(string(c.CA))))
}

func TestAccProvider_exec(t *testing.T) {
	isolateEnv(t)
	c := acctest.Cluster(t)
	if c.AdminToken == "" {
		t.Skip("the existing cluster has no static token")
	}
	// A tiny credential plugin: prints an ExecCredential with the token it gets through
	// its environment.
	plugin := filepath.Join(t.TempDir(), "credential-plugin")
	script := "#!/bin/sh\nprintf '{\"apiVersion\":\"client.authentication.k8s.io/v1\",\"kind\":\"ExecCredential\",\"status\":{\"token\":\"%s\"}}' \"$QUMULUS_TEST_TOKEN\"\n"
	if err := os.WriteFile(plugin, []byte(script), 0o700); err != nil {
		t.Fatal(err)
	}
	testConnection(t, fmt.Sprintf(`provider "qumulus" {
  host                   = %q
  cluster_ca_certificate = %s
  exec = {
    api_version = "client.authentication.k8s.io/v1"
    command     = %q
    args        = ["get-token"]
    env         = { QUMULUS_TEST_TOKEN = %q }
  }
}`, c.Host, acctest.HCLString(string(c.CA)), plugin, c.AdminToken))
}

func TestAccProvider_environment(t *testing.T) {
	isolateEnv(t)
	t.Setenv(envConfigPath, acctest.KubeconfigFile(t))
	t.Setenv(envQPS, "20")
	testConnection(t, `provider "qumulus" {}`)
}

func TestAccProvider_notConfigured(t *testing.T) {
	isolateEnv(t)
	acctest.Cluster(t)
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: protoV6ProviderFactories,
		Steps: []resource.TestStep{{
			Config:      `provider "qumulus" {}` + managementClusterData,
			ExpectError: regexp.MustCompile(`(?s)Management Cluster Not Configured.*config_path.*QUMULUS_CONFIG_PATH.*host.*in_cluster`),
		}},
	})
}

func TestAccProvider_badToken(t *testing.T) {
	isolateEnv(t)
	c := acctest.Cluster(t)
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: protoV6ProviderFactories,
		Steps: []resource.TestStep{{
			Config: fmt.Sprintf(`provider "qumulus" {
  host                   = %q
  token                  = "not-a-valid-token"
  cluster_ca_certificate = %s
}`, c.Host, acctest.HCLString(string(c.CA))) + managementClusterData,
			ExpectError: regexp.MustCompile(`(?s)Management Cluster Credentials Rejected.*token`),
		}},
	})
}

func TestAccProvider_conflictingSettings(t *testing.T) {
	isolateEnv(t)
	acctest.Cluster(t)
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: protoV6ProviderFactories,
		Steps: []resource.TestStep{
			{
				Config:      "provider \"qumulus\" {\n  config_path = \"~/.kube/config\"\n  config_content = \"x\"\n}\n" + managementClusterData,
				ExpectError: regexp.MustCompile(`Invalid Attribute Combination`),
			},
			{
				Config:      "provider \"qumulus\" {\n  config_path = \"~/.kube/config\"\n  in_cluster = true\n}\n" + managementClusterData,
				ExpectError: regexp.MustCompile(`Conflicting Attributes`),
			},
			{
				Config:      `provider "qumulus" { client_certificate = "x" }` + managementClusterData,
				ExpectError: regexp.MustCompile(`Invalid Attribute Combination`),
			},
		},
	})
}

// The management cluster's address comes from a resource created in the same apply: a
// data source read at plan reports that clearly; one deferred to apply works.
func TestAccProvider_unknownAtPlan(t *testing.T) {
	isolateEnv(t)
	c := acctest.Cluster(t)
	if c.AdminToken == "" {
		t.Skip("the existing cluster has no static token")
	}
	provider := fmt.Sprintf(`
resource "terraform_data" "cluster" {
  input = "created in this apply"
}

provider "qumulus" {
  # substr(id, 0, 0) is "" but unknown until terraform_data.cluster exists.
  host                   = "%s${substr(terraform_data.cluster.id, 0, 0)}"
  token                  = %q
  cluster_ca_certificate = %s
}
`, c.Host, c.AdminToken, acctest.HCLString(string(c.CA)))
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: protoV6ProviderFactories,
		Steps: []resource.TestStep{
			{
				Config:      provider + managementClusterData,
				ExpectError: regexp.MustCompile(`(?s)Management Cluster Connection Not Known Yet.*host`),
			},
			{
				Config: provider + `
data "qumulus_management_cluster" "this" {
  depends_on = [terraform_data.cluster]
}
`,
				ConfigStateChecks: connected(t),
			},
		},
	})
}
