package cluster

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"

	"github.com/qumulus/terraform-provider-qumulus/internal/capi"
	"github.com/qumulus/terraform-provider-qumulus/internal/kamaji"
	"github.com/qumulus/terraform-provider-qumulus/internal/kube"
)

// Client manages tenant control planes in the management cluster. A Client serves one
// Terraform operation: Observe after Apply and WaitReady takes the objects they last saw
// (the apply's responses, the watch's last event) instead of reading them again.
type Client struct {
	Kube    kubernetes.Interface
	Dynamic dynamic.Interface
	// NamespaceTenant, when set, reads a namespace's tenant label in place of a GET of the
	// namespace (kube.Clients' remembers it during a plan).
	NamespaceTenant func(ctx context.Context, namespace string) (string, error)

	seen map[seenKey]*unstructured.Unstructured
}

type seenKey struct {
	o    object
	name string
}

func (c *Client) remember(k Key, o object, obj *unstructured.Unstructured) {
	if c.seen == nil {
		c.seen = map[seenKey]*unstructured.Unstructured{}
	}
	c.seen[seenKey{o, k.Namespace + "/" + k.Name}] = obj
}

// latest is object o of k as this client last saw it, once; read from the API when it saw
// none.
func (c *Client) latest(ctx context.Context, k Key, o object) (*unstructured.Unstructured, error) {
	key := seenKey{o, k.Namespace + "/" + k.Name}
	if obj, ok := c.seen[key]; ok {
		delete(c.seen, key)
		return obj, nil
	}
	return c.get(ctx, k, o)
}

// ErrNotFound means the cluster's objects are not in the management cluster.
var ErrNotFound = fmt.Errorf("cluster %w", kube.ErrNotFound)

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
	if !kube.SameVersion(s.InstalledVersion, want.Version) {
		parts = append(parts, fmt.Sprintf("installed version %s, wanted %s", installed, want.Version))
	}
	if !kube.SameVersion(s.RequestedVersion, want.Version) {
		parts = append(parts, fmt.Sprintf("spec.kubernetes.version still %s", s.RequestedVersion))
	}
	if s.ObservedReported && s.ObservedGeneration < s.Generation {
		parts = append(parts, fmt.Sprintf("Kamaji has seen generation %d of %d", s.ObservedGeneration, s.Generation))
	}
	if want.Replicas != nil && (s.SpecReplicas == nil || *s.SpecReplicas != *want.Replicas) {
		parts = append(parts, fmt.Sprintf("spec.controlPlane.deployment.replicas not yet %d", *want.Replicas))
	}
	if d, n := s.Deployment, s.wantReplicas(want); !d.Settled(n) {
		if d.Reported {
			parts = append(parts, fmt.Sprintf("control plane pods: %d/%d, %d ready, %d available, %d updated", d.Replicas, n, d.Ready, d.Available, d.Updated))
		} else {
			parts = append(parts, "no control plane Deployment in status yet")
		}
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
		return nil, &kube.ObjectError{Action: "reading", Object: k.describe(o), Err: err}
	}
	return obj, nil
}

// Prepare checks that the tenant namespace exists and copies its tenant label to s.
func (c *Client) Prepare(ctx context.Context, s *Spec) error {
	tenant, err := kube.ReadNamespaceTenant(ctx, c.NamespaceTenant, c.Kube, s.Namespace)
	s.Tenant = tenant
	return err
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
			return kube.ExistsErrorFor(k.describe(o), obj)
		}
	}
	return nil
}

// Apply writes the cluster's objects with server-side apply (see kube.Apply), in
// creation order, and reports how many it wrote.
func (c *Client) Apply(ctx context.Context, s Spec) (applied int, err error) {
	for _, obj := range s.Objects() {
		o := objectOfKind(obj.GetKind())
		written, err := kube.Apply(ctx, c.Dynamic.Resource(o.gvr).Namespace(s.Namespace), obj)
		if err != nil {
			return applied, err
		}
		c.remember(s.Key(), o, written)
		applied++
	}
	return applied, nil
}

// DryRun sends the objects Apply would write, in its order, with dryRun=All (see
// kube.DryRun): the API server checks them as it would check Apply's, and stores nothing.
// Every object is sent; the error is a *kube.RefusedError listing what the server refused,
// or the failure that stopped the run. s must be prepared (see Prepare).
func (c *Client) DryRun(ctx context.Context, s Spec) (kube.DryRunResult, error) {
	var d kube.DryRun
	for _, obj := range s.Objects() {
		if err := d.Apply(ctx, c.Dynamic.Resource(objectOfKind(obj.GetKind()).gvr).Namespace(s.Namespace), obj); err != nil {
			return d.Result(), err
		}
	}
	return d.Result(), d.Err()
}

func objectOfKind(kind string) object {
	switch kind {
	case kamajiControlPlane.kind:
		return kamajiControlPlane
	case clusterAPICluster.kind:
		return clusterAPICluster
	}
	return tenantControlPlane
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

// Observe reads the cluster back. It returns ErrNotFound when the objects the provider
// writes (the TenantControlPlane, or in Cluster API mode both the Cluster and the
// KamajiControlPlane) are gone or being deleted; in Cluster API mode one of the two gone
// is named in Observed.Missing. The CA Secret is read only when the TenantControlPlane
// says its CA may differ from known (see KnownCA.unchanged).
func (c *Client) Observe(ctx context.Context, k Key, known KnownCA) (*Observed, error) {
	var o Observed
	tcp, err := c.latest(ctx, k, tenantControlPlane)
	if err != nil {
		return nil, err
	}
	if k.ClusterAPI {
		cluster, err := c.latest(ctx, k, clusterAPICluster)
		if err != nil {
			return nil, err
		}
		kcp, err := c.latest(ctx, k, kamajiControlPlane)
		if err != nil {
			return nil, err
		}
		// One of the two deleted out of band is drift the next apply writes back: a create
		// would find the other and refuse. Only when neither is left is the cluster gone.
		cluster, kcp = present(cluster), present(kcp)
		if cluster == nil && kcp == nil {
			return nil, ErrNotFound
		}
		for _, missing := range []struct {
			obj **unstructured.Unstructured
			o   object
		}{{&cluster, clusterAPICluster}, {&kcp, kamajiControlPlane}} {
			if *missing.obj == nil {
				o.Missing = append(o.Missing, k.describe(missing.o))
				*missing.obj = &unstructured.Unstructured{Object: map[string]any{}}
			}
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
		o.CACertificate, o.CASource, err = c.caCertificate(ctx, k, o.Status, known)
		if err != nil {
			return nil, err
		}
	}
	return &o, nil
}

// present is obj unless it is nil or being deleted.
func present(obj *unstructured.Unstructured) *unstructured.Unstructured {
	if obj == nil || obj.GetDeletionTimestamp() != nil {
		return nil
	}
	return obj
}

// caCertificate reads the public CA certificate from the CA Secret Kamaji names in
// status.certificates.ca (<name>-ca before it does), unless known is still that CA. Only
// ca.crt is read out of the Secret.
func (c *Client) caCertificate(ctx context.Context, k Key, s Status, known KnownCA) (string, CASource, error) {
	source := CASource{Secret: s.CASecret, Checksum: s.CAChecksum}
	if source.Secret == "" {
		source.Secret = kamaji.CASecretName(k.Name)
	}
	if known.unchanged(source) {
		return known.Certificate, source, nil
	}
	secret, err := c.Kube.CoreV1().Secrets(k.Namespace).Get(ctx, source.Secret, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return "", source, nil
	}
	if err != nil {
		return "", source, &kube.ObjectError{Action: "reading", Object: fmt.Sprintf("CA Secret %s/%s", k.Namespace, source.Secret), Err: err}
	}
	return string(secret.Data[CACertificateKey]), source, nil
}

// WaitReady watches the TenantControlPlane until it serves want (see Status.Ready), and
// calls progress at every change of what Describe reports. When ctx ends first it returns
// a NotReadyError with the last status.
func (c *Client) WaitReady(ctx context.Context, want Spec, progress func(Status)) (Status, error) {
	k := want.Key()
	// What Apply saw is older than what the watch will see.
	clear(c.seen)
	var last Status
	lastDescribed := ""
	err := kube.WatchObject(ctx, c.Dynamic.Resource(tenantControlPlane.gvr).Namespace(k.Namespace), k.Name, func(obj *unstructured.Unstructured) bool {
		if obj != nil {
			c.remember(k, tenantControlPlane, obj)
		}
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
	var refused *kube.WatchRefusedError
	if errors.As(err, &refused) {
		return last, &kube.ObjectError{Action: "watching", Object: k.describe(tenantControlPlane), Err: refused.Err}
	}
	if err != nil {
		return last, &kube.NotReadyError{Object: k.describe(tenantControlPlane), Last: last.Describe(want), Err: err}
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
				return &kube.ObjectError{Action: "deleting", Object: k.describe(o), Err: err}
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
	stuck := &kube.StuckError{Err: cause}
	for _, o := range kinds {
		obj, err := c.get(ctx, k, o)
		if err != nil || obj == nil {
			continue
		}
		what := kube.Describe(k.describe(o), obj)
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
