package mgmtcluster_test

import (
	"context"
	"errors"
	"sync"
	"syscall"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/tools/clientcmd"
	watchtools "k8s.io/client-go/tools/watch"

	"github.com/qumulus/terraform-provider-qumulus/internal/kamaji"
	"github.com/qumulus/terraform-provider-qumulus/internal/testsupport/mgmtcluster"
)

// countingListWatch lists and watches ConfigMaps, counting the calls and the failed ones.
type countingListWatch struct {
	cs kubernetes.Interface
	ns string

	mu                     sync.Mutex
	lists, watches, failed int
}

func (l *countingListWatch) count(n *int, err error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	*n++
	if err != nil {
		l.failed++
	}
}

func (l *countingListWatch) List(opts metav1.ListOptions) (runtime.Object, error) {
	list, err := l.cs.CoreV1().ConfigMaps(l.ns).List(context.Background(), opts)
	l.count(&l.lists, err)
	return list, err
}

func (l *countingListWatch) Watch(opts metav1.ListOptions) (watch.Interface, error) {
	w, err := l.cs.CoreV1().ConfigMaps(l.ns).Watch(context.Background(), opts)
	l.count(&l.watches, err)
	return w, err
}

func (l *countingListWatch) counts() (lists, watches, failed int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.lists, l.watches, l.failed
}

func configMap(name string) *corev1.ConfigMap {
	return &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: name}}
}

// TestAPIServerRestart stops and starts the management API server: while it is down
// connections are refused and open watches end; afterwards the kubeconfig made before
// works, an informer started before catches up by watching again, and the simulator still
// makes control planes ready.
func TestAPIServerRestart(t *testing.T) {
	cs, dyn := needCluster(t, true)
	ctx := t.Context()
	// What a user of the kubeconfig file would do.
	cfg, err := clientcmd.RESTConfigFromKubeConfig(cluster.Kubeconfig)
	if err != nil {
		t.Fatal(err)
	}
	user := kubernetes.NewForConfigOrDie(cfg)
	ns := namespace(t, cs)
	if _, err := user.CoreV1().ConfigMaps(ns).Create(ctx, configMap("before"), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}

	raw, err := user.CoreV1().ConfigMaps(ns).Watch(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Stop()
	lw := &countingListWatch{cs: user, ns: ns}
	seen := make(chan string, 16)
	informerCtx, stopInformer := context.WithCancel(ctx)
	defer stopInformer()
	informerDone := make(chan error, 1)
	go func() {
		_, err := watchtools.UntilWithSync(informerCtx, lw, &corev1.ConfigMap{}, nil, func(ev watch.Event) (bool, error) {
			if cm, ok := ev.Object.(*corev1.ConfigMap); ok && ev.Type == watch.Added {
				seen <- cm.Name
			}
			return false, nil
		})
		informerDone <- err
	}()
	if got := <-seen; got != "before" {
		t.Fatalf("the informer first saw %q, want before", got)
	}

	if err := cluster.StopAPIServer(ctx); err != nil {
		t.Fatal(err)
	}
	stopped := true
	defer func() {
		if stopped {
			if err := cluster.StartAPIServer(context.Background()); err != nil {
				t.Errorf("starting the API server again: %v", err)
			}
		}
	}()
	// The watch opened before ends: its stream is closed with the server.
	for range raw.ResultChan() {
	}
	if _, err := user.CoreV1().ConfigMaps(ns).Get(ctx, "before", metav1.GetOptions{}); !errors.Is(err, syscall.ECONNREFUSED) {
		t.Fatalf("a request while the API server is stopped: %v, want connection refused", err)
	}
	if err := cluster.StopAPIServer(ctx); err != nil {
		t.Errorf("stopping a stopped API server: %v", err)
	}

	if err := cluster.StartAPIServer(ctx); err != nil {
		t.Fatal(err)
	}
	stopped = false
	if err := cluster.StartAPIServer(ctx); err != nil {
		t.Errorf("starting a running API server: %v", err)
	}
	if cluster.Host != cfg.Host {
		t.Errorf("the API server moved from %s to %s", cfg.Host, cluster.Host)
	}
	if _, err := user.CoreV1().ConfigMaps(ns).Get(ctx, "before", metav1.GetOptions{}); err != nil {
		t.Fatalf("the kubeconfig made before the restart, after it: %v", err)
	}
	if _, err := user.CoreV1().ConfigMaps(ns).Create(ctx, configMap("after"), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	select {
	case got := <-seen:
		if got != "after" {
			t.Errorf("after the restart the informer saw %q, want after", got)
		}
	case err := <-informerDone:
		t.Fatalf("the informer ended with the outage: %v", err)
	}
	lists, watches, failed := lw.counts()
	if failed == 0 || watches < 2 {
		t.Errorf("the informer made %d lists and %d watches, %d of them failed: it did not see the outage", lists, watches, failed)
	}
	t.Logf("informer: %d lists, %d watches, %d failed during the outage", lists, watches, failed)

	// The simulator survived: a control plane made now becomes ready.
	tcps := dyn.Resource(kamaji.TenantControlPlaneGVR).Namespace(ns)
	if _, err := tcps.Create(ctx, tenantControlPlane(ns, "after-restart"), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, tcps, "after-restart", func(u *unstructured.Unstructured) bool {
		phase, _ := status(u)
		return phase == kamaji.StatusReady
	})
}

// TestTenantAPIServerRestart stops and starts the tenant API server of a control plane:
// its kubeconfig Secret is refused while it is down and works again afterwards.
func TestTenantAPIServerRestart(t *testing.T) {
	cs, dyn := needCluster(t, true)
	ctx := t.Context()
	ns := namespace(t, cs)
	tcps := dyn.Resource(kamaji.TenantControlPlaneGVR).Namespace(ns)
	if _, err := tcps.Create(ctx, tenantControlPlane(ns, "restarted"), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, tcps, "restarted", func(u *unstructured.Unstructured) bool {
		phase, _ := status(u)
		return phase == kamaji.StatusReady
	})
	secret, err := cs.CoreV1().Secrets(ns).Get(ctx, kamaji.AdminKubeconfigSecretName("restarted"), metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := clientcmd.RESTConfigFromKubeConfig(secret.Data[kamaji.AdminKubeconfigKey])
	if err != nil {
		t.Fatal(err)
	}
	tenant := kubernetes.NewForConfigOrDie(cfg)
	if _, err := tenant.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "kept"}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}

	if err := cluster.StopTenantAPIServer(ctx, ns, "other"); err == nil {
		t.Error("stopping the tenant API server of a control plane that does not exist succeeded")
	}
	if err := cluster.StopTenantAPIServer(ctx, ns, "restarted"); err != nil {
		t.Fatal(err)
	}
	if _, err := tenant.CoreV1().Namespaces().Get(ctx, "kept", metav1.GetOptions{}); !errors.Is(err, syscall.ECONNREFUSED) {
		t.Errorf("a request while the tenant API server is stopped: %v, want connection refused", err)
	}
	if err := cluster.StartTenantAPIServer(ctx, ns, "restarted"); err != nil {
		t.Fatal(err)
	}
	if _, err := tenant.CoreV1().Namespaces().Get(ctx, "kept", metav1.GetOptions{}); err != nil {
		t.Errorf("the tenant kubeconfig made before the restart, after it: %v", err)
	}
	// The management API server did not notice.
	if _, err := cs.CoreV1().Secrets(ns).Get(ctx, kamaji.AdminKubeconfigSecretName("restarted"), metav1.GetOptions{}); err != nil {
		t.Error(err)
	}
}

// TestRestartNotLocal: a cluster of a kubeconfig cannot be restarted by the tests.
func TestRestartNotLocal(t *testing.T) {
	t.Parallel()
	c := &mgmtcluster.Cluster{}
	for name, call := range map[string]func(context.Context) error{
		"StopAPIServer":  c.StopAPIServer,
		"StartAPIServer": c.StartAPIServer,
		"StopTenantAPIServer": func(ctx context.Context) error {
			return c.StopTenantAPIServer(ctx, "ns", "name")
		},
	} {
		if err := call(t.Context()); !errors.Is(err, mgmtcluster.ErrNotLocal) {
			t.Errorf("%s on a cluster that is not local: %v, want ErrNotLocal", name, err)
		}
	}
}

var _ cache.ListerWatcher = (*countingListWatch)(nil)
