package mgmtcluster_test

import (
	"context"
	"fmt"
	"maps"
	"os"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"
	watchtools "k8s.io/client-go/tools/watch"
	"k8s.io/utils/ptr"

	"github.com/qumulus/terraform-provider-qumulus/internal/capi"
	clusterpkg "github.com/qumulus/terraform-provider-qumulus/internal/cluster"
	"github.com/qumulus/terraform-provider-qumulus/internal/kamaji"
	"github.com/qumulus/terraform-provider-qumulus/internal/testsupport/fixtures"
	"github.com/qumulus/terraform-provider-qumulus/internal/testsupport/mgmtcluster"
	"github.com/qumulus/terraform-provider-qumulus/internal/testsupport/simulator"
)

var cluster *mgmtcluster.Cluster

func TestMain(m *testing.M) {
	if os.Getenv("TF_ACC") == "" {
		fmt.Println("mgmtcluster: TF_ACC is not set; skipping the tests that need the local management cluster")
		os.Exit(m.Run())
	}
	var err error
	cluster, err = mgmtcluster.FromEnvironment(context.Background(), mgmtcluster.Options{
		Simulator: simulator.Options{ReadyDelay: 500 * time.Millisecond, DeleteDelay: 300 * time.Millisecond},
		Verbose:   os.Getenv("QUMULUS_TEST_VERBOSE") != "",
	})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	code := m.Run()
	if err := cluster.Stop(); err != nil {
		fmt.Fprintln(os.Stderr, "stopping the management cluster:", err)
		code = 1
	}
	os.Exit(code)
}

func needCluster(t *testing.T, simulated bool) (kubernetes.Interface, dynamic.Interface) {
	t.Helper()
	if cluster == nil {
		t.Skip("needs the local management cluster (TF_ACC=1)")
	}
	if simulated && !cluster.Simulated {
		t.Skip("tests the simulator, which does not run against " + mgmtcluster.ExistingClusterEnv)
	}
	return kubernetes.NewForConfigOrDie(cluster.RESTConfig), dynamic.NewForConfigOrDie(cluster.RESTConfig)
}

func namespace(t testing.TB, cs kubernetes.Interface) string {
	t.Helper()
	ns, err := cs.CoreV1().Namespaces().Create(t.Context(), &corev1.Namespace{
		ObjectMeta: metav1.ObjectMeta{GenerateName: "mgmt-test-"},
	}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return ns.Name
}

var tenantControlPlane = fixtures.TenantControlPlane

func TestCRDValidationRejectsInvalidTenantControlPlane(t *testing.T) {
	_, dyn := needCluster(t, false)
	cs := kubernetes.NewForConfigOrDie(cluster.RESTConfig)
	ns := namespace(t, cs)

	bad := tenantControlPlane(ns, "bad-service")
	_ = unstructured.SetNestedField(bad.Object, "Bogus", "spec", "controlPlane", "service", "serviceType")
	_, err := dyn.Resource(kamaji.TenantControlPlaneGVR).Namespace(ns).Create(t.Context(), bad, metav1.CreateOptions{})
	if !apierrors.IsInvalid(err) || !strings.Contains(err.Error(), "serviceType") {
		t.Fatalf("a TenantControlPlane with serviceType Bogus was not rejected by the CRD schema: %v", err)
	}

	missing := tenantControlPlane(ns, "no-kubernetes")
	unstructured.RemoveNestedField(missing.Object, "spec", "kubernetes")
	_, err = dyn.Resource(kamaji.TenantControlPlaneGVR).Namespace(ns).Create(t.Context(), missing, metav1.CreateOptions{})
	if !apierrors.IsInvalid(err) || !strings.Contains(err.Error(), "kubernetes") {
		t.Fatalf("a TenantControlPlane without spec.kubernetes was not rejected: %v", err)
	}

	if cluster.CRDs.Upstream {
		// The 26.x CRD's CEL rules read spec.networkProfile unconditionally.
		noProfile := tenantControlPlane(ns, "no-network-profile")
		unstructured.RemoveNestedField(noProfile.Object, "spec", "networkProfile")
		_, err = dyn.Resource(kamaji.TenantControlPlaneGVR).Namespace(ns).Create(t.Context(), noProfile, metav1.CreateOptions{})
		if !apierrors.IsInvalid(err) || !strings.Contains(err.Error(), "networkProfile") {
			t.Fatalf("the upstream CRD's CEL validation did not reject a TenantControlPlane without networkProfile: %v", err)
		}
	}
}

func TestCRDsInstalled(t *testing.T) {
	cs, _ := needCluster(t, false)
	for _, gvr := range []schema.GroupVersionResource{
		kamaji.TenantControlPlaneGVR, kamaji.DataStoreGVR, capi.KamajiControlPlaneGVR, capi.ClusterGVR, capi.MachineDeploymentGVR,
		{Group: "bootstrap.cluster.x-k8s.io", Version: "v1beta2", Resource: "kubeadmconfigtemplates"},
	} {
		list, err := cs.Discovery().ServerResourcesForGroupVersion(gvr.GroupVersion().String())
		if err != nil {
			t.Errorf("%s: %v", gvr.GroupVersion(), err)
			continue
		}
		found := false
		for _, r := range list.APIResources {
			found = found || r.Name == gvr.Resource
		}
		if !found {
			t.Errorf("%s is not served", gvr)
		}
	}
}

// waitFor watches one object until cond holds.
func waitFor(t *testing.T, ri dynamic.ResourceInterface, name string, cond func(*unstructured.Unstructured) bool) *unstructured.Unstructured {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 90*time.Second)
	defer cancel()
	var last *unstructured.Unstructured
	_, err := watchtools.UntilWithSync(ctx, &fieldListWatch{ri: ri, name: name}, &unstructured.Unstructured{}, nil,
		func(ev watch.Event) (bool, error) {
			if ev.Type == watch.Deleted {
				return cond(nil), nil
			}
			last = ev.Object.(*unstructured.Unstructured)
			return cond(last), nil
		})
	if err != nil {
		t.Fatalf("waiting for %s: %v (last seen: %v)", name, err, last)
	}
	return last
}

func status(u *unstructured.Unstructured) (phase, version string) {
	phase, _, _ = unstructured.NestedString(u.Object, "status", "kubernetesResources", "version", "status")
	version, _, _ = unstructured.NestedString(u.Object, "status", "kubernetesResources", "version", "version")
	return phase, version
}

func TestSimulatedTenantControlPlaneLifecycle(t *testing.T) {
	cs, dyn := needCluster(t, true)
	ns := namespace(t, cs)
	tcps := dyn.Resource(kamaji.TenantControlPlaneGVR).Namespace(ns)

	if _, err := tcps.Create(t.Context(), tenantControlPlane(ns, "alpha"), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	var sawProvisioning bool
	tcp := waitFor(t, tcps, "alpha", func(u *unstructured.Unstructured) bool {
		phase, version := status(u)
		sawProvisioning = sawProvisioning || phase == kamaji.StatusProvisioning
		// Kamaji v1.0.0's CRD (the fallback) has no status.observedGeneration.
		observed, found, _ := unstructured.NestedInt64(u.Object, "status", "observedGeneration")
		return phase == kamaji.StatusReady && version == "v1.35.0" && (!found || observed == u.GetGeneration())
	})
	if !sawProvisioning {
		t.Error("the TenantControlPlane never reported Provisioning before Ready")
	}
	if got, _, _ := unstructured.NestedString(tcp.Object, "status", "kubeconfig", "admin", "secretName"); got != "alpha-admin-kubeconfig" {
		t.Errorf("status.kubeconfig.admin.secretName = %q", got)
	}
	if ep, _, _ := unstructured.NestedString(tcp.Object, "status", "controlPlaneEndpoint"); !strings.Contains(ep, ":") {
		t.Errorf("status.controlPlaneEndpoint = %q, want host:port", ep)
	}
	if !containsString(tcp.GetFinalizers(), kamaji.Finalizer) {
		t.Errorf("finalizers = %v, want %s", tcp.GetFinalizers(), kamaji.Finalizer)
	}
	ca := checkCAStatus(t, cs, tcp)

	// The kubeconfig reaches a real tenant API server, which runs workloads to readiness.
	secret, err := cs.CoreV1().Secrets(ns).Get(t.Context(), "alpha-admin-kubeconfig", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for _, key := range []string{kamaji.AdminKubeconfigKey, kamaji.SuperAdminKubeconfigKey} {
		if len(secret.Data[key]) == 0 {
			t.Fatalf("secret has no %s", key)
		}
	}
	tenantCfg, err := clientcmd.RESTConfigFromKubeConfig(secret.Data[kamaji.AdminKubeconfigKey])
	if err != nil {
		t.Fatal(err)
	}
	if tenantCfg.Host == cluster.Host {
		t.Fatal("the tenant kubeconfig points at the management cluster")
	}
	tenant := kubernetes.NewForConfigOrDie(tenantCfg)
	testTenantWorkloads(t, tenant)
	servers := cluster.Simulator().TenantServers()
	if servers < 1 {
		t.Fatalf("the simulator reports %d tenant API servers while alpha is ready", servers)
	}

	// Scale 1 -> 2: Kamaji observes the new generation while the second pod is not yet
	// ready, so readiness read from the spec would come too early.
	if got := podsOf(tcp); got != [4]int64{1, 1, 1, 1} {
		t.Errorf("status.kubernetesResources.deployment of a Ready control plane with 1 replica: %v", got)
	}
	if _, err := tcps.Patch(t.Context(), "alpha", "application/merge-patch+json",
		[]byte(`{"spec":{"controlPlane":{"deployment":{"replicas":2}}}}`), metav1.PatchOptions{}); err != nil {
		t.Fatal(err)
	}
	want := clusterpkg.Spec{Version: "v1.35.0", Replicas: ptr.To[int64](2)}
	var sawObservedLagging bool
	first := waitFor(t, tcps, "alpha", func(u *unstructured.Unstructured) bool {
		phase, _ := status(u)
		observed, found, _ := unstructured.NestedInt64(u.Object, "status", "observedGeneration")
		replicas, _, _ := unstructured.NestedInt64(u.Object, "spec", "controlPlane", "deployment", "replicas")
		if phase == kamaji.StatusReady && replicas == 2 && (!found || observed == u.GetGeneration()) && podsOf(u)[1] < 2 {
			sawObservedLagging = true
		}
		return clusterpkg.StatusOf(u).Ready(want)
	})
	if !sawObservedLagging {
		t.Error("the scale never showed the new generation observed with the new pod not yet ready")
	}
	if got := podsOf(first); got != [4]int64{2, 2, 2, 2} {
		t.Errorf("cluster.Status.Ready reported the scale done with pods %v (replicas, ready, available, updated), want all 2", got)
	}

	// Upgrade: Upgrading first, then Ready at the new version.
	patch := []byte(`{"spec":{"kubernetes":{"version":"v1.36.0"}}}`)
	if _, err := tcps.Patch(t.Context(), "alpha", "application/merge-patch+json", patch, metav1.PatchOptions{}); err != nil {
		t.Fatal(err)
	}
	var sawUpgrading bool
	waitFor(t, tcps, "alpha", func(u *unstructured.Unstructured) bool {
		phase, version := status(u)
		sawUpgrading = sawUpgrading || phase == kamaji.StatusUpgrading
		return phase == kamaji.StatusReady && version == "v1.36.0"
	})
	if !sawUpgrading {
		t.Error("the version change never reported Upgrading")
	}

	// The CA did not change: neither does what status.certificates.ca says of it.
	if got := caStatusOf(t, tcps, "alpha"); !maps.Equal(got, ca) {
		t.Errorf("status.certificates.ca changed with the CA unchanged: %v, then %v", ca, got)
	}

	// Deletion waits for Kamaji's finalizer, then removes the Secret and the server.
	if err := tcps.Delete(t.Context(), "alpha", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, tcps, "alpha", func(u *unstructured.Unstructured) bool { return u == nil })
	if _, err := cs.CoreV1().Secrets(ns).Get(t.Context(), "alpha-admin-kubeconfig", metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Errorf("admin kubeconfig Secret still there after deletion: %v", err)
	}
	if after := cluster.Simulator().TenantServers(); after != servers-1 {
		t.Errorf("tenant API servers: %d while alpha was ready, %d after its deletion; want its server stopped", servers, after)
	}
}

// checkCAStatus checks that status.certificates.ca names the CA Secret and carries
// Kamaji's checksum of its data, and returns it.
func checkCAStatus(t *testing.T, cs kubernetes.Interface, tcp *unstructured.Unstructured) map[string]string {
	t.Helper()
	ca := caStatus(tcp)
	secret, err := cs.CoreV1().Secrets(tcp.GetNamespace()).Get(t.Context(), kamaji.CASecretName(tcp.GetName()), metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	want := simulator.Checksum(secret.Data)
	if ca["secretName"] != secret.Name || ca["checksum"] != want || ca["lastUpdate"] == "" {
		t.Errorf("status.certificates.ca = %v, want secretName %s, checksum %s and a lastUpdate", ca, secret.Name, want)
	}
	if got := secret.Annotations[simulator.ChecksumAnnotation]; got != want {
		t.Errorf("CA Secret annotation %s = %q, want %q", simulator.ChecksumAnnotation, got, want)
	}
	return ca
}

func caStatusOf(t *testing.T, tcps dynamic.ResourceInterface, name string) map[string]string {
	t.Helper()
	tcp, err := tcps.Get(t.Context(), name, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return caStatus(tcp)
}

func caStatus(tcp *unstructured.Unstructured) map[string]string {
	ca, _, _ := unstructured.NestedStringMap(tcp.Object, "status", "certificates", "ca")
	return ca
}

// podsOf returns status.kubernetesResources.deployment's replicas, readyReplicas,
// availableReplicas and updatedReplicas.
func podsOf(u *unstructured.Unstructured) [4]int64 {
	var out [4]int64
	for i, k := range []string{"replicas", "readyReplicas", "availableReplicas", "updatedReplicas"} {
		out[i], _, _ = unstructured.NestedInt64(u.Object, "status", "kubernetesResources", "deployment", k)
	}
	return out
}

func testTenantWorkloads(t *testing.T, tenant kubernetes.Interface) {
	t.Helper()
	labels := map[string]string{"app": "web"}
	pod := corev1.PodTemplateSpec{
		ObjectMeta: metav1.ObjectMeta{Labels: labels},
		Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "web", Image: "nginx"}}},
	}
	if _, err := tenant.AppsV1().Deployments("default").Create(t.Context(), &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: "web"},
		Spec: appsv1.DeploymentSpec{
			Replicas: ptr.To[int32](3), Selector: &metav1.LabelSelector{MatchLabels: labels}, Template: pod,
		},
	}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	job := pod.DeepCopy()
	job.Spec.RestartPolicy = corev1.RestartPolicyNever
	job.Labels = nil
	if _, err := tenant.BatchV1().Jobs("default").Create(t.Context(), &batchv1.Job{
		ObjectMeta: metav1.ObjectMeta{Name: "migrate"},
		Spec:       batchv1.JobSpec{Template: *job},
	}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	for {
		d, err := tenant.AppsV1().Deployments("default").Get(ctx, "web", metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		j, err := tenant.BatchV1().Jobs("default").Get(ctx, "migrate", metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		complete := false
		for _, c := range j.Status.Conditions {
			complete = complete || (c.Type == batchv1.JobComplete && c.Status == corev1.ConditionTrue)
		}
		if d.Status.AvailableReplicas == 3 && d.Status.ObservedGeneration == d.Generation && complete {
			return
		}
		select {
		case <-ctx.Done():
			t.Fatalf("tenant workloads never became ready: deployment %+v, job %+v", d.Status, j.Status)
		case <-time.After(200 * time.Millisecond):
		}
	}
}

func TestSimulatedKamajiControlPlaneAndMachineDeployment(t *testing.T) {
	cs, dyn := needCluster(t, true)
	ns := namespace(t, cs)
	kcps := dyn.Resource(capi.KamajiControlPlaneGVR).Namespace(ns)
	if _, err := kcps.Create(t.Context(), kamajiControlPlane(ns, "beta"), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := dyn.Resource(capi.ClusterGVR).Namespace(ns).Create(t.Context(), capiCluster(ns, "beta", "beta", nil, nil), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	got := waitFor(t, kcps, "beta", func(u *unstructured.Unstructured) bool {
		ready, _, _ := unstructured.NestedBool(u.Object, "status", "ready")
		return ready
	})
	if ok, _, _ := unstructured.NestedBool(got.Object, "status", "initialization", "controlPlaneInitialized"); !ok {
		t.Error("status.initialization.controlPlaneInitialized is not true")
	}
	if v, _, _ := unstructured.NestedString(got.Object, "status", "version"); v != "v1.35.0" {
		t.Errorf("status.version = %q", v)
	}
	if h, _, _ := unstructured.NestedString(got.Object, "spec", "controlPlaneEndpoint", "host"); h == "" {
		t.Error("spec.controlPlaneEndpoint.host not set")
	}
	tcp, err := dyn.Resource(kamaji.TenantControlPlaneGVR).Namespace(ns).Get(t.Context(), "beta", metav1.GetOptions{})
	if err != nil {
		t.Fatalf("the KamajiControlPlane did not create its TenantControlPlane: %v", err)
	}
	if owner := metav1.GetControllerOf(tcp); owner == nil || owner.Kind != "KamajiControlPlane" {
		t.Errorf("TenantControlPlane controller = %v", owner)
	}

	createTemplates(t, dyn, ns, "workers")
	mds := dyn.Resource(capi.MachineDeploymentGVR).Namespace(ns)
	if _, err := mds.Create(t.Context(), machineDeployment(ns, "workers", "beta", "workers", "workers"), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, mds, "workers", poolAvailable(3))
	if _, err := mds.Patch(t.Context(), "workers", "application/merge-patch+json", []byte(`{"spec":{"replicas":5}}`), metav1.PatchOptions{}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, mds, "workers", poolAvailable(5))

	// Deleting the KamajiControlPlane takes its TenantControlPlane with it.
	if err := kcps.Delete(t.Context(), "beta", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, dyn.Resource(kamaji.TenantControlPlaneGVR).Namespace(ns), "beta", func(u *unstructured.Unstructured) bool { return u == nil })
}

// poolAvailable holds when the MachineDeployment reports want machines, all available and
// up to date, at its current generation.
func poolAvailable(want int64) func(*unstructured.Unstructured) bool {
	return func(u *unstructured.Unstructured) bool {
		n, _, _ := unstructured.NestedInt64(u.Object, "status", "availableReplicas")
		up, _, _ := unstructured.NestedInt64(u.Object, "status", "upToDateReplicas")
		all, _, _ := unstructured.NestedInt64(u.Object, "status", "replicas")
		g, _, _ := unstructured.NestedInt64(u.Object, "status", "observedGeneration")
		return n == want && up == want && all == want && g == u.GetGeneration()
	}
}

func kamajiControlPlane(ns, name string) *unstructured.Unstructured {
	return &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": capi.ControlPlaneGroupVersion.String(),
		"kind":       "KamajiControlPlane",
		"metadata":   map[string]any{"name": name, "namespace": ns},
		"spec": map[string]any{
			"version":       "v1.35.0",
			"replicas":      int64(2),
			"dataStoreName": simulator.DefaultDataStore,
			"network":       map[string]any{"serviceType": "ClusterIP"},
		},
	}}
}

// capiCluster is a Cluster API Cluster whose controlPlaneRef names the KamajiControlPlane
// kcp; ref overrides the reference's fields.
func capiCluster(ns, name, kcp string, ref map[string]any, network map[string]any) *unstructured.Unstructured {
	controlPlaneRef := map[string]any{"apiGroup": capi.ControlPlaneGroup, "kind": "KamajiControlPlane", "name": kcp}
	for k, v := range ref {
		controlPlaneRef[k] = v
	}
	spec := map[string]any{"controlPlaneRef": controlPlaneRef}
	if network != nil {
		spec["clusterNetwork"] = network
	}
	return &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": capi.ClusterGVR.GroupVersion().String(),
		"kind":       "Cluster",
		"metadata":   map[string]any{"name": name, "namespace": ns},
		"spec":       spec,
	}}
}

func machineDeployment(ns, name, cluster, bootstrap, infrastructure string) *unstructured.Unstructured {
	return &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": capi.MachineDeploymentGVK.GroupVersion().String(),
		"kind":       "MachineDeployment",
		"metadata":   map[string]any{"name": name, "namespace": ns},
		"spec": map[string]any{
			"clusterName": cluster,
			"replicas":    int64(3),
			"selector":    map[string]any{"matchLabels": map[string]any{"pool": name}},
			"template": map[string]any{
				"metadata": map[string]any{"labels": map[string]any{"pool": name}},
				"spec": map[string]any{
					"clusterName": cluster,
					"version":     "v1.35.0",
					"bootstrap": map[string]any{"configRef": map[string]any{
						"apiGroup": bootstrapGVR.Group, "kind": "KubeadmConfigTemplate", "name": bootstrap,
					}},
					"infrastructureRef": map[string]any{
						"apiGroup": dockerGVR.Group, "kind": "DockerMachineTemplate", "name": infrastructure,
					},
				},
			},
		},
	}}
}

var (
	bootstrapGVR = schema.GroupVersionResource{Group: "bootstrap.cluster.x-k8s.io", Version: "v1beta2", Resource: "kubeadmconfigtemplates"}
	dockerGVR    = schema.GroupVersionResource{Group: "infrastructure.cluster.x-k8s.io", Version: "v1beta2", Resource: "dockermachinetemplates"}
)

// createTemplates creates a KubeadmConfigTemplate and a DockerMachineTemplate named name.
func createTemplates(t testing.TB, dyn dynamic.Interface, ns, name string) {
	t.Helper()
	createBootstrapTemplate(t, dyn, ns, name)
	createInfrastructureTemplate(t, dyn, ns, name)
}

func createBootstrapTemplate(t testing.TB, dyn dynamic.Interface, ns, name string) {
	t.Helper()
	create(t, dyn.Resource(bootstrapGVR).Namespace(ns), "KubeadmConfigTemplate", bootstrapGVR, ns, name, map[string]any{"preKubeadmCommands": []any{"true"}})
}

func createInfrastructureTemplate(t testing.TB, dyn dynamic.Interface, ns, name string) {
	t.Helper()
	create(t, dyn.Resource(dockerGVR).Namespace(ns), "DockerMachineTemplate", dockerGVR, ns, name, map[string]any{})
}

func create(t testing.TB, ri dynamic.ResourceInterface, kind string, gvr schema.GroupVersionResource, ns, name string, spec map[string]any) {
	t.Helper()
	obj := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": gvr.GroupVersion().String(),
		"kind":       kind,
		"metadata":   map[string]any{"name": name, "namespace": ns},
		"spec":       map[string]any{"template": map[string]any{"spec": spec}},
	}}
	if _, err := ri.Create(t.Context(), obj, metav1.CreateOptions{}); err != nil {
		t.Fatalf("creating %s %s: %v", kind, name, err)
	}
}

func containsString(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

// fieldListWatch lists and watches one object by name, or all of them when name is empty.
type fieldListWatch struct {
	ri   dynamic.ResourceInterface
	name string
}

func (l *fieldListWatch) List(opts metav1.ListOptions) (runtime.Object, error) {
	if l.name != "" {
		opts.FieldSelector = "metadata.name=" + l.name
	}
	return l.ri.List(context.Background(), opts)
}

func (l *fieldListWatch) Watch(opts metav1.ListOptions) (watch.Interface, error) {
	if l.name != "" {
		opts.FieldSelector = "metadata.name=" + l.name
	}
	return l.ri.Watch(context.Background(), opts)
}
