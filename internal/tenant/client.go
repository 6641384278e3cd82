package tenant

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"sort"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/uuid"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"

	"github.com/qumulus/terraform-provider-qumulus/internal/capi"
	"github.com/qumulus/terraform-provider-qumulus/internal/kamaji"
	"github.com/qumulus/terraform-provider-qumulus/internal/kube"
)

// ErrNotFound means the tenant's namespace does not exist (or no longer belongs to it).
var ErrNotFound = fmt.Errorf("tenant namespace %w", kube.ErrNotFound)

// ErrNotOwned means Delete found the namespace belonging to someone else, and left it.
var ErrNotOwned = errors.New("the namespace no longer belongs to the tenant")

// AmbiguousError means several namespaces claim the same tenant.
type AmbiguousError struct {
	Name       string
	Namespaces []string
}

func (e *AmbiguousError) Error() string {
	return fmt.Sprintf("tenant %q is claimed by several namespaces (%s)", e.Name, strings.Join(e.Namespaces, ", "))
}

// NamespaceExistsError refuses to take over a namespace the tenant did not create.
type NamespaceExistsError struct {
	Namespace string
	// Tenant is the tenant the namespace is labelled for, if any.
	Tenant string
}

func (e *NamespaceExistsError) Error() string {
	if e.Tenant != "" {
		return fmt.Sprintf("namespace %s already exists and belongs to tenant %q", e.Namespace, e.Tenant)
	}
	return fmt.Sprintf("namespace %s already exists and was not created for a tenant", e.Namespace)
}

// NameTakenError refuses a second tenant of the same name.
type NameTakenError struct {
	Name      string
	Namespace string
}

func (e *NameTakenError) Error() string {
	return fmt.Sprintf("a tenant named %q already exists in namespace %s", e.Name, e.Namespace)
}

// HasClustersError refuses to delete a namespace that still holds clusters.
type HasClustersError struct {
	Namespace string
	Clusters  []string
}

func (e *HasClustersError) Error() string {
	return fmt.Sprintf("namespace %s still holds %s", e.Namespace, strings.Join(e.Clusters, ", "))
}

// Client manages tenants in a management cluster.
type Client struct {
	Kube      kubernetes.Interface
	Dynamic   dynamic.Interface
	Discovery discovery.DiscoveryInterface
}

// remainsTimeout bounds the listing of what a stuck namespace still holds.
const remainsTimeout = 30 * time.Second

var applyOptions = metav1.ApplyOptions{FieldManager: kube.FieldManager, Force: true}

// Create creates the tenant's namespace, refusing one that exists, then applies the rest.
// created reports whether the namespace was created, so that a caller can record a
// half-made tenant.
//
// A create is not repeated by the transport (it may have been carried out), so Create
// resolves a lost answer itself: the namespace carries the random identifier of its
// create request, and when the answer to the request is lost Create reads the namespace
// back: its own (the identifier matches) counts as created, none means the request was
// not carried out and is sent again, another's is refused as any existing namespace.
// When it cannot be read back either, created is true with the error: what may have been
// made is recorded, and replaced by the next apply.
func (c *Client) Create(ctx context.Context, s Spec) (created bool, err error) {
	taken, err := c.Find(ctx, s.Name)
	switch {
	case err == nil:
		return false, &NameTakenError{Name: s.Name, Namespace: taken}
	case !errors.Is(err, ErrNotFound):
		return false, err
	}
	// Create, not apply: only Create fails on an existing namespace. The ownership labels
	// it sets are never removed, so they may stay owned by this Update.
	request := string(uuid.NewUUID())
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{
		Name:        s.Namespace,
		Labels:      s.labels(),
		Annotations: map[string]string{kube.AnnotationCreateRequest: request},
	}}
	namespaces := c.Kube.CoreV1().Namespaces()
	backoff := createBackoff
	for {
		_, err := namespaces.Create(ctx, ns, metav1.CreateOptions{FieldManager: kube.FieldManager})
		if err == nil {
			break
		}
		lost := answerLost(err)
		if !lost && !apierrors.IsAlreadyExists(err) {
			return false, &kube.ObjectError{Action: "creating", Object: "namespace " + s.Namespace, Err: err}
		}
		existing, getErr := namespaces.Get(ctx, s.Namespace, metav1.GetOptions{})
		switch {
		case getErr == nil && existing.Annotations[kube.AnnotationCreateRequest] == request:
			// This request made it; its answer was lost.
			return true, c.Apply(ctx, s)
		case getErr == nil && existing.Labels[kube.LabelManagedBy] == kube.ManagedBy:
			return false, &NamespaceExistsError{Namespace: s.Namespace, Tenant: existing.Labels[kube.LabelTenant]}
		case getErr == nil:
			return false, &NamespaceExistsError{Namespace: s.Namespace}
		case !lost:
			// Already exists, and gone or unreadable since.
			return false, &NamespaceExistsError{Namespace: s.Namespace}
		case apierrors.IsNotFound(getErr):
			// Not carried out: send it again.
			if backoff.Steps <= 0 || sleep(ctx, backoff.Step()) != nil {
				return false, &kube.ObjectError{Action: "creating", Object: "namespace " + s.Namespace, Err: err}
			}
		default:
			// Cannot tell: reported as created, so that the caller records the tenant
			// (tainted) and the next apply replaces whatever was made.
			return true, &kube.ObjectError{Action: "creating", Object: "namespace " + s.Namespace, Err: err}
		}
	}
	return true, c.Apply(ctx, s)
}

// createBackoff spaces the repeats of a create that was not carried out.
var createBackoff = wait.Backoff{Duration: 250 * time.Millisecond, Factor: 2, Jitter: 0.2, Steps: 5, Cap: 4 * time.Second}

// answerLost reports whether a request failed without a clear answer, so that it may or
// may not have been carried out: no answer from the server (a connection that broke, or
// none after the transport's retries), or a 5xx (a server or a proxy before it failing
// during the request). The operation's own end (timeout, interrupt) is not: nothing can
// be read back then.
func answerLost(err error) bool {
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return false
	}
	var noAnswer *kube.NoAnswerError
	var transport *url.Error
	if errors.As(err, &noAnswer) || errors.As(err, &transport) {
		return true
	}
	var status apierrors.APIStatus
	return errors.As(err, &status) && status.Status().Code >= 500
}

// sleep waits d or until ctx ends.
func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// Apply brings the tenant's objects to s and deletes the ones s no longer has.
func (c *Client) Apply(ctx context.Context, s Spec) error {
	core := c.Kube.CoreV1()
	rbac := c.Kube.RbacV1()
	if _, err := core.Namespaces().Apply(ctx, s.NamespaceApply(), applyOptions); err != nil {
		return &kube.ObjectError{Action: "applying", Object: "namespace " + s.Namespace, Err: err}
	}
	for _, r := range s.RolesApply() {
		if _, err := rbac.Roles(s.Namespace).Apply(ctx, r, applyOptions); err != nil {
			return &kube.ObjectError{Action: "applying", Object: "Role " + s.Namespace + "/" + *r.Name, Err: err}
		}
	}
	for _, b := range s.RoleBindingsApply() {
		if _, err := rbac.RoleBindings(s.Namespace).Apply(ctx, b, applyOptions); err != nil {
			return &kube.ObjectError{Action: "applying", Object: "RoleBinding " + s.Namespace + "/" + *b.Name, Err: err}
		}
	}
	for _, p := range s.NetworkPolicyObjects() {
		body, err := json.Marshal(p.Object)
		if err == nil {
			_, err = c.Kube.NetworkingV1().NetworkPolicies(s.Namespace).Patch(ctx, p.GetName(), types.ApplyPatchType, body,
				metav1.PatchOptions{FieldManager: applyOptions.FieldManager, Force: &applyOptions.Force})
		}
		if err != nil {
			return &kube.ObjectError{Action: "applying", Object: "NetworkPolicy " + s.Namespace + "/" + p.GetName(), Err: err}
		}
	}
	if q := s.ResourceQuotaApply(); q != nil {
		if _, err := core.ResourceQuotas(s.Namespace).Apply(ctx, q, applyOptions); err != nil {
			return &kube.ObjectError{Action: "applying", Object: "ResourceQuota " + s.Namespace + "/" + *q.Name, Err: err}
		}
	}
	if l := s.LimitRangeApply(); l != nil {
		if _, err := core.LimitRanges(s.Namespace).Apply(ctx, l, applyOptions); err != nil {
			return &kube.ObjectError{Action: "applying", Object: "LimitRange " + s.Namespace + "/" + *l.Name, Err: err}
		}
	}
	return c.prune(ctx, s)
}

// DryRun sends the objects Apply would write, in its order, with dryRun=All (see
// kube.DryRun): the API server checks them as it would check Apply's, and stores nothing.
// While the namespace does not exist (a tenant being created) only the Namespace itself
// can be checked: the objects in it are skipped and named in the result. Nothing is
// pruned. Every object is sent; the error is a *kube.RefusedError listing what the server
// refused, or the failure that stopped the run.
func (c *Client) DryRun(ctx context.Context, s Spec) (kube.DryRunResult, error) {
	type send struct {
		resource string
		group    string
		config   any
	}
	objects := []send{{"namespaces", "", s.NamespaceApply()}}
	for _, r := range s.RolesApply() {
		objects = append(objects, send{"roles", rbacv1.GroupName, r})
	}
	for _, b := range s.RoleBindingsApply() {
		objects = append(objects, send{"rolebindings", rbacv1.GroupName, b})
	}
	for _, p := range s.NetworkPolicyObjects() {
		objects = append(objects, send{"networkpolicies", networkingv1.GroupName, p})
	}
	if q := s.ResourceQuotaApply(); q != nil {
		objects = append(objects, send{"resourcequotas", "", q})
	}
	if l := s.LimitRangeApply(); l != nil {
		objects = append(objects, send{"limitranges", "", l})
	}
	var d kube.DryRun
	for _, o := range objects {
		obj := kube.MustUnstructured(o.config)
		r := c.Dynamic.Resource(schema.GroupVersionResource{Group: o.group, Version: "v1", Resource: o.resource})
		var err error
		if o.resource == "namespaces" {
			err = d.Apply(ctx, r, obj)
		} else {
			err = d.Apply(ctx, r.Namespace(s.Namespace), obj)
		}
		if err != nil {
			return d.Result(), err
		}
	}
	return d.Result(), d.Err()
}

// prune deletes the tenant's objects that s does not name.
func (c *Client) prune(ctx context.Context, s Spec) error {
	names := s.ObjectNames()
	keep := map[string][]string{
		"roles":           names.Roles,
		"rolebindings":    names.RoleBindings,
		"networkpolicies": names.NetworkPolicies,
		"resourcequotas":  {names.ResourceQuota},
		"limitranges":     {names.LimitRange},
	}
	for _, gvr := range prunable {
		list, err := c.Dynamic.Resource(gvr).Namespace(s.Namespace).List(ctx, metav1.ListOptions{LabelSelector: kube.OwnershipSelector(s.Name)})
		if err != nil {
			return &kube.ObjectError{Action: "listing", Object: gvr.Resource + " in namespace " + s.Namespace, Err: err}
		}
		for _, obj := range list.Items {
			if slices.Contains(keep[gvr.Resource], obj.GetName()) {
				continue
			}
			err := c.Dynamic.Resource(gvr).Namespace(s.Namespace).Delete(ctx, obj.GetName(), metav1.DeleteOptions{})
			if err != nil && !apierrors.IsNotFound(err) {
				return &kube.ObjectError{Action: "deleting", Object: gvr.Resource + " " + s.Namespace + "/" + obj.GetName(), Err: err}
			}
		}
	}
	return nil
}

var prunable = []schema.GroupVersionResource{
	{Group: "rbac.authorization.k8s.io", Version: "v1", Resource: "rolebindings"},
	{Group: "rbac.authorization.k8s.io", Version: "v1", Resource: "roles"},
	{Group: "networking.k8s.io", Version: "v1", Resource: "networkpolicies"},
	{Version: "v1", Resource: "resourcequotas"},
	{Version: "v1", Resource: "limitranges"},
}

// Find returns the namespace of the tenant called name.
func (c *Client) Find(ctx context.Context, name string) (string, error) {
	list, err := c.Kube.CoreV1().Namespaces().List(ctx, metav1.ListOptions{LabelSelector: kube.OwnershipSelector(name)})
	if err != nil {
		return "", &kube.ObjectError{Action: "listing", Object: "namespaces of tenant " + name, Err: err}
	}
	switch len(list.Items) {
	case 0:
		return "", ErrNotFound
	case 1:
		return list.Items[0].Name, nil
	}
	e := &AmbiguousError{Name: name}
	for _, ns := range list.Items {
		e.Namespaces = append(e.Namespaces, ns.Name)
	}
	return "", e
}

// Clusters lists the TenantControlPlanes and Cluster API Clusters in namespace, skipping
// APIs the management cluster does not serve.
func (c *Client) Clusters(ctx context.Context, namespace string) ([]string, error) {
	var out []string
	for _, k := range []struct {
		gvr  schema.GroupVersionResource
		kind string
	}{
		{kamaji.TenantControlPlaneGVR, kamaji.TenantControlPlaneGVK.Kind},
		{capi.ClusterGVR, "Cluster"},
	} {
		list, err := c.Dynamic.Resource(k.gvr).Namespace(namespace).List(ctx, metav1.ListOptions{})
		if apierrors.IsNotFound(err) {
			continue
		}
		if err != nil {
			return nil, &kube.ObjectError{Action: "listing", Object: k.gvr.Resource + " in namespace " + namespace, Err: err}
		}
		for _, obj := range list.Items {
			out = append(out, k.kind+" "+obj.GetName())
		}
	}
	return out, nil
}

// Delete deletes the namespace of tenant name and waits until it is gone. Unless force is
// set it refuses while clusters remain in it. A namespace that belongs to someone else is
// left alone (ErrNotOwned). When ctx ends first, the error is a *kube.StuckError.
func (c *Client) Delete(ctx context.Context, name, namespace string, force bool) error {
	ns, err := c.Kube.CoreV1().Namespaces().Get(ctx, namespace, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return nil
	}
	if err != nil {
		return &kube.ObjectError{Action: "reading", Object: "namespace " + namespace, Err: err}
	}
	if !belongsTo(ns, name) {
		return ErrNotOwned
	}
	if !force {
		clusters, err := c.Clusters(ctx, namespace)
		if err != nil {
			return err
		}
		if len(clusters) > 0 {
			return &HasClustersError{Namespace: namespace, Clusters: clusters}
		}
	}
	if ns.DeletionTimestamp == nil {
		err := c.Kube.CoreV1().Namespaces().Delete(ctx, namespace, metav1.DeleteOptions{
			Preconditions: &metav1.Preconditions{UID: &ns.UID},
		})
		if err != nil && !apierrors.IsNotFound(err) {
			return &kube.ObjectError{Action: "deleting", Object: "namespace " + namespace, Err: err}
		}
	}
	if err := c.waitGone(ctx, namespace); err != nil {
		// The context has ended: ask with a fresh one what is left.
		stuck := &kube.StuckError{Container: "namespace " + namespace, Err: err}
		c.describeRemains(context.WithoutCancel(ctx), namespace, stuck)
		return stuck
	}
	return nil
}

func (c *Client) waitGone(ctx context.Context, namespace string) error {
	return kube.WaitGone(ctx, c.Dynamic.Resource(corev1.SchemeGroupVersion.WithResource("namespaces")), kube.NameSelector(namespace))
}

// describeRemains fills in what is still in a namespace that does not go away.
func (c *Client) describeRemains(ctx context.Context, namespace string, stuck *kube.StuckError) {
	ctx, cancel := context.WithTimeout(ctx, remainsTimeout)
	defer cancel()
	if ns, err := c.Kube.CoreV1().Namespaces().Get(ctx, namespace, metav1.GetOptions{}); err == nil {
		for _, cond := range ns.Status.Conditions {
			if cond.Status == corev1.ConditionTrue && cond.Message != "" {
				stuck.Conditions = append(stuck.Conditions, fmt.Sprintf("%s: %s", cond.Type, cond.Message))
			}
		}
	}
	lists, _ := c.Discovery.ServerPreferredNamespacedResources()
	for _, list := range lists {
		gv, err := schema.ParseGroupVersion(list.GroupVersion)
		if err != nil {
			continue
		}
		for _, r := range list.APIResources {
			if !slices.Contains(r.Verbs, "list") || strings.Contains(r.Name, "/") || r.Name == "events" {
				continue
			}
			objs, err := c.Dynamic.Resource(gv.WithResource(r.Name)).Namespace(namespace).List(ctx, metav1.ListOptions{})
			if err != nil {
				continue
			}
			for _, obj := range objs.Items {
				stuck.Remaining = append(stuck.Remaining, kube.Describe(r.Kind+" "+obj.GetName(), &obj))
			}
		}
	}
	sort.Strings(stuck.Remaining)
}
