package simulator

import (
	"context"
	"sort"

	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller"
)

// clusterRoleAggregator plays kube-controller-manager's ClusterRole aggregation
// controller, which envtest does not run: without it the built-in admin, edit and view
// ClusterRoles have no rules. Every ClusterRole with an aggregationRule gets the rules of
// the ClusterRoles its selectors match.
type clusterRoleAggregator struct {
	client.Client
}

func (s *Simulator) setupClusterRoleAggregation() error {
	return ctrl.NewControllerManagedBy(s.mgr).
		Named("clusterrole-aggregation").
		For(&rbacv1.ClusterRole{}).
		// Every reconciliation writes every aggregated role: concurrent ones only conflict.
		WithOptions(controller.Options{MaxConcurrentReconciles: 1}).
		Complete(&clusterRoleAggregator{Client: s.mgr.GetClient()})
}

// Reconcile recomputes every aggregated ClusterRole: a change to any ClusterRole can
// change any of them, and there are few.
func (r *clusterRoleAggregator) Reconcile(ctx context.Context, _ ctrl.Request) (ctrl.Result, error) {
	var all rbacv1.ClusterRoleList
	if err := r.List(ctx, &all); err != nil {
		return ctrl.Result{}, err
	}
	sort.Slice(all.Items, func(i, j int) bool { return all.Items[i].Name < all.Items[j].Name })
	for i := range all.Items {
		role := &all.Items[i]
		if role.AggregationRule == nil {
			continue
		}
		var rules []rbacv1.PolicyRule
		for _, sel := range role.AggregationRule.ClusterRoleSelectors {
			selector, err := metav1.LabelSelectorAsSelector(&sel)
			if err != nil {
				continue
			}
			for j := range all.Items {
				source := &all.Items[j]
				if source.Name == role.Name || !selector.Matches(labels.Set(source.Labels)) {
					continue
				}
				for _, rule := range source.Rules {
					if !containsRule(rules, rule) {
						rules = append(rules, rule)
					}
				}
			}
		}
		if equality.Semantic.DeepEqual(rules, role.Rules) {
			continue
		}
		role.Rules = rules
		if err := r.Update(ctx, role); err != nil {
			return ctrl.Result{}, err
		}
	}
	return ctrl.Result{}, nil
}

func containsRule(rules []rbacv1.PolicyRule, rule rbacv1.PolicyRule) bool {
	for _, r := range rules {
		if equality.Semantic.DeepEqual(r, rule) {
			return true
		}
	}
	return false
}
