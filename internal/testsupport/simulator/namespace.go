package simulator

import (
	"context"
	"slices"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/manager"
)

// namespaceReconciler plays kube-controller-manager's namespace controller, which envtest
// does not run: a deleted namespace has its contents deleted and, once nothing is left
// (finalizers on the contents are honoured), its "kubernetes" finalizer removed.
type namespaceReconciler struct {
	client.Client
	kube      kubernetes.Interface
	dynamic   dynamic.Interface
	discovery discovery.DiscoveryInterface
}

func (s *Simulator) setupNamespaces() error { return addNamespaceController(s.mgr) }

// addNamespaceController runs the namespace reconciler in mgr: the management cluster's and
// each tenant cluster's.
func addNamespaceController(mgr manager.Manager) error {
	// Deleting a namespace lists every namespaced resource.
	cfg := fastConfig(mgr.GetConfig())
	kube, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return err
	}
	dyn, err := dynamic.NewForConfig(cfg)
	if err != nil {
		return err
	}
	return ctrl.NewControllerManagedBy(mgr).
		Named("namespace").
		For(&corev1.Namespace{}).
		Complete(&namespaceReconciler{Client: mgr.GetClient(), kube: kube, dynamic: dyn, discovery: kube.Discovery()})
}

func (r *namespaceReconciler) Reconcile(ctx context.Context, req ctrl.Request) (ctrl.Result, error) {
	ns := &corev1.Namespace{}
	if err := r.Get(ctx, req.NamespacedName, ns); err != nil {
		return ctrl.Result{}, client.IgnoreNotFound(err)
	}
	if ns.DeletionTimestamp == nil || !slices.Contains(ns.Spec.Finalizers, corev1.FinalizerKubernetes) {
		return ctrl.Result{}, nil
	}
	remaining, err := r.deleteContents(ctx, ns.Name)
	if err != nil {
		return ctrl.Result{}, err
	}
	if remaining > 0 {
		// Objects held by finalizers: look again shortly, as the real controller does.
		return ctrl.Result{RequeueAfter: 200 * time.Millisecond}, nil
	}
	ns.Spec.Finalizers = slices.DeleteFunc(ns.Spec.Finalizers, func(f corev1.FinalizerName) bool { return f == corev1.FinalizerKubernetes })
	if _, err := r.kube.CoreV1().Namespaces().Finalize(ctx, ns, metav1.UpdateOptions{}); err != nil && !apierrors.IsNotFound(err) {
		return ctrl.Result{}, err
	}
	return ctrl.Result{}, nil
}

// deleteContents deletes every object in namespace and counts those still there.
func (r *namespaceReconciler) deleteContents(ctx context.Context, namespace string) (int, error) {
	lists, err := r.discovery.ServerPreferredNamespacedResources()
	if err != nil && len(lists) == 0 {
		return 0, err
	}
	remaining := 0
	for _, list := range lists {
		gv, err := schema.ParseGroupVersion(list.GroupVersion)
		if err != nil {
			continue
		}
		for _, res := range list.APIResources {
			if strings.Contains(res.Name, "/") || !slices.Contains(res.Verbs, "list") || !slices.Contains(res.Verbs, "delete") {
				continue
			}
			ri := r.dynamic.Resource(gv.WithResource(res.Name)).Namespace(namespace)
			objs, err := ri.List(ctx, metav1.ListOptions{})
			if err != nil {
				if apierrors.IsNotFound(err) || apierrors.IsMethodNotSupported(err) {
					continue
				}
				return 0, err
			}
			for _, obj := range objs.Items {
				remaining++
				if obj.GetDeletionTimestamp() != nil {
					continue
				}
				background := metav1.DeletePropagationBackground
				if err := ri.Delete(ctx, obj.GetName(), metav1.DeleteOptions{PropagationPolicy: &background}); err != nil && !apierrors.IsNotFound(err) {
					return 0, err
				}
			}
		}
	}
	return remaining, nil
}
