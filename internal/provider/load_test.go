package provider

import (
	"fmt"
	"regexp"
	"strings"
	"testing"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/qumulus/terraform-provider-qumulus/internal/tenant"
	"github.com/qumulus/terraform-provider-qumulus/internal/testsupport/acctest"
	"github.com/qumulus/terraform-provider-qumulus/internal/testsupport/faultproxy"
	"github.com/qumulus/terraform-provider-qumulus/internal/testsupport/simulator"
)

// loadObjects is how many qumulus_cluster, and how many qumulus_worker_pool,
// TestAccLoad_fiftyClustersAndPools applies at once: one cluster in Cluster API mode with
// every pool, and loadObjects-1 bare clusters.
const loadObjects = 50

// loadFaultEvery makes every loadFaultEvery-th request through the proxy a fault.
const loadFaultEvery = 7

// loadConfig is a tenant with n clusters (one of them in Cluster API mode) and n worker
// pools of that one, of a provider that reaches the management cluster through host.
func loadConfig(host, tenantName string, n int) string {
	return fmt.Sprintf(`
terraform {
  required_providers {
    qumulus = { source = "qumulus/qumulus" }
  }
}

provider "qumulus" {
  host = %q
}

resource "qumulus_tenant" "load" {
  name          = %q
  force_destroy = true
}

resource "qumulus_cluster" "pools" {
  namespace = qumulus_tenant.load.namespace
  name      = "pools"
  version   = "v1.35.0"
  replicas  = 1
  network = {
    service_type = "ClusterIP"
  }
  cluster_api = {}
}

resource "qumulus_cluster" "c" {
  count     = %d
  namespace = qumulus_tenant.load.namespace
  name      = "c${count.index}"
  version   = "v1.35.0"
  replicas  = 1
  network = {
    service_type = "ClusterIP"
  }
  # The simulator serves these control planes from one tenant API server (elsewhere a label).
  labels = { %q = "load" }
}

resource "qumulus_worker_pool" "p" {
  count        = %d
  namespace    = qumulus_cluster.pools.namespace
  cluster_name = qumulus_cluster.pools.name
  name         = "w${count.index}"
  replicas     = 2
  infrastructure = {
    api_group = "infrastructure.cluster.x-k8s.io"
    kind      = "DockerMachineTemplate"
    spec      = jsonencode({ customImage = "kindest/node:v1.35.0" })
  }
}
`, host, tenantName, n-1, simulator.SharedServerLabel, n)
}

// surfacedMessage matches what a failure the provider should have retried looks like in
// Terraform's output: whole words only, so that a certificate shown in a plan (whose
// base64 may hold "eoF" or "429") is not taken for one.
var surfacedMessage = regexp.MustCompile(`(?i)\bError:|\btoo many requests\b|\b429\b|\bunable to handle the request\b|\brequest did not complete\b|\bthe object has been modified\b|\bconnection reset\b|\bEOF\b`)

// dataLine matches a line of Terraform's output that is only data: a line of a PEM body
// or another base64 value, possibly quoted, which no message of the provider or of
// Kubernetes looks like.
var dataLine = regexp.MustCompile(`^[\s"+~-]*[A-Za-z0-9+/]{32,}={0,2}"?,?\s*$`)

// surfaced tells whether a line of Terraform's output is a failure that reached the user.
func surfaced(line string) bool {
	return !dataLine.MatchString(line) && surfacedMessage.MatchString(line)
}

// TestAccLoad_fiftyClustersAndPools applies 50 clusters and 50 worker pools with
// -parallelism=20 through a proxy that fails every 7th request the way a busy or
// restarting API server does (see faultproxy): none of it may reach the user, the next
// plan is empty, and the refresh and destroy go through the same faults.
func TestAccLoad_fiftyClustersAndPools(t *testing.T) {
	mgmt := acctest.Cluster(t)
	proxy, err := faultproxy.Start(mgmt.RESTConfig, faultproxy.Options{Every: loadFaultEvery, Kinds: faultproxy.AllKinds})
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = proxy.Close() }()

	cli := acctest.NewCLI(t, false)
	tn := tenantName()
	cli.Write(loadConfig(proxy.URL, tn, loadObjects))

	destroyed := false
	defer func() {
		if !destroyed {
			// Leave nothing behind for the other tests: destroy without faults.
			proxy.SetOptions(faultproxy.Options{})
			if out, err := cli.Run("destroy", "-auto-approve", "-parallelism=20"); err != nil {
				t.Errorf("destroy after a failed load test: %v\n%s", err, out)
			}
		}
	}()

	var outputs []string
	timed := func(args ...string) time.Duration {
		t.Helper()
		start := time.Now()
		out := cli.MustRun(args...)
		outputs = append(outputs, out)
		return time.Since(start)
	}
	apply := timed("apply", "-auto-approve", "-parallelism=20")

	out, err := cli.Run("plan", "-detailed-exitcode", "-parallelism=20")
	outputs = append(outputs, out)
	if err != nil {
		t.Fatalf("the plan after the apply is not empty (or failed): %v\n%s", err, out)
	}
	refresh := timed("apply", "-refresh-only", "-auto-approve", "-parallelism=20")
	if !strings.Contains(outputs[len(outputs)-1], "Apply complete!") {
		t.Errorf("the refresh did not complete:\n%s", outputs[len(outputs)-1])
	}
	destroy := timed("destroy", "-auto-approve", "-parallelism=20")
	destroyed = true

	cs, _ := kubeClients(t)
	ns := tenant.DefaultNamespace(tn)
	if _, err := cs.CoreV1().Namespaces().Get(t.Context(), ns, metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Errorf("namespace %s (tenant, clusters and pools) is still there after destroy: %v", ns, err)
	}

	errs := 0
	for _, o := range outputs {
		for _, line := range strings.Split(o, "\n") {
			if surfaced(line) {
				errs++
				t.Errorf("a failure reached the user: %s", line)
			}
		}
	}
	injected := proxy.Injected()
	total := 0
	for _, n := range injected {
		total += n
	}
	if total == 0 {
		t.Fatalf("the proxy injected no faults in %d requests", proxy.Requests())
	}
	retries := strings.Count(string(cli.Trace()), "Kubernetes API request failed; retrying")
	t.Logf("load: %d objects (%d qumulus_cluster, %d qumulus_worker_pool), -parallelism=20: apply %.1fs, refresh %.1fs, destroy %.1fs",
		2*loadObjects, loadObjects, loadObjects, apply.Seconds(), refresh.Seconds(), destroy.Seconds())
	t.Logf("load: %d requests, injected %d: 429 %d (+%d with Retry-After), 5xx %d (503 %d, 504 %d), resets %d, 409 %d; retries by the provider's policy %d; errors surfaced to the user: %d",
		proxy.Requests(), total,
		injected[faultproxy.TooManyRequests], injected[faultproxy.TooManyRequestsRetryAfter],
		injected[faultproxy.Unavailable]+injected[faultproxy.Timeout], injected[faultproxy.Unavailable], injected[faultproxy.Timeout],
		injected[faultproxy.Reset], injected[faultproxy.Conflict], retries, errs)
}

func TestSurfaced(t *testing.T) {
	for line, want := range map[string]bool{
		// From a fresh-clone run: a CA certificate line of the destroy plan, "eoF" inside.
		`            AAQzgL4R+83NQA6JX4lS+z+4YtCA3x9r06eoFicpLNgaHNkw9tT3l0zoN+i2wHuR`:                false,
		`      - ca_certificate = "MIIC429wEOFgAwIBAgIBADANBgkqhkiG9w0BAQsFADAVMRMwEQYDVQQDEwprdWJl"`: false,
		`  + name      = "c429"`: false,
		`Apply complete! Resources: 101 added, 0 changed, 0 destroyed.`:                            false,
		`│ Error: Management Cluster Unreachable`:                                                  true,
		`│ the server has received too many requests and has asked us to try again later`:          true,
		`│ Post "https://127.0.0.1:1/api/v1/namespaces": EOF`:                                      true,
		`│ read tcp 127.0.0.1:2->127.0.0.1:1: read: connection reset by peer`:                      true,
		`│ Operation cannot be fulfilled: the object has been modified; please apply your changes`: true,
		`│ the server answered 429`:                                                                true,
	} {
		if got := surfaced(line); got != want {
			t.Errorf("surfaced(%q) = %v, want %v", line, got, want)
		}
	}
}
