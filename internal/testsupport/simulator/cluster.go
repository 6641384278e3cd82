package simulator

import (
	"context"
	"fmt"
	"strings"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	clusterv1 "sigs.k8s.io/cluster-api/api/core/v1beta2"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	"github.com/qumulus/terraform-provider-qumulus/internal/capi"
)

var clusterGVK = clusterv1.GroupVersion.WithKind(clusterv1.ClusterKind)

// clusterReconciler plays Cluster API's Cluster controller (v1beta2):
//   - the objects spec.controlPlaneRef and spec.infrastructureRef name (by apiGroup, kind
//     and name) get the Cluster as their controller owner and the cluster-name label;
//   - the control plane's spec.controlPlaneEndpoint is copied into the Cluster;
//   - status reports initialization.infrastructureProvisioned and controlPlaneInitialized,
//     the conditions InfrastructureReady, ControlPlaneInitialized, ControlPlaneAvailable,
//     WorkersAvailable, RemoteConnectionProbe and their summary Available, the control
//     plane's replica counters, phase and observedGeneration.
//
// A Cluster without infrastructureRef counts as provisioned. There is no finalizer: deleting
// a Cluster deletes nothing else.
type clusterReconciler struct {
	*Simulator
	client.Client
}

func (s *Simulator) setupClusters() error {
	cl := &unstructured.Unstructured{}
	cl.SetGroupVersionKind(clusterGVK)
	kcp := &unstructured.Unstructured{}
	kcp.SetGroupVersionKind(capi.KamajiControlPlaneGVK)
	md := &unstructured.Unstructured{}
	md.SetGroupVersionKind(capi.MachineDeploymentGVK)
	r := &clusterReconciler{Simulator: s, Client: s.mgr.GetClient()}
	err := s.mgr.GetFieldIndexer().IndexField(context.Background(), cl, controlPlaneRefIndex, func(o client.Object) []string {
		u, ok := o.(*unstructured.Unstructured)
		if !ok {
			return nil
		}
		if ref, ok := refAt(u, "spec", "controlPlaneRef"); ok {
			return []string{ref.Name}
		}
		return nil
	})
	if err != nil {
		return err
	}
	return ctrl.NewControllerManagedBy(s.mgr).
		Named("capi-cluster").
		For(cl).
		Watches(kcp, handler.EnqueueRequestsFromMapFunc(r.referencing)).
		Watches(md, handler.EnqueueRequestsFromMapFunc(func(_ context.Context, o client.Object) []reconcile.Request {
			u, ok := o.(*unstructured.Unstructured)
			if !ok {
				return nil
			}
			name, _, _ := unstructured.NestedString(u.Object, "spec", "clusterName")
			return []reconcile.Request{{NamespacedName: client.ObjectKey{Namespace: o.GetNamespace(), Name: name}}}
		})).
		Complete(r)
}

// controlPlaneRefIndex indexes Clusters by the name their controlPlaneRef gives.
const controlPlaneRefIndex = "spec.controlPlaneRef.name"

// referencing maps a KamajiControlPlane to the Clusters whose controlPlaneRef names it. It
// looks them up in an index of the cache: listing every Cluster of the namespace from the
// API server on every change of a control plane held up the delivery of those changes for
// half a minute at 100 Clusters.
func (r *clusterReconciler) referencing(ctx context.Context, o client.Object) []reconcile.Request {
	list := &unstructured.UnstructuredList{}
	list.SetGroupVersionKind(clusterv1.GroupVersion.WithKind("ClusterList"))
	// The manager's client reads unstructured objects from the API server; the cache has
	// the index.
	if err := r.mgr.GetCache().List(ctx, list, client.InNamespace(o.GetNamespace()), client.MatchingFields{controlPlaneRefIndex: o.GetName()}); err != nil {
		r.opts.Log.Error(err, "listing the Clusters of a control plane", "object", client.ObjectKeyFromObject(o).String())
		return nil
	}
	var out []reconcile.Request
	for i := range list.Items {
		out = append(out, reconcile.Request{NamespacedName: client.ObjectKeyFromObject(&list.Items[i])})
	}
	return out
}

func (r *clusterReconciler) Reconcile(ctx context.Context, req ctrl.Request) (ctrl.Result, error) {
	cl := &unstructured.Unstructured{}
	cl.SetGroupVersionKind(clusterGVK)
	if err := r.Get(ctx, req.NamespacedName, cl); err != nil {
		return ctrl.Result{}, client.IgnoreNotFound(err)
	}
	if cl.GetDeletionTimestamp() != nil {
		return ctrl.Result{}, nil
	}
	generation := cl.GetGeneration()
	old, _, _ := unstructured.NestedMap(cl.Object, "status")
	wasProvisioned, _, _ := unstructured.NestedBool(old, "initialization", "infrastructureProvisioned")
	wasInitialized, _, _ := unstructured.NestedBool(old, "initialization", "controlPlaneInitialized")
	// Kinds nobody installed (an OpenStackCluster here) are not watched: look again later.
	var requeue time.Duration

	infraRef, hasInfra := refAt(cl, "spec", "infrastructureRef")
	provisioned := !hasInfra || wasProvisioned
	infraCond := cond(clusterv1.ClusterInfrastructureReadyCondition, metav1.ConditionTrue, clusterv1.ClusterInfrastructureReadyReason, "", generation)
	if hasInfra {
		infra, err := r.get(ctx, cl.GetNamespace(), infraRef)
		if err != nil {
			return ctrl.Result{}, err
		}
		if infra == nil {
			requeue = 5 * time.Second
			infraCond = cond(clusterv1.ClusterInfrastructureReadyCondition, metav1.ConditionFalse, clusterv1.ClusterInfrastructureDoesNotExistReason,
				fmt.Sprintf("%s does not exist", infraRef.Kind), generation)
		} else {
			if err := r.adopt(ctx, cl, infra); err != nil {
				return ctrl.Result{}, err
			}
			ready, _, _ := unstructured.NestedBool(infra.Object, "status", "initialization", "provisioned")
			v1beta1Ready, _, _ := unstructured.NestedBool(infra.Object, "status", "ready")
			provisioned = provisioned || ready || v1beta1Ready
			if !provisioned {
				requeue = 5 * time.Second
				infraCond = cond(clusterv1.ClusterInfrastructureReadyCondition, metav1.ConditionFalse, clusterv1.ClusterInfrastructureNotReadyReason,
					fmt.Sprintf("%s is not provisioned", infraRef), generation)
			}
		}
	}

	initialized := wasInitialized
	initCond := cond(clusterv1.ClusterControlPlaneInitializedCondition, metav1.ConditionFalse, clusterv1.ClusterControlPlaneNotInitializedReason, "Control plane not yet initialized", generation)
	availCond := cond(clusterv1.ClusterControlPlaneAvailableCondition, metav1.ConditionFalse, clusterv1.ClusterControlPlaneDoesNotExistReason, "no spec.controlPlaneRef", generation)
	var controlPlane map[string]any
	if cpRef, ok := refAt(cl, "spec", "controlPlaneRef"); ok {
		cp, err := r.get(ctx, cl.GetNamespace(), cpRef)
		if err != nil {
			return ctrl.Result{}, err
		}
		if cp == nil {
			requeue = 5 * time.Second
			availCond = cond(clusterv1.ClusterControlPlaneAvailableCondition, metav1.ConditionFalse, clusterv1.ClusterControlPlaneDoesNotExistReason,
				fmt.Sprintf("%s does not exist", cpRef.Kind), generation)
		} else {
			if err := r.adopt(ctx, cl, cp); err != nil {
				return ctrl.Result{}, err
			}
			if err := r.copyEndpoint(ctx, cl, cp); err != nil {
				return ctrl.Result{}, err
			}
			cpInitialized, _, _ := unstructured.NestedBool(cp.Object, "status", "initialization", "controlPlaneInitialized")
			initialized = initialized || cpInitialized
			availCond = mirror(cp, clusterv1.AvailableCondition, clusterv1.ClusterControlPlaneAvailableCondition, generation)
			controlPlane = controlPlaneCounters(cp)
		}
	}
	if initialized {
		initCond = cond(clusterv1.ClusterControlPlaneInitializedCondition, metav1.ConditionTrue, clusterv1.ClusterControlPlaneInitializedReason, "", generation)
	}
	probe := cond(clusterv1.ClusterRemoteConnectionProbeCondition, metav1.ConditionFalse, clusterv1.ClusterRemoteConnectionProbeFailedReason, "Remote connection not established yet", generation)
	if initialized {
		probe = cond(clusterv1.ClusterRemoteConnectionProbeCondition, metav1.ConditionTrue, clusterv1.ClusterRemoteConnectionProbeSucceededReason, "", generation)
	}
	workers, err := r.workersAvailable(ctx, cl)
	if err != nil {
		return ctrl.Result{}, err
	}

	var notAvailable []string
	for _, c := range []map[string]any{infraCond, availCond, workers, probe} {
		if c["status"] != string(metav1.ConditionTrue) {
			notAvailable = append(notAvailable, fmt.Sprintf("* %s: %s", c["type"], c["message"]))
		}
	}
	available := cond(clusterv1.ClusterAvailableCondition, metav1.ConditionTrue, clusterv1.ClusterAvailableReason, "", generation)
	if len(notAvailable) > 0 {
		available = cond(clusterv1.ClusterAvailableCondition, metav1.ConditionFalse, clusterv1.ClusterNotAvailableReason, strings.Join(notAvailable, "\n"), generation)
	}
	phase := "Pending"
	if host, _, _ := unstructured.NestedString(cl.Object, "spec", "controlPlaneEndpoint", "host"); provisioned && host != "" {
		phase = "Provisioned"
	} else if hasInfra || controlPlane != nil {
		phase = "Provisioning"
	}
	status := map[string]any{
		"observedGeneration": generation,
		"phase":              phase,
		"initialization":     map[string]any{"infrastructureProvisioned": provisioned, "controlPlaneInitialized": initialized},
		"conditions":         []any{available, infraCond, initCond, availCond, workers, probe},
	}
	if controlPlane != nil {
		status["controlPlane"] = controlPlane
	}
	patch := client.MergeFrom(cl.DeepCopy())
	if setStatus(cl, old, status) {
		if err := r.Status().Patch(ctx, cl, patch); err != nil {
			return ctrl.Result{}, err
		}
	}
	return ctrl.Result{RequeueAfter: requeue}, nil
}

// adopt makes cl the controller owner of obj and labels it with the cluster name, as
// Cluster API does for the objects a Cluster refers to.
func (r *clusterReconciler) adopt(ctx context.Context, cl, obj *unstructured.Unstructured) error {
	for _, o := range obj.GetOwnerReferences() {
		if o.UID == cl.GetUID() && obj.GetLabels()[clusterv1.ClusterNameLabel] == cl.GetName() {
			return nil
		}
	}
	patch := client.MergeFrom(obj.DeepCopy())
	owners := []metav1.OwnerReference{{
		APIVersion: clusterv1.GroupVersion.String(), Kind: clusterv1.ClusterKind, Name: cl.GetName(), UID: cl.GetUID(),
		Controller: new(true), BlockOwnerDeletion: new(true),
	}}
	for _, o := range obj.GetOwnerReferences() {
		if o.UID != cl.GetUID() {
			o.Controller = nil
			owners = append(owners, o)
		}
	}
	obj.SetOwnerReferences(owners)
	labels := obj.GetLabels()
	if labels == nil {
		labels = map[string]string{}
	}
	labels[clusterv1.ClusterNameLabel] = cl.GetName()
	obj.SetLabels(labels)
	r.opts.Log.Info("Cluster adopts", "cluster", client.ObjectKeyFromObject(cl).String(), "kind", obj.GetKind(), "name", obj.GetName())
	return r.Patch(ctx, obj, patch, client.FieldOwner(FieldManager))
}

// copyEndpoint copies the control plane's spec.controlPlaneEndpoint into the Cluster once
// the control plane has one.
func (r *clusterReconciler) copyEndpoint(ctx context.Context, cl, cp *unstructured.Unstructured) error {
	host, _, _ := unstructured.NestedString(cp.Object, "spec", "controlPlaneEndpoint", "host")
	port, _, _ := unstructured.NestedInt64(cp.Object, "spec", "controlPlaneEndpoint", "port")
	if have, _, _ := unstructured.NestedString(cl.Object, "spec", "controlPlaneEndpoint", "host"); host == "" || have != "" {
		return nil
	}
	patch := client.MergeFrom(cl.DeepCopy())
	_ = unstructured.SetNestedMap(cl.Object, map[string]any{"host": host, "port": port}, "spec", "controlPlaneEndpoint")
	return r.Patch(ctx, cl, patch, client.FieldOwner(FieldManager))
}

func (r *clusterReconciler) workersAvailable(ctx context.Context, cl *unstructured.Unstructured) (map[string]any, error) {
	list := &unstructured.UnstructuredList{}
	list.SetGroupVersionKind(clusterv1.GroupVersion.WithKind("MachineDeploymentList"))
	if err := r.List(ctx, list, client.InNamespace(cl.GetNamespace())); err != nil {
		return nil, err
	}
	var pending []string
	workers := 0
	for i := range list.Items {
		md := &list.Items[i]
		if name, _, _ := unstructured.NestedString(md.Object, "spec", "clusterName"); name != cl.GetName() {
			continue
		}
		workers++
		if c := findCondition(md, clusterv1.AvailableCondition); c == nil || c["status"] != string(metav1.ConditionTrue) {
			pending = append(pending, "MachineDeployment "+md.GetName())
		}
	}
	switch {
	case workers == 0:
		return cond(clusterv1.ClusterWorkersAvailableCondition, metav1.ConditionTrue, clusterv1.ClusterWorkersAvailableNoWorkersReason, "", cl.GetGeneration()), nil
	case len(pending) > 0:
		return cond(clusterv1.ClusterWorkersAvailableCondition, metav1.ConditionFalse, clusterv1.ClusterWorkersNotAvailableReason,
			strings.Join(pending, ", ")+" not available", cl.GetGeneration()), nil
	}
	return cond(clusterv1.ClusterWorkersAvailableCondition, metav1.ConditionTrue, clusterv1.ClusterWorkersAvailableReason, "", cl.GetGeneration()), nil
}

// mirror copies condition typ of obj as the Cluster's condition as.
func mirror(obj *unstructured.Unstructured, typ, as string, generation int64) map[string]any {
	c := findCondition(obj, typ)
	if c == nil {
		return cond(as, metav1.ConditionUnknown, "NotYetReported", fmt.Sprintf("%s %s has not reported %s yet", obj.GetKind(), obj.GetName(), typ), generation)
	}
	status, _ := c["status"].(string)
	reason, _ := c["reason"].(string)
	message, _ := c["message"].(string)
	if reason == "" {
		reason = "NoReasonReported"
	}
	if status == "" {
		status = string(metav1.ConditionUnknown)
	}
	return cond(as, metav1.ConditionStatus(status), reason, message, generation)
}

func controlPlaneCounters(cp *unstructured.Unstructured) map[string]any {
	out := map[string]any{}
	if v, ok, _ := unstructured.NestedInt64(cp.Object, "spec", "replicas"); ok {
		out["desiredReplicas"] = v
	}
	for _, k := range []string{"replicas", "readyReplicas", "availableReplicas", "upToDateReplicas"} {
		if v, ok, _ := unstructured.NestedInt64(cp.Object, "status", k); ok {
			out[k] = v
		}
	}
	return out
}

func findCondition(obj *unstructured.Unstructured, typ string) map[string]any {
	conditions, _, _ := unstructured.NestedSlice(obj.Object, "status", "conditions")
	for _, c := range conditions {
		if m, ok := c.(map[string]any); ok && m["type"] == typ {
			return m
		}
	}
	return nil
}
