package provider

import (
	"encoding/json"
	"slices"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/types"

	"github.com/qumulus/terraform-provider-qumulus/internal/kube"
	"github.com/qumulus/terraform-provider-qumulus/internal/workerpool"
)

const benchPool = "workers"

// poolAPI is a management cluster holding a Ready worker pool tenant-acme/workers of
// cluster "work" (Docker machines, a health check), and the discovery documents that
// resolve its infrastructure template's kind.
func poolAPI() (*memoryAPI, []string) {
	spec := workerpool.Spec{
		Namespace: benchNamespace, Cluster: "work", Name: benchPool, Tenant: "acme", Version: "v1.35.0", Replicas: new(int64(2)),
		NodeLabels: map[string]string{"node-role.kubernetes.io/worker": ""},
		Infrastructure: workerpool.Infrastructure{
			APIGroup: "infrastructure.cluster.x-k8s.io", Kind: "DockerMachineTemplate",
			Spec: json.RawMessage(`{"customImage":"kindest/node:v1.35.0","preLoadImages":[]}`),
		},
		HealthCheck: &workerpool.HealthCheck{NodeStartupTimeoutSeconds: new(int64(600)),
			UnhealthyNodeConditions: []workerpool.NodeCondition{{Type: "Ready", Status: "False", TimeoutSeconds: 300}}},
	}
	applied := func(obj *unstructured.Unstructured, rv string) *unstructured.Unstructured {
		fields := fieldsOf(obj.Object)
		delete(fields, "f:apiVersion")
		delete(fields, "f:kind")
		raw, _ := json.Marshal(fields)
		obj.SetUID(types.UID("0a0b0c0d-" + rv))
		obj.SetResourceVersion(rv)
		obj.SetGeneration(1)
		obj.SetCreationTimestamp(metav1.Date(2026, 12, 1, 8, 0, 0, 0, metav1.Now().Location()))
		obj.SetManagedFields([]metav1.ManagedFieldsEntry{{Manager: kube.FieldManager, Operation: metav1.ManagedFieldsOperationApply,
			APIVersion: obj.GetAPIVersion(), Time: &metav1.Time{}, FieldsType: "FieldsV1", FieldsV1: metav1.NewFieldsV1(string(raw))}})
		return obj
	}
	md := applied(spec.MachineDeployment(), "7001")
	md.Object["status"] = map[string]any{
		"observedGeneration": int64(1), "phase": "Running", "replicas": int64(2), "readyReplicas": int64(2),
		"availableReplicas": int64(2), "upToDateReplicas": int64(2), "selector": "cluster.x-k8s.io/cluster-name=work",
		"conditions": []any{
			map[string]any{"type": "Available", "status": "True", "reason": "Available", "lastTransitionTime": "2026-12-01T08:03:00Z"},
			map[string]any{"type": "ScalingUp", "status": "False", "reason": "NotScalingUp", "lastTransitionTime": "2026-12-01T08:03:00Z"},
		},
	}
	infra := spec.InfrastructureTemplate("infrastructure.cluster.x-k8s.io/v1beta2")
	api := newMemoryAPI()
	ns := "/namespaces/" + benchNamespace
	paths := []string{
		"/apis/cluster.x-k8s.io/v1beta2" + ns + "/machinedeployments/" + benchPool,
		"/apis/bootstrap.cluster.x-k8s.io/v1beta2" + ns + "/kubeadmconfigtemplates/" + spec.BootstrapTemplateName(),
		"/apis/infrastructure.cluster.x-k8s.io/v1beta2" + ns + "/dockermachinetemplates/" + spec.InfrastructureTemplateName(),
		"/apis/cluster.x-k8s.io/v1beta2" + ns + "/machinehealthchecks/" + benchPool,
	}
	api.put(paths[0], md.Object)
	api.put(paths[1], applied(spec.BootstrapTemplate(), "7002").Object)
	api.put(paths[2], applied(infra, "7003").Object)
	api.put(paths[3], applied(spec.MachineHealthCheck(), "7004").Object)
	// Discovery, for the infrastructure template's resource: read once per provider process.
	api.put("/api", map[string]any{"kind": "APIVersions", "versions": []any{}})
	api.put("/apis", map[string]any{"kind": "APIGroupList", "apiVersion": "v1", "groups": []any{map[string]any{
		"name":             "infrastructure.cluster.x-k8s.io",
		"versions":         []any{map[string]any{"groupVersion": "infrastructure.cluster.x-k8s.io/v1beta2", "version": "v1beta2"}},
		"preferredVersion": map[string]any{"groupVersion": "infrastructure.cluster.x-k8s.io/v1beta2", "version": "v1beta2"},
	}}})
	api.put("/apis/infrastructure.cluster.x-k8s.io/v1beta2", map[string]any{"kind": "APIResourceList", "apiVersion": "v1",
		"groupVersion": "infrastructure.cluster.x-k8s.io/v1beta2", "resources": []any{map[string]any{
			"name": "dockermachinetemplates", "singularName": "dockermachinetemplate", "namespaced": true, "kind": "DockerMachineTemplate",
			"verbs": []any{"get", "list", "watch", "create", "update", "patch", "delete"},
		}}})
	return api, paths
}

// BenchmarkWorkerPoolRefresh is the provider's work for one qumulus_worker_pool in
// `terraform plan`'s refresh.
func BenchmarkWorkerPoolRefresh(b *testing.B) {
	api, _ := poolAPI()
	p := newProtocolProvider(b, api)
	stored := p.importState(b, "qumulus_worker_pool", benchNamespace+"/"+benchPool)
	benchmarkProvider(b, api, func() { p.refresh(b, "qumulus_worker_pool", stored) })
}

// TestWorkerPoolRefreshRequests checks the benchmark's setup: a refresh reads the pool's
// four objects, one GET each.
func TestWorkerPoolRefreshRequests(t *testing.T) {
	t.Parallel()
	api, paths := poolAPI()
	p := newProtocolProvider(t, api)
	stored := p.importState(t, "qumulus_worker_pool", benchNamespace+"/"+benchPool)
	api.take()
	refreshed, _ := p.refresh(t, "qumulus_worker_pool", stored)
	var want []string
	for _, path := range paths {
		want = append(want, "GET "+path)
	}
	if got := api.take(); !slices.Equal(got, want) {
		t.Errorf("requests %q, want %q", got, want)
	}
	typ := p.stateType("qumulus_worker_pool")
	for attr, want := range map[string]string{"cluster_name": "work", "version": "v1.35.0"} {
		if got := attribute(t, typ, refreshed, attr); got != want {
			t.Errorf("%s = %q, want %q", attr, got, want)
		}
	}
}
