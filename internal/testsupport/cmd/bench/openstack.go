package main

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/qumulus/terraform-provider-qumulus/internal/kamaji"
	"github.com/qumulus/terraform-provider-qumulus/internal/testsupport/chartrepo"
	"github.com/qumulus/terraform-provider-qumulus/internal/testsupport/simulator"
)

// chartServer serves a chart repository directory over HTTP and counts its requests.
type chartServer struct {
	URL string
	srv *http.Server

	mu    sync.Mutex
	paths []string
}

func serveCharts(dir string) (*chartServer, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	c := &chartServer{URL: "http://" + ln.Addr().String()}
	files := http.FileServer(http.Dir(dir))
	c.srv = &http.Server{
		Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			c.mu.Lock()
			c.paths = append(c.paths, r.URL.Path)
			c.mu.Unlock()
			files.ServeHTTP(w, r)
		}),
		ReadHeaderTimeout: 10 * time.Second,
	}
	go func() { _ = c.srv.Serve(ln) }()
	return c, nil
}

// take returns the paths requested since the last take.
func (c *chartServer) take() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := c.paths
	c.paths = nil
	return out
}

type openstackSample struct {
	plan         *tfRun
	tenant, mgmt requests
	charts       []string
}

func benchOpenStack(ctx context.Context, h *harness, goBench *goBenchResult) (section, error) {
	if err := h.setup(ctx); err != nil {
		return section{}, err
	}
	dir := filepath.Join(h.work, "charts")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return section{}, err
	}
	if err := chartrepo.BuildDir(ctx, dir, "0.1.0", "0.2.0"); err != nil {
		return section{}, fmt.Errorf("packaging the test charts: %w", err)
	}
	charts, err := serveCharts(dir)
	if err != nil {
		return section{}, err
	}
	defer func() { _ = charts.srv.Close() }()

	w, err := h.workspace("openstack", openstackConfig(charts.URL, "0.2.0"))
	if err != nil {
		return section{}, err
	}
	logf("openstack: installing the default services from the test charts")
	install, err := w.apply(ctx, 0)
	if err != nil {
		return section{}, err
	}
	installCharts := len(charts.take())
	logf("openstack: installed in %s, %d chart repository requests", seconds(install.wall), installCharts)

	tenantProxy, err := h.proxyTenant(ctx, openstackNamespace, openstackCluster)
	if err != nil {
		return section{}, err
	}
	defer tenantProxy.close()

	var samples []openstackSample
	for run := range h.o.runs {
		h.mgmt.take()
		tenantProxy.take()
		charts.take()
		p, err := w.plan(ctx, 0)
		if err != nil {
			return section{}, err
		}
		x := openstackSample{plan: p, tenant: tenantProxy.take(), mgmt: h.mgmt.take(), charts: charts.take()}
		samples = append(samples, x)
		logf("openstack: refresh %d/%d: plan %s, tenant API %d requests (%s), management API %d (%s), chart repository %d",
			run+1, h.o.runs, seconds(p.wall), x.tenant.total(), x.tenant, x.mgmt.total(), x.mgmt, len(x.charts))
		if x.tenant.total() == 0 {
			return section{}, fmt.Errorf("the refresh made no request through the tenant API server's proxy: the provider did not use the rewritten kubeconfig")
		}
	}
	return installSection(goBench, &openstackRefresh{install: install, installCharts: installCharts, samples: samples}), nil
}

// proxyTenant puts a counting proxy in front of the tenant API server of cluster
// namespace/name: the admin kubeconfig Secret the provider reads is rewritten to name the
// proxy (plain HTTP on loopback), and the simulator is told to leave the Secret alone (its
// hold annotation on the Ready TenantControlPlane).
func (h *harness) proxyTenant(ctx context.Context, namespace, name string) (*countingProxy, error) {
	tcps := h.dyn.Resource(kamaji.TenantControlPlaneGVR).Namespace(namespace)
	hold := fmt.Sprintf(`{"metadata":{"annotations":{%q:"true"}}}`, simulator.HoldAnnotation)
	if _, err := tcps.Patch(ctx, name, types.MergePatchType, []byte(hold), metav1.PatchOptions{}); err != nil {
		return nil, fmt.Errorf("holding TenantControlPlane %s/%s: %w", namespace, name, err)
	}
	secrets := h.kube.CoreV1().Secrets(namespace)
	secret, err := secrets.Get(ctx, kamaji.AdminKubeconfigSecretName(name), metav1.GetOptions{})
	if err != nil {
		return nil, err
	}
	raw := secret.Data[kamaji.AdminKubeconfigKey]
	cfg, err := clientcmd.RESTConfigFromKubeConfig(raw)
	if err != nil {
		return nil, fmt.Errorf("the admin kubeconfig of %s/%s: %w", namespace, name, err)
	}
	p, err := newCountingProxy(cfg)
	if err != nil {
		return nil, err
	}
	kc, err := clientcmd.Load(raw)
	if err != nil {
		p.close()
		return nil, err
	}
	for _, c := range kc.Clusters {
		c.Server = p.URL
	}
	if secret.Data[kamaji.AdminKubeconfigKey], err = clientcmd.Write(*kc); err != nil {
		p.close()
		return nil, err
	}
	if _, err := secrets.Update(ctx, secret, metav1.UpdateOptions{}); err != nil {
		p.close()
		return nil, err
	}
	return p, nil
}

type openstackRefresh struct {
	install       *tfRun
	installCharts int
	samples       []openstackSample
}

// installSection is 3.: BenchmarkInstall's result and, when measured, the refresh cost.
func installSection(goBench *goBenchResult, r *openstackRefresh) section {
	s := section{Title: "3. `qumulus_openstack`: install against its critical path, and refresh cost"}
	s.Method = fmt.Sprintf(`**Install** is `+"`BenchmarkInstall`"+` (`+"`internal/cloud`"+`), run by the Go benchmarks (below) with
QUMULUS_TEST_WORKLOAD_DELAY=%s: it installs the default OpenStack services from the test charts into a simulated tenant cluster
whose every Job and workload takes %s to become ready, and reports the install time against the critical path of the
service graph (the steps of its longest chain × %s) and the serial sum; the figures here are parsed from its output.
**Refresh** applies one `+"`qumulus_openstack`"+` of the default services (test charts 0.2.0, from a chart repository the bench
serves and counts requests to) on a bare cluster, then times `+"`terraform plan`"+` of it. The provider's requests to the
tenant API server are counted by a second proxy: the bench rewrites the cluster's admin kubeconfig Secret to name it
(and sets the simulator's hold annotation so that the Secret is left alone); its requests to the management API server
go through the first.`, installWorkloadDelay, installWorkloadDelay, installWorkloadDelay)

	var body strings.Builder
	installGoal := goal{What: "`qumulus_openstack` install against the critical path of its dependency graph", Target: "≤ 1.1×", Measured: "BenchmarkInstall not run"}
	if b, ok := goBench.find("BenchmarkInstall"); ok {
		inst, _ := b.metric("s/install")
		crit, _ := b.metric("s/critical-path")
		serial, _ := b.metric("s/serial-sum")
		x, ok := b.metric("x-critical-path")
		fmt.Fprintf(&body, "Install (BenchmarkInstall, %d iteration(s)): %.1f s against a critical path of %.1f s (serial sum %.1f s).\n\n", b.iterations, inst, crit, serial)
		if ok {
			installGoal.Measured = fmt.Sprintf("%.2f× (%.1f s against %.1f s)", x, inst, crit)
			installGoal.Met = met(x <= 1.1)
		} else {
			installGoal.Measured = "BenchmarkInstall reported no x-critical-path"
		}
	} else if goBench != nil {
		installGoal.Measured = "BenchmarkInstall reported no result"
	}
	s.Goals = []goal{installGoal}

	if r == nil {
		s.Body = body.String()
		return s
	}
	fmt.Fprintf(&body, "Install through Terraform (workload delay 0, for the refresh): %s, %d chart repository requests.\n\n",
		seconds(r.install.wall), r.installCharts)
	body.WriteString("| run | plan | tenant API requests | management API requests | chart repository requests | provider CPU | peak RSS |\n")
	body.WriteString("| --- | --- | --- | --- | --- | --- | --- |\n")
	var tenantN, mgmtN, chartN []int
	var plans []time.Duration
	for i, x := range r.samples {
		tenantN = append(tenantN, x.tenant.total())
		mgmtN = append(mgmtN, x.mgmt.total())
		chartN = append(chartN, len(x.charts))
		plans = append(plans, x.plan.wall)
		changed := ""
		if x.plan.exit == 2 {
			changed = " (not empty)"
		}
		fmt.Fprintf(&body, "| %d | %s%s | %d | %d | %d | %s | %s |\n", i+1, seconds(x.plan.wall), changed, x.tenant.total(), x.mgmt.total(),
			len(x.charts), millis(x.plan.provider.CPU), mib(x.plan.provider.PeakRSS))
	}
	last := r.samples[len(r.samples)-1]
	fmt.Fprintf(&body, "\nRequests of the last refresh: tenant API server: %s; management API server: %s.\n", last.tenant, last.mgmt)
	maxCharts := 0
	for _, n := range chartN {
		maxCharts = max(maxCharts, n)
	}
	s.Body = body.String()
	s.Goals = append(s.Goals,
		goal{What: "`qumulus_openstack` refresh: requests per refresh", Target: "—", Info: true,
			Measured: fmt.Sprintf("%d to the tenant API server, %d to the management API server (medians; plan %s)", median(tenantN), median(mgmtN), seconds(median(plans)))},
		goal{What: "`qumulus_openstack` refresh: chart downloads", Target: "0", Measured: fmt.Sprintf("%d requests (most in a run)", maxCharts), Met: met(maxCharts == 0)},
	)
	return s
}
