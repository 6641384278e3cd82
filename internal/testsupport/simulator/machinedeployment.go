package simulator

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
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
//   - the bootstrap config template and infrastructure template must exist (matched by
//     apiGroup, kind and name); otherwise no machine is made, Available is false and
//     ScalingUp says which is missing;
//   - every distinct spec.template gets a MachineSet <name>-<hash> (label
//     machine-template-hash) that refers to the same templates; for ReadyDelay after a
//     change of the spec the machines lag (availability behind, a rollout surges one new
//     machine while the old ones are not up to date); in a rollout the old MachineSets
//     are then scaled to zero and their last machine drains for another ReadyDelay
//     (status.replicas one above spec) before they are deleted, as Cluster API deletes old
//     MachineSets once scaled down. Label changes roll nothing, as in Cluster API.
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
	if r.holds.held(key) {
		// A hold of the Simulator's methods ends without a change to the object.
		return ctrl.Result{RequeueAfter: r.opts.ReadyDelay}, nil
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
	var oldSets []unstructured.Unstructured
	for i := range sets {
		if sets[i].GetName() != current {
			oldSets = append(oldSets, sets[i])
		}
	}
	missing, err := r.missingTemplates(ctx, md)
	if err != nil {
		return ctrl.Result{}, err
	}
	prev := func(k string) int64 { v, _, _ := unstructured.NestedInt64(old, k); return v }
	elapsed, d := r.clock.since(key, generation), r.opts.ReadyDelay
	var machines, available, upToDate int64
	var requeue time.Duration
	switch {
	case len(missing) > 0:
		// No machine can be made: what runs stays, nothing new comes. The templates are
		// not watched: look again.
		machines, available, upToDate = prev("replicas"), min(prev("availableReplicas"), replicas), min(prev("upToDateReplicas"), replicas)
		requeue = 500 * time.Millisecond
	case elapsed < d:
		// Machines are being created (and, in a rollout, one more than wanted: maxSurge)
		// or deleted; availability lags.
		machines, available, upToDate = max(prev("replicas"), replicas), min(prev("availableReplicas"), replicas), max(prev("replicas"), replicas)
		if len(oldSets) > 0 && replicas > 0 {
			machines, upToDate = max(prev("replicas"), replicas)+1, 1
		}
		requeue = d - elapsed
	case len(oldSets) > 0 && elapsed < 2*d:
		// The new machines are up; the old MachineSets are scaled down and their last
		// machine is still draining.
		for i := range oldSets {
			if err := r.scaleMachineSet(ctx, &oldSets[i], 0); err != nil {
				return ctrl.Result{}, err
			}
		}
		machines, available, upToDate = replicas+1, replicas, replicas
		requeue = 2*d - elapsed
	default:
		// Cluster API deletes old MachineSets once they are scaled down.
		for i := range oldSets {
			if err := r.Delete(ctx, &oldSets[i]); client.IgnoreNotFound(err) != nil {
				return ctrl.Result{}, err
			}
		}
		machines, available, upToDate = replicas, replicas, replicas
	}
	if have != nil && len(missing) == 0 {
		if err := r.scaleMachineSet(ctx, have, replicas); err != nil {
			return ctrl.Result{}, err
		}
	}

	availableCond := condition("Available", available == replicas, "Available", generation)
	scalingUp := cond("ScalingUp", metav1.ConditionFalse, "NotScalingUp", "", generation)
	if len(missing) > 0 {
		blocked := "* " + strings.Join(missing, "\n* ")
		availableCond = cond("Available", metav1.ConditionFalse, "NotAvailable",
			fmt.Sprintf("%d available replicas, at least %d required", available, replicas), generation)
		scalingUp = cond("ScalingUp", metav1.ConditionFalse, "NotScalingUp", "Scaling up would be blocked because:\n"+blocked, generation)
		if machines < replicas || upToDate < replicas {
			scalingUp = cond("ScalingUp", metav1.ConditionTrue, "ScalingUp",
				fmt.Sprintf("Scaling up from %d to %d replicas is blocked because:\n%s", machines, replicas, blocked), generation)
		}
	}
	scalingDown := cond("ScalingDown", metav1.ConditionFalse, "NotScalingDown", "", generation)
	if machines > replicas {
		scalingDown = cond("ScalingDown", metav1.ConditionTrue, "ScalingDown", fmt.Sprintf("Scaling down from %d to %d replicas", machines, replicas), generation)
	}
	status := map[string]any{
		"observedGeneration": generation,
		"replicas":           machines,
		"readyReplicas":      available,
		"availableReplicas":  available,
		"upToDateReplicas":   upToDate,
		"phase":              "Running",
		"selector":           clusterv1.MachineDeploymentNameLabel + "=" + md.GetName(),
		"conditions": []any{
			availableCond,
			condition("MachinesReady", available == replicas, "Ready", generation),
			condition("MachinesUpToDate", upToDate == replicas, "UpToDate", generation),
			scalingUp,
			scalingDown,
		},
	}
	patch := client.MergeFrom(md.DeepCopy())
	if setStatus(md, old, status) {
		r.opts.Log.Info("MachineDeployment status", "object", req.String(), "replicas", replicas, "machines", machines, "upToDate", upToDate, "missing", missing)
		if err := r.Status().Patch(ctx, md, patch); err != nil {
			return ctrl.Result{}, err
		}
	}
	return ctrl.Result{RequeueAfter: requeue}, nil
}

// missingTemplates names the templates spec.template.spec refers to (by apiGroup, kind and
// name) that do not exist.
func (r *machineDeploymentReconciler) missingTemplates(ctx context.Context, md *unstructured.Unstructured) ([]string, error) {
	var missing []string
	for _, field := range [][]string{{"spec", "template", "spec", "bootstrap", "configRef"}, {"spec", "template", "spec", "infrastructureRef"}} {
		ref, ok := refAt(md, field...)
		if !ok {
			continue
		}
		obj, err := r.get(ctx, md.GetNamespace(), ref)
		if err != nil {
			return nil, err
		}
		if obj == nil {
			missing = append(missing, fmt.Sprintf("%s references %s %s (apiGroup %q) that does not exist", strings.Join(field, "."), ref.Kind, ref.Name, ref.APIGroup))
		}
	}
	return missing, nil
}

func (r *machineDeploymentReconciler) scaleMachineSet(ctx context.Context, ms *unstructured.Unstructured, replicas int64) error {
	if n, _, _ := unstructured.NestedInt64(ms.Object, "spec", "replicas"); n == replicas {
		return nil
	}
	patch := client.MergeFrom(ms.DeepCopy())
	_ = unstructured.SetNestedField(ms.Object, replicas, "spec", "replicas")
	return client.IgnoreNotFound(r.Patch(ctx, ms, patch, client.FieldOwner(FieldManager)))
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
