package provider

import (
	"context"
	"fmt"
	"regexp"
	"testing"
	"time"

	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"

	"github.com/qumulus/terraform-provider-qumulus/internal/kamaji"
	"github.com/qumulus/terraform-provider-qumulus/internal/tenant"
	"github.com/qumulus/terraform-provider-qumulus/internal/testsupport/acctest"
)

// tenantOnlyConfig is the tenant of clusterConfig without its cluster, under provider.
func tenantOnlyConfig(provider, tenantName string) string {
	return provider + fmt.Sprintf(`
resource "qumulus_tenant" "test" {
  name          = %q
  force_destroy = true
}
`, tenantName)
}

// noTenantControlPlane fails the test if the TenantControlPlane prod exists in namespace.
func noTenantControlPlane(t *testing.T, namespace string) {
	t.Helper()
	_, dyn := kubeClients(t)
	_, err := getObject(context.Background(), dyn, kamaji.TenantControlPlaneGVR, namespace, "prod")
	if !apierrors.IsNotFound(err) {
		t.Errorf("TenantControlPlane %s/prod after a refused plan: %v, want it not made", namespace, err)
	}
}

// TestAccCluster_dryRunRefused plans a cluster whose domain only the management cluster's
// ValidatingAdmissionPolicy refuses: the plan fails, naming the object and the field, and
// nothing is made.
func TestAccCluster_dryRunRefused(t *testing.T) {
	isolateEnv(t)
	installRefusingPolicy(t)
	tn := tenantName()
	ns := tenant.DefaultNamespace(tn)
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: protoV6ProviderFactories,
		CheckDestroy:             checkClustersDestroyed(t),
		Steps: []resource.TestStep{
			{Config: tenantOnlyConfig(acctest.ProviderBlock(t), tn)},
			{
				Config: clusterConfig(t, tn, `
  name    = "prod"
  version = "1.35.0"
  network = { service_type = "ClusterIP", cluster_domain = "`+refusedDomain+`" }
`),
				PlanOnly:    true,
				ExpectError: regexp.MustCompile(`(?s)Refused By The Management Cluster.*TenantControlPlane\s+` + ns + `/prod.*ValidatingAdmissionPolicy.*clusterDomain`),
			},
			{
				PreConfig: func() { noTenantControlPlane(t, ns) },
				Config:    tenantOnlyConfig(acctest.ProviderBlock(t), tn),
			},
		},
	})
}

// refusedLabel is the namespace label the test's ValidatingAdmissionPolicy refuses;
// refusedDomain the cluster domain it refuses on TenantControlPlanes (a valid domain that
// no validator of the provider can know is refused).
const (
	refusedLabel  = "qumulus-test/policy"
	refusedDomain = "refused.example"
)

// installRefusingPolicy installs a ValidatingAdmissionPolicy (CEL, served by the API
// server itself) that refuses namespaces labelled refusedLabel=refused and
// TenantControlPlanes of cluster domain refusedDomain, and waits until
// the API server enforces it.
func installRefusingPolicy(t *testing.T) {
	t.Helper()
	cs, _ := kubeClients(t)
	ctx := context.Background()
	name := "qumulus-test-" + tenantName()
	policy := &admissionregistrationv1.ValidatingAdmissionPolicy{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: admissionregistrationv1.ValidatingAdmissionPolicySpec{
			FailurePolicy: new(admissionregistrationv1.Fail),
			MatchConstraints: &admissionregistrationv1.MatchResources{ResourceRules: []admissionregistrationv1.NamedRuleWithOperations{{
				RuleWithOperations: admissionregistrationv1.RuleWithOperations{
					Operations: []admissionregistrationv1.OperationType{admissionregistrationv1.Create, admissionregistrationv1.Update},
					Rule:       admissionregistrationv1.Rule{APIGroups: []string{""}, APIVersions: []string{"v1"}, Resources: []string{"namespaces"}},
				},
			}, {
				RuleWithOperations: admissionregistrationv1.RuleWithOperations{
					Operations: []admissionregistrationv1.OperationType{admissionregistrationv1.Create, admissionregistrationv1.Update},
					Rule:       admissionregistrationv1.Rule{APIGroups: []string{"kamaji.clastix.io"}, APIVersions: []string{"*"}, Resources: []string{"tenantcontrolplanes"}},
				},
			}}},
			// No message: the API server quotes the expression, which names the field.
			Validations: []admissionregistrationv1.Validation{{
				Expression: fmt.Sprintf(`object.kind != "Namespace" || !has(object.metadata.labels) || !(%q in object.metadata.labels) || object.metadata.labels[%q] != "refused"`, refusedLabel, refusedLabel),
			}, {
				Expression: fmt.Sprintf(`object.kind != "TenantControlPlane" || !has(object.spec.networkProfile) || !has(object.spec.networkProfile.clusterDomain) || object.spec.networkProfile.clusterDomain != %q`, refusedDomain),
			}},
		},
	}
	binding := &admissionregistrationv1.ValidatingAdmissionPolicyBinding{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: admissionregistrationv1.ValidatingAdmissionPolicyBindingSpec{
			PolicyName:        name,
			ValidationActions: []admissionregistrationv1.ValidationAction{admissionregistrationv1.Deny},
		},
	}
	policies, bindings := cs.AdmissionregistrationV1().ValidatingAdmissionPolicies(), cs.AdmissionregistrationV1().ValidatingAdmissionPolicyBindings()
	if _, err := policies.Create(ctx, policy, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = policies.Delete(context.Background(), name, metav1.DeleteOptions{}) })
	if _, err := bindings.Create(ctx, binding, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = bindings.Delete(context.Background(), name, metav1.DeleteOptions{}) })
	probe := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name, Labels: map[string]string{refusedLabel: "refused"}}}
	err := wait.PollUntilContextTimeout(ctx, 100*time.Millisecond, time.Minute, true, func(ctx context.Context) (bool, error) {
		_, err := cs.CoreV1().Namespaces().Create(ctx, probe, metav1.CreateOptions{DryRun: []string{metav1.DryRunAll}})
		return apierrors.IsInvalid(err), nil
	})
	if err != nil {
		t.Fatalf("the ValidatingAdmissionPolicy %s was not enforced: %v", name, err)
	}
}

// TestAccTenant_dryRunPolicy plans tenants whose namespace label a ValidatingAdmissionPolicy
// of the management cluster refuses, a rule no validator of the provider can know: the
// plan of the create, and of an update, fails on labels, and nothing is made.
func TestAccTenant_dryRunPolicy(t *testing.T) {
	isolateEnv(t)
	acctest.Cluster(t)
	installRefusingPolicy(t)
	tn := tenantName()
	ns := tenant.DefaultNamespace(tn)
	config := func(value string) string {
		return acctest.ProviderBlock(t) + fmt.Sprintf(`
resource "qumulus_tenant" "test" {
  name   = %q
  labels = { %q = %q }
}
`, tn, refusedLabel, value)
	}
	refused := regexp.MustCompile(`(?s)Refused By The Management Cluster.*Namespace\s+` + ns + `.*ValidatingAdmissionPolicy.*Change\s+labels\s+to`)
	cs, _ := kubeClients(t)
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: protoV6ProviderFactories,
		CheckDestroy:             checkTenantsDestroyed(t),
		Steps: []resource.TestStep{
			{Config: config("refused"), PlanOnly: true, ExpectError: refused},
			{
				PreConfig: func() {
					if _, err := cs.CoreV1().Namespaces().Get(context.Background(), ns, metav1.GetOptions{}); !apierrors.IsNotFound(err) {
						t.Errorf("namespace %s after a refused plan: %v, want it not made", ns, err)
					}
				},
				Config: config("allowed"),
			},
			{Config: config("refused"), PlanOnly: true, ExpectError: refused},
		},
	})
}

// TestAccCluster_dryRunReadOnly plans with credentials that may read but not write, as
// plans often run: the dry run is refused permission, and the plan goes on without it.
func TestAccCluster_dryRunReadOnly(t *testing.T) {
	isolateEnv(t)
	installRefusingPolicy(t)
	c := acctest.Cluster(t)
	if !c.Simulated {
		t.Skip("users can be added only to the local management cluster")
	}
	user := "qumulus-viewer-" + tenantName()
	kubeconfig, err := c.AddUser(user)
	if err != nil {
		t.Fatal(err)
	}
	cs, _ := kubeClients(t)
	ctx := context.Background()
	role := &rbacv1.ClusterRole{
		ObjectMeta: metav1.ObjectMeta{Name: user},
		Rules:      []rbacv1.PolicyRule{{APIGroups: []string{"*"}, Resources: []string{"*"}, Verbs: []string{"get", "list", "watch"}}},
	}
	binding := &rbacv1.ClusterRoleBinding{
		ObjectMeta: metav1.ObjectMeta{Name: user},
		RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: user},
		Subjects:   []rbacv1.Subject{{APIGroup: rbacv1.GroupName, Kind: rbacv1.UserKind, Name: user}},
	}
	if _, err := cs.RbacV1().ClusterRoles().Create(ctx, role, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cs.RbacV1().ClusterRoles().Delete(context.Background(), user, metav1.DeleteOptions{}) })
	if _, err := cs.RbacV1().ClusterRoleBindings().Create(ctx, binding, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cs.RbacV1().ClusterRoleBindings().Delete(context.Background(), user, metav1.DeleteOptions{})
	})

	readOnly := fmt.Sprintf("provider \"qumulus\" {\n  config_content = %s\n}\n", acctest.HCLString(string(kubeconfig)))
	tn := tenantName()
	ns := tenant.DefaultNamespace(tn)
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: protoV6ProviderFactories,
		CheckDestroy:             checkClustersDestroyed(t),
		Steps: []resource.TestStep{
			{Config: tenantOnlyConfig(acctest.ProviderBlock(t), tn)},
			// The cluster the admin's plan refuses (TestAccCluster_dryRunRefused) plans
			// with read-only credentials: only the apply can tell.
			{
				Config: tenantOnlyConfig(readOnly, tn) + fmt.Sprintf(`
resource "qumulus_cluster" "test" {
  namespace = %q
  name      = "prod"
  version   = "1.35.0"
  network   = { service_type = "ClusterIP", cluster_domain = %q }
}
`, ns, refusedDomain),
				PlanOnly:           true,
				ExpectNonEmptyPlan: true,
			},
			// Destroy with the admin's credentials.
			{
				PreConfig: func() { noTenantControlPlane(t, ns) },
				Config:    tenantOnlyConfig(acctest.ProviderBlock(t), tn),
			},
		},
	})
}
