package workerpool

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/version"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
	bootstrapv1 "sigs.k8s.io/cluster-api/api/bootstrap/kubeadm/v1beta2"
	clusterv1 "sigs.k8s.io/cluster-api/api/core/v1beta2"

	"github.com/qumulus/terraform-provider-qumulus/internal/capi"
	"github.com/qumulus/terraform-provider-qumulus/internal/kamaji"
	"github.com/qumulus/terraform-provider-qumulus/internal/kube"
)

// MaxKubeletSkew is how many minor versions a kubelet may be older than its API server
// (Kubernetes' version skew policy).
const MaxKubeletSkew = 3

var (
	machineDeploymentGVR     = capi.MachineDeploymentGVR
	machineSetGVR            = clusterv1.GroupVersion.WithResource("machinesets")
	machineHealthCheckGVR    = clusterv1.GroupVersion.WithResource("machinehealthchecks")
	kubeadmConfigTemplateGVR = bootstrapv1.GroupVersion.WithResource("kubeadmconfigtemplates")

	// BootstrapKind is the bootstrap template kind of every pool.
	BootstrapKind = schema.GroupKind{Group: bootstrapv1.GroupVersion.Group, Kind: "KubeadmConfigTemplate"}
)

// ErrNotFound means the pool's MachineDeployment is not in the management cluster.
var ErrNotFound = fmt.Errorf("worker pool %w", kube.ErrNotFound)

// ClusterError means the pool's cluster cannot have Cluster API workers: there is no
// Cluster API Cluster of the name (Bare: there is a bare TenantControlPlane of the name,
// a qumulus_cluster without cluster_api).
type ClusterError struct {
	Namespace, Name string
	Bare            bool
}

func (e *ClusterError) Error() string {
	if e.Bare {
		return fmt.Sprintf("cluster %s/%s is not in Cluster API mode", e.Namespace, e.Name)
	}
	return fmt.Sprintf("cluster %s/%s not found", e.Namespace, e.Name)
}

// VersionError means the pool's Kubernetes version does not fit its control plane's.
type VersionError struct {
	Pool, ControlPlane string
	// Newer is true when the pool is newer than the control plane, false when it is more
	// than MaxKubeletSkew minor versions older.
	Newer bool
}

func (e *VersionError) Error() string {
	if e.Newer {
		return fmt.Sprintf("version %s is newer than the control plane's %s", e.Pool, e.ControlPlane)
	}
	return fmt.Sprintf("version %s is more than %d minor versions older than the control plane's %s", e.Pool, MaxKubeletSkew, e.ControlPlane)
}

// KindNotServedError means the management cluster does not serve the infrastructure
// template kind: its Cluster API infrastructure provider is not installed.
type KindNotServedError struct {
	Kind schema.GroupKind
	Err  error
}

func (e *KindNotServedError) Error() string {
	return fmt.Sprintf("the management cluster does not serve %s: %v", e.Kind, e.Err)
}
func (e *KindNotServedError) Unwrap() error { return e.Err }

// TemplateMissingError means the existing infrastructure template the pool refers to is not there.
type TemplateMissingError struct {
	Kind            schema.GroupKind
	Namespace, Name string
}

func (e *TemplateMissingError) Error() string {
	return fmt.Sprintf("%s %s/%s does not exist", e.Kind, e.Namespace, e.Name)
}

// Client manages worker pools in the management cluster.
type Client struct {
	Kube    kubernetes.Interface
	Dynamic dynamic.Interface
	// Mapper finds the resource of an infrastructure template kind.
	Mapper meta.ResettableRESTMapper
	// NamespaceTenant, when set, reads a namespace's tenant label in place of a GET of the
	// namespace (kube.Clients' remembers it during a plan).
	NamespaceTenant func(ctx context.Context, namespace string) (string, error)
}

// Prepare checks that the namespace exists and the cluster is in Cluster API mode, copies
// the namespace's tenant label to s, defaults s.Version to the control plane's and checks
// it against the control plane's (not newer, at most MaxKubeletSkew minor versions older).
func (c *Client) Prepare(ctx context.Context, s *Spec) error {
	tenant, err := kube.ReadNamespaceTenant(ctx, c.NamespaceTenant, c.Kube, s.Namespace)
	if err != nil {
		return err
	}
	s.Tenant = tenant
	cp, err := c.ControlPlaneVersion(ctx, s.Namespace, s.Cluster)
	if err != nil {
		return err
	}
	if s.Version == "" {
		s.Version = cp
	}
	return CheckVersion(s.Version, cp)
}

// CheckVersion refuses a pool version newer than the control plane's, or more than
// MaxKubeletSkew minor versions older. Versions that do not parse are left to the API.
func CheckVersion(pool, controlPlane string) error {
	p, cp := parseOrNil(pool), parseOrNil(controlPlane)
	if p == nil || cp == nil {
		return nil
	}
	if cp.LessThan(p) {
		return &VersionError{Pool: "v" + p.String(), ControlPlane: "v" + cp.String(), Newer: true}
	}
	oldest := version.MajorMinor(cp.Major(), cp.Minor())
	if cp.Minor() >= MaxKubeletSkew {
		oldest = version.MajorMinor(cp.Major(), cp.Minor()-MaxKubeletSkew)
	}
	if p.Major() != cp.Major() || p.LessThan(oldest) {
		return &VersionError{Pool: "v" + p.String(), ControlPlane: "v" + cp.String()}
	}
	return nil
}

func parseOrNil(s string) *version.Version {
	v, err := kube.ParseVersion(s)
	if err != nil {
		return nil
	}
	return v
}

// ControlPlaneVersion is the Kubernetes version the cluster's control plane runs: what
// Kamaji reports installed, or before it does, the KamajiControlPlane's spec.version. It
// returns a *ClusterError when the cluster is missing or not in Cluster API mode.
func (c *Client) ControlPlaneVersion(ctx context.Context, namespace, name string) (string, error) {
	get := func(gvr schema.GroupVersionResource, kind string) (*unstructured.Unstructured, error) {
		obj, err := c.Dynamic.Resource(gvr).Namespace(namespace).Get(ctx, name, metav1.GetOptions{})
		if apierrors.IsNotFound(err) {
			return nil, nil
		}
		if err != nil {
			return nil, &kube.ObjectError{Action: "reading", Object: fmt.Sprintf("%s %s/%s", kind, namespace, name), Err: err}
		}
		return obj, nil
	}
	cl, err := get(capi.ClusterGVR, "Cluster")
	if err != nil {
		return "", err
	}
	if cl == nil || cl.GetDeletionTimestamp() != nil {
		tcp, err := get(kamaji.TenantControlPlaneGVR, kamaji.TenantControlPlaneGVK.Kind)
		if err != nil {
			return "", err
		}
		return "", &ClusterError{Namespace: namespace, Name: name, Bare: tcp != nil && cl == nil}
	}
	tcp, err := get(kamaji.TenantControlPlaneGVR, kamaji.TenantControlPlaneGVK.Kind)
	if err != nil {
		return "", err
	}
	if v := kamaji.InstalledVersion(tcp); v != "" {
		return v, nil
	}
	ref := str(cl, "spec", "controlPlaneRef", "name")
	if str(cl, "spec", "controlPlaneRef", "kind") == capi.KamajiControlPlaneGVK.Kind && ref != "" {
		obj, err := c.Dynamic.Resource(capi.KamajiControlPlaneGVR).Namespace(namespace).Get(ctx, ref, metav1.GetOptions{})
		if err != nil && !apierrors.IsNotFound(err) {
			return "", &kube.ObjectError{Action: "reading", Object: fmt.Sprintf("KamajiControlPlane %s/%s", namespace, ref), Err: err}
		}
		if obj != nil {
			return str(obj, "spec", "version"), nil
		}
	}
	return "", nil
}

// CheckFree refuses to create a pool over a MachineDeployment that exists (one being
// deleted is waited for).
func (c *Client) CheckFree(ctx context.Context, s Spec) error {
	r := c.Dynamic.Resource(machineDeploymentGVR).Namespace(s.Namespace)
	md, err := r.Get(ctx, s.Name, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return nil
	}
	if err != nil {
		return &kube.ObjectError{Action: "reading", Object: s.describe(), Err: err}
	}
	if md.GetDeletionTimestamp() != nil {
		if err := kube.WaitGone(ctx, r, kube.NameSelector(s.Name)); err != nil {
			return &kube.StuckError{Remaining: []string{s.describe() + " (being deleted)"}, Err: err}
		}
		return nil
	}
	return kube.ExistsErrorFor(s.describe(), md)
}

func (s Spec) describe() string {
	return fmt.Sprintf("MachineDeployment %s/%s", s.Namespace, s.Name)
}

// resourceFor finds the resource that serves kind, refreshing discovery once when it is
// not known (a provider installed since the provider started).
func (c *Client) resourceFor(kind schema.GroupKind) (*meta.RESTMapping, error) {
	m, err := c.Mapper.RESTMapping(kind)
	if meta.IsNoMatchError(err) {
		c.Mapper.Reset()
		m, err = c.Mapper.RESTMapping(kind)
	}
	if meta.IsNoMatchError(err) {
		return nil, &KindNotServedError{Kind: kind, Err: err}
	}
	if err != nil {
		return nil, &kube.ObjectError{Action: "discovering", Object: "the resource of " + kind.String(), Err: err}
	}
	return m, nil
}

// Apply writes the pool's objects with server-side apply, templates first so that the
// MachineDeployment never points at a missing one, and removes a MachineHealthCheck the
// provider made when the spec has none.
func (c *Client) Apply(ctx context.Context, s Spec) error {
	kind := schema.GroupKind{Group: s.Infrastructure.APIGroup, Kind: s.Infrastructure.Kind}
	mapping, err := c.resourceFor(kind)
	if err != nil {
		return err
	}
	infra := c.Dynamic.Resource(mapping.Resource).Namespace(s.Namespace)
	if template := s.InfrastructureTemplate(mapping.GroupVersionKind.GroupVersion().String()); template != nil {
		if err := c.apply(ctx, infra, template); err != nil {
			return err
		}
	} else {
		_, err := infra.Get(ctx, s.Infrastructure.Name, metav1.GetOptions{})
		if apierrors.IsNotFound(err) {
			return &TemplateMissingError{Kind: kind, Namespace: s.Namespace, Name: s.Infrastructure.Name}
		}
		if err != nil {
			return &kube.ObjectError{Action: "reading", Object: fmt.Sprintf("%s %s/%s", kind.Kind, s.Namespace, s.Infrastructure.Name), Err: err}
		}
	}
	if err := c.apply(ctx, c.Dynamic.Resource(kubeadmConfigTemplateGVR).Namespace(s.Namespace), s.BootstrapTemplate()); err != nil {
		return err
	}
	if err := c.apply(ctx, c.Dynamic.Resource(machineDeploymentGVR).Namespace(s.Namespace), s.MachineDeployment()); err != nil {
		return err
	}
	mhcs := c.Dynamic.Resource(machineHealthCheckGVR).Namespace(s.Namespace)
	if mhc := s.MachineHealthCheck(); mhc != nil {
		return c.apply(ctx, mhcs, mhc)
	}
	return c.deleteHealthCheck(ctx, s.Namespace, s.Name)
}

// DryRun sends the objects Apply would write, in its order, with dryRun=All (see
// kube.DryRun): the API server checks them as it would check Apply's, and stores nothing.
// An existing infrastructure template is neither read nor sent, and a MachineHealthCheck
// Apply would delete is left out. Every object is sent; the error is a *kube.RefusedError
// listing what the server refused, or the failure that stopped the run. s must be
// prepared (see Prepare).
func (c *Client) DryRun(ctx context.Context, s Spec) (kube.DryRunResult, error) {
	var d kube.DryRun
	mapping, err := c.resourceFor(schema.GroupKind{Group: s.Infrastructure.APIGroup, Kind: s.Infrastructure.Kind})
	if err != nil {
		return d.Result(), err
	}
	type send struct {
		gvr schema.GroupVersionResource
		obj *unstructured.Unstructured
	}
	var objects []send
	if template := s.InfrastructureTemplate(mapping.GroupVersionKind.GroupVersion().String()); template != nil {
		objects = append(objects, send{mapping.Resource, template})
	}
	objects = append(objects, send{kubeadmConfigTemplateGVR, s.BootstrapTemplate()}, send{machineDeploymentGVR, s.MachineDeployment()})
	if mhc := s.MachineHealthCheck(); mhc != nil {
		objects = append(objects, send{machineHealthCheckGVR, mhc})
	}
	for _, o := range objects {
		if err := d.Apply(ctx, c.Dynamic.Resource(o.gvr).Namespace(s.Namespace), o.obj); err != nil {
			return d.Result(), err
		}
	}
	return d.Result(), d.Err()
}

func (c *Client) apply(ctx context.Context, r dynamic.ResourceInterface, obj *unstructured.Unstructured) error {
	_, err := kube.Apply(ctx, r, obj)
	return err
}

// deleteHealthCheck deletes the pool's MachineHealthCheck if the provider made it.
func (c *Client) deleteHealthCheck(ctx context.Context, namespace, name string) error {
	r := c.Dynamic.Resource(machineHealthCheckGVR).Namespace(namespace)
	mhc, err := r.Get(ctx, name, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return nil
	}
	what := fmt.Sprintf("MachineHealthCheck %s/%s", namespace, name)
	if err != nil {
		return &kube.ObjectError{Action: "reading", Object: what, Err: err}
	}
	if mhc.GetLabels()[LabelPool] != name {
		return nil
	}
	if err := r.Delete(ctx, name, metav1.DeleteOptions{}); err != nil && !apierrors.IsNotFound(err) {
		return &kube.ObjectError{Action: "deleting", Object: what, Err: err}
	}
	return nil
}

// WaitReady watches the MachineDeployment until Status.Ready, calling progress at every
// change of what Describe reports. When ctx ends first it returns a *kube.NotReadyError with
// the last status.
func (c *Client) WaitReady(ctx context.Context, s Spec, progress func(Status)) (Status, error) {
	r := c.Dynamic.Resource(machineDeploymentGVR).Namespace(s.Namespace)
	if _, err := r.Get(ctx, s.Name, metav1.GetOptions{}); err != nil {
		return Status{}, &kube.ObjectError{Action: "reading", Object: s.describe(), Err: err}
	}
	var last Status
	lastDescribed := ""
	err := kube.WatchObject(ctx, r, s.Name, func(obj *unstructured.Unstructured) bool {
		last = StatusOf(obj)
		if d := last.Describe(); d != lastDescribed {
			lastDescribed = d
			if progress != nil {
				progress(last)
			}
		}
		return last.Ready()
	})
	if errors.Is(ctx.Err(), context.Canceled) {
		return last, fmt.Errorf("waiting for %s: %w", s.describe(), ctx.Err())
	}
	var refused *kube.WatchRefusedError
	if errors.As(err, &refused) {
		return last, &kube.ObjectError{Action: "watching", Object: s.describe(), Err: refused.Err}
	}
	if err != nil {
		return last, &kube.NotReadyError{Object: s.describe(), Last: last.Describe(), Err: err}
	}
	return last, nil
}

// RemoveUnusedTemplates deletes the templates the provider generated for the pool that
// neither the MachineDeployment nor any of its MachineSets refers to: those of earlier
// contents, once the rollout has replaced their machines. kinds are the infrastructure
// template kinds to look at (the pool's, and an earlier one when the kind changed). It
// returns the names of old templates still in use, which a later apply removes.
func (c *Client) RemoveUnusedTemplates(ctx context.Context, s Spec, kinds ...schema.GroupKind) (inUse []string, err error) {
	used := map[schema.GroupKind]map[string]bool{}
	use := func(k schema.GroupKind, name string) {
		if used[k] == nil {
			used[k] = map[string]bool{}
		}
		used[k][name] = true
	}
	if s.Infrastructure.Kind != "" {
		use(BootstrapKind, s.BootstrapTemplateName())
		use(schema.GroupKind{Group: s.Infrastructure.APIGroup, Kind: s.Infrastructure.Kind}, s.InfrastructureTemplateName())
	}
	selector := labels.SelectorFromSet(s.Selector()).String()
	sets, err := c.Dynamic.Resource(machineSetGVR).Namespace(s.Namespace).List(ctx, metav1.ListOptions{LabelSelector: selector})
	if err != nil {
		return nil, &kube.ObjectError{Action: "listing", Object: "the MachineSets of " + s.describe(), Err: err}
	}
	for _, ms := range sets.Items {
		if ms.GetDeletionTimestamp() != nil {
			// A MachineSet being deleted makes no more machines from its templates.
			continue
		}
		use(schema.GroupKind{Group: str(&ms, "spec", "template", "spec", "bootstrap", "configRef", "apiGroup"),
			Kind: str(&ms, "spec", "template", "spec", "bootstrap", "configRef", "kind")},
			str(&ms, "spec", "template", "spec", "bootstrap", "configRef", "name"))
		use(schema.GroupKind{Group: str(&ms, "spec", "template", "spec", "infrastructureRef", "apiGroup"),
			Kind: str(&ms, "spec", "template", "spec", "infrastructureRef", "kind")},
			str(&ms, "spec", "template", "spec", "infrastructureRef", "name"))
	}
	current := map[string]bool{s.BootstrapTemplateName(): true, s.InfrastructureTemplateName(): true}
	owned := labels.SelectorFromSet(map[string]string{kube.LabelManagedBy: kube.ManagedBy, LabelPool: s.Name, LabelCluster: s.Cluster}).String()
	seen := map[schema.GroupKind]bool{}
	for _, kind := range append([]schema.GroupKind{BootstrapKind}, kinds...) {
		if kind.Kind == "" || seen[kind] {
			continue
		}
		seen[kind] = true
		gvr := kubeadmConfigTemplateGVR
		if kind != BootstrapKind {
			mapping, err := c.resourceFor(kind)
			var notServed *KindNotServedError
			if errors.As(err, &notServed) {
				// A kind no longer served has no templates left to remove.
				continue
			}
			if err != nil {
				return inUse, err
			}
			gvr = mapping.Resource
		}
		r := c.Dynamic.Resource(gvr).Namespace(s.Namespace)
		list, err := r.List(ctx, metav1.ListOptions{LabelSelector: owned})
		if err != nil {
			return inUse, &kube.ObjectError{Action: "listing", Object: "the " + kind.Kind + "s of " + s.describe(), Err: err}
		}
		for _, t := range list.Items {
			if used[kind][t.GetName()] {
				if !current[t.GetName()] {
					inUse = append(inUse, kind.Kind+" "+t.GetName())
				}
				continue
			}
			if t.GetDeletionTimestamp() != nil {
				continue
			}
			err := r.Delete(ctx, t.GetName(), metav1.DeleteOptions{})
			if err != nil && !apierrors.IsNotFound(err) {
				return inUse, &kube.ObjectError{Action: "deleting", Object: fmt.Sprintf("%s %s/%s", kind.Kind, s.Namespace, t.GetName()), Err: err}
			}
		}
	}
	slices.Sort(inUse)
	return inUse, nil
}

// RemoveTemplatesWhenUnused is RemoveUnusedTemplates, repeated at every change of the
// pool's MachineSets until no old template is in use or ctx ends; then it returns the
// templates still in use, without error.
func (c *Client) RemoveTemplatesWhenUnused(ctx context.Context, s Spec, kinds ...schema.GroupKind) ([]string, error) {
	inUse, err := c.RemoveUnusedTemplates(ctx, s, kinds...)
	if err != nil || len(inUse) == 0 {
		return inUse, err
	}
	var apiErr error
	sets := c.Dynamic.Resource(machineSetGVR).Namespace(s.Namespace)
	_ = kube.WatchList(ctx, sets, metav1.ListOptions{LabelSelector: labels.SelectorFromSet(s.Selector()).String()}, func() bool {
		inUse, apiErr = c.RemoveUnusedTemplates(ctx, s, kinds...)
		return apiErr != nil || len(inUse) == 0
	})
	if apiErr != nil && ctx.Err() == nil {
		return inUse, apiErr
	}
	return inUse, nil
}

// Observe reads the pool back; ErrNotFound when its MachineDeployment is gone or being
// deleted.
func (c *Client) Observe(ctx context.Context, namespace, name string) (*Observed, error) {
	md, err := c.Dynamic.Resource(machineDeploymentGVR).Namespace(namespace).Get(ctx, name, metav1.GetOptions{})
	what := fmt.Sprintf("MachineDeployment %s/%s", namespace, name)
	if apierrors.IsNotFound(err) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, &kube.ObjectError{Action: "reading", Object: what, Err: err}
	}
	if md.GetDeletionTimestamp() != nil {
		return nil, ErrNotFound
	}
	spec, err := specFromMachineDeployment(md)
	if err != nil {
		return nil, err
	}
	o := &Observed{Status: StatusOf(md)}
	o.BootstrapTemplate = str(md, "spec", "template", "spec", "bootstrap", "configRef", "name")
	o.InfrastructureTemplate = spec.Infrastructure.Name

	kct, err := c.Dynamic.Resource(kubeadmConfigTemplateGVR).Namespace(namespace).Get(ctx, o.BootstrapTemplate, metav1.GetOptions{})
	switch {
	case apierrors.IsNotFound(err):
	case err != nil:
		return nil, &kube.ObjectError{Action: "reading", Object: "KubeadmConfigTemplate " + namespace + "/" + o.BootstrapTemplate, Err: err}
	default:
		o.BootstrapFound = true
		if err := readBootstrap(kct, &spec); err != nil {
			return nil, err
		}
	}

	kind := schema.GroupKind{Group: spec.Infrastructure.APIGroup, Kind: spec.Infrastructure.Kind}
	mapping, err := c.resourceFor(kind)
	var notServed *KindNotServedError
	if err != nil && !errors.As(err, &notServed) {
		return nil, err
	}
	if err == nil {
		t, err := c.Dynamic.Resource(mapping.Resource).Namespace(namespace).Get(ctx, o.InfrastructureTemplate, metav1.GetOptions{})
		switch {
		case apierrors.IsNotFound(err):
		case err != nil:
			return nil, &kube.ObjectError{Action: "reading", Object: fmt.Sprintf("%s %s/%s", kind.Kind, namespace, o.InfrastructureTemplate), Err: err}
		default:
			o.InfrastructureFound = true
			if t.GetLabels()[LabelPool] == name && t.GetLabels()[kube.LabelManagedBy] == kube.ManagedBy {
				if spec.Infrastructure.Spec, err = TemplateSpecJSON(t); err != nil {
					return nil, fmt.Errorf("reading %s %s/%s: %w", kind.Kind, namespace, t.GetName(), err)
				}
				spec.Infrastructure.Name = ""
			}
		}
	}

	mhc, err := c.Dynamic.Resource(machineHealthCheckGVR).Namespace(namespace).Get(ctx, name, metav1.GetOptions{})
	switch {
	case apierrors.IsNotFound(err):
	case err != nil:
		return nil, &kube.ObjectError{Action: "reading", Object: "MachineHealthCheck " + namespace + "/" + name, Err: err}
	case mhc.GetLabels()[LabelPool] == name:
		if spec.HealthCheck, err = readHealthCheck(mhc); err != nil {
			return nil, err
		}
	}
	o.Spec = spec
	return o, nil
}

// Delete deletes the pool: its MachineHealthCheck, then its MachineDeployment (Cluster
// API drains and deletes the machines first), waits until that is gone, then deletes
// the templates the provider generated for it (kinds: the infrastructure template kinds)
// and waits for them.
func (c *Client) Delete(ctx context.Context, namespace, clusterName, name string, kinds ...schema.GroupKind) error {
	s := Spec{Namespace: namespace, Cluster: clusterName, Name: name}
	if err := c.deleteHealthCheck(ctx, namespace, name); err != nil {
		return err
	}
	r := c.Dynamic.Resource(machineDeploymentGVR).Namespace(namespace)
	err := r.Delete(ctx, name, metav1.DeleteOptions{PropagationPolicy: new(metav1.DeletePropagationBackground)})
	if err != nil && !apierrors.IsNotFound(err) {
		return &kube.ObjectError{Action: "deleting", Object: s.describe(), Err: err}
	}
	if err := kube.WaitGone(ctx, r, kube.NameSelector(name)); err != nil {
		return c.stuck(context.WithoutCancel(ctx), r, s, err)
	}
	if _, err := c.RemoveUnusedTemplates(ctx, s, kinds...); err != nil {
		return err
	}
	owned := metav1.ListOptions{LabelSelector: labels.SelectorFromSet(map[string]string{
		kube.LabelManagedBy: kube.ManagedBy, LabelPool: name, LabelCluster: clusterName,
	}).String()}
	for _, kind := range append([]schema.GroupKind{BootstrapKind}, kinds...) {
		gvr := kubeadmConfigTemplateGVR
		if kind != BootstrapKind {
			mapping, err := c.resourceFor(kind)
			if err != nil {
				continue
			}
			gvr = mapping.Resource
		}
		if err := kube.WaitGone(ctx, c.Dynamic.Resource(gvr).Namespace(namespace), owned); err != nil {
			return &kube.StuckError{Remaining: []string{fmt.Sprintf("the %ss of %s", kind.Kind, s.describe())}, Err: err}
		}
	}
	return nil
}

func (c *Client) stuck(ctx context.Context, r dynamic.ResourceInterface, s Spec, cause error) error {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	md, err := r.Get(ctx, s.Name, metav1.GetOptions{})
	if err != nil {
		return &kube.StuckError{Remaining: []string{s.describe()}, Err: cause}
	}
	what := kube.Describe(s.describe(), md)
	if st := StatusOf(md); st.Current > 0 {
		what += fmt.Sprintf(" (%d machines left)", st.Current)
	}
	return &kube.StuckError{Remaining: []string{what}, Err: cause}
}
