package helmrelease_test

import (
	"context"
	"errors"
	"os"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"

	"helm.sh/helm/v3/pkg/chart"
	"helm.sh/helm/v3/pkg/release"
	"helm.sh/helm/v3/pkg/storage/driver"

	"github.com/qumulus/terraform-provider-qumulus/internal/cluster"
	"github.com/qumulus/terraform-provider-qumulus/internal/helmrelease"
	"github.com/qumulus/terraform-provider-qumulus/internal/kamaji"
	"github.com/qumulus/terraform-provider-qumulus/internal/kube"
	"github.com/qumulus/terraform-provider-qumulus/internal/tenantcluster"
	"github.com/qumulus/terraform-provider-qumulus/internal/testsupport/acctest"
)

func TestMain(m *testing.M) {
	os.Exit(acctest.Run(m))
}

const helmTimeout = time.Minute

// testChart follows OpenStack-Helm's conventions in small: a ConfigMap and a Deployment,
// a pre-install Secret, post-install and pre-delete Jobs without delete policy; values switch on a hook
// Pod (that the test fails), an object the API server refuses, and a Pod that never runs.
func testChart(version string) *chart.Chart {
	file := func(name, data string) *chart.File { return &chart.File{Name: "templates/" + name, Data: []byte(data)} }
	return &chart.Chart{
		Metadata: &chart.Metadata{APIVersion: "v2", Name: "svc", Version: version, AppVersion: "29.0.0"},
		Values:   map[string]any{"replicas": 1, "greeting": "hello"},
		Templates: []*chart.File{
			file("configmap.yaml", `apiVersion: v1
kind: ConfigMap
metadata:
  name: {{ .Release.Name }}-etc
  labels: {release_group: {{ .Release.Name }}}
data:
  greeting: {{ .Values.greeting | quote }}
{{- if .Values.invalid }}
---
apiVersion: v1
kind: ConfigMap
metadata:
  name: {{ .Release.Name }}_Invalid
{{- end }}
`),
			file("deployment.yaml", `apiVersion: apps/v1
kind: Deployment
metadata:
  name: {{ .Release.Name }}-api
  labels: {release_group: {{ .Release.Name }}}
spec:
  replicas: {{ .Values.replicas }}
  selector: {matchLabels: {app: {{ .Release.Name }}-api}}
  template:
    metadata: {labels: {app: {{ .Release.Name }}-api}}
    spec:
      containers: [{name: api, image: "registry.invalid/api:1"}]
{{- if .Values.pendingPod }}
---
apiVersion: v1
kind: Pod
metadata:
  name: {{ .Release.Name }}-pending
spec:
  automountServiceAccountToken: false
  containers: [{name: main, image: "registry.invalid/main:1"}]
{{- end }}
`),
			file("hooks.yaml", `apiVersion: v1
kind: Secret
metadata:
  name: {{ .Release.Name }}-keys
  annotations:
    helm.sh/hook: pre-install
    helm.sh/hook-delete-policy: hook-failed
stringData: {key: generated}
---
apiVersion: batch/v1
kind: Job
metadata:
  name: {{ .Release.Name }}-db-sync
  labels: {release_group: {{ .Release.Name }}}
  annotations:
    helm.sh/hook: post-install,post-upgrade
    helm.sh/hook-weight: "-4"
spec:
  backoffLimit: 0
  template:
    spec:
      restartPolicy: Never
      automountServiceAccountToken: false
      containers: [{name: sync, image: "registry.invalid/sync:1"}]
---
apiVersion: batch/v1
kind: Job
metadata:
  name: {{ .Release.Name }}-clean
  annotations:
    helm.sh/hook: pre-delete
spec:
  template:
    spec:
      restartPolicy: Never
      automountServiceAccountToken: false
      containers: [{name: clean, image: "registry.invalid/clean:1"}]
{{- if .Values.failHook }}
---
apiVersion: v1
kind: Pod
metadata:
  name: {{ .Release.Name }}-check
  annotations:
    helm.sh/hook: post-install,post-upgrade
    helm.sh/hook-weight: "5"
spec:
  restartPolicy: Never
  automountServiceAccountToken: false
  containers: [{name: check, image: "registry.invalid/check:1"}]
{{- end }}
`),
		},
	}
}

type env struct {
	conn *tenantcluster.Connection
}

// tenant makes a cluster in the management cluster and connects to its (simulated)
// tenant API server, whose Deployments become available and Jobs complete.
func tenant(t *testing.T) *env {
	t.Helper()
	mgmt := acctest.Cluster(t)
	ctx, cancel := context.WithTimeout(t.Context(), 3*time.Minute)
	defer cancel()
	cs := kubernetes.NewForConfigOrDie(mgmt.RESTConfig)
	dyn := dynamic.NewForConfigOrDie(mgmt.RESTConfig)
	ns, err := cs.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{GenerateName: "helmrelease-"}}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	clusters := &cluster.Client{Kube: cs, Dynamic: dyn}
	spec := cluster.Spec{Namespace: ns.Name, Name: "prod", Version: "v1.35.0"}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer cancel()
		_ = clusters.Delete(ctx, cluster.Key{Namespace: ns.Name, Name: "prod"})
		_ = cs.CoreV1().Namespaces().Delete(ctx, ns.Name, metav1.DeleteOptions{})
	})
	if _, err := clusters.Apply(ctx, spec); err != nil {
		t.Fatal(err)
	}
	if _, err := clusters.WaitReady(ctx, spec, nil); err != nil {
		t.Fatal(err)
	}
	c := tenantcluster.NewCache(tenantcluster.Reader{Kube: cs, Dynamic: dyn}, tenantcluster.ClientOptions{UserAgent: "helmrelease-test"})
	conn, err := c.Get(ctx, tenantcluster.Key{Namespace: ns.Name, Name: "prod"}, kamaji.AdminKubeconfigKey)
	if err != nil {
		t.Fatal(err)
	}
	return &env{conn: conn}
}

// driver returns a Driver for a new namespace of the tenant cluster.
func (e *env) driver(t *testing.T, namespace string) *helmrelease.Driver {
	t.Helper()
	ctx := t.Context()
	if _, err := e.conn.Kubernetes.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: namespace}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	// No controller manager makes it in a tenant cluster without nodes; Pods need it.
	if _, err := e.conn.Kubernetes.CoreV1().ServiceAccounts(namespace).Create(ctx, &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: "default"}}, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
		t.Fatal(err)
	}
	return &helmrelease.Driver{Clients: e.conn.Clients, Namespace: namespace, Log: func(format string, v ...any) {
		t.Logf("helm: "+format, v...)
	}}
}

var (
	configMaps  = schema.GroupVersionResource{Version: "v1", Resource: "configmaps"}
	secrets     = schema.GroupVersionResource{Version: "v1", Resource: "secrets"}
	pods        = schema.GroupVersionResource{Version: "v1", Resource: "pods"}
	deployments = schema.GroupVersionResource{Group: "apps", Version: "v1", Resource: "deployments"}
	jobs        = schema.GroupVersionResource{Group: "batch", Version: "v1", Resource: "jobs"}
)

func (e *env) get(t *testing.T, gvr schema.GroupVersionResource, ns, name string) *unstructured.Unstructured {
	t.Helper()
	obj, err := e.conn.Dynamic.Resource(gvr).Namespace(ns).Get(t.Context(), name, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return nil
	}
	if err != nil {
		t.Fatal(err)
	}
	return obj
}

func (e *env) mustExist(t *testing.T, gvr schema.GroupVersionResource, ns string, names ...string) {
	t.Helper()
	for _, name := range names {
		if e.get(t, gvr, ns, name) == nil {
			t.Errorf("%s %s/%s does not exist", gvr.Resource, ns, name)
		}
	}
}

func (e *env) mustBeGone(t *testing.T, gvr schema.GroupVersionResource, ns string, names ...string) {
	t.Helper()
	for _, name := range names {
		if obj := e.get(t, gvr, ns, name); obj != nil {
			t.Errorf("%s %s/%s still exists (deleting: %v)", gvr.Resource, ns, name, obj.GetDeletionTimestamp() != nil)
		}
	}
}

func (e *env) releaseSecrets(t *testing.T, ns, name string) int {
	t.Helper()
	list, err := e.conn.Kubernetes.CoreV1().Secrets(ns).List(t.Context(), metav1.ListOptions{LabelSelector: "owner=helm,name=" + name})
	if err != nil {
		t.Fatal(err)
	}
	return len(list.Items)
}

// failPod plays a kubelet whose Pod fails: the hook Pod called name fails once created.
func (e *env) failPod(t *testing.T, ns, name string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), helmTimeout)
	done := make(chan struct{})
	t.Cleanup(func() { cancel(); <-done })
	go func() {
		defer close(done)
		err := kube.WatchObject(ctx, e.conn.Dynamic.Resource(pods).Namespace(ns), name, func(u *unstructured.Unstructured) bool {
			if u == nil || u.GetDeletionTimestamp() != nil {
				return false
			}
			pod, err := e.conn.Kubernetes.CoreV1().Pods(ns).Get(ctx, name, metav1.GetOptions{})
			if err != nil {
				return false
			}
			pod.Status.Phase = corev1.PodFailed
			pod.Status.Reason = "Error"
			_, err = e.conn.Kubernetes.CoreV1().Pods(ns).UpdateStatus(ctx, pod, metav1.UpdateOptions{})
			return err == nil
		})
		if err != nil && ctx.Err() == nil {
			t.Errorf("failing Pod %s/%s: %v", ns, name, err)
		}
	}()
}

func apply(t *testing.T, d *helmrelease.Driver, name string, ch *chart.Chart, values map[string]any) *helmrelease.Release {
	t.Helper()
	rel, err := d.Apply(t.Context(), name, ch, values, helmTimeout)
	if err != nil {
		t.Fatalf("Apply %s: %v", name, err)
	}
	return rel
}

func mustFail(t *testing.T, err error, operation, object, condition, reverted string) {
	t.Helper()
	var failed *helmrelease.FailedError
	if !errors.As(err, &failed) {
		t.Fatalf("want a *FailedError, got %v", err)
	}
	t.Logf("error: %v", err)
	if failed.Operation != operation || !strings.Contains(failed.Object, object) || !strings.Contains(failed.Condition, condition) ||
		failed.Reverted != reverted || failed.RevertErr != nil {
		t.Errorf("got operation %q, object %q, condition %q, reverted %q (%v); want %q, %q, %q, %q",
			failed.Operation, failed.Object, failed.Condition, failed.Reverted, failed.RevertErr, operation, object, condition, reverted)
	}
}

func TestAccDriver(t *testing.T) {
	e := tenant(t)
	ch := testChart("0.1.0")

	t.Run("lifecycle", func(t *testing.T) {
		ns := "lifecycle"
		d := e.driver(t, ns)
		if _, err := d.Get(t.Context(), "app"); !errors.Is(err, helmrelease.ErrNotFound) || !errors.Is(err, kube.ErrNotFound) {
			t.Fatalf("Get before install: %v", err)
		}

		values := map[string]any{"greeting": "hello"}
		rel := apply(t, d, "app", ch, values)
		if rel.Revision != 1 || rel.Status != "deployed" || rel.Chart != "svc" || rel.ChartVersion != "0.1.0" || rel.AppVersion != "29.0.0" ||
			rel.ValuesChecksum != helmrelease.ValuesChecksum(values) || rel.Namespace != ns {
			t.Errorf("installed release: %+v", rel)
		}
		var seen []helmrelease.Status
		st, err := d.WaitReady(t.Context(), rel, func(s helmrelease.Status) { seen = append(seen, s) })
		if err != nil || !st.Ready() || len(st.Objects) != 2 || len(seen) == 0 {
			t.Fatalf("WaitReady: %v, %s, %d progress calls", err, st, len(seen))
		}
		e.mustExist(t, secrets, ns, "sh.helm.release.v1.app.v1", "app-keys")
		e.mustExist(t, jobs, ns, "app-db-sync")

		changed := map[string]any{"greeting": "bye", "replicas": 2}
		rel = apply(t, d, "app", ch, changed)
		if rel.Revision != 2 || rel.ValuesChecksum == helmrelease.ValuesChecksum(values) || rel.ValuesChecksum != helmrelease.ValuesChecksum(changed) {
			t.Errorf("upgraded release: revision %d, checksum %s", rel.Revision, rel.ValuesChecksum)
		}
		if got := kube.NestedString(e.get(t, configMaps, ns, "app-etc"), "data", "greeting"); got != "bye" {
			t.Errorf("ConfigMap greeting %q after the upgrade", got)
		}
		if got := kube.NestedInt64(e.get(t, deployments, ns, "app-api"), "spec", "replicas"); got == nil || *got != 2 {
			t.Errorf("Deployment replicas %v after the upgrade", got)
		}

		// Unchanged inputs still make a revision, which repairs a deleted object.
		if err := e.conn.Dynamic.Resource(deployments).Namespace(ns).Delete(t.Context(), "app-api", metav1.DeleteOptions{}); err != nil {
			t.Fatal(err)
		}
		again := apply(t, d, "app", ch, changed)
		if again.Revision != 3 || again.ValuesChecksum != rel.ValuesChecksum {
			t.Errorf("unchanged Apply: revision %d, checksum changed %v", again.Revision, again.ValuesChecksum != rel.ValuesChecksum)
		}
		e.mustExist(t, deployments, ns, "app-api")
		if _, err := d.WaitReady(t.Context(), again, nil); err != nil {
			t.Fatal(err)
		}

		apply(t, d, "other", testChart("0.2.0"), nil)
		list, err := d.List(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		if len(list) != 2 || list[0].Name != "app" || list[0].Revision != 3 || list[1].Name != "other" || list[1].ChartVersion != "0.2.0" ||
			list[1].ValuesChecksum != helmrelease.ValuesChecksum(nil) {
			t.Errorf("List: %d releases %+v", len(list), list)
		}
		got, err := d.Get(t.Context(), "app")
		if err != nil || got.Revision != 3 || got.Values["greeting"] != "bye" {
			t.Errorf("Get: %v, %+v", err, got)
		}

		for _, name := range []string{"app", "other"} {
			if err := d.Uninstall(t.Context(), name, helmTimeout); err != nil {
				t.Fatal(err)
			}
			if _, err := d.Get(t.Context(), name); !errors.Is(err, helmrelease.ErrNotFound) {
				t.Errorf("Get after Uninstall: %v", err)
			}
			if n := e.releaseSecrets(t, ns, name); n != 0 {
				t.Errorf("%d release Secrets of %s left", n, name)
			}
			e.mustBeGone(t, configMaps, ns, name+"-etc")
			e.mustBeGone(t, deployments, ns, name+"-api")
			e.mustBeGone(t, secrets, ns, name+"-keys")
			e.mustBeGone(t, jobs, ns, name+"-db-sync", name+"-clean")
		}
		if err := d.Uninstall(t.Context(), "app", helmTimeout); err != nil {
			t.Errorf("second Uninstall: %v", err)
		}
	})

	t.Run("failed first install is uninstalled", func(t *testing.T) {
		ns := "failed-install"
		d := e.driver(t, ns)
		e.failPod(t, ns, "hook-check")
		_, err := d.Apply(t.Context(), "hook", ch, map[string]any{"failHook": true}, helmTimeout)
		mustFail(t, err, "install", "hook Pod "+ns+"/hook-check", "phase Failed: Error", "uninstalled")
		if _, err := d.Get(t.Context(), "hook"); !errors.Is(err, helmrelease.ErrNotFound) {
			t.Errorf("Get after the failed install: %v", err)
		}
		e.mustBeGone(t, configMaps, ns, "hook-etc")
		e.mustBeGone(t, deployments, ns, "hook-api")
		e.mustBeGone(t, secrets, ns, "hook-keys")
		e.mustBeGone(t, jobs, ns, "hook-db-sync")
		e.mustBeGone(t, pods, ns, "hook-check")

		_, err = d.Apply(t.Context(), "refused", ch, map[string]any{"invalid": true}, helmTimeout)
		mustFail(t, err, "install", "ConfigMap "+ns+"/refused_Invalid", "", "uninstalled")
		if n := e.releaseSecrets(t, ns, "refused"); n != 0 {
			t.Errorf("%d release Secrets left", n)
		}
		e.mustBeGone(t, configMaps, ns, "refused-etc")
		e.mustBeGone(t, secrets, ns, "refused-keys")

		// Once fixed, the next Apply installs.
		if rel := apply(t, d, "hook", ch, nil); rel.Revision != 1 || rel.Status != "deployed" {
			t.Errorf("install after the fix: %+v", rel)
		}
	})

	t.Run("failed upgrade is rolled back", func(t *testing.T) {
		ns := "failed-upgrade"
		d := e.driver(t, ns)
		good := map[string]any{"greeting": "good"}
		first := apply(t, d, "app", ch, good)

		_, err := d.Apply(t.Context(), "app", ch, map[string]any{"greeting": "bad", "invalid": true}, helmTimeout)
		mustFail(t, err, "upgrade", "ConfigMap "+ns+"/app_Invalid", "", "rolled back to revision 1")
		rel, err := d.Get(t.Context(), "app")
		if err != nil || rel.Revision != 3 || rel.Status != "deployed" || rel.ValuesChecksum != first.ValuesChecksum {
			t.Fatalf("after the rollback: %v %+v", err, rel)
		}
		if got := kube.NestedString(e.get(t, configMaps, ns, "app-etc"), "data", "greeting"); got != "good" {
			t.Errorf("ConfigMap greeting %q after the rollback", got)
		}

		e.failPod(t, ns, "app-check")
		_, err = d.Apply(t.Context(), "app", ch, map[string]any{"greeting": "bad", "failHook": true}, helmTimeout)
		mustFail(t, err, "upgrade", "hook Pod "+ns+"/app-check", "phase Failed", "rolled back to revision 3")
		if rel, err := d.Get(t.Context(), "app"); err != nil || rel.Revision != 5 || rel.ValuesChecksum != first.ValuesChecksum {
			t.Errorf("after the second rollback: %v %+v", err, rel)
		}
	})

	t.Run("timeouts", func(t *testing.T) {
		ns := "timeouts"
		d := e.driver(t, ns)
		// Helm's own timeout: the hook Pod never finishes.
		_, err := d.Apply(t.Context(), "hook", ch, map[string]any{"failHook": true}, 3*time.Second)
		mustFail(t, err, "install", "hook Pod "+ns+"/hook-check", "phase Pending", "uninstalled")
		e.mustBeGone(t, pods, ns, "hook-check")

		// The context ends first, as when Terraform is interrupted: the record stays pending
		// and the next Apply recovers it.
		ctx, cancel := context.WithTimeout(t.Context(), 2*time.Second)
		defer cancel()
		_, err = d.Apply(ctx, "crash", ch, map[string]any{"failHook": true}, 10*time.Second)
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("Apply past its context: %v", err)
		}
		t.Logf("error: %v", err)
		if rel, err := d.Get(t.Context(), "crash"); err != nil || rel.Status != "pending-install" {
			t.Fatalf("after the interrupted install: %v %+v", err, rel)
		}
		rel := apply(t, d, "crash", ch, nil)
		if rel.Revision != 1 || rel.Status != "deployed" {
			t.Errorf("recovered interrupted install: %+v", rel)
		}
		e.mustBeGone(t, pods, ns, "crash-check")
	})

	t.Run("pending releases are recovered", func(t *testing.T) {
		ns := "pending"
		d := e.driver(t, ns)
		store := driver.NewSecrets(e.conn.Kubernetes.CoreV1().Secrets(ns))
		crashed := &release.Release{
			Name: "fresh", Namespace: ns, Version: 1, Chart: ch, Config: map[string]any{},
			Info: &release.Info{Status: release.StatusPendingInstall, Description: "Initial install underway"},
		}
		if err := store.Create("sh.helm.release.v1.fresh.v1", crashed); err != nil {
			t.Fatal(err)
		}
		rel := apply(t, d, "fresh", ch, map[string]any{"greeting": "recovered"})
		if rel.Revision != 1 || rel.Status != "deployed" {
			t.Errorf("recovered pending-install: %+v", rel)
		}

		apply(t, d, "upgrading", ch, nil)
		v1, err := store.Get("sh.helm.release.v1.upgrading.v1")
		if err != nil {
			t.Fatal(err)
		}
		v1.Version = 2
		v1.Info.Status = release.StatusPendingUpgrade
		if err := store.Create("sh.helm.release.v1.upgrading.v2", v1); err != nil {
			t.Fatal(err)
		}
		rel = apply(t, d, "upgrading", ch, map[string]any{"greeting": "recovered"})
		if rel.Revision != 3 || rel.Status != "deployed" {
			t.Errorf("recovered pending-upgrade: %+v", rel)
		}
		if v2, err := store.Get("sh.helm.release.v1.upgrading.v2"); err != nil || v2.Info.Status != release.StatusFailed {
			t.Errorf("the stale revision: %v %v", err, v2.Info.Status)
		}
	})

	t.Run("WaitReady names what is not ready", func(t *testing.T) {
		ns := "slow"
		d := e.driver(t, ns)
		rel := apply(t, d, "slow", ch, map[string]any{"pendingPod": true})
		ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
		defer cancel()
		st, err := d.WaitReady(ctx, rel, nil)
		var notReady *kube.NotReadyError
		if !errors.As(err, &notReady) || !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("want a NotReadyError, got %v", err)
		}
		t.Logf("error: %v", err)
		if nr := st.NotReady(); len(nr) != 1 || nr[0].Kind != "Pod" || nr[0].Name != "slow-pending" || !strings.Contains(err.Error(), "Pod "+ns+"/slow-pending InProgress") {
			t.Errorf("not ready: %v", nr)
		}
		if what, err := d.Revert(t.Context(), "slow", helmTimeout); err != nil || what != "uninstalled" {
			t.Errorf("Revert: %q, %v", what, err)
		}
		e.mustBeGone(t, pods, ns, "slow-pending")
		e.mustBeGone(t, deployments, ns, "slow-api")
	})

	t.Run("helm sees the releases", func(t *testing.T) {
		list, err := driver.NewSecrets(e.conn.Kubernetes.CoreV1().Secrets("pending")).List(func(r *release.Release) bool { return r.Info.Status == release.StatusDeployed })
		if err != nil || len(list) != 2 {
			t.Errorf("deployed releases in namespace pending: %d, %v", len(list), err)
		}
		for _, r := range list {
			if r.Labels[kube.LabelManagedBy] != kube.ManagedBy {
				t.Errorf("release %s v%d labels %v", r.Name, r.Version, r.Labels)
			}
		}
	})
}

func TestAccDrift(t *testing.T) {
	e := tenant(t)
	ns := "drift"
	d := e.driver(t, ns)
	apply(t, d, "app", testChart("0.1.0"), nil)
	drift := func(want ...string) {
		t.Helper()
		rels, err := d.List(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		got, err := d.Drift(t.Context(), rels)
		if err != nil {
			t.Fatal(err)
		}
		var s []string
		for _, dr := range got {
			s = append(s, dr.String())
		}
		if strings.Join(s, "\n") != strings.Join(want, "\n") {
			t.Errorf("drift:\n got  %q\n want %q", s, want)
		}
	}
	drift()

	if err := e.conn.Dynamic.Resource(deployments).Namespace(ns).Delete(t.Context(), "app-api", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	drift("helm release app: Deployment drift/app-api: missing")

	scaled := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "apps/v1", "kind": "Deployment",
		"metadata": map[string]any{"name": "app-api"},
		"spec": map[string]any{
			"replicas": int64(3),
			"selector": map[string]any{"matchLabels": map[string]any{"app": "app-api"}},
			"template": map[string]any{
				"metadata": map[string]any{"labels": map[string]any{"app": "app-api"}},
				"spec":     map[string]any{"containers": []any{map[string]any{"name": "api", "image": "registry.invalid/api:1"}}},
			},
		},
	}}
	if _, err := e.conn.Dynamic.Resource(deployments).Namespace(ns).Create(t.Context(), scaled, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	drift("helm release app: Deployment drift/app-api: 3 replicas, the release has 1")
}
