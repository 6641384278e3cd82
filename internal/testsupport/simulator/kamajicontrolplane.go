package simulator

import (
	"context"
	"encoding/json"
	"net"
	"reflect"
	"strconv"
	"sync"

	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	"github.com/qumulus/terraform-provider-qumulus/internal/capi"
	"github.com/qumulus/terraform-provider-qumulus/internal/kamaji"
)

// kamajiControlPlaneReconciler plays Kamaji's Cluster API control-plane provider: a
// KamajiControlPlane waits until Cluster API has made a Cluster its owner, then owns a
// TenantControlPlane of the same name built from its spec and that Cluster's network, and
// reports that TenantControlPlane's readiness in the Cluster API control-plane contract
// (spec.controlPlaneEndpoint; status.initialization.controlPlaneInitialized once the
// Cluster has the endpoint and its infrastructure is provisioned; ready, version, replica
// counters from the TenantControlPlane's Deployment, conditions). No garbage collector
// runs here, so it also deletes the TenantControlPlane when its KamajiControlPlane is gone.
type kamajiControlPlaneReconciler struct {
	*Simulator
	client.Client

	fieldsMu sync.Mutex
	fields   map[string]bool
	// applied holds, per TenantControlPlane, the JSON of the last object applied to it.
	applied sync.Map
}

func (s *Simulator) setupKamajiControlPlane() error {
	kcp := &unstructured.Unstructured{}
	kcp.SetGroupVersionKind(capi.KamajiControlPlaneGVK)
	tcp := &unstructured.Unstructured{}
	tcp.SetGroupVersionKind(kamaji.TenantControlPlaneGVK)
	cluster := &unstructured.Unstructured{}
	cluster.SetGroupVersionKind(clusterGVK)
	return ctrl.NewControllerManagedBy(s.mgr).
		Named("kamaji-capi-controlplane").
		For(kcp).
		Owns(tcp).
		// The owning Cluster's network and status reach its control plane.
		Watches(cluster, handler.EnqueueRequestsFromMapFunc(func(_ context.Context, o client.Object) []reconcile.Request {
			u, isUnstructured := o.(*unstructured.Unstructured)
			if !isUnstructured {
				return nil
			}
			ref, ok := refAt(u, "spec", "controlPlaneRef")
			if !ok || ref.Kind != capi.KamajiControlPlaneGVK.Kind || ref.APIGroup != capi.ControlPlaneGroup {
				return nil
			}
			return []reconcile.Request{{NamespacedName: client.ObjectKey{Namespace: o.GetNamespace(), Name: ref.Name}}}
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
	cluster, err := r.ownerCluster(ctx, kcp)
	if err != nil || cluster == nil {
		// As Kamaji's provider: nothing happens until Cluster API has set the owner.
		return ctrl.Result{}, err
	}

	tcpSpec := r.tenantControlPlaneFor(kcp)
	fields, err := r.networkProfileFields(ctx)
	if err != nil {
		return ctrl.Result{}, err
	}
	addClusterNetwork(cluster, tcpSpec, fields)
	if err := r.applyTenantControlPlane(ctx, tcpSpec); err != nil {
		// Kamaji's webhook refuses what it cannot do: surface why, as the provider does.
		patch := client.MergeFrom(kcp.DeepCopy())
		old, _, _ := unstructured.NestedMap(kcp.Object, "status")
		created := cond("TenantControlPlaneCreated", metav1.ConditionFalse, "TenantControlPlaneCreationFailed", err.Error(), kcp.GetGeneration())
		if setStatus(kcp, old, map[string]any{"conditions": mergeConditions(old, created)}) {
			_ = r.Status().Patch(ctx, kcp, patch)
		}
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
	serving := phase == kamaji.StatusReady || phase == kamaji.StatusUpgrading

	if host, port, err := net.SplitHostPort(endpoint); err == nil {
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
	clusterHost, _, _ := unstructured.NestedString(cluster.Object, "spec", "controlPlaneEndpoint", "host")
	provisioned, _, _ := unstructured.NestedBool(cluster.Object, "status", "initialization", "infrastructureProvisioned")
	waiting := ""
	switch {
	case endpoint == "":
		waiting = "the TenantControlPlane has no endpoint yet"
	case clusterHost == "":
		waiting = "the Cluster has no control plane endpoint yet"
	case !provisioned:
		waiting = "the Cluster's infrastructure is not provisioned yet"
	case phase != "":
		initialized = true
	}
	ready := initialized && serving
	d := deploymentOf(tcp)
	oldStatus, _, _ := unstructured.NestedMap(kcp.Object, "status")
	reason := tcpReason(phase)
	if waiting != "" && !initialized {
		reason = "WaitingForCluster"
	}
	status := map[string]any{
		"ready":             ready,
		"initialization":    map[string]any{"controlPlaneInitialized": initialized},
		"replicas":          d.replicas,
		"readyReplicas":     d.ready,
		"availableReplicas": d.available,
		"upToDateReplicas":  d.updated,
		"conditions": []any{
			cond("TenantControlPlaneCreated", metav1.ConditionTrue, "TenantControlPlaneCreated", "", kcp.GetGeneration()),
			cond("Ready", boolStatus(ready), reason, waiting, kcp.GetGeneration()),
			cond("Available", boolStatus(ready), reason, waiting, kcp.GetGeneration()),
		},
	}
	if installed != "" {
		status["version"] = installed
	}
	if !setStatus(kcp, oldStatus, status) {
		return ctrl.Result{}, nil
	}
	err = r.Status().Patch(ctx, kcp, patch)
	if installed == "" && apierrors.IsInvalid(err) {
		// The upstream CRD requires status.version, which is unknown until the
		// TenantControlPlane reports one; its next change brings us back. Retrying with
		// backoff would only delay that.
		return ctrl.Result{}, nil
	}
	return ctrl.Result{}, err
}

// applyTenantControlPlane applies desired, unless it is what was last applied and the
// TenantControlPlane still holds all of it. This reconciler runs on every change of the
// TenantControlPlane, its KamajiControlPlane and their Cluster, and each apply goes through
// the webhook and server-side apply of Kamaji's large schema: with 100 tenants, repeating
// them kept the simulator busy for minutes.
func (r *kamajiControlPlaneReconciler) applyTenantControlPlane(ctx context.Context, desired *unstructured.Unstructured) error {
	key := client.ObjectKeyFromObject(desired)
	raw, err := json.Marshal(desired.Object)
	if err != nil {
		return err
	}
	if last, ok := r.applied.Load(key); ok && last == string(raw) {
		current := &unstructured.Unstructured{}
		current.SetGroupVersionKind(kamaji.TenantControlPlaneGVK)
		if err := r.Get(ctx, key, current); err == nil && holds(current.Object, desired.Object) {
			return nil
		}
	}
	if err := r.Apply(ctx, client.ApplyConfigurationFromUnstructured(desired), client.FieldOwner(FieldManager), client.ForceOwnership); err != nil {
		r.applied.Delete(key)
		return err
	}
	r.applied.Store(key, string(raw))
	return nil
}

// holds reports whether actual has every field of desired with the same value; lists
// must match element by element.
func holds(actual, desired any) bool {
	switch d := desired.(type) {
	case map[string]any:
		a, ok := actual.(map[string]any)
		if !ok {
			return false
		}
		for k, v := range d {
			if !holds(a[k], v) {
				return false
			}
		}
		return true
	case []any:
		a, ok := actual.([]any)
		if !ok || len(a) != len(d) {
			return false
		}
		for i := range d {
			if !holds(a[i], d[i]) {
				return false
			}
		}
		return true
	default:
		return reflect.DeepEqual(actual, desired)
	}
}

// ownerCluster returns the Cluster API Cluster that owns kcp, nil when none does yet.
func (r *kamajiControlPlaneReconciler) ownerCluster(ctx context.Context, kcp *unstructured.Unstructured) (*unstructured.Unstructured, error) {
	for _, o := range kcp.GetOwnerReferences() {
		gv, err := schema.ParseGroupVersion(o.APIVersion)
		if err != nil || gv.Group != clusterGVK.Group || o.Kind != clusterGVK.Kind {
			continue
		}
		cluster := &unstructured.Unstructured{}
		cluster.SetGroupVersionKind(clusterGVK)
		err = r.Get(ctx, client.ObjectKey{Namespace: kcp.GetNamespace(), Name: o.Name}, cluster)
		if apierrors.IsNotFound(err) || err == nil && cluster.GetUID() != o.UID {
			return nil, nil
		}
		return cluster, err
	}
	return nil, nil
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
	metadata := map[string]any{
		"name":      kcp.GetName(),
		"namespace": kcp.GetNamespace(),
		"ownerReferences": []any{map[string]any{
			"apiVersion":         capi.ControlPlaneGroupVersion.String(),
			"kind":               capi.KamajiControlPlaneGVK.Kind,
			"name":               kcp.GetName(),
			"uid":                string(kcp.GetUID()),
			"controller":         true,
			"blockOwnerDeletion": true,
		}},
	}
	// Never an empty annotations map: the API server drops it, so every apply would differ
	// from what is stored and write the TenantControlPlane again, which triggers this
	// reconciler again, without end.
	if v := kcp.GetAnnotations()[HoldAnnotation]; v != "" {
		metadata["annotations"] = map[string]any{HoldAnnotation: v}
	}
	return &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": kamaji.GroupVersion.String(),
		"kind":       kamaji.TenantControlPlaneGVK.Kind,
		"metadata":   metadata,
		"spec":       spec,
	}}
}

// networkProfileFields returns the fields of spec.networkProfile the installed
// TenantControlPlane CRD has: Kamaji v1.0.0's lacks the 26.x range lists (podCidrs,
// serviceCidrs) and clusterDomain, which Kamaji's provider of that release does not set.
func (r *kamajiControlPlaneReconciler) networkProfileFields(ctx context.Context) (map[string]bool, error) {
	r.fieldsMu.Lock()
	defer r.fieldsMu.Unlock()
	if r.fields != nil {
		return r.fields, nil
	}
	crd := &unstructured.Unstructured{}
	crd.SetGroupVersionKind(schema.GroupVersionKind{Group: "apiextensions.k8s.io", Version: "v1", Kind: "CustomResourceDefinition"})
	if err := r.mgr.GetAPIReader().Get(ctx, client.ObjectKey{Name: "tenantcontrolplanes." + kamaji.Group}, crd); err != nil {
		return nil, err
	}
	fields := map[string]bool{}
	versions, _, _ := unstructured.NestedSlice(crd.Object, "spec", "versions")
	for _, v := range versions {
		m, _ := v.(map[string]any)
		props, _, _ := unstructured.NestedMap(m, "schema", "openAPIV3Schema", "properties", "spec", "properties", "networkProfile", "properties")
		for k := range props {
			fields[k] = fields[k] || m["name"] == kamaji.Version
		}
	}
	r.fields = fields
	return fields, nil
}

// addClusterNetwork copies the network of the Cluster (its clusterNetwork: Pod and Service
// ranges, DNS domain, API server port) into the TenantControlPlane, into the fields its
// CRD has. A dual-stack range list goes to the 26.x list fields; the first range goes to
// the single fields older Kamaji releases have, as the provider writes a TenantControlPlane.
func addClusterNetwork(cluster, tcp *unstructured.Unstructured, fields map[string]bool) {
	set := func(v any, field string) {
		if fields[field] {
			_ = unstructured.SetNestedField(tcp.Object, v, "spec", "networkProfile", field)
		}
	}
	for from, to := range map[string]string{"pods": "podCidr", "services": "serviceCidr"} {
		blocks, _, _ := unstructured.NestedStringSlice(cluster.Object, "spec", "clusterNetwork", from, "cidrBlocks")
		if len(blocks) == 0 {
			continue
		}
		set(blocks[0], to)
		if len(blocks) > 1 {
			list := make([]any, len(blocks))
			for i, b := range blocks {
				list[i] = b
			}
			set(list, to+"s")
		}
	}
	if domain, ok, _ := unstructured.NestedString(cluster.Object, "spec", "clusterNetwork", "serviceDomain"); ok {
		set(domain, "clusterDomain")
	}
	if port, ok, _ := unstructured.NestedInt64(cluster.Object, "spec", "clusterNetwork", "apiServerPort"); ok {
		set(port, "port")
	}
}

func (r *kamajiControlPlaneReconciler) deleteOwnedTenantControlPlane(ctx context.Context, req ctrl.Request) error {
	r.applied.Delete(req.NamespacedName)
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
	return cond(typ, boolStatus(status), reason, "", generation)
}

func cond(typ string, status metav1.ConditionStatus, reason, message string, generation int64) map[string]any {
	return map[string]any{
		"type":               typ,
		"status":             string(status),
		"reason":             reason,
		"message":            message,
		"observedGeneration": generation,
		"lastTransitionTime": metav1.Now().UTC().Format("2006-01-02T15:04:05Z"),
	}
}

func boolStatus(b bool) metav1.ConditionStatus {
	if b {
		return metav1.ConditionTrue
	}
	return metav1.ConditionFalse
}

// mergeConditions returns the conditions of status with c set.
func mergeConditions(status map[string]any, c map[string]any) []any {
	old, _, _ := unstructured.NestedSlice(status, "conditions")
	out := []any{c}
	for _, o := range old {
		if m, ok := o.(map[string]any); ok && m["type"] != c["type"] {
			out = append(out, m)
		}
	}
	return out
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
