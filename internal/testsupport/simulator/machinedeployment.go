package simulator

import (
	"context"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/qumulus/terraform-provider-qumulus/internal/capi"
)

// machineDeploymentReconciler plays Cluster API's MachineDeployment controller: after
// ReadyDelay at a generation, the v1beta2 status reports spec.replicas machines ready,
// available and up to date, with the Available condition true.
type machineDeploymentReconciler struct {
	*Simulator
	client.Client
}

func (s *Simulator) setupMachineDeployments() error {
	md := &unstructured.Unstructured{}
	md.SetGroupVersionKind(capi.MachineDeploymentGVK)
	return ctrl.NewControllerManagedBy(s.mgr).
		Named("capi-machinedeployment").
		For(md).
		Complete(&machineDeploymentReconciler{Simulator: s, Client: s.mgr.GetClient()})
}

func (r *machineDeploymentReconciler) Reconcile(ctx context.Context, req ctrl.Request) (ctrl.Result, error) {
	md := &unstructured.Unstructured{}
	md.SetGroupVersionKind(capi.MachineDeploymentGVK)
	if err := r.Get(ctx, req.NamespacedName, md); err != nil {
		r.clock.forget("md/" + req.String())
		return ctrl.Result{}, client.IgnoreNotFound(err)
	}
	if md.GetDeletionTimestamp() != nil || md.GetAnnotations()[HoldAnnotation] == "true" {
		return ctrl.Result{}, nil
	}
	generation := md.GetGeneration()
	if wait := r.opts.ReadyDelay - r.clock.since("md/"+req.String(), generation); wait > 0 {
		return ctrl.Result{RequeueAfter: wait}, nil
	}
	replicas, found, _ := unstructured.NestedInt64(md.Object, "spec", "replicas")
	if !found {
		replicas = 1
	}
	old, _, _ := unstructured.NestedMap(md.Object, "status")
	patch := client.MergeFrom(md.DeepCopy())
	status := map[string]any{
		"observedGeneration": generation,
		"replicas":           replicas,
		"readyReplicas":      replicas,
		"availableReplicas":  replicas,
		"upToDateReplicas":   replicas,
		"phase":              "Running",
		"conditions": []any{
			condition("Available", true, "Available", generation),
			condition("MachinesReady", true, "Ready", generation),
			condition("MachinesUpToDate", true, "UpToDate", generation),
		},
	}
	if !setStatus(md, old, status) {
		return ctrl.Result{}, nil
	}
	r.opts.Log.Info("MachineDeployment available", "object", req.String(), "replicas", replicas)
	return ctrl.Result{}, r.Status().Patch(ctx, md, patch)
}
