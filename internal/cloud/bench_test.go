package cloud_test

import (
	"context"
	"crypto/rand"
	"fmt"
	"os"
	"sync/atomic"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"

	"github.com/qumulus/terraform-provider-qumulus/internal/chartsource"
	"github.com/qumulus/terraform-provider-qumulus/internal/cloud"
	"github.com/qumulus/terraform-provider-qumulus/internal/cluster"
	"github.com/qumulus/terraform-provider-qumulus/internal/kamaji"
	"github.com/qumulus/terraform-provider-qumulus/internal/openstack"
	"github.com/qumulus/terraform-provider-qumulus/internal/tenantcluster"
	"github.com/qumulus/terraform-provider-qumulus/internal/testsupport/acctest"
	"github.com/qumulus/terraform-provider-qumulus/internal/testsupport/chartrepo"
)

func TestMain(m *testing.M) {
	os.Exit(acctest.Run(m))
}

// BenchmarkInstall installs the default services from the test charts into a simulated
// tenant cluster and reports the time against the critical path of the service graph,
// and against the serial sum. Each release takes the simulator's workload delay
// (QUMULUS_TEST_WORKLOAD_DELAY, which make bench sets) to become ready, so the critical
// path is the number of steps on the longest chain times that delay. Needs TF_ACC.
func BenchmarkInstall(b *testing.B) {
	if os.Getenv("TF_ACC") == "" {
		b.Skip("SKIP: needs TF_ACC=1 (a local management cluster)")
	}
	delay, _ := time.ParseDuration(os.Getenv("QUMULUS_TEST_WORKLOAD_DELAY"))
	conn := tenantCluster(b)
	repo := chartrepo.ServeTestCharts(b)
	services := openstack.DefaultServices()
	steps, err := openstack.Plan(services)
	if err != nil {
		b.Fatal(err)
	}
	creds, err := openstack.Credentials{}.Complete(services, rand.Reader)
	if err != nil {
		b.Fatal(err)
	}
	charts := chartsource.NewCache(nil)
	var n atomic.Int64
	var total time.Duration
	for b.Loop() {
		ns := fmt.Sprintf("bench-%d", n.Add(1))
		spec := cloud.Spec{
			Namespace: ns, Charts: chartsource.Source{Repository: repo.URL}, Version: "0.2.0",
			Settings:    openstack.Settings{Region: "RegionOne", ClusterDomain: "cluster.local"},
			Services:    map[string]cloud.ServiceSpec{},
			Credentials: creds, ChecksumKey: "bench", Parallel: 4,
		}
		for _, s := range services {
			spec.Services[s] = cloud.ServiceSpec{}
		}
		c := &cloud.Client{Kube: conn.Clients, Charts: charts}
		ctx, cancel := context.WithTimeout(b.Context(), 10*time.Minute)
		started := time.Now()
		err := c.Apply(ctx, spec, nil)
		total += time.Since(started)
		b.StopTimer()
		if err == nil {
			err = c.Destroy(ctx, ns, services, 4)
		}
		cancel()
		if err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
	}
	runs := time.Duration(n.Load())
	perStep := func(openstack.Step) time.Duration { return delay }
	critical := openstack.CriticalPath(steps, perStep)
	serial := time.Duration(len(services)) * delay
	install := total / runs
	b.ReportMetric(install.Seconds(), "s/install")
	b.ReportMetric(critical.Seconds(), "s/critical-path")
	b.ReportMetric(serial.Seconds(), "s/serial-sum")
	if critical > 0 {
		b.ReportMetric(install.Seconds()/critical.Seconds(), "x-critical-path")
	}
	b.Logf("%d services in %d steps, workload delay %s: install %s, critical path %s, serial sum %s",
		len(services), len(steps), delay, install.Round(10*time.Millisecond), critical, serial)
}

// tenantCluster makes a cluster in the management cluster and connects to its simulated
// tenant API server.
func tenantCluster(b *testing.B) *tenantcluster.Connection {
	b.Helper()
	mgmt := acctest.Cluster(b)
	ctx, cancel := context.WithTimeout(b.Context(), 3*time.Minute)
	defer cancel()
	cs := kubernetes.NewForConfigOrDie(mgmt.RESTConfig)
	dyn := dynamic.NewForConfigOrDie(mgmt.RESTConfig)
	ns := "bench-cloud"
	if _, err := cs.CoreV1().Namespaces().Get(ctx, ns, metav1.GetOptions{}); err != nil {
		if _, err := cs.CoreV1().Namespaces().Create(ctx, namespace(ns), metav1.CreateOptions{}); err != nil {
			b.Fatal(err)
		}
	}
	clusters := &cluster.Client{Kube: cs, Dynamic: dyn}
	spec := cluster.Spec{Namespace: ns, Name: "prod", Version: "v1.35.0"}
	if _, err := clusters.Apply(ctx, spec); err != nil {
		b.Fatal(err)
	}
	if _, err := clusters.WaitReady(ctx, spec, nil); err != nil {
		b.Fatal(err)
	}
	c := tenantcluster.NewCache(tenantcluster.Reader{Kube: cs, Dynamic: dyn}, tenantcluster.ClientOptions{UserAgent: "cloud-bench", QPS: 100, Burst: 200})
	conn, err := c.Get(ctx, tenantcluster.Key{Namespace: ns, Name: "prod"}, kamaji.AdminKubeconfigKey)
	if err != nil {
		b.Fatal(err)
	}
	return conn
}

func namespace(name string) *corev1.Namespace {
	return &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name}}
}
