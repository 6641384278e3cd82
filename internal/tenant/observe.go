package tenant

import (
	"context"
	"encoding/json"
	"maps"
	"sort"

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

	for _, read := range []func(context.Context, *Observed) error{c.observeRBAC, c.observeNetwork, c.observeQuota, c.observeLimits} {
		if err := read(ctx, o); err != nil {
			return nil, err
		}
	}
	sort.Strings(o.Names.Roles)
	sort.Strings(o.Names.RoleBindings)
	sort.Strings(o.Names.NetworkPolicies)
	return o, nil
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

// observeRBAC reads the members: a member counts when both its role's binding and the
// platform binding name it. A binding counts only when it names exactly the members, so a
// subject added to one binding out of band shows as drift and the next apply removes it.
func (c *Client) observeRBAC(ctx context.Context, o *Observed) error {
	rbac := c.Kube.RbacV1()
	r, err := found(rbac.Roles(o.Namespace).Get(ctx, PlatformRole, metav1.GetOptions{}))
	if err != nil {
		return &kube.ObjectError{Action: "reading", Object: "Role " + o.Namespace + "/" + PlatformRole, Err: err}
	}
	if r != nil && o.owns(r) && sameAs(platformRules(), r.Rules) {
		o.Names.Roles = []string{PlatformRole}
	}
	binding := func(name, kind, ref string) (*rbacv1.RoleBinding, error) {
		rb, err := found(rbac.RoleBindings(o.Namespace).Get(ctx, name, metav1.GetOptions{}))
		if err != nil {
			return nil, &kube.ObjectError{Action: "reading", Object: "RoleBinding " + o.Namespace + "/" + name, Err: err}
		}
		if rb == nil || !o.owns(rb) || rb.RoleRef.Kind != kind || rb.RoleRef.Name != ref {
			return nil, nil
		}
		return rb, nil
	}
	platform, err := binding(PlatformRole, "Role", PlatformRole)
	if err != nil {
		return err
	}
	inPlatform := map[rbacv1.Subject]bool{}
	if platform != nil {
		for _, s := range platform.Subjects {
			inPlatform[s] = true
		}
	}
	members := map[rbacv1.Subject]bool{}
	for _, role := range Roles {
		rb, err := binding(ClusterRoleBindingName(role), "ClusterRole", role)
		if err != nil {
			return err
		}
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
	return nil
}

func (c *Client) observeNetwork(ctx context.Context, o *Observed) error {
	policies := map[string]*networkingv1.NetworkPolicy{}
	for _, name := range []string{PolicyDefaultDeny, PolicySameNamespace, PolicyPlatform, PolicyControlPlanes} {
		p, err := found(c.Kube.NetworkingV1().NetworkPolicies(o.Namespace).Get(ctx, name, metav1.GetOptions{}))
		if err != nil {
			return &kube.ObjectError{Action: "reading", Object: "NetworkPolicy " + o.Namespace + "/" + name, Err: err}
		}
		if p != nil && o.owns(p) {
			policies[name] = p
		}
	}
	if len(policies) == 0 {
		return nil
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
	return nil
}

func (c *Client) observeQuota(ctx context.Context, o *Observed) error {
	q, err := found(c.Kube.CoreV1().ResourceQuotas(o.Namespace).Get(ctx, ResourceQuotaName, metav1.GetOptions{}))
	if err != nil {
		return &kube.ObjectError{Action: "reading", Object: "ResourceQuota " + o.Namespace + "/" + ResourceQuotaName, Err: err}
	}
	if q == nil || !o.owns(q) {
		return nil
	}
	o.Names.ResourceQuota = q.Name
	owned := kube.AppliedKeys(q, "spec", "hard")
	o.Quota = map[string]resource.Quantity{}
	for k, v := range q.Spec.Hard {
		if owned[string(k)] {
			o.Quota[string(k)] = v
		}
	}
	return nil
}

func (c *Client) observeLimits(ctx context.Context, o *Observed) error {
	l, err := found(c.Kube.CoreV1().LimitRanges(o.Namespace).Get(ctx, LimitRangeName, metav1.GetOptions{}))
	if err != nil {
		return &kube.ObjectError{Action: "reading", Object: "LimitRange " + o.Namespace + "/" + LimitRangeName, Err: err}
	}
	if l == nil || !o.owns(l) {
		return nil
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
	}
	return nil
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
