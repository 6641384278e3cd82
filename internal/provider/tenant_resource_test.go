package provider

import (
	"context"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	tfacctest "github.com/hashicorp/terraform-plugin-testing/helper/acctest"
	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/knownvalue"
	"github.com/hashicorp/terraform-plugin-testing/plancheck"
	"github.com/hashicorp/terraform-plugin-testing/statecheck"
	"github.com/hashicorp/terraform-plugin-testing/terraform"
	"github.com/hashicorp/terraform-plugin-testing/tfjsonpath"
	authorizationv1 "k8s.io/api/authorization/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	k8sresource "k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"

	"github.com/qumulus/terraform-provider-qumulus/internal/kamaji"
	"github.com/qumulus/terraform-provider-qumulus/internal/kube"
	"github.com/qumulus/terraform-provider-qumulus/internal/tenant"
	"github.com/qumulus/terraform-provider-qumulus/internal/testsupport/acctest"
	"github.com/qumulus/terraform-provider-qumulus/internal/testsupport/fixtures"
	"github.com/qumulus/terraform-provider-qumulus/internal/testsupport/simulator"
)

func kubeClients(t *testing.T) (kubernetes.Interface, dynamic.Interface) {
	t.Helper()
	cfg := acctest.Cluster(t).RESTConfig
	return kubernetes.NewForConfigOrDie(cfg), dynamic.NewForConfigOrDie(cfg)
}

func tenantName() string {
	return tfacctest.RandomWithPrefix("acc")
}

// checkTenantsDestroyed fails while the namespace of any qumulus_tenant in the state exists.
func checkTenantsDestroyed(t *testing.T) func(*terraform.State) error {
	cs, _ := kubeClients(t)
	return func(s *terraform.State) error {
		for _, rs := range s.RootModule().Resources {
			if rs.Type != "qumulus_tenant" {
				continue
			}
			ns := rs.Primary.Attributes["namespace"]
			got, err := cs.CoreV1().Namespaces().Get(context.Background(), ns, metav1.GetOptions{})
			switch {
			case apierrors.IsNotFound(err):
				continue
			case err != nil:
				return err
			default:
				return fmt.Errorf("namespace %s of tenant %s still exists (phase %s)", ns, rs.Primary.ID, got.Status.Phase)
			}
		}
		return nil
	}
}

// check runs f against the management cluster as a resource.TestCheckFunc.
func check(f func(ctx context.Context) error) resource.TestCheckFunc {
	return func(*terraform.State) error { return f(context.Background()) }
}

func TestAccTenant_basic(t *testing.T) {
	isolateEnv(t)
	name := tenantName()
	ns := tenant.DefaultNamespace(name)
	cs, _ := kubeClients(t)
	addr := "qumulus_tenant.test"

	first := acctest.ProviderBlock(t) + fmt.Sprintf(`
resource "qumulus_tenant" "test" {
  name        = %q
  labels      = { team = "platform" }
  annotations = { "example.com/owner" = "ops" }
  members = [
    { kind = "Group", name = "acme-admins", role = "admin" },
    { kind = "User", name = "alice@acme.example", role = "view" },
    { kind = "ServiceAccount", name = "ci", role = "edit" },
  ]
  quota = {
    "requests.cpu"                                = "4"
    "requests.memory"                             = "8192Mi"
    "count/tenantcontrolplanes.kamaji.clastix.io" = "2"
  }
  limit_range = {
    default         = { cpu = "500m", memory = "512Mi" }
    default_request = { cpu = "0.1", memory = "128Mi" }
  }
}
`, name)
	second := acctest.ProviderBlock(t) + fmt.Sprintf(`
resource "qumulus_tenant" "test" {
  name   = %q
  labels = { team = "infra", tier = "gold" }
  members = [
    { kind = "Group", name = "acme-admins", role = "admin" },
    { kind = "User", name = "bob@acme.example", role = "admin" },
    { kind = "ServiceAccount", name = "deployer", namespace = "ci", role = "edit" },
  ]
  network_isolation = {
    allowed_namespaces          = ["kamaji-system", "monitoring"]
    allowed_namespace_selectors = [{ "example.com/role" = "ingress" }]
    allow_control_plane_ingress = false
  }
  quota = {
    "requests.cpu"                                = "8"
    "count/tenantcontrolplanes.kamaji.clastix.io" = "3"
  }
}
`, name)

	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: protoV6ProviderFactories,
		CheckDestroy:             checkTenantsDestroyed(t),
		Steps: []resource.TestStep{
			{
				Config: first,
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					// Known at plan, so that a composed module can use them right away.
					plancheck.ExpectKnownValue(addr, tfjsonpath.New("namespace"), knownvalue.StringExact(ns)),
					plancheck.ExpectKnownValue(addr, tfjsonpath.New("id"), knownvalue.StringExact(name)),
					plancheck.ExpectKnownValue(addr, tfjsonpath.New("role_binding_names"), knownvalue.ListSizeExact(4)),
					plancheck.ExpectKnownValue(addr, tfjsonpath.New("resource_quota_name"), knownvalue.StringExact(tenant.ResourceQuotaName)),
				}},
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue(addr, tfjsonpath.New("id"), knownvalue.StringExact(name)),
					statecheck.ExpectKnownValue(addr, tfjsonpath.New("namespace"), knownvalue.StringExact(ns)),
					statecheck.ExpectKnownValue(addr, tfjsonpath.New("status"), knownvalue.StringExact("Active")),
					statecheck.ExpectKnownValue(addr, tfjsonpath.New("force_destroy"), knownvalue.Bool(false)),
					statecheck.ExpectKnownValue(addr, tfjsonpath.New("role_names"), knownvalue.ListExact([]knownvalue.Check{knownvalue.StringExact(tenant.PlatformRole)})),
					statecheck.ExpectKnownValue(addr, tfjsonpath.New("role_binding_names"), knownvalue.ListExact([]knownvalue.Check{
						knownvalue.StringExact("qumulus-admin"), knownvalue.StringExact("qumulus-edit"),
						knownvalue.StringExact(tenant.PlatformRole), knownvalue.StringExact("qumulus-view"),
					})),
					statecheck.ExpectKnownValue(addr, tfjsonpath.New("network_policy_names"), knownvalue.ListExact([]knownvalue.Check{
						knownvalue.StringExact(tenant.PolicyControlPlanes), knownvalue.StringExact(tenant.PolicyPlatform),
						knownvalue.StringExact(tenant.PolicySameNamespace), knownvalue.StringExact(tenant.PolicyDefaultDeny),
					})),
					statecheck.ExpectKnownValue(addr, tfjsonpath.New("network_isolation").AtMapKey("allowed_namespaces"),
						knownvalue.SetExact([]knownvalue.Check{knownvalue.StringExact("kamaji-system")})),
					statecheck.ExpectKnownValue(addr, tfjsonpath.New("resource_quota_name"), knownvalue.StringExact(tenant.ResourceQuotaName)),
					statecheck.ExpectKnownValue(addr, tfjsonpath.New("limit_range_name"), knownvalue.StringExact(tenant.LimitRangeName)),
					// The API server writes 8Gi; the configuration's spelling stays.
					statecheck.ExpectKnownValue(addr, tfjsonpath.New("quota").AtMapKey("requests.memory"), knownvalue.StringExact("8192Mi")),
				},
				Check: check(func(ctx context.Context) error {
					n, err := cs.CoreV1().Namespaces().Get(ctx, ns, metav1.GetOptions{})
					if err != nil {
						return err
					}
					for k, v := range map[string]string{"team": "platform", kube.LabelManagedBy: kube.ManagedBy, kube.LabelTenant: name} {
						if n.Labels[k] != v {
							return fmt.Errorf("namespace label %s = %q, want %q", k, n.Labels[k], v)
						}
					}
					if n.Annotations["example.com/owner"] != "ops" {
						return fmt.Errorf("namespace annotations %v", n.Annotations)
					}
					if err := expectSubjects(ctx, cs, ns, "qumulus-admin", "admin", "Group:acme-admins"); err != nil {
						return err
					}
					if err := expectSubjects(ctx, cs, ns, "qumulus-edit", "edit", "ServiceAccount:"+ns+"/ci"); err != nil {
						return err
					}
					if err := expectSubjects(ctx, cs, ns, tenant.PlatformRole, tenant.PlatformRole,
						"Group:acme-admins", "User:alice@acme.example", "ServiceAccount:"+ns+"/ci"); err != nil {
						return err
					}
					if err := expectSubjects(ctx, cs, ns, "qumulus-view", "view", "User:alice@acme.example"); err != nil {
						return err
					}
					q, err := cs.CoreV1().ResourceQuotas(ns).Get(ctx, tenant.ResourceQuotaName, metav1.GetOptions{})
					if err != nil {
						return err
					}
					if err := expectQuantity(q.Spec.Hard, "count/tenantcontrolplanes.kamaji.clastix.io", "2"); err != nil {
						return err
					}
					if err := expectQuantity(q.Spec.Hard, "requests.memory", "8Gi"); err != nil {
						return err
					}
					l, err := cs.CoreV1().LimitRanges(ns).Get(ctx, tenant.LimitRangeName, metav1.GetOptions{})
					if err != nil {
						return err
					}
					if len(l.Spec.Limits) != 1 || l.Spec.Limits[0].Type != corev1.LimitTypeContainer {
						return fmt.Errorf("LimitRange limits %+v", l.Spec.Limits)
					}
					if err := expectQuantity(l.Spec.Limits[0].DefaultRequest, "cpu", "100m"); err != nil {
						return err
					}
					p, err := cs.NetworkingV1().NetworkPolicies(ns).Get(ctx, tenant.PolicyPlatform, metav1.GetOptions{})
					if err != nil {
						return err
					}
					if got := p.Spec.Ingress[0].From[0].NamespaceSelector.MatchExpressions[0].Values; !slices.Equal(got, []string{"kamaji-system"}) {
						return fmt.Errorf("policy %s admits namespaces %v", tenant.PolicyPlatform, got)
					}
					return nil
				}),
			},
			{
				Config: second,
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectResourceAction(addr, plancheck.ResourceActionUpdate),
				}},
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue(addr, tfjsonpath.New("role_binding_names"), knownvalue.ListSizeExact(3)),
					statecheck.ExpectKnownValue(addr, tfjsonpath.New("network_policy_names"), knownvalue.ListSizeExact(3)),
					statecheck.ExpectKnownValue(addr, tfjsonpath.New("limit_range_name"), knownvalue.Null()),
				},
				Check: check(func(ctx context.Context) error {
					n, err := cs.CoreV1().Namespaces().Get(ctx, ns, metav1.GetOptions{})
					if err != nil {
						return err
					}
					if n.Labels["team"] != "infra" || n.Labels["tier"] != "gold" {
						return fmt.Errorf("namespace labels %v", n.Labels)
					}
					if _, ok := n.Annotations["example.com/owner"]; ok {
						return fmt.Errorf("annotation example.com/owner was not removed: %v", n.Annotations)
					}
					if err := expectSubjects(ctx, cs, ns, "qumulus-admin", "admin", "Group:acme-admins", "User:bob@acme.example"); err != nil {
						return err
					}
					if err := expectSubjects(ctx, cs, ns, tenant.PlatformRole, tenant.PlatformRole,
						"Group:acme-admins", "User:bob@acme.example", "ServiceAccount:ci/deployer"); err != nil {
						return err
					}
					if err := expectSubjects(ctx, cs, ns, "qumulus-edit", "edit", "ServiceAccount:ci/deployer"); err != nil {
						return err
					}
					for _, gone := range []error{
						getErr(cs.RbacV1().RoleBindings(ns).Get(ctx, "qumulus-view", metav1.GetOptions{})),
						getErr(cs.NetworkingV1().NetworkPolicies(ns).Get(ctx, tenant.PolicyControlPlanes, metav1.GetOptions{})),
						getErr(cs.CoreV1().LimitRanges(ns).Get(ctx, tenant.LimitRangeName, metav1.GetOptions{})),
					} {
						if !apierrors.IsNotFound(gone) {
							return fmt.Errorf("an object the configuration no longer has is still there: %w", gone)
						}
					}
					q, err := cs.CoreV1().ResourceQuotas(ns).Get(ctx, tenant.ResourceQuotaName, metav1.GetOptions{})
					if err != nil {
						return err
					}
					if _, ok := q.Spec.Hard["requests.memory"]; ok {
						return fmt.Errorf("quota requests.memory was not removed: %v", q.Spec.Hard)
					}
					if err := expectQuantity(q.Spec.Hard, "requests.cpu", "8"); err != nil {
						return err
					}
					p, err := cs.NetworkingV1().NetworkPolicies(ns).Get(ctx, tenant.PolicyPlatform, metav1.GetOptions{})
					if err != nil {
						return err
					}
					if len(p.Spec.Ingress[0].From) != 2 {
						return fmt.Errorf("policy %s peers %+v, want the namespaces and the selector", tenant.PolicyPlatform, p.Spec.Ingress[0].From)
					}
					return nil
				}),
			},
			{
				ResourceName:            addr,
				ImportState:             true,
				ImportStateId:           name,
				ImportStateVerify:       true,
				ImportStateVerifyIgnore: []string{"timeouts"},
			},
			{
				// An import block plans a no-op: imported, nothing to change.
				ResourceName:    addr,
				ImportState:     true,
				ImportStateKind: resource.ImportBlockWithID,
				ImportStateId:   name,
			},
		},
	})
}

func getErr[T any](_ T, err error) error { return err }

// expectSubjects checks a RoleBinding's role and subjects ("Kind:name" or
// "ServiceAccount:namespace/name").
func expectSubjects(ctx context.Context, cs kubernetes.Interface, ns, binding, role string, want ...string) error {
	rb, err := cs.RbacV1().RoleBindings(ns).Get(ctx, binding, metav1.GetOptions{})
	if err != nil {
		return err
	}
	if rb.RoleRef.Name != role {
		return fmt.Errorf("RoleBinding %s binds %s, want %s", binding, rb.RoleRef.Name, role)
	}
	var got []string
	for _, s := range rb.Subjects {
		if s.Namespace != "" {
			got = append(got, s.Kind+":"+s.Namespace+"/"+s.Name)
		} else {
			got = append(got, s.Kind+":"+s.Name)
		}
	}
	slices.Sort(got)
	slices.Sort(want)
	if !slices.Equal(got, want) {
		return fmt.Errorf("RoleBinding %s subjects %v, want %v", binding, got, want)
	}
	return nil
}

func expectQuantity(l corev1.ResourceList, key, want string) error {
	got, ok := l[corev1.ResourceName(key)]
	if !ok || got.Cmp(k8sresource.MustParse(want)) != 0 {
		return fmt.Errorf("%s = %s, want %s (all: %v)", key, got.String(), want, l)
	}
	return nil
}

// TestAccTenant_isolation proves with SubjectAccessReviews on the real API server that a
// tenant's members reach their own tenant's clusters and Secrets and nothing of another.
func TestAccTenant_isolation(t *testing.T) {
	isolateEnv(t)
	a, b := tenantName(), tenantName()
	nsA, nsB := tenant.DefaultNamespace(a), tenant.DefaultNamespace(b)
	cs, _ := kubeClients(t)

	config := acctest.ProviderBlock(t) + fmt.Sprintf(`
resource "qumulus_tenant" "a" {
  name = %q
  members = [
    { kind = "User", name = "alice", role = "admin" },
    { kind = "Group", name = "a-operators", role = "edit" },
    { kind = "User", name = "victor", role = "view" },
  ]
}

resource "qumulus_tenant" "b" {
  name    = %q
  members = [{ kind = "User", name = "bob", role = "admin" }]
}
`, a, b)

	type access struct {
		user    string
		groups  []string
		verb    string
		group   string
		res     string
		ns      string
		allowed bool
	}
	tcps := kamaji.TenantControlPlaneGVR.Resource
	cases := []access{
		{"alice", nil, "get", kamaji.Group, tcps, nsA, true},
		{"alice", nil, "list", kamaji.Group, tcps, nsA, true},
		// Clusters are changed through Terraform: members read them, nobody writes them or their status.
		{"alice", nil, "create", kamaji.Group, tcps, nsA, false},
		{"alice", nil, "patch", kamaji.Group, tcps + "/status", nsA, false},
		{"alice", nil, "get", "", "secrets", nsA, true},
		{"alice", nil, "list", "", "secrets", nsA, true},
		{"alice", nil, "get", kamaji.Group, tcps, nsB, false},
		{"alice", nil, "list", kamaji.Group, tcps, nsB, false},
		{"alice", nil, "get", "", "secrets", nsB, false},
		{"alice", nil, "list", "cluster.x-k8s.io", "clusters", nsA, true},
		{"alice", nil, "list", "cluster.x-k8s.io", "clusters", nsB, false},
		{"carol", []string{"a-operators"}, "watch", kamaji.Group, tcps, nsA, true},
		{"carol", []string{"a-operators"}, "update", kamaji.Group, tcps, nsA, false},
		{"carol", []string{"a-operators"}, "create", "", "configmaps", nsA, true},
		{"carol", []string{"a-operators"}, "get", "", "secrets", nsA, true},
		{"carol", []string{"a-operators"}, "get", "", "secrets", nsB, false},
		{"victor", nil, "get", kamaji.Group, tcps, nsA, true},
		{"victor", nil, "list", kamaji.Group, tcps, nsA, true},
		{"victor", nil, "create", kamaji.Group, tcps, nsA, false},
		{"victor", nil, "delete", kamaji.Group, tcps, nsA, false},
		{"victor", nil, "patch", "", "configmaps", nsA, false},
		{"victor", nil, "get", "", "secrets", nsA, false},
		{"bob", nil, "get", kamaji.Group, tcps, nsB, true},
		{"bob", nil, "get", "", "secrets", nsB, true},
		{"bob", nil, "get", kamaji.Group, tcps, nsA, false},
		{"bob", nil, "get", "", "secrets", nsA, false},
		{"alice", nil, "get", "", "namespaces", "", false},
	}

	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: protoV6ProviderFactories,
		CheckDestroy:             checkTenantsDestroyed(t),
		Steps: []resource.TestStep{{
			Config: config,
			Check: check(func(ctx context.Context) error {
				var wrong []string
				for _, c := range cases {
					sar := &authorizationv1.SubjectAccessReview{Spec: authorizationv1.SubjectAccessReviewSpec{
						User:   c.user,
						Groups: append([]string{"system:authenticated"}, c.groups...),
						ResourceAttributes: &authorizationv1.ResourceAttributes{
							Namespace: c.ns, Verb: c.verb, Group: c.group, Resource: c.res,
						},
					}}
					got, err := cs.AuthorizationV1().SubjectAccessReviews().Create(ctx, sar, metav1.CreateOptions{})
					if err != nil {
						return err
					}
					if got.Status.Allowed != c.allowed {
						wrong = append(wrong, fmt.Sprintf("%s %s %s.%s in %q: allowed=%v, want %v",
							c.user, c.verb, c.res, c.group, c.ns, got.Status.Allowed, c.allowed))
					}
				}
				if len(wrong) > 0 {
					return fmt.Errorf("access is not as the tenants' members say:\n%s", strings.Join(wrong, "\n"))
				}
				return nil
			}),
		}},
	})
}

// waitNamespaceGone waits until a namespace deleted out of band is gone.
func waitNamespaceGone(t *testing.T, cs kubernetes.Interface, ns string) {
	t.Helper()
	err := wait.PollUntilContextTimeout(context.Background(), 100*time.Millisecond, time.Minute, true, func(ctx context.Context) (bool, error) {
		_, err := cs.CoreV1().Namespaces().Get(ctx, ns, metav1.GetOptions{})
		if apierrors.IsNotFound(err) {
			return true, nil
		}
		return false, err
	})
	if err != nil {
		t.Fatalf("namespace %s deleted out of band is not gone: %v", ns, err)
	}
}

func TestAccTenant_drift(t *testing.T) {
	isolateEnv(t)
	name := tenantName()
	ns := tenant.DefaultNamespace(name)
	cs, _ := kubeClients(t)
	addr := "qumulus_tenant.test"
	config := acctest.ProviderBlock(t) + fmt.Sprintf(`
resource "qumulus_tenant" "test" {
  name    = %q
  labels  = { team = "platform" }
  members = [{ kind = "Group", name = "ops", role = "admin" }]
  quota   = { "requests.cpu" = "4", pods = "20" }
  # The API server derives default and default_request from max and min.
  limit_range = {
    max = { cpu = "2" }
    min = { memory = "64Mi" }
  }
}
`, name)
	ctx := context.Background()
	restored := check(func(ctx context.Context) error {
		if err := expectSubjects(ctx, cs, ns, "qumulus-admin", "admin", "Group:ops"); err != nil {
			return err
		}
		if err := expectSubjects(ctx, cs, ns, tenant.PlatformRole, tenant.PlatformRole, "Group:ops"); err != nil {
			return err
		}
		if _, err := cs.NetworkingV1().NetworkPolicies(ns).Get(ctx, tenant.PolicyDefaultDeny, metav1.GetOptions{}); err != nil {
			return err
		}
		q, err := cs.CoreV1().ResourceQuotas(ns).Get(ctx, tenant.ResourceQuotaName, metav1.GetOptions{})
		if err != nil {
			return err
		}
		return expectQuantity(q.Spec.Hard, "requests.cpu", "4")
	})

	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: protoV6ProviderFactories,
		CheckDestroy:             checkTenantsDestroyed(t),
		Steps: []resource.TestStep{
			{Config: config, Check: restored},
			{
				// Out of band: a RoleBinding and a NetworkPolicy deleted, the quota edited
				// (an update by another field manager, as kubectl edit does), a label removed.
				PreConfig: func() {
					must(t, cs.RbacV1().RoleBindings(ns).Delete(ctx, "qumulus-admin", metav1.DeleteOptions{}))
					// A subject added to the platform binding only.
					rb, err := cs.RbacV1().RoleBindings(ns).Get(ctx, tenant.PlatformRole, metav1.GetOptions{})
					must(t, err)
					rb.Subjects = append(rb.Subjects, rbacv1.Subject{Kind: "User", APIGroup: rbacv1.GroupName, Name: "mallory"})
					_, err = cs.RbacV1().RoleBindings(ns).Update(ctx, rb, metav1.UpdateOptions{FieldManager: "kubectl-edit"})
					must(t, err)
					must(t, cs.NetworkingV1().NetworkPolicies(ns).Delete(ctx, tenant.PolicyDefaultDeny, metav1.DeleteOptions{}))
					q, err := cs.CoreV1().ResourceQuotas(ns).Get(ctx, tenant.ResourceQuotaName, metav1.GetOptions{})
					must(t, err)
					q.Spec.Hard["requests.cpu"] = k8sresource.MustParse("64")
					_, err = cs.CoreV1().ResourceQuotas(ns).Update(ctx, q, metav1.UpdateOptions{FieldManager: "kubectl-edit"})
					must(t, err)
					n, err := cs.CoreV1().Namespaces().Get(ctx, ns, metav1.GetOptions{})
					must(t, err)
					delete(n.Labels, "team")
					delete(n.Labels, kube.LabelTenant)
					_, err = cs.CoreV1().Namespaces().Update(ctx, n, metav1.UpdateOptions{FieldManager: "kubectl-edit"})
					must(t, err)
				},
				Config: config,
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectResourceAction(addr, plancheck.ResourceActionUpdate),
					plancheck.ExpectKnownValue(addr, tfjsonpath.New("quota").AtMapKey("requests.cpu"), knownvalue.StringExact("4")),
					plancheck.ExpectKnownValue(addr, tfjsonpath.New("status"), knownvalue.StringExact("Active")),
				}},
				Check: resource.ComposeTestCheckFunc(restored, check(func(ctx context.Context) error {
					n, err := cs.CoreV1().Namespaces().Get(ctx, ns, metav1.GetOptions{})
					if err != nil {
						return err
					}
					if n.Labels["team"] != "platform" || n.Labels[kube.LabelTenant] != name {
						return fmt.Errorf("labels not restored: %v", n.Labels)
					}
					return nil
				})),
			},
			{
				// Out of band: the namespace deleted. The tenant is created again.
				PreConfig: func() {
					must(t, cs.CoreV1().Namespaces().Delete(ctx, ns, metav1.DeleteOptions{}))
					waitNamespaceGone(t, cs, ns)
				},
				Config: config,
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectResourceAction(addr, plancheck.ResourceActionCreate),
				}},
				Check: restored,
			},
		},
	})
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// TestAccTenant_terminatingNamespace: a namespace deleted out of band but held by a
// finalizer is replaced by the next apply.
func TestAccTenant_terminatingNamespace(t *testing.T) {
	isolateEnv(t)
	name := tenantName()
	ns := tenant.DefaultNamespace(name)
	cs, _ := kubeClients(t)
	addr := "qumulus_tenant.test"
	config := acctest.ProviderBlock(t) + fmt.Sprintf(`
resource "qumulus_tenant" "test" {
  name = %q
}
`, name)
	ctx := context.Background()
	const hold = "test.qumulus.io/hold"
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: protoV6ProviderFactories,
		CheckDestroy:             checkTenantsDestroyed(t),
		Steps: []resource.TestStep{
			{Config: config},
			{
				PreConfig: func() {
					holdNamespace(t, cs, ns, hold)
					must(t, cs.CoreV1().Namespaces().Delete(ctx, ns, metav1.DeleteOptions{}))
				},
				Config:             config,
				PlanOnly:           true,
				ExpectNonEmptyPlan: true,
				ConfigPlanChecks: resource.ConfigPlanChecks{PostApplyPostRefresh: []plancheck.PlanCheck{
					plancheck.ExpectResourceAction(addr, plancheck.ResourceActionDestroyBeforeCreate),
					plancheck.ExpectKnownValue(addr, tfjsonpath.New("namespace"), knownvalue.StringExact(ns)),
				}},
			},
			{
				PreConfig: func() { releaseNamespace(t, cs, ns, hold); waitNamespaceGone(t, cs, ns) },
				Config:    config,
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue(addr, tfjsonpath.New("status"), knownvalue.StringExact("Active")),
				},
			},
		},
	})
}

// holdNamespace puts a ConfigMap with a finalizer into ns, which keeps the namespace
// Terminating once deleted until releaseNamespace.
func holdNamespace(t *testing.T, cs kubernetes.Interface, ns, finalizer string) {
	t.Helper()
	cm := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "stuck", Namespace: ns, Finalizers: []string{finalizer}}}
	_, err := cs.CoreV1().ConfigMaps(ns).Create(context.Background(), cm, metav1.CreateOptions{})
	must(t, err)
}

func releaseNamespace(t *testing.T, cs kubernetes.Interface, ns, finalizer string) {
	cm, err := cs.CoreV1().ConfigMaps(ns).Get(context.Background(), "stuck", metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return
	}
	if err != nil {
		t.Error(err)
		return
	}
	cm.Finalizers = slices.DeleteFunc(cm.Finalizers, func(f string) bool { return f == finalizer })
	if _, err := cs.CoreV1().ConfigMaps(ns).Update(context.Background(), cm, metav1.UpdateOptions{}); err != nil && !apierrors.IsNotFound(err) {
		t.Error(err)
	}
}

func TestAccTenant_deleteGuard(t *testing.T) {
	isolateEnv(t)
	name := tenantName()
	ns := tenant.DefaultNamespace(name)
	cs, dyn := kubeClients(t)
	config := func(force bool) string {
		return acctest.ProviderBlock(t) + fmt.Sprintf(`
resource "qumulus_tenant" "test" {
  name          = %q
  force_destroy = %t
}
`, name, force)
	}
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: protoV6ProviderFactories,
		CheckDestroy: resource.ComposeTestCheckFunc(checkTenantsDestroyed(t), check(func(ctx context.Context) error {
			_, err := dyn.Resource(kamaji.TenantControlPlaneGVR).Namespace(ns).Get(ctx, "guarded", metav1.GetOptions{})
			if !apierrors.IsNotFound(err) {
				return fmt.Errorf("TenantControlPlane guarded outlived its tenant: %w", err)
			}
			return nil
		})),
		Steps: []resource.TestStep{
			{Config: config(false)},
			{
				PreConfig: func() {
					tcp := fixtures.TenantControlPlane(ns, "guarded")
					// Held: no tenant API server is started for it.
					tcp.SetAnnotations(map[string]string{simulator.HoldAnnotation: "true"})
					_, err := dyn.Resource(kamaji.TenantControlPlaneGVR).Namespace(ns).Create(context.Background(), tcp, metav1.CreateOptions{})
					must(t, err)
				},
				Config:      config(false),
				Destroy:     true,
				ExpectError: regexp.MustCompile(`(?s)Tenant Still Has Clusters.*TenantControlPlane guarded.*force_destroy`),
			},
			{
				Config: config(false),
				Check: check(func(ctx context.Context) error {
					_, err := cs.CoreV1().Namespaces().Get(ctx, ns, metav1.GetOptions{})
					return err
				}),
			},
			{
				Config: config(true),
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectResourceAction("qumulus_tenant.test", plancheck.ResourceActionUpdate),
				}},
			},
		},
	})
}

func TestAccTenant_deleteTimeout(t *testing.T) {
	isolateEnv(t)
	name := tenantName()
	ns := tenant.DefaultNamespace(name)
	cs, _ := kubeClients(t)
	const hold = "test.qumulus.io/hold"
	config := func(deleteTimeout string) string {
		return acctest.ProviderBlock(t) + fmt.Sprintf(`
resource "qumulus_tenant" "test" {
  name = %q
  timeouts {
    delete = %q
  }
}
`, name, deleteTimeout)
	}
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: protoV6ProviderFactories,
		CheckDestroy:             checkTenantsDestroyed(t),
		Steps: []resource.TestStep{
			{Config: config("3s")},
			{
				PreConfig:   func() { holdNamespace(t, cs, ns, hold) },
				Config:      config("3s"),
				Destroy:     true,
				ExpectError: regexp.MustCompile(`(?s)Tenant Namespace Not Deleted In Time.*ConfigMap stuck \(finalizers: test.qumulus.io/hold\)`),
			},
			{
				PreConfig: func() { releaseNamespace(t, cs, ns, hold); waitNamespaceGone(t, cs, ns) },
				Config:    config("5m"),
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectResourceAction("qumulus_tenant.test", plancheck.ResourceActionCreate),
				}},
			},
		},
	})
}

func TestAccTenant_namespaceTaken(t *testing.T) {
	isolateEnv(t)
	name := tenantName()
	cs, _ := kubeClients(t)
	ctx := context.Background()
	existing := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name + "-existing"}}
	_, err := cs.CoreV1().Namespaces().Create(ctx, existing, metav1.CreateOptions{})
	must(t, err)
	t.Cleanup(func() { _ = cs.CoreV1().Namespaces().Delete(ctx, existing.Name, metav1.DeleteOptions{}) })

	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: protoV6ProviderFactories,
		CheckDestroy:             checkTenantsDestroyed(t),
		Steps: []resource.TestStep{
			{
				Config: acctest.ProviderBlock(t) + fmt.Sprintf(`
resource "qumulus_tenant" "test" {
  name      = %q
  namespace = %q
}
`, name, existing.Name),
				ExpectError: regexp.MustCompile(`(?s)Namespace Already Exists.*was not created\s+for a tenant`),
			},
			{
				// A second tenant of the same name, in another namespace, is refused.
				Config: acctest.ProviderBlock(t) + fmt.Sprintf(`
resource "qumulus_tenant" "first" {
  name = %q
}

resource "qumulus_tenant" "second" {
  name       = %q
  namespace  = "%s-again"
  depends_on = [qumulus_tenant.first]
}
`, name, name, name),
				ExpectError: regexp.MustCompile(`(?s)Tenant Already Exists.*terraform import`),
			},
			{
				// Without a Config of its own the step reuses the previous one, with the
				// provider source OpenTofu needs.
				ResourceName:  "qumulus_tenant.first",
				ImportState:   true,
				ImportStateId: "no-such-tenant",
				ExpectError:   regexp.MustCompile(`Tenant Not Found`),
			},
		},
	})
}

func TestAccTenant_invalidConfiguration(t *testing.T) {
	isolateEnv(t)
	tests := []struct {
		name, body string
		want       string
	}{
		{"name not a DNS label", `name = "Acme_Corp"`, `"Acme_Corp" is not a DNS-1123 label`},
		{"name too long for its namespace", `name = "` + strings.Repeat("a", 60) + `"`, `Tenant Name Too Long For Its Namespace`},
		{"system namespace", `
  name      = "acme"
  namespace = "kube-system"`, `value must be none of`},
		{"unknown role", `
  name    = "acme"
  members = [{ kind = "User", name = "alice", role = "owner" }]`, `(?s)role.*value must be one of.*"admin"`},
		{"unknown member kind", `
  name    = "acme"
  members = [{ kind = "Robot", name = "r2", role = "view" }]`, `(?s)kind.*value must be one of.*"User"`},
		{"namespace on a user", `
  name    = "acme"
  members = [{ kind = "User", name = "alice", namespace = "x", role = "view" }]`, `Namespace Only For Service Accounts`},
		{"bad service account name", `
  name    = "acme"
  members = [{ kind = "ServiceAccount", name = "CI Bot", role = "view" }]`, `"CI Bot" is not a DNS-1123 subdomain`},
		{"bad quota quantity", `
  name  = "acme"
  quota = { "requests.cpu" = "lots" }`, `"lots" is not a non-negative Kubernetes quantity`},
		{"negative quota", `
  name  = "acme"
  quota = { pods = "-3" }`, `must not be negative`},
		{"bad quota resource name", `
  name  = "acme"
  quota = { "requests cpu" = "1" }`, `"requests cpu" is not a resource name`},
		{"bad limit", `
  name        = "acme"
  limit_range = { max = { memory = "1GB of RAM" } }`, `"1GB of RAM" is not a non-negative Kubernetes quantity`},
		{"reserved label", `
  name   = "acme"
  labels = { "qumulus.io/tenant" = "other" }`, `Reserved Label`},
		{"bad label value", `
  name   = "acme"
  labels = { team = "a/b" }`, `is not a label value`},
		{"limit default above max", `
  name        = "acme"
  limit_range = { default = { cpu = "4" }, max = { cpu = "2" } }`, `limit_range.default\["cpu"\] 4 exceeds limit_range.max\["cpu"\] 2`},
		{"limit min above max", `
  name        = "acme"
  limit_range = { min = { memory = "2Gi" }, max = { memory = "1Gi" } }`, `limit_range.min\["memory"\] 2Gi is greater than limit_range.max\["memory"\] 1Gi`},
		{"limit request above default", `
  name        = "acme"
  limit_range = { default_request = { cpu = "2" }, default = { cpu = "1" } }`, `Invalid Limit Range`},
		{"limit ratio below one", `
  name        = "acme"
  limit_range = { max_limit_request_ratio = { cpu = "0.5" } }`, `limit_range.max_limit_request_ratio\["cpu"\] 500m is less than 1`},
		{"limit of a resource containers do not have", `
  name        = "acme"
  limit_range = { max = { pods = "10" } }`, `"pods" is not a resource of containers`},
		{"quota of an unknown resource", `
  name  = "acme"
  quota = { storage = "10Gi" }`, `"storage" is not a resource a quota can limit`},
		{"fraction of pods", `
  name  = "acme"
  quota = { pods = "1.5" }`, `quota\["pods"\]: 1500m of pods is not a whole number`},
		{"identity under two roles", `
  name    = "acme"
  members = [{ kind = "User", name = "alice", role = "admin" }, { kind = "User", name = "alice", role = "view" }]`,
			`(?s)Member Listed Under Two Roles.*User alice is listed under two roles`},
		{"service account twice", `
  name    = "acme"
  members = [{ kind = "ServiceAccount", name = "ci", role = "view" }, { kind = "ServiceAccount", name = "ci", namespace = "tenant-acme", role = "view" }]`,
			`Duplicate Member`},
	}
	var steps []resource.TestStep
	for _, tt := range tests {
		steps = append(steps, resource.TestStep{
			Config:   acctest.ProviderBlock(t) + "resource \"qumulus_tenant\" \"test\" {\n  " + strings.TrimSpace(tt.body) + "\n}\n",
			PlanOnly: true,
			// Terraform wraps long messages: any space may be a line break.
			ExpectError: regexp.MustCompile(strings.ReplaceAll(tt.want, " ", `\s+`)),
		})
	}
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: protoV6ProviderFactories,
		Steps:                    steps,
	})
}

// TestAccTenant_unknownAtPlan: values that come from other resources are fine in labels,
// annotations and members.
func TestAccTenant_unknownAtPlan(t *testing.T) {
	isolateEnv(t)
	name := tenantName()
	addr := "qumulus_tenant.test"
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: protoV6ProviderFactories,
		CheckDestroy:             checkTenantsDestroyed(t),
		Steps: []resource.TestStep{{
			Config: acctest.ProviderBlock(t) + fmt.Sprintf(`
resource "terraform_data" "build" {
  input = "x"
}

resource "qumulus_tenant" "test" {
  name        = %q
  labels      = { build = terraform_data.build.id }
  annotations = { "example.com/build" = terraform_data.build.id }
  members     = [{ kind = "User", name = "u-${terraform_data.build.id}", role = "view" }]
}
`, name),
			ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
				plancheck.ExpectKnownValue(addr, tfjsonpath.New("namespace"), knownvalue.StringExact(tenant.DefaultNamespace(name))),
				plancheck.ExpectKnownValue(addr, tfjsonpath.New("network_policy_names"), knownvalue.ListSizeExact(4)),
				plancheck.ExpectUnknownValue(addr, tfjsonpath.New("labels").AtMapKey("build")),
			}},
			ConfigStateChecks: []statecheck.StateCheck{
				statecheck.ExpectKnownValue(addr, tfjsonpath.New("role_binding_names"), knownvalue.ListSizeExact(2)),
			},
		}},
	})
}

// TestAccTenant_emptyCollections: quota = {} and empty limit maps mean none: no
// ResourceQuota, a LimitRange with only what is set, the state as written, and no change
// planned afterwards.
func TestAccTenant_emptyCollections(t *testing.T) {
	isolateEnv(t)
	name := tenantName()
	addr := "qumulus_tenant.test"
	cs, _ := kubeClients(t)
	ns := tenant.DefaultNamespace(name)
	config := acctest.ProviderBlock(t) + fmt.Sprintf(`
resource "qumulus_tenant" "test" {
  name        = %q
  labels      = {}
  members     = []
  quota       = {}
  limit_range = { default = {}, max = { cpu = "2" }, max_limit_request_ratio = {} }
}
`, name)
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: protoV6ProviderFactories,
		CheckDestroy:             checkTenantsDestroyed(t),
		Steps: []resource.TestStep{
			{
				Config: config,
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue(addr, tfjsonpath.New("quota"), knownvalue.MapExact(map[string]knownvalue.Check{})),
					statecheck.ExpectKnownValue(addr, tfjsonpath.New("resource_quota_name"), knownvalue.Null()),
					statecheck.ExpectKnownValue(addr, tfjsonpath.New("limit_range").AtMapKey("default"), knownvalue.MapExact(map[string]knownvalue.Check{})),
					statecheck.ExpectKnownValue(addr, tfjsonpath.New("limit_range").AtMapKey("max"), knownvalue.MapExact(map[string]knownvalue.Check{"cpu": knownvalue.StringExact("2")})),
				},
				Check: check(func(ctx context.Context) error {
					quotas, err := cs.CoreV1().ResourceQuotas(ns).List(ctx, metav1.ListOptions{})
					if err != nil {
						return err
					}
					if len(quotas.Items) != 0 {
						return fmt.Errorf("quota = {} made %d ResourceQuotas", len(quotas.Items))
					}
					lr, err := cs.CoreV1().LimitRanges(ns).Get(ctx, tenant.LimitRangeName, metav1.GetOptions{})
					if err != nil {
						return err
					}
					return expectQuantity(lr.Spec.Limits[0].Max, "cpu", "2")
				}),
			},
			{
				Config:           config,
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()}},
			},
		},
	})
}
