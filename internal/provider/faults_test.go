package provider

import (
	"context"
	"encoding/json"
	"fmt"
	"regexp"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"

	"github.com/qumulus/terraform-provider-qumulus/internal/kamaji"
	"github.com/qumulus/terraform-provider-qumulus/internal/kube"
	"github.com/qumulus/terraform-provider-qumulus/internal/tenant"
	"github.com/qumulus/terraform-provider-qumulus/internal/testsupport/acctest"
	"github.com/qumulus/terraform-provider-qumulus/internal/testsupport/chartrepo"
	"github.com/qumulus/terraform-provider-qumulus/internal/testsupport/faultproxy"
	"github.com/qumulus/terraform-provider-qumulus/internal/testsupport/mgmtcluster"
	"github.com/qumulus/terraform-provider-qumulus/internal/testsupport/simulator"
)

// The fault tests run Terraform as a user does and break what it talks to while it works:
// the management API server, a tenant API server, Terraform itself. They need the local
// management cluster: a real one cannot be restarted (or held not ready) by a test.

const cliHeader = `
terraform {
  required_providers {
    qumulus = { source = "qumulus/qumulus" }
  }
}
`

// outage is how long an injected outage lasts: long enough for the provider's watches to
// fail and retry, far shorter than any timeout of the tests that survive it.
const outage = 4 * time.Second

// faultCluster returns the local management cluster, skipping the test for a real one.
func faultCluster(t *testing.T) *mgmtcluster.Cluster {
	t.Helper()
	c := acctest.Cluster(t)
	if !c.Simulated {
		t.Skip("injects faults into the local management cluster (stops its API servers, holds objects not ready with the " +
			"simulator); a real cluster (" + mgmtcluster.ExistingClusterEnv + ") cannot be restarted by a test")
	}
	return c
}

// faults counts what a test injected and what reached the user, for its figures.
type faults struct {
	t                            *testing.T
	injected, survived, surfaced int
}

// faultTest is what a test that injects faults into the local management cluster starts
// from: the cluster (the test is skipped on a real one), a new tenant's name and
// namespace, and the counts, reported when the test ends.
type faultTest struct {
	c      *mgmtcluster.Cluster
	f      *faults
	tn, ns string
}

func newFaultTest(t *testing.T) faultTest {
	t.Helper()
	isolateEnv(t)
	ft := faultTest{c: faultCluster(t), f: &faults{t: t}, tn: tenantName()}
	ft.ns = tenant.DefaultNamespace(ft.tn)
	t.Cleanup(ft.f.report)
	return ft
}

func (f *faults) report() {
	f.t.Logf("faults: %d injected, %d survived, errors surfaced to the user that should not have been: %d", f.injected, f.survived, f.surfaced)
}

// stopAPIServer stops the management API server and returns the function that starts it
// again, also registered as a cleanup so that a failing test leaves it running.
func stopAPIServer(t *testing.T, c *mgmtcluster.Cluster) (start func()) {
	t.Helper()
	if err := c.StopAPIServer(t.Context()); err != nil {
		t.Fatalf("stopping the management API server: %v", err)
	}
	started := false
	start = func() {
		t.Helper()
		if started {
			return
		}
		started = true
		if err := c.StartAPIServer(context.Background()); err != nil {
			t.Fatalf("starting the management API server again: %v", err)
		}
	}
	t.Cleanup(start)
	return start
}

// waitExists waits until the object exists, failing when p exits first: the provider is
// then past the create and waits for it.
func waitExists(t *testing.T, p *acctest.Process, dyn dynamic.Interface, gvr schema.GroupVersionResource, ns, name string) {
	t.Helper()
	for {
		if _, err := dyn.Resource(gvr).Namespace(ns).Get(t.Context(), name, metav1.GetOptions{}); err == nil {
			return
		}
		select {
		case <-p.Done():
			out, err := p.Wait()
			t.Fatalf("terraform exited (%v) before %s %s/%s existed:\n%s", err, gvr.Resource, ns, name, out)
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// faultInstance is one resource instance of a state file.
type faultInstance struct {
	Status     string          `json:"status"`
	Attributes json.RawMessage `json:"attributes"`
}

// stateByAddress returns the instances of the state file by resource address.
func stateByAddress(t *testing.T, state []byte) map[string]faultInstance {
	t.Helper()
	var s struct {
		Resources []struct {
			Mode, Type, Name string
			Instances        []faultInstance
		}
	}
	if err := json.Unmarshal(state, &s); err != nil {
		t.Fatal(err)
	}
	out := map[string]faultInstance{}
	for _, r := range s.Resources {
		if r.Mode == "managed" && len(r.Instances) == 1 {
			out[r.Type+"."+r.Name] = r.Instances[0]
		}
	}
	return out
}

// expectConverges applies and expects an empty plan after it.
func expectConverges(t *testing.T, cli *acctest.CLI, f *faults) {
	t.Helper()
	if out, err := cli.Run("apply", "-auto-approve"); err != nil {
		f.surfaced++
		t.Fatalf("the apply after the fault failed: %v\n%s", err, out)
	}
	if out, err := cli.Run("plan", "-detailed-exitcode"); err != nil {
		t.Errorf("the plan after the apply that followed the fault is not empty: %v\n%s", err, out)
	}
}

// destroy destroys what the configuration made; tests defer it (in a cleanup the test's
// context, which the CLI runs under, has ended).
func destroy(t *testing.T, cli *acctest.CLI) {
	t.Helper()
	if out, err := cli.Run("destroy", "-auto-approve"); err != nil {
		t.Errorf("destroy: %v\n%s", err, out)
	}
}

// errorsOf is the part of Terraform's output from its first error on.
func errorsOf(out string) string {
	if i := strings.Index(out, "Error:"); i >= 0 {
		return out[i:]
	}
	return out
}

// noCrash fails when Terraform's output shows a crash of the provider.
func noCrash(t *testing.T, out string) {
	t.Helper()
	for _, s := range []string{"panic:", "goroutine ", "Plugin did not respond", "plugin exited"} {
		if strings.Contains(out, s) {
			t.Errorf("the output shows a crash (%q):\n%s", s, out)
		}
	}
}

// TestAccFaults_managementRestartDuringWait restarts the management API server while
// terraform apply waits for a cluster's control plane and then for its worker pool: the
// waits watch again and the apply succeeds.
func TestAccFaults_managementRestartDuringWait(t *testing.T) {
	ft := newFaultTest(t)
	c, f, tn, ns := ft.c, ft.f, ft.tn, ft.ns
	_, dyn := kubeClients(t)
	sim := c.Simulator()
	releaseCluster := sim.HoldTenantControlPlane(ns, "work")
	defer releaseCluster()
	releasePool := sim.HoldMachineDeployment(ns, "workers")
	defer releasePool()

	cli := acctest.NewCLI(t, false)
	cli.Write(cliHeader + poolConfig(t, tn, "v1.35.2", pool(`
  replicas = 1
`+fmt.Sprintf(dockerInfra, "v1.35.2", `"busybox"`))))
	defer destroy(t, cli)
	p := cli.Start("apply", "-auto-approve")

	for _, held := range []struct {
		gvr     schema.GroupVersionResource
		name    string
		release func()
	}{
		{kamaji.TenantControlPlaneGVR, "work", releaseCluster},
		{machineDeploymentGVR, "workers", releasePool},
	} {
		waitExists(t, p, dyn, held.gvr, ns, held.name)
		start := stopAPIServer(t, c)
		f.injected++
		time.Sleep(outage)
		start()
		held.release()
	}
	out, err := p.Wait()
	noCrash(t, out)
	if err != nil {
		f.surfaced++
		t.Fatalf("apply with the management API server restarted during its waits: %v\n%s", err, out)
	}
	f.survived = f.injected
	if out, err := cli.Run("plan", "-detailed-exitcode"); err != nil {
		t.Errorf("plan after the apply is not empty: %v\n%s", err, out)
	}
}

// TestAccFaults_managementDownPastTimeout keeps the management API server down until a
// cluster's create timeout ends: the error names the cluster, the server and what to do;
// the state records the cluster (tainted, as every create that failed); with the server
// back the next apply converges.
func TestAccFaults_managementDownPastTimeout(t *testing.T) {
	ft := newFaultTest(t)
	c, f, tn, ns := ft.c, ft.f, ft.tn, ft.ns
	_, dyn := kubeClients(t)
	release := c.Simulator().HoldTenantControlPlane(ns, "down")
	defer release()

	cli := acctest.NewCLI(t, false)
	config := func(timeout string) string {
		return cliHeader + clusterConfig(t, tn, fmt.Sprintf(`
  name    = "down"
  version = "v1.35.0"
  network = { service_type = "ClusterIP" }
  timeouts {
    create = %q
  }
`, timeout))
	}
	cli.Write(config("15s"))
	defer destroy(t, cli)
	p := cli.Start("apply", "-auto-approve")
	waitExists(t, p, dyn, kamaji.TenantControlPlaneGVR, ns, "down")
	start := stopAPIServer(t, c)
	f.injected++
	out, err := p.Wait()
	noCrash(t, out)
	if err == nil {
		t.Fatalf("apply succeeded with the management API server down past the create timeout:\n%s", out)
	}
	t.Logf("what the user saw:\n%s", errorsOf(out))
	// The diagnostic names the object, the API server and what to do, not only the
	// transport's error.
	for _, want := range []string{
		`Management Cluster Unreachable`,
		`TenantControlPlane\s+` + ns + `/down`,
		regexp.QuoteMeta(c.Host),
		`tainted`,
		`(?i)apply\s+again`,
	} {
		if !regexp.MustCompile(want).MatchString(out) {
			t.Errorf("the error does not match %q:\n%s", want, out)
		}
	}
	instances := stateByAddress(t, cli.State())
	if got, ok := instances["qumulus_cluster.test"]; !ok || got.Status != "tainted" {
		t.Errorf("the cluster in state after the failed create: %+v (present %v), want it recorded, tainted", got, ok)
	}
	if _, ok := instances["qumulus_tenant.test"]; !ok {
		t.Error("the tenant is not in state after the failed apply")
	}

	start()
	release()
	// The replacement starts a tenant API server, which takes longer than 15s on a busy
	// machine.
	cli.Write(config("5m"))
	expectConverges(t, cli, f)
	f.survived++
}

// TestAccFaults_interruptDuringWait sends SIGINT to terraform apply while it waits for a
// cluster's control plane: terraform exits non-zero, the state records the cluster
// (tainted, as a create that did not finish), and the next apply finishes the job.
func TestAccFaults_interruptDuringWait(t *testing.T) {
	ft := newFaultTest(t)
	c, f, tn, ns := ft.c, ft.f, ft.tn, ft.ns
	_, dyn := kubeClients(t)
	release := c.Simulator().HoldTenantControlPlane(ns, "interrupted")
	defer release()

	cli := acctest.NewCLI(t, false)
	cli.Write(cliHeader + clusterConfig(t, tn, `
  name    = "interrupted"
  version = "v1.35.0"
  network = { service_type = "ClusterIP" }
`))
	defer destroy(t, cli)
	p := cli.Start("apply", "-auto-approve")
	waitExists(t, p, dyn, kamaji.TenantControlPlaneGVR, ns, "interrupted")
	if err := p.Interrupt(); err != nil {
		t.Fatal(err)
	}
	f.injected++
	out, err := p.Wait()
	noCrash(t, out)
	if err == nil {
		t.Fatalf("the interrupted apply exited 0:\n%s", out)
	}
	t.Logf("what the user saw:\n%s", errorsOf(out))
	for _, want := range []string{`Interrupted`, `TenantControlPlane\s+` + ns + `/interrupted`, `(?i)apply\s+again`} {
		if !regexp.MustCompile(want).MatchString(out) {
			t.Errorf("the output of the interrupted apply does not match %q:\n%s", want, out)
		}
	}
	instances := stateByAddress(t, cli.State())
	if got, ok := instances["qumulus_cluster.test"]; !ok || got.Status != "tainted" {
		t.Errorf("the cluster in state after the interrupted create: %+v (present %v), want it recorded, tainted", got, ok)
	}
	release()
	expectConverges(t, cli, f)
	f.survived++
}

// pendingReleases lists the Helm releases of relNS whose last record is pending-*.
func pendingReleases(t *testing.T, cs kubernetes.Interface, relNS string) []string {
	t.Helper()
	list, err := cs.CoreV1().Secrets(relNS).List(t.Context(), metav1.ListOptions{LabelSelector: "owner=helm"})
	if err != nil {
		t.Fatal(err)
	}
	var pending []string
	for _, s := range list.Items {
		if strings.HasPrefix(s.Labels["status"], "pending-") {
			pending = append(pending, s.Labels["name"]+" ("+s.Labels["status"]+")")
		}
	}
	return pending
}

// TestAccFaults_tenantDownDuringOpenStack stops the tenant API server while qumulus_openstack
// installs (a chart's job is held, so the install is under way) and again before a refresh:
// each time the error names the cluster and its tenant API server; once it is back the next
// apply leaves no release pending, converges, and the plan is empty.
func TestAccFaults_tenantDownDuringOpenStack(t *testing.T) {
	ft := newFaultTest(t)
	c, f, tn, ns := ft.c, ft.f, ft.tn, ft.ns
	repo := chartrepo.ServeTestCharts(t)
	relNS := "os-" + strings.TrimPrefix(tn, "acc-")
	cli := acctest.NewCLI(t, false)
	defer destroy(t, cli)

	// The cluster first: its tenant API server is what the fault stops.
	cli.Write(cliHeader + clusterConfig(t, tn, `
  name    = "prod"
  version = "v1.35.0"
`))
	cli.MustRun("apply", "-auto-approve")
	tenantKube := tenantConn(t, ns).Kubernetes
	stopTenant := func() (start func()) {
		t.Helper()
		if err := c.StopTenantAPIServer(t.Context(), ns, "prod"); err != nil {
			t.Fatal(err)
		}
		f.injected++
		started := false
		start = func() {
			if !started {
				started = true
				if err := c.StartTenantAPIServer(context.Background(), ns, "prod"); err != nil {
					t.Fatalf("starting the tenant API server again: %v", err)
				}
			}
		}
		t.Cleanup(start)
		return start
	}
	clusterNamed := []string{`Error: Tenant API Server Unreachable`, regexp.QuoteMeta(ns) + `/prod`}
	// What the outage must not be reported as.
	misnamed := regexp.MustCompile(`Management Cluster Unreachable|Release Not Ready In Time`)
	// checkOutageError checks the error Terraform printed for what failed (phase) while
	// the tenant API server was down: it names the outage and the cluster, nothing else.
	checkOutageError := func(phase, out string) {
		t.Helper()
		t.Logf("what the user saw:\n%s", errorsOf(out))
		for _, want := range clusterNamed {
			if !regexp.MustCompile(want).MatchString(errorsOf(out)) {
				t.Errorf("the error of the %s does not match %q:\n%s", phase, want, errorsOf(out))
			}
		}
		if m := misnamed.FindString(errorsOf(out)); m != "" {
			t.Errorf("the error of the %s calls the tenant API server outage %q:\n%s", phase, m, errorsOf(out))
		}
	}

	// Install: horizon's db-sync job is held, so the apply waits for it.
	held := cliHeader + strings.Replace(openstackConfig(t, tn, repo, relNS, fmt.Sprintf(`
  services = {
    horizon = {
      values = [yamlencode({ annotations = { job = { horizon_db_sync = { %q = "true" } } } })]
    }
  }
  timeouts = {
    create = "60s"
  }
`, simulator.HoldAnnotation)), "timeouts = {", "timeouts {", 1)
	cli.Write(held)
	p := cli.Start("apply", "-auto-approve")
	for {
		list, err := tenantKube.CoreV1().Secrets(relNS).List(t.Context(), metav1.ListOptions{LabelSelector: "owner=helm,name=horizon"})
		if err == nil && len(list.Items) > 0 {
			break
		}
		select {
		case <-p.Done():
			out, err := p.Wait()
			t.Fatalf("terraform exited (%v) before horizon's install began:\n%s", err, out)
		case <-time.After(100 * time.Millisecond):
		}
	}
	start := stopTenant()
	out, err := p.Wait()
	noCrash(t, out)
	if err == nil {
		t.Fatalf("the install succeeded with the tenant API server down:\n%s", out)
	}
	checkOutageError("interrupted install", out)
	start()
	t.Logf("releases pending once the tenant API server is back: %v", pendingReleases(t, tenantKube, relNS))
	cli.Write(cliHeader + openstackConfig(t, tn, repo, relNS, ""))
	expectConverges(t, cli, f)
	if pending := pendingReleases(t, tenantKube, relNS); len(pending) > 0 {
		t.Errorf("releases left pending after the apply that followed the outage: %v", pending)
	}
	f.survived++

	// Refresh.
	start = stopTenant()
	out, err = cli.Run("plan", "-detailed-exitcode")
	noCrash(t, out)
	if err == nil {
		t.Fatalf("the refresh succeeded with the tenant API server down:\n%s", out)
	}
	checkOutageError("refresh", out)
	start()
	if out, err := cli.Run("plan", "-detailed-exitcode"); err != nil {
		f.surfaced++
		t.Errorf("plan once the tenant API server is back is not empty: %v\n%s", err, out)
	}
	if pending := pendingReleases(t, tenantKube, relNS); len(pending) > 0 {
		t.Errorf("releases pending after the refresh: %v", pending)
	}
	f.survived++
}

// TestAccFaults_tenantCreateAnswerLost applies tenants through a proxy that fails every
// create (POST) twice: a 503 before passing it on (not carried out), then, for the create
// sent again, the create passed on and the connection closed instead of its answer
// (carried out, answer lost). The provider reads each namespace back by the identifier of
// its create request: the apply succeeds, each namespace is the tenant's, and the next
// plan is empty. The proxy fronts any API server, so this runs against a real cluster too.
func TestAccFaults_tenantCreateAnswerLost(t *testing.T) {
	isolateEnv(t)
	mgmt := acctest.Cluster(t)
	proxy, err := faultproxy.Start(mgmt.RESTConfig, faultproxy.Options{Every: 1, Kinds: faultproxy.CreateKinds})
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = proxy.Close() }()
	f := &faults{t: t}
	defer f.report()

	const tenants = 3
	prefix := tenantName()
	cli := acctest.NewCLI(t, false)
	cli.Write(cliHeader + fmt.Sprintf(`
provider "qumulus" {
  host = %q
}

resource "qumulus_tenant" "t" {
  count         = %d
  name          = "%s-${count.index}"
  force_destroy = true
}
`, proxy.URL, tenants, prefix))
	defer func() {
		proxy.SetOptions(faultproxy.Options{})
		destroy(t, cli)
	}()

	out, err := cli.Run("apply", "-auto-approve")
	noCrash(t, out)
	injected := proxy.Injected()
	f.injected = injected[faultproxy.CreateUnavailable] + injected[faultproxy.CreateAnswerLost]
	if err != nil {
		f.surfaced++
		t.Fatalf("apply with every namespace create failed twice: %v\n%s", err, errorsOf(out))
	}
	if injected[faultproxy.CreateUnavailable] != tenants || injected[faultproxy.CreateAnswerLost] != tenants {
		t.Errorf("injected %v, want a 503 and a lost answer for each of the %d namespace creates", injected, tenants)
	}
	cs, _ := kubeClients(t)
	for i := range tenants {
		name := fmt.Sprintf("%s-%d", prefix, i)
		ns, err := cs.CoreV1().Namespaces().Get(t.Context(), tenant.DefaultNamespace(name), metav1.GetOptions{})
		if err != nil {
			t.Errorf("tenant %s: %v", name, err)
			continue
		}
		if ns.Labels[kube.LabelTenant] != name || ns.Annotations[kube.AnnotationCreateRequest] == "" {
			t.Errorf("namespace %s: labels %v, annotations %v", ns.Name, ns.Labels, ns.Annotations)
		}
	}
	if out, err := cli.Run("plan", "-detailed-exitcode"); err != nil {
		f.surfaced++
		t.Errorf("plan after the apply is not empty: %v\n%s", err, out)
	}
	f.survived = f.injected - f.surfaced
}
