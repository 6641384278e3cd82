// Package tenant drives a tenant's home in the management cluster: its namespace, the RBAC
// that gives its members access to their own clusters and nothing else, the network
// policies that separate it from other tenants, and its quota and limit defaults.
package tenant

import (
	"cmp"
	"fmt"
	"maps"
	"slices"
	"sort"

	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	corev1ac "k8s.io/client-go/applyconfigurations/core/v1"
	metav1ac "k8s.io/client-go/applyconfigurations/meta/v1"
	networkingv1ac "k8s.io/client-go/applyconfigurations/networking/v1"
	rbacv1ac "k8s.io/client-go/applyconfigurations/rbac/v1"

	"github.com/qumulus/terraform-provider-qumulus/internal/capi"
	"github.com/qumulus/terraform-provider-qumulus/internal/kamaji"
	"github.com/qumulus/terraform-provider-qumulus/internal/kube"
)

// Roles a member can hold, each the name of a built-in ClusterRole.
const (
	RoleAdmin = "admin"
	RoleEdit  = "edit"
	RoleView  = "view"
)

// Roles lists the roles in order of decreasing power.
var Roles = []string{RoleAdmin, RoleEdit, RoleView}

// Kinds of member, as RBAC subjects name them.
const (
	KindUser           = rbacv1.UserKind
	KindGroup          = rbacv1.GroupKind
	KindServiceAccount = rbacv1.ServiceAccountKind
)

// Kinds lists the member kinds.
var Kinds = []string{KindUser, KindGroup, KindServiceAccount}

// Names of the objects a tenant owns in its namespace.
const (
	PolicyDefaultDeny    = "qumulus-default-deny-ingress"
	PolicySameNamespace  = "qumulus-allow-same-tenant"
	PolicyPlatform       = "qumulus-allow-platform"
	PolicyControlPlanes  = "qumulus-allow-control-plane-endpoints"
	ResourceQuotaName    = "qumulus-quota"
	LimitRangeName       = "qumulus-limits"
	namespaceNameLabel   = corev1.LabelMetadataName
	controlPlanePodLabel = "kamaji.clastix.io/name"
)

// DefaultNamespacePrefix is put before a tenant's name to name its namespace, so that no
// tenant can take a system namespace such as default or kube-system.
const DefaultNamespacePrefix = "tenant-"

// ReservedNamespaces may never be a tenant's namespace: deleting the tenant deletes it.
var ReservedNamespaces = []string{"default", "kube-system", "kube-public", "kube-node-lease"}

// DefaultAllowedNamespaces are the namespaces whose pods may reach a tenant's pods when the
// configuration names none: Kamaji's controller talks to every tenant control plane.
var DefaultAllowedNamespaces = []string{"kamaji-system"}

// Spec is what a tenant should be.
type Spec struct {
	Name        string
	Namespace   string
	Labels      map[string]string
	Annotations map[string]string
	Members     []Member
	// Network is nil when the tenant has no network isolation.
	Network *NetworkIsolation
	// Quota holds ResourceQuota hard limits; empty for no ResourceQuota.
	Quota map[string]resource.Quantity
	// Limits is nil for no LimitRange.
	Limits *Limits
}

// Member is a subject with a role in the tenant.
type Member struct {
	Kind string
	Name string
	// Namespace of a ServiceAccount; empty means the tenant's namespace.
	Namespace string
	Role      string
}

// NetworkIsolation configures the tenant's NetworkPolicies: ingress from other tenants is
// denied, ingress from inside the namespace is allowed, and so is ingress from the
// namespaces named here.
type NetworkIsolation struct {
	AllowedNamespaces []string
	// AllowedNamespaceSelectors each select namespaces by their labels (all must match).
	AllowedNamespaceSelectors []map[string]string
	// AllowControlPlaneIngress lets anything reach the tenant's control-plane pods, whose
	// API servers worker nodes and users outside the cluster connect to.
	AllowControlPlaneIngress bool
}

// Limits are the container defaults and bounds of the tenant's LimitRange.
type Limits struct {
	Default        map[string]resource.Quantity
	DefaultRequest map[string]resource.Quantity
	Max            map[string]resource.Quantity
	Min            map[string]resource.Quantity
	// MaxLimitRequestRatio bounds a container's limit divided by its request.
	MaxLimitRequestRatio map[string]resource.Quantity
}

// Defaulted returns l as the API server stores it: a resource with a max but no default
// limit gets the max as default, and one with a default limit or a min but no default
// request gets that as default request (SetDefaults_LimitRangeItem).
func (l *Limits) Defaulted() *Limits {
	if l == nil {
		return nil
	}
	out := &Limits{Default: maps.Clone(l.Default), DefaultRequest: maps.Clone(l.DefaultRequest), Max: l.Max, Min: l.Min, MaxLimitRequestRatio: l.MaxLimitRequestRatio}
	fill := func(into *map[string]resource.Quantity, from map[string]resource.Quantity) {
		for k, v := range from {
			if _, ok := (*into)[k]; !ok {
				if *into == nil {
					*into = map[string]resource.Quantity{}
				}
				(*into)[k] = v
			}
		}
	}
	fill(&out.Default, l.Max)
	fill(&out.DefaultRequest, out.Default)
	fill(&out.DefaultRequest, l.Min)
	return out
}

// SameLimits reports whether observed is what the API server makes of written.
func SameLimits(written, observed *Limits) bool {
	w := written.Defaulted()
	if w == nil || observed == nil {
		return w == nil && observed == nil
	}
	return sameQuantities(w.Default, observed.Default) && sameQuantities(w.DefaultRequest, observed.DefaultRequest) &&
		sameQuantities(w.Max, observed.Max) && sameQuantities(w.Min, observed.Min) &&
		sameQuantities(w.MaxLimitRequestRatio, observed.MaxLimitRequestRatio)
}

func sameQuantities(a, b map[string]resource.Quantity) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if o, ok := b[k]; !ok || v.Cmp(o) != 0 {
			return false
		}
	}
	return true
}

// DefaultNamespace is the namespace of a tenant whose configuration names none.
func DefaultNamespace(name string) string {
	return DefaultNamespacePrefix + name
}

// Names are the names of the objects a spec leads to, sorted.
type Names struct {
	Roles           []string
	RoleBindings    []string
	NetworkPolicies []string
	ResourceQuota   string
	LimitRange      string
}

// ClusterRoleBindingName is the RoleBinding of a role's members to the built-in ClusterRole.
func ClusterRoleBindingName(role string) string { return "qumulus-" + role }

// PlatformRole is the Role, and the RoleBinding of every member to it, that lets members
// read the platform's own objects in the namespace (their clusters), which the built-in
// ClusterRoles do not cover.
const PlatformRole = "qumulus-platform"

// ObjectNames returns the names of the objects s leads to.
func (s Spec) ObjectNames() Names {
	var n Names
	for _, role := range s.roles() {
		n.RoleBindings = append(n.RoleBindings, ClusterRoleBindingName(role))
	}
	if len(s.Members) > 0 {
		n.Roles = []string{PlatformRole}
		n.RoleBindings = append(n.RoleBindings, PlatformRole)
	}
	for _, p := range s.networkPolicies() {
		n.NetworkPolicies = append(n.NetworkPolicies, *p.Name)
	}
	if len(s.Quota) > 0 {
		n.ResourceQuota = ResourceQuotaName
	}
	if s.Limits != nil {
		n.LimitRange = LimitRangeName
	}
	sort.Strings(n.RoleBindings)
	sort.Strings(n.NetworkPolicies)
	return n
}

// roles returns the roles that have members, in Roles order.
func (s Spec) roles() []string {
	var out []string
	for _, role := range Roles {
		if slices.ContainsFunc(s.Members, func(m Member) bool { return m.Role == role }) {
			out = append(out, role)
		}
	}
	return out
}

func (s Spec) labels() map[string]string {
	return kube.OwnershipLabels(s.Name)
}

// NamespaceApply is the namespace as the provider applies it.
func (s Spec) NamespaceApply() *corev1ac.NamespaceApplyConfiguration {
	labels := maps.Clone(s.Labels)
	if labels == nil {
		labels = map[string]string{}
	}
	maps.Copy(labels, s.labels())
	ns := corev1ac.Namespace(s.Namespace).WithLabels(labels)
	if len(s.Annotations) > 0 {
		ns.WithAnnotations(s.Annotations)
	}
	return ns
}

// PlatformResources are the namespaced objects of Kamaji and Cluster API that members may
// read. Read only: clusters are changed through Terraform, and a TenantControlPlane's spec
// chooses a shared DataStore, which no tenant may point at another's data. Status
// subresources are not granted, so no member can forge a cluster's readiness.
var PlatformResources = map[string][]string{
	kamaji.Group:                 {kamaji.TenantControlPlaneGVR.Resource},
	"cluster.x-k8s.io":           {"clusters", "machinedeployments", "machinesets", "machines", "machinepools", "machinehealthchecks"},
	capi.ControlPlaneGroup:       {capi.KamajiControlPlaneGVR.Resource},
	"bootstrap.cluster.x-k8s.io": {"kubeadmconfigs", "kubeadmconfigtemplates"},
}

func platformRules() []*rbacv1ac.PolicyRuleApplyConfiguration {
	groups := slices.Sorted(maps.Keys(PlatformResources))
	var rules []*rbacv1ac.PolicyRuleApplyConfiguration
	for _, g := range groups {
		rules = append(rules, rbacv1ac.PolicyRule().WithAPIGroups(g).WithResources(PlatformResources[g]...).WithVerbs("get", "list", "watch"))
	}
	return rules
}

func subject(m Member, tenantNamespace string) *rbacv1ac.SubjectApplyConfiguration {
	sub := rbacv1ac.Subject().WithKind(m.Kind).WithName(m.Name)
	if m.Kind == KindServiceAccount {
		ns := m.Namespace
		if ns == "" {
			ns = tenantNamespace
		}
		return sub.WithNamespace(ns)
	}
	return sub.WithAPIGroup(rbacv1.GroupName)
}

// platformSubjects are all members, each once.
func (s Spec) platformSubjects() []*rbacv1ac.SubjectApplyConfiguration {
	var out []*rbacv1ac.SubjectApplyConfiguration
	seen := map[string]bool{}
	for _, m := range sortedMembers(s.Members) {
		sub := subject(m, s.Namespace)
		key := *sub.Kind + "/" + ptrValue(sub.Namespace) + "/" + *sub.Name
		if !seen[key] {
			seen[key] = true
			out = append(out, sub)
		}
	}
	return out
}

func ptrValue(p *string) string {
	if p == nil {
		return ""
	}
	return *p
}

func (s Spec) subjects(role string) []*rbacv1ac.SubjectApplyConfiguration {
	var out []*rbacv1ac.SubjectApplyConfiguration
	for _, m := range sortedMembers(s.Members) {
		if m.Role == role {
			out = append(out, subject(m, s.Namespace))
		}
	}
	return out
}

// RolesApply returns the tenant's Roles.
func (s Spec) RolesApply() []*rbacv1ac.RoleApplyConfiguration {
	if len(s.Members) == 0 {
		return nil
	}
	return []*rbacv1ac.RoleApplyConfiguration{
		rbacv1ac.Role(PlatformRole, s.Namespace).WithLabels(s.labels()).WithRules(platformRules()...),
	}
}

// RoleBindingsApply returns the tenant's RoleBindings: one per role with members to the
// built-in ClusterRole, and one of all members to the platform Role.
func (s Spec) RoleBindingsApply() []*rbacv1ac.RoleBindingApplyConfiguration {
	var out []*rbacv1ac.RoleBindingApplyConfiguration
	for _, role := range s.roles() {
		out = append(out, rbacv1ac.RoleBinding(ClusterRoleBindingName(role), s.Namespace).
			WithLabels(s.labels()).
			WithRoleRef(rbacv1ac.RoleRef().WithAPIGroup(rbacv1.GroupName).WithKind("ClusterRole").WithName(role)).
			WithSubjects(s.subjects(role)...))
	}
	if len(s.Members) > 0 {
		out = append(out, rbacv1ac.RoleBinding(PlatformRole, s.Namespace).
			WithLabels(s.labels()).
			WithRoleRef(rbacv1ac.RoleRef().WithAPIGroup(rbacv1.GroupName).WithKind("Role").WithName(PlatformRole)).
			WithSubjects(s.platformSubjects()...))
	}
	return out
}

// NetworkPoliciesApply returns the tenant's NetworkPolicies.
func (s Spec) NetworkPoliciesApply() []*networkingv1ac.NetworkPolicyApplyConfiguration {
	return s.networkPolicies()
}

// NetworkPolicyObjects returns the tenant's NetworkPolicies as the provider sends them.
// A policy without rules sends an empty ingress list: applying it takes the (atomic) list
// over, so that a rule someone else added to a deny policy is removed. Apply
// configurations leave an empty list out.
func (s Spec) NetworkPolicyObjects() []*unstructured.Unstructured {
	var out []*unstructured.Unstructured
	for _, p := range s.networkPolicies() {
		obj := kube.MustUnstructured(p)
		if _, found, _ := unstructured.NestedFieldNoCopy(obj.Object, "spec", "ingress"); !found {
			_ = unstructured.SetNestedSlice(obj.Object, []any{}, "spec", "ingress")
		}
		out = append(out, obj)
	}
	return out
}

func (s Spec) networkPolicies() []*networkingv1ac.NetworkPolicyApplyConfiguration {
	if s.Network == nil {
		return nil
	}
	all := metav1ac.LabelSelector()
	policy := func(name string, pods *metav1ac.LabelSelectorApplyConfiguration, rules ...*networkingv1ac.NetworkPolicyIngressRuleApplyConfiguration) *networkingv1ac.NetworkPolicyApplyConfiguration {
		spec := networkingv1ac.NetworkPolicySpec().
			WithPodSelector(pods).
			WithPolicyTypes("Ingress")
		if len(rules) > 0 {
			spec.WithIngress(rules...)
		}
		return networkingv1ac.NetworkPolicy(name, s.Namespace).WithLabels(s.labels()).WithSpec(spec)
	}
	out := []*networkingv1ac.NetworkPolicyApplyConfiguration{
		// Without rules, a policy that selects every pod denies all ingress the other
		// policies do not allow.
		policy(PolicyDefaultDeny, all),
		policy(PolicySameNamespace, all, networkingv1ac.NetworkPolicyIngressRule().
			WithFrom(networkingv1ac.NetworkPolicyPeer().WithPodSelector(metav1ac.LabelSelector()))),
	}
	var peers []*networkingv1ac.NetworkPolicyPeerApplyConfiguration
	if len(s.Network.AllowedNamespaces) > 0 {
		// kubernetes.io/metadata.name is set by the API server and cannot be forged.
		peers = append(peers, networkingv1ac.NetworkPolicyPeer().WithNamespaceSelector(metav1ac.LabelSelector().
			WithMatchExpressions(metav1ac.LabelSelectorRequirement().
				WithKey(namespaceNameLabel).
				WithOperator("In").
				WithValues(s.Network.AllowedNamespaces...))))
	}
	for _, sel := range s.Network.AllowedNamespaceSelectors {
		peers = append(peers, networkingv1ac.NetworkPolicyPeer().WithNamespaceSelector(metav1ac.LabelSelector().WithMatchLabels(sel)))
	}
	if len(peers) > 0 {
		out = append(out, policy(PolicyPlatform, all, networkingv1ac.NetworkPolicyIngressRule().WithFrom(peers...)))
	}
	if s.Network.AllowControlPlaneIngress {
		// A rule with no peers and no ports admits everything.
		out = append(out, policy(PolicyControlPlanes, metav1ac.LabelSelector().
			WithMatchExpressions(metav1ac.LabelSelectorRequirement().WithKey(controlPlanePodLabel).WithOperator("Exists")),
			networkingv1ac.NetworkPolicyIngressRule()))
	}
	return out
}

// ResourceQuotaApply returns the tenant's ResourceQuota, or nil.
func (s Spec) ResourceQuotaApply() *corev1ac.ResourceQuotaApplyConfiguration {
	if len(s.Quota) == 0 {
		return nil
	}
	return corev1ac.ResourceQuota(ResourceQuotaName, s.Namespace).
		WithLabels(s.labels()).
		WithSpec(corev1ac.ResourceQuotaSpec().WithHard(resourceList(s.Quota)))
}

// LimitRangeApply returns the tenant's LimitRange, or nil.
func (s Spec) LimitRangeApply() *corev1ac.LimitRangeApplyConfiguration {
	if s.Limits == nil {
		return nil
	}
	item := corev1ac.LimitRangeItem().WithType(corev1.LimitTypeContainer)
	if len(s.Limits.Default) > 0 {
		item.WithDefault(resourceList(s.Limits.Default))
	}
	if len(s.Limits.DefaultRequest) > 0 {
		item.WithDefaultRequest(resourceList(s.Limits.DefaultRequest))
	}
	if len(s.Limits.Max) > 0 {
		item.WithMax(resourceList(s.Limits.Max))
	}
	if len(s.Limits.Min) > 0 {
		item.WithMin(resourceList(s.Limits.Min))
	}
	if len(s.Limits.MaxLimitRequestRatio) > 0 {
		item.WithMaxLimitRequestRatio(resourceList(s.Limits.MaxLimitRequestRatio))
	}
	return corev1ac.LimitRange(LimitRangeName, s.Namespace).
		WithLabels(s.labels()).
		WithSpec(corev1ac.LimitRangeSpec().WithLimits(item))
}

func resourceList(m map[string]resource.Quantity) corev1.ResourceList {
	out := corev1.ResourceList{}
	for k, v := range m {
		out[corev1.ResourceName(k)] = v
	}
	return out
}

func sortedMembers(members []Member) []Member {
	out := slices.Clone(members)
	slices.SortFunc(out, func(a, b Member) int {
		return cmp.Or(cmp.Compare(a.Role, b.Role), cmp.Compare(a.Kind, b.Kind), cmp.Compare(a.Namespace, b.Namespace), cmp.Compare(a.Name, b.Name))
	})
	return out
}

// String names a member the way RBAC does, for messages.
func (m Member) String() string {
	if m.Kind == KindServiceAccount && m.Namespace != "" {
		return fmt.Sprintf("%s %s/%s (%s)", m.Kind, m.Namespace, m.Name, m.Role)
	}
	return fmt.Sprintf("%s %s (%s)", m.Kind, m.Name, m.Role)
}
