package simulator

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"strconv"
	"sync"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	clusterv1 "sigs.k8s.io/cluster-api/api/core/v1beta2"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"

	"github.com/qumulus/terraform-provider-qumulus/internal/capi"
)

var machineSetGVK = clusterv1.GroupVersion.WithKind("MachineSet")

const (
	autoscalerMinSize = "cluster.x-k8s.io/cluster-api-autoscaler-node-group-min-size"
	autoscalerMaxSize = "cluster.x-k8s.io/cluster-api-autoscaler-node-group-max-size"
)

// machineDeploymentReconciler plays Cluster API's MachineDeployment controller and the
// parts of its webhook the provider relies on:
//   - spec.replicas, when unset, is defaulted as the webhook does: with the
//     cluster-autoscaler's annotations, the previous value clamped to [min, max] (min for a
//     new MachineDeployment), otherwise the previous value or 1;
//   - a finalizer holds a deleted MachineDeployment until its MachineSets are gone;
//   - every distinct spec.template gets a MachineSet <name>-<hash> (label
//     machine-template-hash) that refers to the same templates; for ReadyDelay after a
//     change of the spec the status reports the machines as not up to date, then the
//     new MachineSet has all the replicas and the status reports spec.replicas machines
//     ready, available and up to date with the Available condition true; a reconcile
//     later the old MachineSets are deleted (Cluster API deletes old MachineSets once
//     scaled down). Label changes roll nothing, as in Cluster API.
//
// There are no Machines: the counters are reported as if every machine came up.
type machineDeploymentReconciler struct {
	*Simulator
	client.Client
	// lastReplicas remembers spec.replicas per MachineDeployment, which the webhook reads
	// from the old object when an update leaves it unset.
	lastReplicas sync.Map
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
		r.lastReplicas.Delete("md/" + req.String())
		return ctrl.Result{}, client.IgnoreNotFound(err)
	}
	sets, err := r.machineSets(ctx, md)
	if err != nil {
		return ctrl.Result{}, err
	}
	if md.GetDeletionTimestamp() != nil {
		if len(sets) > 0 {
			for i := range sets {
				if err := r.Delete(ctx, &sets[i]); client.IgnoreNotFound(err) != nil {
					return ctrl.Result{}, err
				}
			}
			return ctrl.Result{RequeueAfter: 100 * time.Millisecond}, nil
		}
		if controllerutil.RemoveFinalizer(md, clusterv1.MachineDeploymentFinalizer) {
			return ctrl.Result{}, r.Update(ctx, md)
		}
		return ctrl.Result{}, nil
	}
	if controllerutil.AddFinalizer(md, clusterv1.MachineDeploymentFinalizer) {
		return ctrl.Result{}, r.Update(ctx, md)
	}
	replicas, found, _ := unstructured.NestedInt64(md.Object, "spec", "replicas")
	key := "md/" + req.String()
	if !found {
		previous, seen := r.lastReplicas.Load(key)
		replicas = defaultReplicas(md.GetAnnotations(), previous, seen)
		patch := client.MergeFrom(md.DeepCopy())
		_ = unstructured.SetNestedField(md.Object, replicas, "spec", "replicas")
		return ctrl.Result{}, r.Patch(ctx, md, patch, client.FieldOwner("capi-webhook"))
	}
	r.lastReplicas.Store(key, replicas)
	if md.GetAnnotations()[HoldAnnotation] == "true" {
		return ctrl.Result{}, nil
	}

	template, _, _ := unstructured.NestedMap(md.Object, "spec", "template")
	// Labels and annotations of the template change in place; the spec makes new machines.
	spec, _, _ := unstructured.NestedMap(template, "spec")
	hash := templateHash(spec)
	current := md.GetName() + "-" + hash
	var have *unstructured.Unstructured
	for i := range sets {
		if sets[i].GetName() == current {
			have = &sets[i]
		}
	}
	if have == nil {
		if err := r.createMachineSet(ctx, md, current, hash, template); err != nil {
			return ctrl.Result{}, err
		}
	}

	generation := md.GetGeneration()
	old, _, _ := unstructured.NestedMap(md.Object, "status")
	oldSets := 0
	for i := range sets {
		if sets[i].GetName() != current {
			oldSets++
		}
	}
	rolledOut := r.opts.ReadyDelay - r.clock.since("md/"+req.String(), generation)
	available, upToDate := replicas, replicas
	if rolledOut > 0 {
		// Rolling out or scaling: availability lags, and the old machines are not up to date.
		prev, _, _ := unstructured.NestedInt64(old, "availableReplicas")
		available = min(prev, replicas)
		upToDate = available
		if oldSets > 0 {
			upToDate = 0
		}
	} else {
		// As in Cluster API, the old MachineSets go after the status has reported the
		// rollout done (a reconcile later), not with it.
		reported, _, _ := unstructured.NestedInt64(old, "observedGeneration")
		reportedUpToDate, _, _ := unstructured.NestedInt64(old, "upToDateReplicas")
		if reported == generation && reportedUpToDate == replicas {
			for i := range sets {
				if sets[i].GetName() != current {
					if err := r.Delete(ctx, &sets[i]); client.IgnoreNotFound(err) != nil {
						return ctrl.Result{}, err
					}
				}
			}
		} else if oldSets > 0 {
			rolledOut = -1
		}
		if have != nil {
			if n, _, _ := unstructured.NestedInt64(have.Object, "spec", "replicas"); n != replicas {
				patch := client.MergeFrom(have.DeepCopy())
				_ = unstructured.SetNestedField(have.Object, replicas, "spec", "replicas")
				if err := r.Patch(ctx, have, patch, client.FieldOwner(FieldManager)); err != nil {
					return ctrl.Result{}, err
				}
			}
		}
	}
	status := map[string]any{
		"observedGeneration": generation,
		"replicas":           replicas,
		"readyReplicas":      available,
		"availableReplicas":  available,
		"upToDateReplicas":   upToDate,
		"phase":              "Running",
		"selector":           clusterv1.MachineDeploymentNameLabel + "=" + md.GetName(),
		"conditions": []any{
			condition("Available", available == replicas, "Available", generation),
			condition("MachinesReady", available == replicas, "Ready", generation),
			condition("MachinesUpToDate", upToDate == replicas, "UpToDate", generation),
		},
	}
	patch := client.MergeFrom(md.DeepCopy())
	if setStatus(md, old, status) {
		r.opts.Log.Info("MachineDeployment status", "object", req.String(), "replicas", replicas, "upToDate", upToDate)
		if err := r.Status().Patch(ctx, md, patch); err != nil {
			return ctrl.Result{}, err
		}
	}
	switch {
	case rolledOut > 0:
		return ctrl.Result{RequeueAfter: rolledOut}, nil
	case rolledOut == -1:
		// Old MachineSets to delete once this status is stored.
		return ctrl.Result{RequeueAfter: 200 * time.Millisecond}, nil
	}
	return ctrl.Result{}, nil
}

// defaultReplicas is what Cluster API's webhook sets an unset spec.replicas to: with both
// autoscaler annotations, the previous value clamped to [min, max] (min for a new
// MachineDeployment); otherwise the previous value, or 1.
func defaultReplicas(annotations map[string]string, previous any, seen bool) int64 {
	prev, _ := previous.(int64)
	minSize, errMin := strconv.ParseInt(annotations[autoscalerMinSize], 10, 64)
	maxSize, errMax := strconv.ParseInt(annotations[autoscalerMaxSize], 10, 64)
	switch {
	case errMin == nil && errMax == nil && !seen:
		return minSize
	case errMin == nil && errMax == nil:
		return max(minSize, min(prev, maxSize))
	case seen:
		return prev
	}
	return 1
}

func templateHash(template map[string]any) string {
	b, _ := json.Marshal(template)
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])[:8]
}

func (r *machineDeploymentReconciler) machineSets(ctx context.Context, md *unstructured.Unstructured) ([]unstructured.Unstructured, error) {
	list := &unstructured.UnstructuredList{}
	list.SetGroupVersionKind(schema.GroupVersionKind{Group: machineSetGVK.Group, Version: machineSetGVK.Version, Kind: "MachineSetList"})
	err := r.List(ctx, list, client.InNamespace(md.GetNamespace()), client.MatchingLabels{clusterv1.MachineDeploymentNameLabel: md.GetName()})
	return list.Items, err
}

func (r *machineDeploymentReconciler) createMachineSet(ctx context.Context, md *unstructured.Unstructured, name, hash string, template map[string]any) error {
	template = runtimeDeepCopy(template)
	labels, _, _ := unstructured.NestedStringMap(template, "metadata", "labels")
	if labels == nil {
		labels = map[string]string{}
	}
	labels[clusterv1.MachineDeploymentUniqueLabel] = hash
	labels[clusterv1.MachineDeploymentNameLabel] = md.GetName()
	_ = unstructured.SetNestedStringMap(template, labels, "metadata", "labels")
	clusterName, _, _ := unstructured.NestedString(md.Object, "spec", "clusterName")
	replicas, _, _ := unstructured.NestedInt64(md.Object, "spec", "replicas")
	ms := &unstructured.Unstructured{Object: map[string]any{
		"spec": map[string]any{
			"clusterName": clusterName,
			"replicas":    replicas,
			"selector":    map[string]any{"matchLabels": map[string]any{clusterv1.MachineDeploymentNameLabel: md.GetName(), clusterv1.MachineDeploymentUniqueLabel: hash}},
			"template":    template,
		},
	}}
	ms.SetGroupVersionKind(machineSetGVK)
	ms.SetNamespace(md.GetNamespace())
	ms.SetName(name)
	ms.SetLabels(map[string]string{
		clusterv1.ClusterNameLabel: clusterName, clusterv1.MachineDeploymentNameLabel: md.GetName(), clusterv1.MachineDeploymentUniqueLabel: hash,
	})
	ms.SetOwnerReferences([]metav1.OwnerReference{{
		APIVersion: capi.MachineDeploymentGVK.GroupVersion().String(), Kind: capi.MachineDeploymentGVK.Kind,
		Name: md.GetName(), UID: md.GetUID(), Controller: new(true), BlockOwnerDeletion: new(true),
	}})
	err := r.Create(ctx, ms, client.FieldOwner(FieldManager))
	if apierrors.IsAlreadyExists(err) {
		return nil
	}
	if err == nil {
		r.opts.Log.Info("MachineSet created", "object", md.GetNamespace()+"/"+name)
	}
	return err
}
