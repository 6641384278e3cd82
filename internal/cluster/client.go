package cluster

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"

	"github.com/qumulus/terraform-provider-qumulus/internal/capi"
	"github.com/qumulus/terraform-provider-qumulus/internal/kamaji"
	"github.com/qumulus/terraform-provider-qumulus/internal/kube"
)

// Client manages tenant control planes in the management cluster.
type Client struct {
	Kube    kubernetes.Interface
	Dynamic dynamic.Interface
}

// ErrNotFound means the cluster's objects are not in the management cluster.
var ErrNotFound = errors.New("cluster not found")

// NamespaceMissingError means the tenant namespace of a cluster does not exist.
type NamespaceMissingError struct{ Namespace string }

func (e *NamespaceMissingError) Error() string {
	return fmt.Sprintf("namespace %s does not exist", e.Namespace)
}

// ExistsError means an object the cluster would create is already there.
type ExistsError struct {
	Object string
	// Managed is true when the provider made it (it carries the provider's labels).
	Managed bool
}

func (e *ExistsError) Error() string { return e.Object + " already exists" }

// UnsupportedFieldError means the installed CRD does not know a field the provider sent:
// the Kamaji or Cluster API release in the management cluster is older than the field.
type UnsupportedFieldError struct {
	Object string
	Err    error
}

func (e *UnsupportedFieldError) Error() string {
	return fmt.Sprintf("the %s CRD installed does not know a field that was set: %v", e.Object, e.Err)
}
func (e *UnsupportedFieldError) Unwrap() error { return e.Err }

// NotReadyError means the control plane did not become ready before the context ended.
type NotReadyError struct {
	Object string
	Want   Spec
	Last   Status
	Err    error
}

func (e *NotReadyError) Error() string {
	return fmt.Sprintf("%s is not ready: %s", e.Object, e.Last.Describe(e.Want))
}
func (e *NotReadyError) Unwrap() error { return e.Err }

// StuckError means deleted objects were still there when the context ended.
type StuckError struct {
	// Remaining describes each object left, with its finalizers.
	Remaining []string
	Err       error
}

func (e *StuckError) Error() string {
	return fmt.Sprintf("still there: %s (%v)", strings.Join(e.Remaining, "; "), e.Err)
}
func (e *StuckError) Unwrap() error { return e.Err }

// ObjectError is a failed call about one object.
type ObjectError struct {
	Action, Object string
	Err            error
}

func (e *ObjectError) Error() string { return fmt.Sprintf("%s %s: %v", e.Action, e.Object, e.Err) }
func (e *ObjectError) Unwrap() error { return e.Err }

// Describe tells, for error messages and logs, where the control plane is relative to want.
func (s Status) Describe(want Spec) string {
	if !s.Found {
		if want.ClusterAPI != nil {
			return "no TenantControlPlane yet (Kamaji's Cluster API provider makes it from the KamajiControlPlane once Cluster API has set the Cluster as its owner)"
		}
		return "no TenantControlPlane"
	}
	phase := s.Phase
	if phase == "" {
		phase = "no status yet"
	}
	parts := []string{"status " + phase}
	if s.Deleting {
		parts = append(parts, "being deleted")
	}
	installed := s.InstalledVersion
	if installed == "" {
		installed = "none"
	}
	if !SameVersion(s.InstalledVersion, want.Version) {
		parts = append(parts, fmt.Sprintf("installed version %s, wanted %s", installed, want.Version))
	}
	if !SameVersion(s.RequestedVersion, want.Version) {
		parts = append(parts, fmt.Sprintf("spec.kubernetes.version still %s", s.RequestedVersion))
	}
	if s.ObservedReported && s.ObservedGeneration < s.Generation {
		parts = append(parts, fmt.Sprintf("Kamaji has seen generation %d of %d", s.ObservedGeneration, s.Generation))
	}
	if s.KubeconfigSecret == "" {
		parts = append(parts, "no admin kubeconfig Secret named in status yet")
	}
	if want.DataStore != "" && s.DataStore != want.DataStore {
		parts = append(parts, fmt.Sprintf("DataStore in use %q, wanted %q (migrating)", s.DataStore, want.DataStore))
	}
	return strings.Join(parts, ", ")
}

// Key names a cluster.
type Key struct {
	Namespace, Name string
	ClusterAPI      bool
}

func (s Spec) Key() Key {
	return Key{Namespace: s.Namespace, Name: s.Name, ClusterAPI: s.ClusterAPI != nil}
}

type object struct {
	gvr  schema.GroupVersionResource
	kind string
}

var (
	tenantControlPlane = object{kamaji.TenantControlPlaneGVR, kamaji.TenantControlPlaneGVK.Kind}
	kamajiControlPlane = object{capi.KamajiControlPlaneGVR, capi.KamajiControlPlaneGVK.Kind}
	clusterAPICluster  = object{capi.ClusterGVR, "Cluster"}
)

// objects are the kinds of objects a cluster consists of, in the order they are created.
func (k Key) objects() []object {
	if k.ClusterAPI {
		return []object{kamajiControlPlane, clusterAPICluster}
	}
	return []object{tenantControlPlane}
}

func (k Key) describe(o object) string {
	return fmt.Sprintf("%s %s/%s", o.kind, k.Namespace, k.Name)
}

func (c *Client) get(ctx context.Context, k Key, o object) (*unstructured.Unstructured, error) {
	obj, err := c.Dynamic.Resource(o.gvr).Namespace(k.Namespace).Get(ctx, k.Name, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return nil, nil
	}
	if err != nil {
		return nil, &ObjectError{"reading", k.describe(o), err}
	}
	return obj, nil
}

// Prepare checks that the tenant namespace exists and copies its tenant label to s.
func (c *Client) Prepare(ctx context.Context, s *Spec) error {
	ns, err := c.Kube.CoreV1().Namespaces().Get(ctx, s.Namespace, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return &NamespaceMissingError{Namespace: s.Namespace}
	}
	if err != nil {
		return &ObjectError{"reading", "namespace " + s.Namespace, err}
	}
	s.Tenant = ns.Labels[kube.LabelTenant]
	return nil
}

// CheckFree refuses to create a cluster over objects that already exist: a
// TenantControlPlane of the name in either mode (in Cluster API mode Kamaji's provider
// would take it over), and the Cluster and KamajiControlPlane in Cluster API mode.
func (c *Client) CheckFree(ctx context.Context, s Spec) error {
	k := s.Key()
	kinds := k.objects()
	if k.ClusterAPI {
		kinds = append(kinds, tenantControlPlane)
	}
	for _, o := range kinds {
		obj, err := c.get(ctx, k, o)
		if err != nil {
			return err
		}
		if obj != nil && obj.GetDeletionTimestamp() != nil {
			// Deleted (out of band, or by an earlier destroy) and still being cleaned up:
			// wait for it rather than refuse.
			if err := c.waitGone(ctx, k, o); err != nil {
				return c.stuck(context.WithoutCancel(ctx), k, []object{o}, err)
			}
			continue
		}
		if obj != nil {
			return &ExistsError{Object: k.describe(o), Managed: obj.GetLabels()[kube.LabelManagedBy] == kube.ManagedBy}
		}
	}
	return nil
}

// Apply writes the cluster's objects with server-side apply, owning the fields it sends.
// Strict field validation makes the API server refuse fields its CRDs do not know, instead
// of silently dropping them.
func (c *Client) Apply(ctx context.Context, s Spec) (applied int, err error) {
	k := s.Key()
	for _, obj := range s.Objects() {
		o := tenantControlPlane
		switch obj.GetKind() {
		case kamajiControlPlane.kind:
			o = kamajiControlPlane
		case clusterAPICluster.kind:
			o = clusterAPICluster
		}
		body, err := json.Marshal(obj.Object)
		if err != nil {
			return applied, err
		}
		force := true
		_, err = c.Dynamic.Resource(o.gvr).Namespace(s.Namespace).Patch(ctx, s.Name, types.ApplyPatchType, body, metav1.PatchOptions{
			FieldManager:    kube.FieldManager,
			Force:           &force,
			FieldValidation: metav1.FieldValidationStrict,
		})
		if err != nil {
			if kube.IsUnknownField(err) {
				return applied, &UnsupportedFieldError{Object: o.kind, Err: err}
			}
			return applied, &ObjectError{"applying", k.describe(o), err}
		}
		applied++
	}
	return applied, nil
}

// DetectMode finds the cluster name in namespace and reports whether it is in Cluster API
// mode: a Cluster whose control plane is the KamajiControlPlane of the same name.
func (c *Client) DetectMode(ctx context.Context, namespace, name string) (clusterAPI bool, err error) {
	k := Key{Namespace: namespace, Name: name}
	cluster, err := c.get(ctx, k, clusterAPICluster)
	if err != nil {
		return false, err
	}
	if cluster != nil && str(cluster, "spec", "controlPlaneRef", "kind") == kamajiControlPlane.kind &&
		str(cluster, "spec", "controlPlaneRef", "name") == name {
		return true, nil
	}
	tcp, err := c.get(ctx, k, tenantControlPlane)
	if err != nil {
		return false, err
	}
	if tcp == nil {
		return false, ErrNotFound
	}
	return false, nil
}

// Observe reads the cluster back. It returns ErrNotFound when the object the provider
// writes (the TenantControlPlane, or in Cluster API mode the Cluster or the
// KamajiControlPlane) is gone.
func (c *Client) Observe(ctx context.Context, k Key) (*Observed, error) {
	var o Observed
	tcp, err := c.get(ctx, k, tenantControlPlane)
	if err != nil {
		return nil, err
	}
	if k.ClusterAPI {
		cluster, err := c.get(ctx, k, clusterAPICluster)
		if err != nil {
			return nil, err
		}
		kcp, err := c.get(ctx, k, kamajiControlPlane)
		if err != nil {
			return nil, err
		}
		if cluster == nil || kcp == nil || cluster.GetDeletionTimestamp() != nil {
			return nil, ErrNotFound
		}
		o.Spec = specFromClusterAPI(cluster, kcp)
	} else {
		if tcp == nil || tcp.GetDeletionTimestamp() != nil {
			return nil, ErrNotFound
		}
		o.Spec = specFromTenantControlPlane(tcp)
	}
	o.Status = StatusOf(tcp)
	if tcp != nil {
		o.CACertificate, err = c.caCertificate(ctx, k, o.Status)
		if err != nil {
			return nil, err
		}
	}
	return &o, nil
}

// caCertificate reads the public CA certificate from the CA Secret Kamaji names in
// status.certificates.ca (<name>-ca before it does). Only ca.crt is read out of it.
func (c *Client) caCertificate(ctx context.Context, k Key, s Status) (string, error) {
	name := s.CASecret
	if name == "" {
		name = kamaji.CASecretName(k.Name)
	}
	secret, err := c.Kube.CoreV1().Secrets(k.Namespace).Get(ctx, name, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return "", nil
	}
	if err != nil {
		return "", &ObjectError{"reading", fmt.Sprintf("CA Secret %s/%s", k.Namespace, name), err}
	}
	return string(secret.Data[CACertificateKey]), nil
}

// WaitReady watches the TenantControlPlane until it serves want (see Status.Ready), and
// calls progress at every change of what Describe reports. When ctx ends first it returns
// a NotReadyError with the last status.
func (c *Client) WaitReady(ctx context.Context, want Spec, progress func(Status)) (Status, error) {
	k := want.Key()
	// A first read surfaces what a watch would retry silently until the timeout: missing
	// permissions or CRDs.
	if _, err := c.get(ctx, k, tenantControlPlane); err != nil {
		return Status{}, err
	}
	var last Status
	lastDescribed := ""
	err := kube.WatchObject(ctx, c.Dynamic.Resource(tenantControlPlane.gvr).Namespace(k.Namespace), k.Name, func(obj *unstructured.Unstructured) bool {
		last = StatusOf(obj)
		if d := last.Describe(want); d != lastDescribed {
			lastDescribed = d
			if progress != nil {
				progress(last)
			}
		}
		return last.Ready(want)
	})
	if errors.Is(ctx.Err(), context.Canceled) {
		return last, fmt.Errorf("waiting for %s: %w", k.describe(tenantControlPlane), ctx.Err())
	}
	if err != nil {
		return last, &NotReadyError{Object: k.describe(tenantControlPlane), Want: want, Last: last, Err: err}
	}
	return last, nil
}

// Delete deletes the cluster's objects (the Cluster first in Cluster API mode, so that
// Cluster API tears down in its order) and waits until they and the TenantControlPlane
// are gone. Kamaji removes its finalizer only once it has cleaned the DataStore.
func (c *Client) Delete(ctx context.Context, k Key) error {
	// Reverse creation order, each gone before the next: Cluster API deletes a Cluster's
	// workers and control plane before it lets the Cluster go, so the KamajiControlPlane
	// is deleted directly only when that did not happen (no Cluster API controllers, or a
	// create that failed half-way).
	kinds := k.objects()
	slices.Reverse(kinds)
	if k.ClusterAPI {
		kinds = append(kinds, tenantControlPlane)
	}
	for i, o := range kinds {
		if !k.ClusterAPI || o != tenantControlPlane {
			err := c.Dynamic.Resource(o.gvr).Namespace(k.Namespace).Delete(ctx, k.Name, metav1.DeleteOptions{
				PropagationPolicy: ptr(metav1.DeletePropagationBackground),
			})
			if err != nil && !apierrors.IsNotFound(err) {
				return &ObjectError{"deleting", k.describe(o), err}
			}
		}
		if err := c.waitGone(ctx, k, o); err != nil {
			return c.stuck(context.WithoutCancel(ctx), k, kinds[i:], err)
		}
	}
	return nil
}

func (c *Client) waitGone(ctx context.Context, k Key, o object) error {
	return kube.WaitGone(ctx, c.Dynamic.Resource(o.gvr).Namespace(k.Namespace), kube.NameSelector(k.Name))
}

func (c *Client) stuck(ctx context.Context, k Key, kinds []object, cause error) error {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	stuck := &StuckError{Err: cause}
	for _, o := range kinds {
		obj, err := c.get(ctx, k, o)
		if err != nil || obj == nil {
			continue
		}
		what := k.describe(o)
		if f := obj.GetFinalizers(); len(f) > 0 {
			what += " (finalizers: " + strings.Join(f, ", ") + ")"
		}
		if o == tenantControlPlane {
			if phase := StatusOf(obj).Phase; phase != "" {
				what += " (status " + phase + ")"
			}
		}
		stuck.Remaining = append(stuck.Remaining, what)
	}
	if len(stuck.Remaining) == 0 {
		return nil
	}
	return stuck
}

func ptr[T any](v T) *T { return &v }
