package simulator

import (
	"context"
	"time"

	"github.com/go-logr/logr"
	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/rest"
	"k8s.io/utils/ptr"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/manager"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"
)

// FailAnnotation set to "true" on a Job or Pod of a tenant cluster makes the simulator fail
// it instead of completing it: a Job gets status.failed=1 and Failed=True with reason
// BackoffLimitExceeded, a Pod phase Failed. It is for tests of failed Helm hooks; charts
// pass it through their values, as OpenStack-Helm's annotations.job.<job>. HoldAnnotation
// on a tenant cluster's Job, Deployment, StatefulSet or DaemonSet leaves it in progress.
const FailAnnotation = "simulator.qumulus.io/fail"

// runWorkloads plays the workload controllers and kubelets of a tenant cluster, which has
// no nodes here: Deployments, StatefulSets and DaemonSets report all replicas available,
// Jobs complete, PersistentVolumeClaims bind, deleted namespaces are emptied and removed, unless FailAnnotation or HoldAnnotation says
// otherwise. That is what Helm's and kstatus' readiness checks read, so Helm releases can
// be installed and waited for.
func runWorkloads(ctx context.Context, cfg *rest.Config, delay time.Duration, log logr.Logger) error {
	mgr, err := newManager(cfg, log)
	if err != nil {
		return err
	}
	for _, add := range []func() error{
		func() error { return watchWorkload(mgr, "deployment", deploymentReady, delay) },
		func() error { return watchWorkload(mgr, "statefulset", statefulSetReady, delay) },
		func() error { return watchWorkload(mgr, "daemonset", daemonSetReady, delay) },
		func() error { return watchWorkload(mgr, "job", jobComplete, delay) },
		func() error { return watchWorkload(mgr, "pod", podFailed, 0) },
		func() error { return watchWorkload(mgr, "pvc", claimBound, 0) },
		func() error { return addNamespaceController(mgr) },
	} {
		if err := add(); err != nil {
			return err
		}
	}
	go func() {
		if err := mgr.Start(ctx); err != nil {
			log.Error(err, "tenant workload simulator stopped")
		}
	}()
	return nil
}

// watchWorkload runs ready on every object of type T that is not being deleted, once it is
// delay old.
func watchWorkload[T any, PT interface {
	*T
	client.Object
}](mgr manager.Manager, name string, ready func(context.Context, client.Client, PT) error, delay time.Duration) error {
	c := mgr.GetClient()
	return ctrl.NewControllerManagedBy(mgr).
		Named("tenant-" + name).
		For(PT(new(T))).
		Complete(reconcile.Func(func(ctx context.Context, req reconcile.Request) (reconcile.Result, error) {
			obj := PT(new(T))
			if err := c.Get(ctx, req.NamespacedName, obj); err != nil {
				return reconcile.Result{}, client.IgnoreNotFound(err)
			}
			if obj.GetDeletionTimestamp() != nil || annotated(obj, HoldAnnotation) {
				return reconcile.Result{}, nil
			}
			if wait := delay - time.Since(obj.GetCreationTimestamp().Time); wait > 0 {
				return reconcile.Result{RequeueAfter: wait}, nil
			}
			return reconcile.Result{}, ready(ctx, c, obj)
		}))
}

func updateStatus(ctx context.Context, c client.Client, obj client.Object, before any, after any) error {
	if equality.Semantic.DeepEqual(before, after) {
		return nil
	}
	return c.Status().Update(ctx, obj)
}

func deploymentReady(ctx context.Context, c client.Client, d *appsv1.Deployment) error {
	n := ptr.Deref(d.Spec.Replicas, 1)
	before := d.Status.DeepCopy()
	d.Status.ObservedGeneration = d.Generation
	d.Status.Replicas, d.Status.UpdatedReplicas, d.Status.ReadyReplicas, d.Status.AvailableReplicas = n, n, n, n
	d.Status.UnavailableReplicas = 0
	d.Status.Conditions = setCondition(d.Status.Conditions, appsv1.DeploymentCondition{
		Type: appsv1.DeploymentAvailable, Status: corev1.ConditionTrue, Reason: "MinimumReplicasAvailable",
	}, appsv1.DeploymentCondition{
		Type: appsv1.DeploymentProgressing, Status: corev1.ConditionTrue, Reason: "NewReplicaSetAvailable",
	})
	return updateStatus(ctx, c, d, before, &d.Status)
}

func setCondition(conds []appsv1.DeploymentCondition, want ...appsv1.DeploymentCondition) []appsv1.DeploymentCondition {
	now := metav1.Now()
	for _, w := range want {
		found := false
		for i := range conds {
			if conds[i].Type == w.Type {
				found = true
				if conds[i].Status != w.Status || conds[i].Reason != w.Reason {
					conds[i].Status, conds[i].Reason = w.Status, w.Reason
					conds[i].LastTransitionTime, conds[i].LastUpdateTime = now, now
				}
			}
		}
		if !found {
			w.LastTransitionTime, w.LastUpdateTime = now, now
			conds = append(conds, w)
		}
	}
	return conds
}

func statefulSetReady(ctx context.Context, c client.Client, s *appsv1.StatefulSet) error {
	n := ptr.Deref(s.Spec.Replicas, 1)
	before := s.Status.DeepCopy()
	s.Status.ObservedGeneration = s.Generation
	s.Status.Replicas, s.Status.ReadyReplicas, s.Status.CurrentReplicas, s.Status.UpdatedReplicas, s.Status.AvailableReplicas = n, n, n, n, n
	rev := s.Name + "-simulated"
	s.Status.CurrentRevision, s.Status.UpdateRevision = rev, rev
	return updateStatus(ctx, c, s, before, &s.Status)
}

func daemonSetReady(ctx context.Context, c client.Client, d *appsv1.DaemonSet) error {
	before := d.Status.DeepCopy()
	d.Status.ObservedGeneration = d.Generation
	d.Status.DesiredNumberScheduled, d.Status.CurrentNumberScheduled, d.Status.NumberReady = 1, 1, 1
	d.Status.UpdatedNumberScheduled, d.Status.NumberAvailable, d.Status.NumberUnavailable = 1, 1, 0
	return updateStatus(ctx, c, d, before, &d.Status)
}

// annotated reports whether obj has the annotation set to true.
func annotated(obj client.Object, key string) bool {
	return obj.GetAnnotations()[key] == "true"
}

func jobComplete(ctx context.Context, c client.Client, j *batchv1.Job) error {
	for _, cond := range j.Status.Conditions {
		if (cond.Type == batchv1.JobComplete || cond.Type == batchv1.JobFailed) && cond.Status == corev1.ConditionTrue {
			return nil
		}
	}
	now := metav1.NewTime(time.Now().Truncate(time.Second))
	if j.Status.StartTime == nil {
		j.Status.StartTime = &now
	}
	if annotated(j, FailAnnotation) {
		return jobFailed(ctx, c, j, now)
	}
	j.Status.CompletionTime = &now
	j.Status.Succeeded = ptr.Deref(j.Spec.Completions, 1)
	j.Status.Active = 0
	j.Status.Ready = ptr.To[int32](0)
	j.Status.Terminating = ptr.To[int32](0)
	j.Status.UncountedTerminatedPods = nil
	j.Status.Conditions = append(j.Status.Conditions,
		batchv1.JobCondition{Type: batchv1.JobSuccessCriteriaMet, Status: corev1.ConditionTrue, Reason: "CompletionsReached", LastProbeTime: now, LastTransitionTime: now},
		batchv1.JobCondition{Type: batchv1.JobComplete, Status: corev1.ConditionTrue, Reason: "CompletionsReached", LastProbeTime: now, LastTransitionTime: now},
	)
	return c.Status().Update(ctx, j)
}

// jobFailed fails a Job the way the Job controller does when its pod failed and its
// backoffLimit is spent (the API server wants FailureTarget before Failed).
func jobFailed(ctx context.Context, c client.Client, j *batchv1.Job, now metav1.Time) error {
	message := "Job has reached the specified backoff limit (simulated: annotation " + FailAnnotation + " is true)"
	j.Status.Failed = 1
	j.Status.Active = 0
	j.Status.Ready = ptr.To[int32](0)
	j.Status.Terminating = ptr.To[int32](0)
	j.Status.UncountedTerminatedPods = nil
	j.Status.Conditions = append(j.Status.Conditions,
		batchv1.JobCondition{Type: batchv1.JobFailureTarget, Status: corev1.ConditionTrue, Reason: batchv1.JobReasonBackoffLimitExceeded,
			Message: message, LastProbeTime: now, LastTransitionTime: now},
		batchv1.JobCondition{Type: batchv1.JobFailed, Status: corev1.ConditionTrue, Reason: batchv1.JobReasonBackoffLimitExceeded,
			Message: message, LastProbeTime: now, LastTransitionTime: now},
	)
	return c.Status().Update(ctx, j)
}

// podFailed fails a Pod with FailAnnotation (a Helm hook or test Pod). Other Pods are left
// pending: a tenant cluster has no nodes.
func podFailed(ctx context.Context, c client.Client, p *corev1.Pod) error {
	if !annotated(p, FailAnnotation) || p.Status.Phase == corev1.PodFailed {
		return nil
	}
	p.Status.Phase = corev1.PodFailed
	p.Status.Reason = "SimulatedFailure"
	p.Status.Message = "simulated: annotation " + FailAnnotation + " is true"
	return c.Status().Update(ctx, p)
}

func claimBound(ctx context.Context, c client.Client, pvc *corev1.PersistentVolumeClaim) error {
	if pvc.Status.Phase == corev1.ClaimBound {
		return nil
	}
	pvc.Status.Phase = corev1.ClaimBound
	pvc.Status.AccessModes = pvc.Spec.AccessModes
	if req, ok := pvc.Spec.Resources.Requests[corev1.ResourceStorage]; ok {
		pvc.Status.Capacity = corev1.ResourceList{corev1.ResourceStorage: req}
	}
	return c.Status().Update(ctx, pvc)
}
