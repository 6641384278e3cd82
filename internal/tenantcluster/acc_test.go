package tenantcluster_test

import (
	"context"
	"errors"
	"os"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"

	"github.com/qumulus/terraform-provider-qumulus/internal/cluster"
	"github.com/qumulus/terraform-provider-qumulus/internal/kamaji"
	"github.com/qumulus/terraform-provider-qumulus/internal/tenantcluster"
	"github.com/qumulus/terraform-provider-qumulus/internal/testsupport/acctest"
)

func TestMain(m *testing.M) {
	os.Exit(acctest.Run(m))
}

// TestAccCache_tenantAPIServer uses the cache against a real management cluster: Kamaji's
// (simulated) Secret, a real tenant API server, and a credential rotation.
func TestAccCache_tenantAPIServer(t *testing.T) {
	mgmt := acctest.Cluster(t)
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	defer cancel()
	cs := kubernetes.NewForConfigOrDie(mgmt.RESTConfig)
	dyn := dynamic.NewForConfigOrDie(mgmt.RESTConfig)

	ns, err := cs.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{GenerateName: "tenantcluster-"}}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cs.CoreV1().Namespaces().Delete(context.Background(), ns.Name, metav1.DeleteOptions{}) })
	spec := cluster.Spec{Namespace: ns.Name, Name: "prod", Version: "v1.35.0"}
	clusters := &cluster.Client{Kube: cs, Dynamic: dyn}
	if _, err := clusters.Apply(ctx, spec); err != nil {
		t.Fatal(err)
	}
	key := tenantcluster.Key{Namespace: ns.Name, Name: "prod"}
	c := tenantcluster.NewCache(tenantcluster.Reader{Kube: cs, Dynamic: dyn}, tenantcluster.ClientOptions{UserAgent: "tenantcluster-test"})

	var notReady *tenantcluster.NotReadyError
	if _, err := c.Get(ctx, key, kamaji.AdminKubeconfigKey); !errors.As(err, &notReady) {
		t.Errorf("Get before the control plane is ready: %v", err)
	}
	if _, err := clusters.WaitReady(ctx, spec, nil); err != nil {
		t.Fatal(err)
	}

	first, err := c.Get(ctx, key, kamaji.AdminKubeconfigKey)
	if err != nil {
		t.Fatal(err)
	}
	version, err := first.ServerVersion(ctx)
	if err != nil || version == "" {
		t.Fatalf("tenant API server version: %q, %v", version, err)
	}
	if first.Kubeconfig.Host == mgmt.RESTConfig.Host {
		t.Fatal("the kubeconfig points at the management cluster")
	}
	if _, err := first.Kubernetes.CoreV1().Namespaces().Get(ctx, "kube-system", metav1.GetOptions{}); err != nil {
		t.Fatalf("reading the tenant cluster: %v", err)
	}
	if again, err := c.Get(ctx, key, kamaji.AdminKubeconfigKey); err != nil || again != first {
		t.Fatalf("second Get: %v (same connection: %v)", err, again == first)
	}

	// Kamaji writes a deleted kubeconfig Secret again, with new credentials.
	if err := acctest.RotateKubeconfig(ctx, cs, ns.Name, "prod"); err != nil {
		t.Fatal(err)
	}

	rotated, err := c.Get(ctx, key, kamaji.AdminKubeconfigKey)
	if err != nil {
		t.Fatal(err)
	}
	if rotated == first || string(rotated.Kubeconfig.ClientCertificate) == string(first.Kubeconfig.ClientCertificate) {
		t.Fatal("the cache kept the clients of the rotated credentials")
	}
	if _, err := rotated.ServerVersion(ctx); err != nil {
		t.Fatalf("the new credentials: %v", err)
	}
	calls := 0
	if err := c.Do(ctx, key, kamaji.AdminKubeconfigKey, func(conn *tenantcluster.Connection) error {
		calls++
		if conn != rotated {
			return errors.New("Do did not reuse the current connection")
		}
		_, err := conn.ServerVersion(ctx)
		return err
	}); err != nil || calls != 1 {
		t.Fatalf("Do: %v after %d calls", err, calls)
	}

	if err := clusters.Delete(ctx, cluster.Key{Namespace: ns.Name, Name: "prod"}); err != nil {
		t.Fatal(err)
	}
	var notFound *tenantcluster.NotFoundError
	if _, err := c.Get(ctx, key, kamaji.AdminKubeconfigKey); !errors.As(err, &notFound) {
		t.Errorf("Get after the cluster was deleted: %v", err)
	}
}
