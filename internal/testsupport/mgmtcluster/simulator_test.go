package mgmtcluster_test

import (
	"context"
	"encoding/base64"
	"fmt"
	"strings"
	"testing"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/util/rand"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/qumulus/terraform-provider-qumulus/internal/capi"
	"github.com/qumulus/terraform-provider-qumulus/internal/kamaji"
	"github.com/qumulus/terraform-provider-qumulus/internal/testsupport/simulator"
)

// settle is long enough for the simulator to have acted several times over.
const settle = 2 * time.Second

// stays fails when cond does not hold for the whole of settle.
func stays(t *testing.T, what string, cond func() (bool, string)) {
	t.Helper()
	deadline := time.Now().Add(settle)
	for time.Now().Before(deadline) {
		if ok, got := cond(); !ok {
			t.Fatalf("%s: %s", what, got)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func conditionOf(u *unstructured.Unstructured, typ string) (status, reason, message string) {
	conditions, _, _ := unstructured.NestedSlice(u.Object, "status", "conditions")
	for _, c := range conditions {
		m, _ := c.(map[string]any)
		if m["type"] == typ {
			status, _ = m["status"].(string)
			reason, _ = m["reason"].(string)
			message, _ = m["message"].(string)
		}
	}
	return status, reason, message
}

// Kamaji's provider does nothing for a KamajiControlPlane until Cluster API has made a
// Cluster its owner, and Cluster API adopts only the object its controlPlaneRef names by
// apiGroup, kind and name.
func TestSimulatedKamajiControlPlaneWaitsForItsCluster(t *testing.T) {
	cs, dyn := needCluster(t, true)
	ns := namespace(t, cs)
	kcps := dyn.Resource(capi.KamajiControlPlaneGVR).Namespace(ns)
	tcps := dyn.Resource(kamaji.TenantControlPlaneGVR).Namespace(ns)
	clusters := dyn.Resource(capi.ClusterGVR).Namespace(ns)
	kcp := kamajiControlPlane(ns, "orphan")
	kcp.SetAnnotations(map[string]string{simulator.HoldAnnotation: "true"})
	if _, err := kcps.Create(t.Context(), kcp, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	noTCP := func() (bool, string) {
		_, err := tcps.Get(t.Context(), "orphan", metav1.GetOptions{})
		return apierrors.IsNotFound(err), fmt.Sprintf("TenantControlPlane made: %v", err)
	}
	stays(t, "a KamajiControlPlane no Cluster owns", noTCP)

	// Same name, other kind or group: not this control plane.
	for name, ref := range map[string]map[string]any{
		"other-kind":  {"kind": "KubeadmControlPlane"},
		"other-group": {"apiGroup": "controlplane.example.com"},
	} {
		if _, err := clusters.Create(t.Context(), capiCluster(ns, name, "orphan", ref, nil), metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	stays(t, "Clusters whose controlPlaneRef differs in kind or group", noTCP)
	got, err := kcps.Get(t.Context(), "orphan", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if owners := got.GetOwnerReferences(); len(owners) > 0 {
		t.Fatalf("Clusters that do not refer to it own the KamajiControlPlane: %v", owners)
	}
	for _, name := range []string{"other-kind", "other-group"} {
		cl := waitFor(t, clusters, name, func(u *unstructured.Unstructured) bool {
			s, _, _ := conditionOf(u, "ControlPlaneAvailable")
			return s != ""
		})
		if s, reason, _ := conditionOf(cl, "ControlPlaneAvailable"); s != "False" || reason != "ObjectDoesNotExist" {
			t.Errorf("Cluster %s: ControlPlaneAvailable %s (%s), want False (ObjectDoesNotExist)", name, s, reason)
		}
	}

	if _, err := clusters.Create(t.Context(), capiCluster(ns, "owner", "orphan", nil, nil), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, tcps, "orphan", func(u *unstructured.Unstructured) bool { return u != nil })
	got, err = kcps.Get(t.Context(), "orphan", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if owner := metav1.GetControllerOf(got); owner == nil || owner.Kind != "Cluster" || owner.Name != "owner" {
		t.Errorf("KamajiControlPlane controller = %v, want Cluster owner", owner)
	}
	if got.GetLabels()["cluster.x-k8s.io/cluster-name"] != "owner" {
		t.Errorf("KamajiControlPlane labels %v lack cluster.x-k8s.io/cluster-name=owner", got.GetLabels())
	}
}

// The Cluster controller reports what v1beta2 reports, and the Cluster's network reaches the
// TenantControlPlane whole, dual-stack ranges included.
func TestSimulatedClusterStatusAndNetwork(t *testing.T) {
	cs, dyn := needCluster(t, true)
	ns := namespace(t, cs)
	network := map[string]any{
		"pods":          map[string]any{"cidrBlocks": []any{"10.244.0.0/16", "fd00:10:244::/56"}},
		"services":      map[string]any{"cidrBlocks": []any{"10.96.0.0/16", "fd00:10:96::/112"}},
		"serviceDomain": "gamma.local",
	}
	if _, err := dyn.Resource(capi.KamajiControlPlaneGVR).Namespace(ns).Create(t.Context(), kamajiControlPlane(ns, "gamma"), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	clusters := dyn.Resource(capi.ClusterGVR).Namespace(ns)
	if _, err := clusters.Create(t.Context(), capiCluster(ns, "gamma", "gamma", nil, network), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	cl := waitFor(t, clusters, "gamma", func(u *unstructured.Unstructured) bool {
		s, _, _ := conditionOf(u, "Available")
		return s == "True"
	})
	for _, path := range [][]string{{"initialization", "controlPlaneInitialized"}, {"initialization", "infrastructureProvisioned"}} {
		if ok, _, _ := unstructured.NestedBool(cl.Object, append([]string{"status"}, path...)...); !ok {
			t.Errorf("Cluster status.%s is not true", strings.Join(path, "."))
		}
	}
	for _, typ := range []string{"InfrastructureReady", "ControlPlaneInitialized", "ControlPlaneAvailable", "WorkersAvailable", "RemoteConnectionProbe"} {
		if s, reason, msg := conditionOf(cl, typ); s != "True" {
			t.Errorf("Cluster condition %s = %q (%s: %s), want True", typ, s, reason, msg)
		}
	}
	if h, _, _ := unstructured.NestedString(cl.Object, "spec", "controlPlaneEndpoint", "host"); h == "" {
		t.Error("the control plane endpoint was not copied into the Cluster")
	}
	if n, _, _ := unstructured.NestedInt64(cl.Object, "status", "controlPlane", "readyReplicas"); n != 2 {
		t.Errorf("Cluster status.controlPlane.readyReplicas = %d, want 2", n)
	}

	tcp, err := dyn.Resource(kamaji.TenantControlPlaneGVR).Namespace(ns).Get(t.Context(), "gamma", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	single := map[string]string{"podCidr": "10.244.0.0/16", "serviceCidr": "10.96.0.0/16"}
	if cluster.CRDs.Upstream {
		single["clusterDomain"] = "gamma.local"
	}
	for field, want := range single {
		if got, _, _ := unstructured.NestedString(tcp.Object, "spec", "networkProfile", field); got != want {
			t.Errorf("TenantControlPlane networkProfile.%s = %q, want %q", field, got, want)
		}
	}
	if !cluster.CRDs.Upstream {
		t.Log("SKIP the dual-stack list fields and clusterDomain: Kamaji v1.0.0's CRD (the fallback) has neither")
		return
	}
	for field, want := range map[string][]string{
		"podCidrs":     {"10.244.0.0/16", "fd00:10:244::/56"},
		"serviceCidrs": {"10.96.0.0/16", "fd00:10:96::/112"},
	} {
		if got, _, _ := unstructured.NestedStringSlice(tcp.Object, "spec", "networkProfile", field); strings.Join(got, ",") != strings.Join(want, ",") {
			t.Errorf("TenantControlPlane networkProfile.%s = %v, want %v", field, got, want)
		}
	}
}

func dataStore(t *testing.T, dyn dynamic.Interface, driver string) string {
	t.Helper()
	name := "test-" + strings.ToLower(driver) + "-" + rand.String(5)
	content := map[string]any{"content": base64.StdEncoding.EncodeToString([]byte("unused"))}
	spec := map[string]any{"driver": driver, "endpoints": []any{"127.0.0.1:1"}}
	if driver == "etcd" {
		spec["tlsConfig"] = etcdTLS(content)
	} else {
		spec["basicAuth"] = map[string]any{"username": content, "password": content}
	}
	ds := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": kamaji.GroupVersion.String(),
		"kind":       "DataStore",
		"metadata":   map[string]any{"name": name},
		"spec":       spec,
	}}
	if _, err := dyn.Resource(kamaji.DataStoreGVR).Create(t.Context(), ds, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = dyn.Resource(kamaji.DataStoreGVR).Delete(context.Background(), name, metav1.DeleteOptions{})
	})
	return name
}

// The rules of Kamaji's webhook the provider relies on refuse the write itself.
func TestSimulatedKamajiWebhook(t *testing.T) {
	cs, dyn := needCluster(t, true)
	ns := namespace(t, cs)
	tcps := dyn.Resource(kamaji.TenantControlPlaneGVR).Namespace(ns)
	held := func(name, dataStore string) *unstructured.Unstructured {
		tcp := tenantControlPlane(ns, name)
		tcp.SetAnnotations(map[string]string{simulator.HoldAnnotation: "true"})
		if dataStore != "" {
			_ = unstructured.SetNestedField(tcp.Object, dataStore, "spec", "dataStore")
		}
		return tcp
	}
	refused := func(err error, want string) {
		t.Helper()
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("got %v, want the write refused with %q", err, want)
		}
	}

	_, err := tcps.Create(t.Context(), held("nowhere", "no-such-datastore"), metav1.CreateOptions{})
	refused(err, "no-such-datastore DataStore does not exist")

	if _, err := tcps.Create(t.Context(), held("delta", simulator.DefaultDataStore), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	patch := func(body string) error {
		_, err := tcps.Patch(t.Context(), "delta", "application/merge-patch+json", []byte(body), metav1.PatchOptions{})
		return err
	}
	refused(patch(`{"spec":{"kubernetes":{"version":"v1.34.9"}}}`), "unable to downgrade")
	refused(patch(`{"spec":{"kubernetes":{"version":"v1.37.0"}}}`), "non-sequential")
	if err := patch(`{"spec":{"kubernetes":{"version":"v1.36.1"}}}`); err != nil {
		t.Errorf("the next minor version was refused: %v", err)
	}
	refused(patch(fmt.Sprintf(`{"spec":{"dataStore":%q}}`, dataStore(t, dyn, "PostgreSQL"))), "same driver")
	if err := patch(fmt.Sprintf(`{"spec":{"dataStore":%q}}`, dataStore(t, dyn, "etcd"))); err != nil {
		t.Errorf("a move to another etcd DataStore was refused: %v", err)
	}
}

// A control plane whose DataStore is gone does not become ready, and does once it is back.
func TestSimulatedTenantControlPlaneNeedsItsDataStore(t *testing.T) {
	cs, dyn := needCluster(t, true)
	ns := namespace(t, cs)
	tcps := dyn.Resource(kamaji.TenantControlPlaneGVR).Namespace(ns)
	name := dataStore(t, dyn, "etcd")
	tcp := tenantControlPlane(ns, "epsilon")
	_ = unstructured.SetNestedField(tcp.Object, name, "spec", "dataStore")
	if _, err := tcps.Create(t.Context(), tcp, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	// Kamaji's webhook checks the DataStore at admission; it can go later.
	if err := dyn.Resource(kamaji.DataStoreGVR).Delete(t.Context(), name, metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	// A control plane created alongside on the default DataStore shows how long ready takes.
	if _, err := tcps.Create(t.Context(), tenantControlPlane(ns, "control"), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, tcps, "control", func(u *unstructured.Unstructured) bool {
		phase, _ := status(u)
		return phase == kamaji.StatusReady
	})
	stays(t, "a TenantControlPlane whose DataStore is gone", func() (bool, string) {
		u, err := tcps.Get(t.Context(), "epsilon", metav1.GetOptions{})
		if err != nil {
			return false, err.Error()
		}
		phase, _ := status(u)
		return phase != kamaji.StatusReady, "reported " + phase
	})
	if err := tcps.Delete(t.Context(), "control", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	ds := dataStoreNamed(t, dyn, name)
	if _, err := dyn.Resource(kamaji.DataStoreGVR).Create(t.Context(), ds, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, tcps, "epsilon", func(u *unstructured.Unstructured) bool {
		phase, _ := status(u)
		store, _, _ := unstructured.NestedString(u.Object, "status", "storage", "dataStoreName")
		return phase == kamaji.StatusReady && store == name
	})
	if err := tcps.Delete(t.Context(), "epsilon", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, tcps, "epsilon", func(u *unstructured.Unstructured) bool { return u == nil })
}

func dataStoreNamed(t *testing.T, _ dynamic.Interface, name string) *unstructured.Unstructured {
	t.Helper()
	content := map[string]any{"content": base64.StdEncoding.EncodeToString([]byte("unused"))}
	return &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": kamaji.GroupVersion.String(),
		"kind":       "DataStore",
		"metadata":   map[string]any{"name": name},
		"spec": map[string]any{
			"driver":    "etcd",
			"endpoints": []any{"127.0.0.1:1"},
			"tlsConfig": etcdTLS(content),
		},
	}}
}

func etcdTLS(content map[string]any) map[string]any {
	pair := map[string]any{"certificate": content, "privateKey": content}
	return map[string]any{"certificateAuthority": pair, "clientCertificate": pair}
}

// A MachineDeployment whose templates are missing or misnamed makes no machines and says
// which template it lacks.
func TestSimulatedMachineDeploymentNeedsItsTemplates(t *testing.T) {
	cs, dyn := needCluster(t, true)
	ns := namespace(t, cs)
	mds := dyn.Resource(capi.MachineDeploymentGVR).Namespace(ns)
	md := machineDeployment(ns, "pool", "none", "pool-bootstrap", "pool-infra")
	if _, err := mds.Create(t.Context(), md, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	blocked := func(want ...string) {
		t.Helper()
		stays(t, "a MachineDeployment with missing templates", func() (bool, string) {
			u, err := mds.Get(t.Context(), "pool", metav1.GetOptions{})
			if err != nil {
				return false, err.Error()
			}
			s, _, _ := conditionOf(u, "Available")
			n, _, _ := unstructured.NestedInt64(u.Object, "status", "availableReplicas")
			return s != "True" && n == 0, fmt.Sprintf("Available %q with %d available machines", s, n)
		})
		u, err := mds.Get(t.Context(), "pool", metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		_, _, msg := conditionOf(u, "ScalingUp")
		for _, w := range want {
			if !strings.Contains(msg, w) {
				t.Errorf("ScalingUp message %q does not name %s", msg, w)
			}
		}
	}
	blocked("KubeadmConfigTemplate pool-bootstrap", "DockerMachineTemplate pool-infra")

	// A template of the right name in the wrong kind does not count.
	createBootstrapTemplate(t, dyn, ns, "pool-infra")
	createBootstrapTemplate(t, dyn, ns, "pool-bootstrap")
	blocked("DockerMachineTemplate pool-infra")

	createInfrastructureTemplate(t, dyn, ns, "pool-infra")
	waitFor(t, mds, "pool", poolAvailable(3))
}

// In a rollout the old machines drain: status.replicas is above spec for a while, and the
// pool is done only once they are gone.
func TestSimulatedMachineDeploymentRolloutDrains(t *testing.T) {
	cs, dyn := needCluster(t, true)
	ns := namespace(t, cs)
	mds := dyn.Resource(capi.MachineDeploymentGVR).Namespace(ns)
	createTemplates(t, dyn, ns, "v1")
	createInfrastructureTemplate(t, dyn, ns, "v2")
	if _, err := mds.Create(t.Context(), machineDeployment(ns, "roll", "none", "v1", "v1"), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, mds, "roll", poolAvailable(3))
	body := `{"spec":{"template":{"spec":{"infrastructureRef":{"apiGroup":"infrastructure.cluster.x-k8s.io","kind":"DockerMachineTemplate","name":"v2"}}}}}`
	if _, err := mds.Patch(t.Context(), "roll", "application/merge-patch+json", []byte(body), metav1.PatchOptions{}); err != nil {
		t.Fatal(err)
	}
	var surged, lingered bool
	waitFor(t, mds, "roll", func(u *unstructured.Unstructured) bool {
		all, _, _ := unstructured.NestedInt64(u.Object, "status", "replicas")
		up, _, _ := unstructured.NestedInt64(u.Object, "status", "upToDateReplicas")
		g, _, _ := unstructured.NestedInt64(u.Object, "status", "observedGeneration")
		if g == u.GetGeneration() && all > 3 {
			surged = true
			lingered = lingered || up == 3
		}
		return poolAvailable(3)(u)
	})
	if !surged || !lingered {
		t.Errorf("rollout: status.replicas above spec seen %v, old machines left after the new ones were up to date seen %v", surged, lingered)
	}
	list, err := dyn.Resource(capi.MachineDeploymentGVR.GroupVersion().WithResource("machinesets")).Namespace(ns).List(t.Context(), metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(list.Items) != 1 {
		t.Errorf("%d MachineSets once the rollout is done, want the new one only", len(list.Items))
	}
}

// In a tenant cluster a Job with FailAnnotation fails as the Job controller fails one whose
// backoff limit is spent, one without completes, and one with HoldAnnotation stays running
// until the annotation goes; a Pod with FailAnnotation fails.
func TestSimulatedTenantJobFailAndHold(t *testing.T) {
	cs, dyn := needCluster(t, true)
	ns := namespace(t, cs)
	tcps := dyn.Resource(kamaji.TenantControlPlaneGVR).Namespace(ns)
	if _, err := tcps.Create(t.Context(), tenantControlPlane(ns, "jobs"), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = tcps.Delete(context.Background(), "jobs", metav1.DeleteOptions{}) })
	waitFor(t, tcps, "jobs", func(u *unstructured.Unstructured) bool {
		phase, _ := status(u)
		return phase == kamaji.StatusReady
	})
	secret, err := cs.CoreV1().Secrets(ns).Get(t.Context(), "jobs-admin-kubeconfig", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := clientcmd.RESTConfigFromKubeConfig(secret.Data[kamaji.AdminKubeconfigKey])
	if err != nil {
		t.Fatal(err)
	}
	tenant := kubernetes.NewForConfigOrDie(cfg)
	jobs := tenant.BatchV1().Jobs("default")
	pod := corev1.PodSpec{RestartPolicy: corev1.RestartPolicyNever, Containers: []corev1.Container{{Name: "run", Image: "busybox"}}}
	for name, annotation := range map[string]string{"ok": "", "broken": simulator.FailAnnotation, "held": simulator.HoldAnnotation} {
		job := &batchv1.Job{
			ObjectMeta: metav1.ObjectMeta{Name: name},
			Spec:       batchv1.JobSpec{Template: corev1.PodTemplateSpec{Spec: pod}},
		}
		if annotation != "" {
			job.Annotations = map[string]string{annotation: "true"}
		}
		if _, err := jobs.Create(t.Context(), job, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	// finished is the Job's Complete or Failed condition, with no type while it runs.
	finished := func(j *batchv1.Job) batchv1.JobCondition {
		for _, c := range j.Status.Conditions {
			if (c.Type == batchv1.JobComplete || c.Type == batchv1.JobFailed) && c.Status == corev1.ConditionTrue {
				return c
			}
		}
		return batchv1.JobCondition{}
	}
	get := func(name string) *batchv1.Job {
		t.Helper()
		j, err := jobs.Get(t.Context(), name, metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		return j
	}
	until := func(what string, cond func() bool) {
		t.Helper()
		deadline := time.Now().Add(time.Minute)
		for !cond() {
			if time.Now().After(deadline) {
				t.Fatalf("%s never happened", what)
			}
			time.Sleep(200 * time.Millisecond)
		}
	}

	until("ok completing and broken failing", func() bool {
		return finished(get("ok")).Type != "" && finished(get("broken")).Type != ""
	})
	if done := finished(get("ok")).Type; done != batchv1.JobComplete {
		t.Errorf("the Job without annotations finished %s, want Complete", done)
	}
	broken := get("broken")
	cond := finished(broken)
	if cond.Type != batchv1.JobFailed || cond.Reason != batchv1.JobReasonBackoffLimitExceeded || !strings.Contains(cond.Message, simulator.FailAnnotation) {
		t.Errorf("the Job with %s finished %s (%s: %s), want Failed, BackoffLimitExceeded and a message naming the annotation",
			simulator.FailAnnotation, cond.Type, cond.Reason, cond.Message)
	}
	if broken.Status.Failed != 1 || broken.Status.Succeeded != 0 || broken.Status.CompletionTime != nil {
		t.Errorf("the failed Job's status: failed %d, succeeded %d, completionTime %v", broken.Status.Failed, broken.Status.Succeeded, broken.Status.CompletionTime)
	}
	stays(t, "a held Job", func() (bool, string) {
		done := finished(get("held")).Type
		return done == "", "finished " + string(done)
	})
	if _, err := jobs.Patch(t.Context(), "held", "application/merge-patch+json",
		fmt.Appendf(nil, `{"metadata":{"annotations":{%q:null}}}`, simulator.HoldAnnotation), metav1.PatchOptions{}); err != nil {
		t.Fatal(err)
	}
	until("the released Job completing", func() bool {
		return finished(get("held")).Type == batchv1.JobComplete
	})

	// A tenant cluster has no controller-manager to create the default ServiceAccount that
	// admission wants for a Pod.
	if _, err := tenant.CoreV1().ServiceAccounts("default").Create(t.Context(), &corev1.ServiceAccount{
		ObjectMeta: metav1.ObjectMeta{Name: "default"},
	}, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
		t.Fatal(err)
	}
	if _, err := tenant.CoreV1().Pods("default").Create(t.Context(), &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "hook", Annotations: map[string]string{simulator.FailAnnotation: "true"}},
		Spec:       pod,
	}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	until("the Pod failing", func() bool {
		p, err := tenant.CoreV1().Pods("default").Get(t.Context(), "hook", metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		return p.Status.Phase == corev1.PodFailed
	})
}
