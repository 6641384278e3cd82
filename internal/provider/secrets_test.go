package provider

import (
	"context"
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strings"
	"testing"

	tfacctest "github.com/hashicorp/terraform-plugin-testing/helper/acctest"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/qumulus/terraform-provider-qumulus/internal/tenant"
	"github.com/qumulus/terraform-provider-qumulus/internal/tenantcluster"
	"github.com/qumulus/terraform-provider-qumulus/internal/testsupport/acctest"
	"github.com/qumulus/terraform-provider-qumulus/internal/testsupport/chartrepo"
	"github.com/qumulus/terraform-provider-qumulus/internal/testsupport/simulator"
)

// secretDataKey matches the keys of Secret data that hold secrets (CA and service-account
// keys, passwords, tokens, cookies), secretValueKey those of chart values, and
// secretPublicKey the keys among them that name something public (a certificate, a name).
var (
	secretDataKey   = regexp.MustCompile(`(?i)key|password|token|secret|cookie`)
	secretValueKey  = regexp.MustCompile(`(?i)password|token|secret|cookie`)
	secretPublicKey = regexp.MustCompile(`(?i)\.crt$|\.pub$|cert|user|name|ref|path|file|mount|type|enabled|class`)
)

// secretsConfig is every resource and data source of the provider in one configuration:
// a tenant, a Kamaji cluster running a small OpenStack (with user-supplied credentials, a
// repository password and a secret chart value passed through a sensitive variable), a
// Cluster API cluster with a worker pool, the kubeconfig and management cluster data
// sources, the latter through a second provider configured with explicit credentials.
func secretsConfig(t *testing.T, tn string, repo *chartrepo.Repo, relNS string, user map[string]string) string {
	var explicit, explicitData string
	if cfg := acctest.Cluster(t).RESTConfig; len(cfg.KeyData) > 0 || cfg.BearerToken != "" {
		explicit = fmt.Sprintf("provider \"qumulus\" {\n  alias = \"explicit\"\n  host = %s\n  cluster_ca_certificate = %s\n",
			acctest.HCLString(cfg.Host), acctest.HCLString(string(cfg.CAData)))
		if len(cfg.KeyData) > 0 {
			explicit += fmt.Sprintf("  client_certificate = %s\n  client_key = %s\n", acctest.HCLString(string(cfg.CertData)), acctest.HCLString(string(cfg.KeyData)))
		} else {
			explicit += fmt.Sprintf("  token = %s\n", acctest.HCLString(cfg.BearerToken))
		}
		explicit += "}\n"
		explicitData = `
data "qumulus_management_cluster" "explicit" {
  provider = qumulus.explicit
}

output "management_host" {
  value = data.qumulus_management_cluster.explicit.host
}
`
	}
	return `
terraform {
  required_providers {
    qumulus = { source = "qumulus/qumulus" }
  }
}

variable "keystone_secret" {
  type      = string
  sensitive = true
  default   = ` + acctest.HCLString(user["chart value"]) + `
}
` + acctest.ProviderBlock(t) + explicit + fmt.Sprintf(`
resource "qumulus_tenant" "test" {
  name          = %[1]q
  force_destroy = true
}

resource "qumulus_cluster" "prod" {
  namespace = qumulus_tenant.test.namespace
  name      = "prod"
  version   = "v1.35.0"
}

resource "qumulus_cluster" "work" {
  namespace   = qumulus_tenant.test.namespace
  name        = "work"
  version     = "v1.35.0"
  replicas    = 1
  network     = { service_type = "NodePort" }
  cluster_api = {}
}

resource "qumulus_worker_pool" "test" {
  namespace    = qumulus_cluster.work.namespace
  cluster_name = qumulus_cluster.work.name
  name         = "workers"
  replicas     = 1
  infrastructure = {
    api_group = "infrastructure.cluster.x-k8s.io"
    kind      = "DockerMachineTemplate"
    spec      = jsonencode({ customImage = "kindest/node:v1.35.2" })
  }
}

resource "qumulus_openstack" "test" {
  namespace         = qumulus_cluster.prod.namespace
  cluster_name      = qumulus_cluster.prod.name
  release_namespace = %[2]q
  charts = {
    repository = %[3]q
    username   = "qumulus"
    password   = %[4]s
  }
  credentials = {
    "identity/glance" = %[5]s
  }
  services = {
    keystone    = { values = [yamlencode({ conf = { keystone = { DEFAULT = { qumulus_test_secret = var.keystone_secret } } } })] }
    openvswitch = { enabled = false }
    libvirt     = { enabled = false }
    placement   = { enabled = false }
    nova        = { enabled = false }
    neutron     = { enabled = false }
    horizon     = { enabled = false }
  }
}

data "qumulus_kubeconfig" "prod" {
  cluster_id = qumulus_cluster.prod.id
}

output "prod_host" {
  value = data.qumulus_kubeconfig.prod.host
}

output "keystone_url" {
  value = qumulus_openstack.test.keystone_url
}
`, tn, relNS, repo.URL, acctest.HCLString(user["repository password"]), acctest.HCLString(user["glance password"])) + explicitData
}

// TestAccSecrets_noLeaks applies every resource and data source, plans, refreshes and
// destroys through the Terraform CLI with TF_LOG=trace, and looks for every secret they
// involve in what Terraform printed and logged (core and provider) and in the state and
// plan outside the values Terraform marks sensitive: the tenant clusters' key material and
// tokens, the management credentials of the provider blocks, qumulus_openstack's generated
// and given passwords, its clouds.yaml, and a secret chart value.
func TestAccSecrets_noLeaks(t *testing.T) {
	isolateEnv(t)
	repo := chartrepo.Serve(t)
	tn := tenantName()
	ns := tenant.DefaultNamespace(tn)
	relNS := "os-" + strings.TrimPrefix(tn, "acc-")
	user := map[string]string{
		"repository password": "repo-" + tfacctest.RandString(24),
		"glance password":     "glance-" + tfacctest.RandString(24),
		"chart value":         "chart-" + tfacctest.RandString(24),
	}
	cli := acctest.NewCLI(t, false)
	cli.Write(secretsConfig(t, tn, repo, relNS, user))
	destroyed := false
	t.Cleanup(func() {
		if !destroyed {
			_, _ = cli.Run("destroy", "-auto-approve")
		}
	})

	outputs := map[string]string{}
	outputs["apply"] = cli.MustRun("apply", "-auto-approve")
	plan, err := cli.Run("plan", "-detailed-exitcode", "-out=tfplan")
	if err != nil {
		t.Errorf("the plan after apply is not empty: %v\n%s", err, plan)
	}
	outputs["plan"] = plan
	outputs["plan JSON"] = cli.MustRun("show", "-json", "tfplan")
	outputs["refresh"] = cli.MustRun("apply", "-refresh-only", "-auto-approve")
	outputs["show"] = cli.MustRun("show")
	state := cli.MustRun("show", "-json")

	scanner := &acctest.Scanner{}
	add := func(source string, values ...string) {
		t.Helper()
		must(t, scanner.Add(source, values...))
	}
	for what, v := range user {
		add("the user's "+what, v)
	}
	addManagementCredentials(t, add)
	cs, _ := kubeClients(t)
	addSecretsOf(t, add, cs, ns, "management cluster")
	tenantCS := tenantConn(t, ns).Kubernetes
	addSecretsOf(t, add, tenantCS, relNS, "tenant cluster")
	for name, r := range releases(t, ns, relNS) {
		addSecretValues(add, "release "+name+" values", "", r.Values)
	}
	sensitive, err := acctest.SensitiveStrings([]byte(state), "qumulus_openstack")
	must(t, err)
	for _, attr := range []string{"admin_password", "clouds_yaml"} {
		v := sensitive[osAddr+"."+attr]
		if v == "" {
			t.Fatalf("the state has no sensitive %s.%s", osAddr, attr)
		}
		add("qumulus_openstack "+attr, v)
	}
	for path, v := range sensitive {
		if strings.HasPrefix(path, osAddr+".generated_credentials.") {
			add("qumulus_openstack generated credential "+strings.TrimPrefix(path, osAddr+".generated_credentials."), v)
		}
	}
	if !strings.Contains(sensitive[osAddr+".clouds_yaml"], sensitive[osAddr+".admin_password"]) {
		t.Error("clouds_yaml does not hold the admin password")
	}

	// The state file keeps sensitive values in the clear: finding them there shows that the
	// scan looks for the right strings.
	stateFile := cli.State()
	scanner.Scanned += int64(len(stateFile))
	for what, v := range map[string]string{
		"the user's glance password": user["glance password"], "the user's chart value": user["chart value"],
		"admin_password": sensitive[osAddr+".admin_password"], "clouds_yaml": sensitive[osAddr+".clouds_yaml"],
	} {
		var one acctest.Scanner
		must(t, one.Add(what, v))
		if len(one.Text("state file", stateFile)) == 0 {
			t.Errorf("the state file's sensitive values do not hold %s: the scan looks for the wrong strings", what)
		}
	}

	outputs["destroy"] = cli.MustRun("destroy", "-auto-approve")
	destroyed = true
	trace := cli.Trace()
	if !strings.Contains(string(trace), "[TRACE]") || !strings.Contains(string(trace), "provider.terraform-provider-qumulus") {
		t.Fatalf("the trace log (%d bytes) has no trace lines of the provider: TF_LOG=trace did not take effect", len(trace))
	}

	var leaks []acctest.Leak
	for _, what := range slices.Sorted(maps.Keys(outputs)) {
		if what == "plan JSON" {
			found, err := scanner.State("plan (show -json)", []byte(outputs[what]))
			must(t, err)
			leaks = append(leaks, found...)
			continue
		}
		leaks = append(leaks, scanner.Text(what+" output", []byte(outputs[what]))...)
	}
	found, err := scanner.State("state (show -json)", []byte(state))
	must(t, err)
	leaks = append(leaks, found...)
	lines := strings.Split(string(trace), "\n")
	for _, l := range scanner.Text("trace log", trace) {
		if strings.Contains(lines[l.Line-1], "provider.terraform-provider-qumulus") {
			l.Where += " (provider)"
		} else {
			l.Where += " (core)"
		}
		leaks = append(leaks, l)
	}
	for _, l := range leaks {
		t.Errorf("leak: %s", l)
	}
	secrets, sources := scanner.Figures()
	t.Logf("secrets: %d secrets from %d sources, scanned %d bytes of output/log/state, leaks: %d", secrets, sources, scanner.Scanned, len(leaks))
	if secrets < 10 {
		t.Errorf("only %d secrets were looked for: the scan gathers too few", secrets)
	}
}

// addManagementCredentials adds the credentials of the management cluster's kubeconfig
// (the provider blocks' config_content, client_key and token).
func addManagementCredentials(t *testing.T, add func(string, ...string)) {
	t.Helper()
	kc, err := clientcmd.Load(acctest.Cluster(t).Kubeconfig)
	must(t, err)
	add("the management kubeconfig", string(acctest.Cluster(t).Kubeconfig))
	for name, a := range kc.AuthInfos {
		if len(a.ClientKeyData) > 0 {
			add("the management client key of "+name, string(a.ClientKeyData))
		}
		if a.Token != "" {
			add("the management token of "+name, a.Token)
		}
	}
}

// addSecretsOf adds the secrets in the Secrets of namespace ns: the kubeconfigs (whole, and
// their client keys and tokens) and the values of keys that name a secret.
func addSecretsOf(t *testing.T, add func(string, ...string), cs kubernetes.Interface, ns, where string) {
	t.Helper()
	list, err := cs.CoreV1().Secrets(ns).List(context.Background(), metav1.ListOptions{})
	must(t, err)
	for _, s := range list.Items {
		if s.Type == "helm.sh/release.v1" {
			continue // the release's values are added one by one
		}
		for key, v := range s.Data {
			source := fmt.Sprintf("%s Secret %s/%s[%s]", where, ns, s.Name, key)
			if kc, err := tenantcluster.Parse(v); err == nil && kc.Host != "" {
				add(source, string(v))
				if len(kc.ClientKey) > 0 {
					add(source+" client key", string(kc.ClientKey))
				}
				if kc.Token != "" {
					add(source+" token", kc.Token)
				}
				continue
			}
			addSecretValue(add, source, secretDataKey, key, string(v))
		}
	}
}

// addSecretValue adds v when it is the simulator's CA key or its key names a secret.
func addSecretValue(add func(string, ...string), source string, secretKey *regexp.Regexp, key, v string) {
	if v == simulator.CAKeyMarker || (secretKey.MatchString(key) && !secretPublicKey.MatchString(key) && len(v) >= 16) {
		add(source, v)
	}
}

// addSecretValues adds the string leaves of chart values whose key names a secret.
func addSecretValues(add func(string, ...string), source, key string, v any) {
	switch v := v.(type) {
	case map[string]any:
		for k, x := range v {
			addSecretValues(add, source, k, x)
		}
	case []any:
		for _, x := range v {
			addSecretValues(add, source, key, x)
		}
	case string:
		addSecretValue(add, source+" "+key, secretValueKey, key, v)
	}
}
