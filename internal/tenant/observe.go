package tenant

import (
	"context"
	"encoding/json"
	"maps"
	"sort"
	"sync"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/qumulus/terraform-provider-qumulus/internal/kube"
)

// Observed is a tenant as the management cluster has it.
type Observed struct {
	// Spec is read back from the objects: labels, annotations and quota keys the provider
	// applied, members bound by both of their role's bindings, network isolation parsed
	// from the policies.
	Spec
	// Phase is the namespace's phase: Active or Terminating.
	Phase string
	// Names lists the objects that exist as the provider writes them: an object changed out
	// of band is missing here.
	Names Names
	// Unlabelled is set when the namespace lost its tenant label out of band; the next
	// apply puts it back.
	Unlabelled bool
}

// Observe reads the tenant name in namespace. ErrNotFound means the namespace is gone or
// belongs to someone else.
//
// After the namespace, which decides whether there is a tenant at all, it reads the rest
// concurrently in five requests: the Role, the quota and the limits by name, and the
// tenant's RoleBindings and NetworkPolicies each in one list by the ownership labels.
func (c *Client) Observe(ctx context.Context, name, namespace string) (*Observed, error) {
	ns, err := c.Kube.CoreV1().Namespaces().Get(ctx, namespace, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, &kube.ObjectError{Action: "reading", Object: "namespace " + namespace, Err: err}
	}
	if !belongsTo(ns, name) {
		return nil, ErrNotFound
	}
	o := &Observed{Spec: Spec{Name: name, Namespace: namespace}, Phase: string(ns.Status.Phase), Unlabelled: ns.Labels[kube.LabelTenant] == ""}
	o.Labels = pick(ns.Labels, kube.AppliedKeys(ns, "metadata", "labels"))
	for k := range o.Labels {
		if kube.IsReservedLabel(k) {
			delete(o.Labels, k)
		}
	}
	o.Annotations = pick(ns.Annotations, kube.AppliedKeys(ns, "metadata", "annotations"))

	r, err := c.readObjects(ctx, o)
	if err != nil {
		return nil, err
	}
	o.observeRBAC(r.role, r.bindings)
	o.observeNetwork(r.policies)
	o.observeQuota(r.quota)
	o.observeLimits(r.limits)
	sort.Strings(o.Names.Roles)
	sort.Strings(o.Names.RoleBindings)
	sort.Strings(o.Names.NetworkPolicies)
	return o, nil
}

// tenantObjects are the objects of a tenant besides its namespace, as read; nil or empty
// for those that do not exist.
type tenantObjects struct {
	role     *rbacv1.Role
	bindings []rbacv1.RoleBinding
	policies []networkingv1.NetworkPolicy
	quota    *corev1.ResourceQuota
	limits   *corev1.LimitRange
}

// readObjects reads the tenant's objects in o.Namespace concurrently. Each read writes only
// its own field of the result; on failure the error is the first in the order of the reads,
// whichever failed first.
func (c *Client) readObjects(ctx context.Context, o *Observed) (*tenantObjects, error) {
	var r tenantObjects
	ns := o.Namespace
	owned := metav1.ListOptions{LabelSelector: kube.OwnershipSelector(o.Name)}
	reads := []func() error{
		func() error {
			role, err := found(c.Kube.RbacV1().Roles(ns).Get(ctx, PlatformRole, metav1.GetOptions{}))
			if err != nil {
				return &kube.ObjectError{Action: "reading", Object: "Role " + ns + "/" + PlatformRole, Err: err}
			}
			r.role = role
			return nil
		},
		func() error {
			list, err := found(c.Kube.RbacV1().RoleBindings(ns).List(ctx, owned))
			if err != nil {
				return &kube.ObjectError{Action: "listing", Object: "RoleBindings in namespace " + ns, Err: err}
			}
			if list != nil {
				r.bindings = list.Items
			}
			return nil
		},
		func() error {
			list, err := found(c.Kube.NetworkingV1().NetworkPolicies(ns).List(ctx, owned))
			if err != nil {
				return &kube.ObjectError{Action: "listing", Object: "NetworkPolicies in namespace " + ns, Err: err}
			}
			if list != nil {
				r.policies = list.Items
			}
			return nil
		},
		func() error {
			q, err := found(c.Kube.CoreV1().ResourceQuotas(ns).Get(ctx, ResourceQuotaName, metav1.GetOptions{}))
			if err != nil {
				return &kube.ObjectError{Action: "reading", Object: "ResourceQuota " + ns + "/" + ResourceQuotaName, Err: err}
			}
			r.quota = q
			return nil
		},
		func() error {
			l, err := found(c.Kube.CoreV1().LimitRanges(ns).Get(ctx, LimitRangeName, metav1.GetOptions{}))
			if err != nil {
				return &kube.ObjectError{Action: "reading", Object: "LimitRange " + ns + "/" + LimitRangeName, Err: err}
			}
			r.limits = l
			return nil
		},
	}
	errs := make([]error, len(reads))
	var wg sync.WaitGroup
	for i, read := range reads {
		wg.Go(func() { errs[i] = read() })
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return nil, err
		}
	}
	return &r, nil
}

// belongsTo reports whether ns is the namespace of tenant name: labelled for it, or still
// marked as the provider's after its tenant label was removed.
func belongsTo(ns metav1.Object, name string) bool {
	l := ns.GetLabels()
	return l[kube.LabelTenant] == name || l[kube.LabelTenant] == "" && l[kube.LabelManagedBy] == kube.ManagedBy
}

func (o *Observed) owns(obj metav1.Object) bool {
	l := obj.GetLabels()
	return l[kube.LabelManagedBy] == kube.ManagedBy && l[kube.LabelTenant] == o.Name
}

// observeRBAC reads the members from the platform Role r and the tenant's bindings: a
// member counts when both its role's binding and the platform binding name it. A binding
// counts only when it names exactly the members, so a subject added to one binding out of
// band shows as drift and the next apply removes it.
func (o *Observed) observeRBAC(r *rbacv1.Role, bindings []rbacv1.RoleBinding) {
	if r != nil && o.owns(r) && sameAs(platformRules(), r.Rules) {
		o.Names.Roles = []string{PlatformRole}
	}
	byName := make(map[string]*rbacv1.RoleBinding, len(bindings))
	for i := range bindings {
		byName[bindings[i].Name] = &bindings[i]
	}
	binding := func(name, kind, ref string) *rbacv1.RoleBinding {
		rb := byName[name]
		if rb == nil || !o.owns(rb) || rb.RoleRef.Kind != kind || rb.RoleRef.Name != ref {
			return nil
		}
		return rb
	}
	platform := binding(PlatformRole, "Role", PlatformRole)
	inPlatform := map[rbacv1.Subject]bool{}
	if platform != nil {
		for _, s := range platform.Subjects {
			inPlatform[s] = true
		}
	}
	members := map[rbacv1.Subject]bool{}
	for _, role := range Roles {
		rb := binding(ClusterRoleBindingName(role), "ClusterRole", role)
		if rb == nil {
			continue
		}
		exact := true
		for _, s := range rb.Subjects {
			if !inPlatform[s] {
				exact = false
				continue
			}
			members[s] = true
			m := Member{Kind: s.Kind, Name: s.Name, Role: role}
			if s.Kind == KindServiceAccount {
				m.Namespace = s.Namespace
			}
			o.Members = append(o.Members, m)
		}
		if exact {
			o.Names.RoleBindings = append(o.Names.RoleBindings, rb.Name)
		}
	}
	if platform != nil && len(members) == len(inPlatform) {
		o.Names.RoleBindings = append(o.Names.RoleBindings, platform.Name)
	}
	o.Members = sortedMembers(o.Members)
}

// observeNetwork reads network isolation from the tenant's policies: those of the names
// the provider writes.
func (o *Observed) observeNetwork(list []networkingv1.NetworkPolicy) {
	policies := map[string]*networkingv1.NetworkPolicy{}
	for i := range list {
		p := &list[i]
		switch p.Name {
		case PolicyDefaultDeny, PolicySameNamespace, PolicyPlatform, PolicyControlPlanes:
			if o.owns(p) {
				policies[p.Name] = p
			}
		}
	}
	if len(policies) == 0 {
		return
	}
	o.Network = &NetworkIsolation{AllowControlPlaneIngress: policies[PolicyControlPlanes] != nil}
	if p := policies[PolicyPlatform]; p != nil {
		for _, rule := range p.Spec.Ingress {
			for _, peer := range rule.From {
				sel := peer.NamespaceSelector
				switch {
				case sel == nil || peer.PodSelector != nil || peer.IPBlock != nil:
				case len(sel.MatchExpressions) == 1 && len(sel.MatchLabels) == 0 &&
					sel.MatchExpressions[0].Key == namespaceNameLabel && sel.MatchExpressions[0].Operator == metav1.LabelSelectorOpIn:
					o.Network.AllowedNamespaces = append(o.Network.AllowedNamespaces, sel.MatchExpressions[0].Values...)
				case len(sel.MatchExpressions) == 0 && len(sel.MatchLabels) > 0:
					o.Network.AllowedNamespaceSelectors = append(o.Network.AllowedNamespaceSelectors, sel.MatchLabels)
				}
			}
		}
	}
	// A policy counts only when it is exactly what the parsed settings would write.
	for _, want := range o.networkPolicies() {
		if got := policies[*want.Name]; got != nil && sameAs(want.Spec, got.Spec) {
			o.Names.NetworkPolicies = append(o.Names.NetworkPolicies, got.Name)
		}
	}
}

func (o *Observed) observeQuota(q *corev1.ResourceQuota) {
	if q == nil || !o.owns(q) {
		return
	}
	o.Names.ResourceQuota = q.Name
	owned := kube.AppliedKeys(q, "spec", "hard")
	o.Quota = map[string]resource.Quantity{}
	for k, v := range q.Spec.Hard {
		if owned[string(k)] {
			o.Quota[string(k)] = v
		}
	}
}

func (o *Observed) observeLimits(l *corev1.LimitRange) {
	if l == nil || !o.owns(l) {
		return
	}
	o.Names.LimitRange = l.Name
	o.Limits = &Limits{}
	for _, item := range l.Spec.Limits {
		if item.Type != corev1.LimitTypeContainer {
			continue
		}
		o.Limits.Default = quantities(item.Default)
		o.Limits.DefaultRequest = quantities(item.DefaultRequest)
		o.Limits.Max = quantities(item.Max)
		o.Limits.Min = quantities(item.Min)
		o.Limits.MaxLimitRequestRatio = quantities(item.MaxLimitRequestRatio)
	}
}

func quantities(l corev1.ResourceList) map[string]resource.Quantity {
	if len(l) == 0 {
		return nil
	}
	out := map[string]resource.Quantity{}
	for k, v := range l {
		out[string(k)] = v
	}
	return out
}

func pick(m map[string]string, keys map[string]bool) map[string]string {
	out := maps.Clone(m)
	maps.DeleteFunc(out, func(k, _ string) bool { return !keys[k] })
	return out
}

// sameAs reports whether the apply configuration want describes the typed value got, as
// the API server would store it.
func sameAs[T any](want any, got T) bool {
	raw, err := json.Marshal(want)
	if err != nil {
		return false
	}
	var w T
	if err := json.Unmarshal(raw, &w); err != nil {
		return false
	}
	return equality.Semantic.DeepEqual(w, got)
}

// found returns nil, nil for an object that does not exist: typed clients return an
// empty object with NotFound.
func found[T any](obj *T, err error) (*T, error) {
	switch {
	case apierrors.IsNotFound(err):
		return nil, nil
	case err != nil:
		return nil, err
	}
	return obj, nil
}
