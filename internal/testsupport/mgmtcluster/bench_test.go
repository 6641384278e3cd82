package mgmtcluster_test

import (
	"context"
	"fmt"
	"os"
	"sync"
	"testing"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	watchtools "k8s.io/client-go/tools/watch"

	"github.com/qumulus/terraform-provider-qumulus/internal/capi"
	"github.com/qumulus/terraform-provider-qumulus/internal/kamaji"
	"github.com/qumulus/terraform-provider-qumulus/internal/testsupport/mgmtcluster"
	"github.com/qumulus/terraform-provider-qumulus/internal/testsupport/simulator"
)

const (
	// benchBatch objects are created at once, as by an apply of that many tenants.
	benchBatch = 100
	// benchParallelism is Terraform's default -parallelism.
	benchParallelism = 10
	benchReadyDelay  = 2 * time.Second
)

// BenchmarkSimulatorReady measures how long the simulator takes to make benchBatch objects
// ready that are created at once, so that benchmarks of the provider measure the provider.
// One operation is one batch in a namespace of its own: ns/op runs from the first create to
// the last object ready, against a ready delay of 2s. It runs a local cluster of its own, its
// tenants sharing one API server.
//
//	TF_ACC=1 go test ./internal/testsupport/mgmtcluster/ -run '^$' -bench SimulatorReady -benchtime 1x
func BenchmarkSimulatorReady(b *testing.B) {
	if cluster == nil || !cluster.Simulated {
		b.Skip("measures the simulator of the local management cluster (TF_ACC=1, without " + mgmtcluster.ExistingClusterEnv + ")")
	}
	local, err := mgmtcluster.Start(b.Context(), mgmtcluster.Options{
		Simulator: simulator.Options{ReadyDelay: benchReadyDelay, TenantsPerServer: benchBatch},
		Verbose:   os.Getenv("QUMULUS_TEST_VERBOSE") != "",
	})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() {
		if err := local.Stop(); err != nil {
			b.Error(err)
		}
	})
	// The benchmark's own client must not be what is measured.
	cfg := rest.CopyConfig(local.RESTConfig)
	cfg.QPS, cfg.Burst = 1000, 2000
	cs, dyn := kubernetes.NewForConfigOrDie(cfg), dynamic.NewForConfigOrDie(cfg)

	b.Run("TenantControlPlanes", func(b *testing.B) {
		benchBatchReady(b, cs, dyn, func(ns string) []batchObject {
			objs := make([]batchObject, benchBatch)
			for i := range objs {
				objs[i] = batchObject{kamaji.TenantControlPlaneGVR, tenantControlPlane(ns, fmt.Sprintf("tcp-%03d", i))}
			}
			return objs
		}, dyn.Resource(kamaji.TenantControlPlaneGVR), func(u *unstructured.Unstructured) bool {
			phase, version := status(u)
			return phase == kamaji.StatusReady && version == "v1.35.0"
		})
	})
	b.Run("MachineDeployments", func(b *testing.B) {
		benchBatchReady(b, cs, dyn, func(ns string) []batchObject {
			createTemplates(b, dyn, ns, "workers")
			objs := make([]batchObject, benchBatch)
			for i := range objs {
				objs[i] = batchObject{capi.MachineDeploymentGVR, machineDeployment(ns, fmt.Sprintf("pool-%03d", i), "bench", "workers", "workers")}
			}
			return objs
		}, dyn.Resource(capi.MachineDeploymentGVR), poolAvailable(3))
	})
	// A Cluster is available once its KamajiControlPlane has made its TenantControlPlane
	// and reports it ready.
	b.Run("Clusters", func(b *testing.B) {
		benchBatchReady(b, cs, dyn, func(ns string) []batchObject {
			objs := make([]batchObject, 0, 2*benchBatch)
			for i := range benchBatch {
				name := fmt.Sprintf("cluster-%03d", i)
				objs = append(objs,
					batchObject{capi.KamajiControlPlaneGVR, kamajiControlPlane(ns, name)},
					batchObject{capi.ClusterGVR, capiCluster(ns, name, name, nil, nil)})
			}
			return objs
		}, dyn.Resource(capi.ClusterGVR), func(u *unstructured.Unstructured) bool {
			s, _, _ := conditionOf(u, "Available")
			return s == "True"
		})
	})
}

type batchObject struct {
	gvr schema.GroupVersionResource
	obj *unstructured.Unstructured
}

// benchBatchReady times, per operation, the creation of the objects batch makes in a new
// namespace until benchBatch objects of watched are ready. The namespace is deleted
// afterwards, outside the timing.
func benchBatchReady(b *testing.B, cs kubernetes.Interface, dyn dynamic.Interface, batch func(ns string) []batchObject, watched dynamic.NamespaceableResourceInterface, ready func(*unstructured.Unstructured) bool) {
	for range b.N {
		b.StopTimer()
		ns := namespace(b, cs)
		objs := batch(ns)
		b.StartTimer()

		start := time.Now()
		created := createAll(b, dyn, objs)
		first, last := untilAllReady(b, watched.Namespace(ns), benchBatch, ready)
		b.StopTimer()
		b.ReportMetric(created.Sub(start).Seconds(), "s-create")
		b.ReportMetric(first.Sub(start).Seconds(), "s-first-ready")
		b.ReportMetric(last.Sub(start).Seconds(), "s-all-ready")
		b.Logf("%d objects created in %s; first ready after %s, all after %s (ready delay %s)",
			len(objs), created.Sub(start).Round(10*time.Millisecond), first.Sub(start).Round(10*time.Millisecond),
			last.Sub(start).Round(10*time.Millisecond), benchReadyDelay)

		deleted := time.Now()
		deleteNamespace(b, cs, ns)
		b.Logf("namespace %s deleted in %s", ns, time.Since(deleted).Round(10*time.Millisecond))
		b.StartTimer()
	}
}

// createAll creates objs, benchParallelism at a time, and returns when the last create
// returned.
func createAll(b *testing.B, dyn dynamic.Interface, objs []batchObject) time.Time {
	b.Helper()
	var wg sync.WaitGroup
	sem := make(chan struct{}, benchParallelism)
	errs := make(chan error, len(objs))
	for _, o := range objs {
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			if _, err := dyn.Resource(o.gvr).Namespace(o.obj.GetNamespace()).Create(b.Context(), o.obj, metav1.CreateOptions{}); err != nil {
				errs <- fmt.Errorf("creating %s %s: %w", o.obj.GetKind(), o.obj.GetName(), err)
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		b.Fatal(err)
	}
	return time.Now()
}

// untilAllReady watches the objects of ri until want of them are ready, and returns when
// the first and the last became so.
func untilAllReady(b *testing.B, ri dynamic.ResourceInterface, want int, ready func(*unstructured.Unstructured) bool) (first, last time.Time) {
	b.Helper()
	ctx, cancel := context.WithTimeout(b.Context(), 5*time.Minute)
	defer cancel()
	done := map[string]bool{}
	_, err := watchtools.UntilWithSync(ctx, &fieldListWatch{ri: ri}, &unstructured.Unstructured{}, nil,
		func(ev watch.Event) (bool, error) {
			u, ok := ev.Object.(*unstructured.Unstructured)
			if !ok || ev.Type == watch.Deleted || done[u.GetName()] || !ready(u) {
				return false, nil
			}
			done[u.GetName()] = true
			if first.IsZero() {
				first = time.Now()
			}
			return len(done) >= want, nil
		})
	if err != nil {
		b.Fatalf("%d of %d ready: %v", len(done), want, err)
	}
	return first, time.Now()
}

func deleteNamespace(b *testing.B, cs kubernetes.Interface, ns string) {
	b.Helper()
	if err := cs.CoreV1().Namespaces().Delete(b.Context(), ns, metav1.DeleteOptions{}); err != nil {
		b.Fatal(err)
	}
	err := wait.PollUntilContextTimeout(b.Context(), 200*time.Millisecond, 5*time.Minute, true, func(ctx context.Context) (bool, error) {
		_, err := cs.CoreV1().Namespaces().Get(ctx, ns, metav1.GetOptions{})
		if apierrors.IsNotFound(err) {
			return true, nil
		}
		return false, err
	})
	if err != nil {
		b.Fatalf("namespace %s was not deleted: %v", ns, err)
	}
}
