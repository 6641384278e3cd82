package simulator

import (
	"context"
	"net"
	"strconv"

	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	"github.com/qumulus/terraform-provider-qumulus/internal/capi"
	"github.com/qumulus/terraform-provider-qumulus/internal/kamaji"
)

// kamajiControlPlaneReconciler plays Kamaji's Cluster API control-plane provider: a
// KamajiControlPlane owns a TenantControlPlane of the same name built from its spec, and
// reports that TenantControlPlane's readiness in the Cluster API control-plane contract
// (status.initialization.controlPlaneInitialized, ready, version, replica counters,
// spec.controlPlaneEndpoint). No garbage collector runs here, so it also deletes the
// TenantControlPlane when its KamajiControlPlane is gone.
type kamajiControlPlaneReconciler struct {
	*Simulator
	client.Client
}

func (s *Simulator) setupKamajiControlPlane() error {
	kcp := &unstructured.Unstructured{}
	kcp.SetGroupVersionKind(capi.KamajiControlPlaneGVK)
	tcp := &unstructured.Unstructured{}
	tcp.SetGroupVersionKind(kamaji.TenantControlPlaneGVK)
	cluster := &unstructured.Unstructured{}
	cluster.SetGroupVersionKind(capi.ClusterGVR.GroupVersion().WithKind("Cluster"))
	return ctrl.NewControllerManagedBy(s.mgr).
		Named("kamaji-capi-controlplane").
		For(kcp).
		Owns(tcp).
		// A Cluster's network reaches the TenantControlPlane of its KamajiControlPlane
		// (same name: Qumulus names them alike).
		Watches(cluster, handler.EnqueueRequestsFromMapFunc(func(_ context.Context, o client.Object) []reconcile.Request {
			return []reconcile.Request{{NamespacedName: client.ObjectKeyFromObject(o)}}
		})).
		Complete(&kamajiControlPlaneReconciler{Simulator: s, Client: s.mgr.GetClient()})
}

func (r *kamajiControlPlaneReconciler) Reconcile(ctx context.Context, req ctrl.Request) (ctrl.Result, error) {
	kcp := &unstructured.Unstructured{}
	kcp.SetGroupVersionKind(capi.KamajiControlPlaneGVK)
	err := r.Get(ctx, req.NamespacedName, kcp)
	if apierrors.IsNotFound(err) {
		return ctrl.Result{}, r.deleteOwnedTenantControlPlane(ctx, req)
	}
	if err != nil {
		return ctrl.Result{}, err
	}
	if kcp.GetDeletionTimestamp() != nil {
		return ctrl.Result{}, r.deleteOwnedTenantControlPlane(ctx, req)
	}

	tcpSpec := r.tenantControlPlaneFor(kcp)
	if err := r.addClusterNetwork(ctx, kcp, tcpSpec); err != nil {
		return ctrl.Result{}, err
	}
	if err := r.Apply(ctx, client.ApplyConfigurationFromUnstructured(tcpSpec), client.FieldOwner(FieldManager), client.ForceOwnership); err != nil {
		return ctrl.Result{}, err
	}
	tcp := &unstructured.Unstructured{}
	tcp.SetGroupVersionKind(kamaji.TenantControlPlaneGVK)
	if err := r.Get(ctx, req.NamespacedName, tcp); err != nil {
		return ctrl.Result{}, err
	}

	phase, _, _ := unstructured.NestedString(tcp.Object, "status", "kubernetesResources", "version", "status")
	installed, _, _ := unstructured.NestedString(tcp.Object, "status", "kubernetesResources", "version", "version")
	endpoint, _, _ := unstructured.NestedString(tcp.Object, "status", "controlPlaneEndpoint")
	replicas, found, _ := unstructured.NestedInt64(tcp.Object, "spec", "controlPlane", "deployment", "replicas")
	if !found {
		replicas = 2
	}
	ready := phase == kamaji.StatusReady

	if host, port, err := net.SplitHostPort(endpoint); err == nil && ready {
		if _, set, _ := unstructured.NestedString(kcp.Object, "spec", "controlPlaneEndpoint", "host"); !set {
			p, _ := strconv.ParseInt(port, 10, 64)
			ep := &unstructured.Unstructured{Object: map[string]any{
				"apiVersion": capi.ControlPlaneGroupVersion.String(),
				"kind":       capi.KamajiControlPlaneGVK.Kind,
				"metadata":   map[string]any{"name": kcp.GetName(), "namespace": kcp.GetNamespace()},
				"spec":       map[string]any{"controlPlaneEndpoint": map[string]any{"host": host, "port": p}},
			}}
			if err := r.Apply(ctx, client.ApplyConfigurationFromUnstructured(ep), client.FieldOwner(FieldManager)); err != nil {
				return ctrl.Result{}, err
			}
		}
	}

	patch := client.MergeFrom(kcp.DeepCopy())
	initialized, _, _ := unstructured.NestedBool(kcp.Object, "status", "initialization", "controlPlaneInitialized")
	readyReplicas := int64(0)
	if ready {
		readyReplicas = replicas
		initialized = true
	}
	oldStatus, _, _ := unstructured.NestedMap(kcp.Object, "status")
	status := map[string]any{
		"ready":             ready,
		"initialization":    map[string]any{"controlPlaneInitialized": initialized},
		"replicas":          replicas,
		"readyReplicas":     readyReplicas,
		"availableReplicas": readyReplicas,
		"upToDateReplicas":  readyReplicas,
		"conditions":        []any{condition("Ready", ready, tcpReason(phase), kcp.GetGeneration())},
	}
	if installed != "" {
		status["version"] = installed
	}
	if !setStatus(kcp, oldStatus, status) {
		return ctrl.Result{}, nil
	}
	return ctrl.Result{}, r.Status().Patch(ctx, kcp, patch)
}

func tcpReason(phase string) string {
	if phase == "" {
		return "Provisioning"
	}
	return phase
}

// tenantControlPlaneFor maps a KamajiControlPlane onto the TenantControlPlane it owns.
func (r *kamajiControlPlaneReconciler) tenantControlPlaneFor(kcp *unstructured.Unstructured) *unstructured.Unstructured {
	get := func(path ...string) (any, bool) {
		v, found, _ := unstructured.NestedFieldCopy(kcp.Object, append([]string{"spec"}, path...)...)
		return v, found
	}
	version, _ := get("version")
	serviceType, ok := get("network", "serviceType")
	if !ok {
		serviceType = "LoadBalancer"
	}
	service := map[string]any{"serviceType": serviceType}
	meta := map[string]any{}
	if v, ok := get("network", "serviceLabels"); ok {
		meta["labels"] = v
	}
	if v, ok := get("network", "serviceAnnotations"); ok {
		meta["annotations"] = v
	}
	if len(meta) > 0 {
		service["additionalMetadata"] = meta
	}
	networkProfile := map[string]any{}
	for from, to := range map[string]string{"serviceAddress": "address", "advertiseAddress": "advertiseAddress", "certSANs": "certSANs", "clusterDomain": "clusterDomain", "dnsServiceIPs": "dnsServiceIPs"} {
		if v, ok := get("network", from); ok {
			networkProfile[to] = v
		}
	}
	controlPlane := map[string]any{"service": service}
	if v, ok := get("replicas"); ok {
		controlPlane["deployment"] = map[string]any{"replicas": v}
	}
	spec := map[string]any{
		"controlPlane":   controlPlane,
		"kubernetes":     map[string]any{"version": version, "kubelet": map[string]any{"cgroupfs": "systemd"}},
		"networkProfile": networkProfile,
	}
	if v, ok := get("dataStoreName"); ok {
		spec["dataStore"] = v
	}
	if v, ok := get("addons"); ok {
		spec["addons"] = v
	}
	annotations := map[string]any{}
	if v := kcp.GetAnnotations()[HoldAnnotation]; v != "" {
		annotations[HoldAnnotation] = v
	}
	return &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": kamaji.GroupVersion.String(),
		"kind":       kamaji.TenantControlPlaneGVK.Kind,
		"metadata": map[string]any{
			"name":        kcp.GetName(),
			"namespace":   kcp.GetNamespace(),
			"annotations": annotations,
			"ownerReferences": []any{map[string]any{
				"apiVersion":         capi.ControlPlaneGroupVersion.String(),
				"kind":               capi.KamajiControlPlaneGVK.Kind,
				"name":               kcp.GetName(),
				"uid":                string(kcp.GetUID()),
				"controller":         true,
				"blockOwnerDeletion": true,
			}},
		},
		"spec": spec,
	}}
}

// addClusterNetwork copies the network of the Cluster whose control plane kcp is (its
// clusterNetwork: Pod and Service ranges, DNS domain, API server port) into the
// TenantControlPlane, as Kamaji's provider does.
func (r *kamajiControlPlaneReconciler) addClusterNetwork(ctx context.Context, kcp, tcp *unstructured.Unstructured) error {
	cluster := &unstructured.Unstructured{}
	cluster.SetGroupVersionKind(capi.ClusterGVR.GroupVersion().WithKind("Cluster"))
	err := r.Get(ctx, client.ObjectKeyFromObject(kcp), cluster)
	if apierrors.IsNotFound(err) {
		return nil
	}
	if err != nil {
		return err
	}
	if ref, _, _ := unstructured.NestedString(cluster.Object, "spec", "controlPlaneRef", "name"); ref != kcp.GetName() {
		return nil
	}
	set := func(v any, path ...string) {
		_ = unstructured.SetNestedField(tcp.Object, v, append([]string{"spec", "networkProfile"}, path...)...)
	}
	if pods, _, _ := unstructured.NestedStringSlice(cluster.Object, "spec", "clusterNetwork", "pods", "cidrBlocks"); len(pods) > 0 {
		set(pods[0], "podCidr")
	}
	if services, _, _ := unstructured.NestedStringSlice(cluster.Object, "spec", "clusterNetwork", "services", "cidrBlocks"); len(services) > 0 {
		set(services[0], "serviceCidr")
	}
	if domain, ok, _ := unstructured.NestedString(cluster.Object, "spec", "clusterNetwork", "serviceDomain"); ok {
		set(domain, "clusterDomain")
	}
	if port, ok, _ := unstructured.NestedInt64(cluster.Object, "spec", "clusterNetwork", "apiServerPort"); ok {
		set(port, "port")
	}
	return nil
}

func (r *kamajiControlPlaneReconciler) deleteOwnedTenantControlPlane(ctx context.Context, req ctrl.Request) error {
	tcp := &unstructured.Unstructured{}
	tcp.SetGroupVersionKind(kamaji.TenantControlPlaneGVK)
	if err := r.Get(ctx, req.NamespacedName, tcp); err != nil {
		return client.IgnoreNotFound(err)
	}
	owner := metav1.GetControllerOf(tcp)
	if owner == nil || owner.Kind != capi.KamajiControlPlaneGVK.Kind || owner.Name != req.Name || tcp.GetDeletionTimestamp() != nil {
		return nil
	}
	return client.IgnoreNotFound(r.Delete(ctx, tcp, client.PropagationPolicy(metav1.DeletePropagationBackground)))
}

// condition renders a metav1.Condition as Cluster API v1beta2 objects carry it.
func condition(typ string, status bool, reason string, generation int64) map[string]any {
	s := "False"
	if status {
		s = "True"
	}
	return map[string]any{
		"type":               typ,
		"status":             s,
		"reason":             reason,
		"message":            "",
		"observedGeneration": generation,
		"lastTransitionTime": metav1.Now().UTC().Format("2006-01-02T15:04:05Z"),
	}
}

// setStatus stores status on obj, keeping the lastTransitionTime of conditions whose status
// did not change, and reports whether anything changed.
func setStatus(obj *unstructured.Unstructured, old, status map[string]any) bool {
	oldConds, _, _ := unstructured.NestedSlice(old, "conditions")
	newConds, _, _ := unstructured.NestedSlice(status, "conditions")
	for i, c := range newConds {
		nc, _ := c.(map[string]any)
		for _, o := range oldConds {
			oc, _ := o.(map[string]any)
			if oc["type"] == nc["type"] && oc["status"] == nc["status"] {
				nc["lastTransitionTime"] = oc["lastTransitionTime"]
			}
		}
		newConds[i] = nc
	}
	if len(newConds) > 0 {
		status["conditions"] = newConds
	}
	merged := runtimeDeepCopy(old)
	for k, v := range status {
		merged[k] = v
	}
	if equality.Semantic.DeepEqual(runtimeDeepCopy(old), runtimeDeepCopy(merged)) {
		return false
	}
	obj.Object["status"] = merged
	return true
}

func runtimeDeepCopy(m map[string]any) map[string]any {
	if m == nil {
		return map[string]any{}
	}
	return runtime.DeepCopyJSON(m)
}
