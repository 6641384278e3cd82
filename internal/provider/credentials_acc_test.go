package provider

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	authenticationv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"

	"github.com/qumulus/terraform-provider-qumulus/internal/tenant"
	"github.com/qumulus/terraform-provider-qumulus/internal/testsupport/acctest"
	"github.com/qumulus/terraform-provider-qumulus/internal/testsupport/chartrepo"
)

// TestAccCredentials_tenantRotatedBetweenPlanAndApply: a plan is saved, the tenant
// cluster's admin kubeconfig Secret is rewritten and the old credential revoked, and the
// saved plan is applied. qumulus_openstack reads the Secret when the apply connects (no
// credential is kept in the plan or the state), so the apply reaches the tenant cluster
// with the new credential and scales keystone; a provider that used the plan's credential
// would be refused, so the test fails then. The qumulus_kubeconfig data source was read
// into the saved plan, as Terraform does with every data source: until the next refresh
// the state has the old credential (the ephemeral qumulus_kubeconfig avoids that), and
// the refresh reads the new one.
func TestAccCredentials_tenantRotatedBetweenPlanAndApply(t *testing.T) {
	isolateEnv(t)
	if !acctest.Cluster(t).Simulated {
		t.Skip("revokes the old credential, which only the local management cluster's tenant API servers can")
	}
	repo := chartrepo.ServeTestCharts(t)
	tn := tenantName()
	ns := tenant.DefaultNamespace(tn)
	relNS := "os-" + strings.TrimPrefix(tn, "acc-")
	cs, _ := kubeClients(t)
	config := func(replicas int) string {
		return `
terraform {
  required_providers {
    qumulus = { source = "qumulus/qumulus" }
  }
}
` + openstackConfig(t, tn, repo, relNS, fmt.Sprintf(`
  services = {
    keystone  = { replicas = %d }
    glance    = { enabled = false }
    placement = { enabled = false }
    nova      = { enabled = false }
    neutron   = { enabled = false }
    libvirt   = { enabled = false }
    horizon   = { enabled = false }
  }
`, replicas)) + `
data "qumulus_kubeconfig" "test" {
  namespace         = qumulus_cluster.test.namespace
  name              = qumulus_cluster.test.name
  verify_connection = true
}
`
	}
	cli := acctest.NewCLI(t, false)
	destroyed := false
	t.Cleanup(func() {
		if !destroyed {
			_, _ = cli.Run("destroy", "-auto-approve")
		}
	})
	cli.Write(config(1))
	cli.MustRun("apply", "-auto-approve")
	before := stateAttr(t, cli.State(), "data.qumulus_kubeconfig.test", "client_certificate")

	cli.Write(config(2))
	cli.MustRun("plan", "-out=tfplan")
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	defer cancel()
	if err := acctest.RotateKubeconfigRevoking(ctx, cs, ns, "prod"); err != nil {
		t.Fatalf("rotating the kubeconfig of %s/prod: %v", ns, err)
	}
	rotated, err := secretKubeconfig(ctx, cs, ns, "prod", "admin.conf")
	must(t, err)
	if string(rotated.ClientCertificate) == before {
		t.Fatal("the rotated kubeconfig has the old certificate")
	}

	if out, err := cli.Run("apply", "tfplan"); err != nil {
		t.Fatalf("applying the saved plan after the rotation failed: %v\n%s", err, out)
	}
	d, err := tenantConn(t, ns).Kubernetes.AppsV1().Deployments(relNS).Get(t.Context(), "keystone-api", metav1.GetOptions{})
	must(t, err)
	if *d.Spec.Replicas != 2 {
		t.Errorf("keystone-api has %d replicas after the saved plan, want 2", *d.Spec.Replicas)
	}
	if got := stateAttr(t, cli.State(), "data.qumulus_kubeconfig.test", "client_certificate"); got != before {
		t.Error("the saved plan's apply read the data source again; Terraform keeps what the plan read")
	}
	if out, err := cli.Run("plan", "-detailed-exitcode"); err != nil {
		t.Errorf("the plan after the rotation is not empty: %v\n%s", err, out)
	}
	cli.MustRun("apply", "-refresh-only", "-auto-approve")
	if got := stateAttr(t, cli.State(), "data.qumulus_kubeconfig.test", "client_certificate"); got != string(rotated.ClientCertificate) {
		t.Error("the refresh did not read the rotated kubeconfig")
	}
	t.Logf("credentials: tenant kubeconfig rotated and the old credential revoked between plan and apply; saved plan applied with the new one; errors surfaced: 0")
	cli.MustRun("destroy", "-auto-approve")
	destroyed = true
}

// TestAccCredentials_managementRotatedBetweenPlanAndApply: the provider's own credential
// to the management cluster changes between a saved plan and its apply.
//
// Terraform does not keep provider configuration in a plan file: the apply configures
// the provider again from the configuration saved in the plan and the plan's variable
// values. What the provider reads outside the configuration is read again:
//   - a kubeconfig file (config_path), rewritten by the credential's rotation, gives the
//     apply the new credential, and the saved plan applies;
//   - a credential written into the configuration or passed as a variable (token) is the
//     plan's: once it is revoked the apply is refused, with an error that says so, nothing
//     changes, and a new plan with the new credential applies.
func TestAccCredentials_managementRotatedBetweenPlanAndApply(t *testing.T) {
	isolateEnv(t)
	cluster := acctest.Cluster(t)
	cs, _ := kubeClients(t)
	tn := tenantName()
	ns := tenant.DefaultNamespace(tn)
	accounts := newRotatingAccounts(t, cs)

	tokenA := accounts.issue(t, "a")
	file := filepath.Join(t.TempDir(), "kubeconfig")
	writeTokenKubeconfig(t, cluster.RESTConfig, file, tokenA)
	config := func(provider, label string) string {
		return `
terraform {
  required_providers {
    qumulus = { source = "qumulus/qumulus" }
  }
}

variable "token" {
  type      = string
  sensitive = true
  default   = ""
}
` + provider + fmt.Sprintf(`
resource "qumulus_tenant" "test" {
  name   = %q
  labels = { rotation = %q }
}
`, tn, label)
	}
	fromFile := fmt.Sprintf("provider \"qumulus\" {\n  config_path = %q\n}\n", file)
	fromVariable := fmt.Sprintf("provider \"qumulus\" {\n  host                   = %q\n  cluster_ca_certificate = %s\n  token                  = var.token\n}\n",
		cluster.RESTConfig.Host, acctest.HCLString(string(cluster.RESTConfig.CAData)))

	cli := acctest.NewCLI(t, false)
	destroyed := false
	t.Cleanup(func() {
		if !destroyed {
			cli.Write(config(fromFile, "cleanup"))
			_, _ = cli.Run("destroy", "-auto-approve")
		}
	})
	label := func() string {
		n, err := cs.CoreV1().Namespaces().Get(t.Context(), ns, metav1.GetOptions{})
		must(t, err)
		return n.Labels["rotation"]
	}

	// The kubeconfig file is rewritten between plan and apply.
	cli.Write(config(fromFile, "one"))
	cli.MustRun("apply", "-auto-approve")
	cli.Write(config(fromFile, "two"))
	cli.MustRun("plan", "-out=tfplan")
	tokenB := accounts.issue(t, "b")
	writeTokenKubeconfig(t, cluster.RESTConfig, file, tokenB)
	accounts.revoke(t, "a", tokenA)
	if out, err := cli.Run("apply", "tfplan"); err != nil {
		t.Fatalf("the saved plan did not apply with the rotated kubeconfig file: %v\n%s", err, out)
	}
	if got := label(); got != "two" {
		t.Errorf("tenant label %q after the saved plan, want two", got)
	}

	// The token is a variable: the saved plan keeps the revoked one.
	cli.Write(config(fromVariable, "three"))
	// In a variables file, as a pipeline would write it: on the command line Terraform
	// would log it.
	tokenVar := func(token string) {
		must(t, os.WriteFile(filepath.Join(cli.Dir, "terraform.tfvars"), []byte(fmt.Sprintf("token = %q\n", token)), 0o600))
	}
	tokenVar(tokenB)
	cli.MustRun("plan", "-out=tfplan")
	tokenC := accounts.issue(t, "c")
	accounts.revoke(t, "b", tokenB)
	out, err := cli.Run("apply", "tfplan")
	if err == nil {
		t.Fatalf("the saved plan applied with a revoked token:\n%s", out)
	}
	if !regexp.MustCompile(`(?i)unauthori[sz]ed`).MatchString(out) {
		t.Errorf("the refused apply does not say the credential was refused:\n%s", out)
	}
	if strings.Contains(out, tokenB) {
		t.Error("the refused apply printed the token")
	}
	for line := range strings.Lines(string(cli.Trace())) {
		if strings.Contains(line, tokenB) {
			t.Errorf("the trace log holds the token: %.300s", strings.ReplaceAll(line, tokenB, "<TOKEN>"))
		}
	}
	if got := label(); got != "two" {
		t.Errorf("tenant label %q after the refused apply, want two (unchanged)", got)
	}
	tokenVar(tokenC)
	cli.MustRun("apply", "-auto-approve")
	if got := label(); got != "three" {
		t.Errorf("tenant label %q after a new plan with the new token, want three", got)
	}
	t.Logf("credentials: management credential rotated between plan and apply: kubeconfig file read again (saved plan applied), token variable kept by the plan (apply refused, nothing changed, a new plan applied)")

	cli.Write(config(fromFile, "three"))
	writeTokenKubeconfig(t, cluster.RESTConfig, file, tokenC)
	cli.MustRun("destroy", "-auto-approve")
	destroyed = true
}

// rotatingAccounts are cluster-admin ServiceAccounts of a namespace of their own, whose
// tokens stand for the provider's management credential: deleting an account revokes its
// tokens.
type rotatingAccounts struct {
	cs kubernetes.Interface
	ns string
}

func newRotatingAccounts(t *testing.T, cs kubernetes.Interface) *rotatingAccounts {
	t.Helper()
	ns := "rotation-" + strings.TrimPrefix(tenantName(), "acc-")
	_, err := cs.CoreV1().Namespaces().Create(t.Context(), &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}, metav1.CreateOptions{})
	must(t, err)
	a := &rotatingAccounts{cs: cs, ns: ns}
	t.Cleanup(func() {
		ctx := context.Background()
		_ = cs.CoreV1().Namespaces().Delete(ctx, ns, metav1.DeleteOptions{})
		_ = cs.RbacV1().ClusterRoleBindings().DeleteCollection(ctx, metav1.DeleteOptions{}, metav1.ListOptions{LabelSelector: "qumulus-test-rotation=" + ns})
	})
	return a
}

// issue makes account name a cluster admin and returns a token of it.
func (a *rotatingAccounts) issue(t *testing.T, name string) string {
	t.Helper()
	ctx := t.Context()
	_, err := a.cs.CoreV1().ServiceAccounts(a.ns).Create(ctx, &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: name}}, metav1.CreateOptions{})
	must(t, err)
	_, err = a.cs.RbacV1().ClusterRoleBindings().Create(ctx, &rbacv1.ClusterRoleBinding{
		ObjectMeta: metav1.ObjectMeta{Name: a.ns + "-" + name, Labels: map[string]string{"qumulus-test-rotation": a.ns}},
		RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: "cluster-admin"},
		Subjects:   []rbacv1.Subject{{Kind: rbacv1.ServiceAccountKind, Namespace: a.ns, Name: name}},
	}, metav1.CreateOptions{})
	must(t, err)
	req, err := a.cs.CoreV1().ServiceAccounts(a.ns).CreateToken(ctx, name, &authenticationv1.TokenRequest{}, metav1.CreateOptions{})
	must(t, err)
	a.waitAnswer(t, req.Status.Token, true)
	return req.Status.Token
}

// revoke deletes account name and waits until its token is refused.
func (a *rotatingAccounts) revoke(t *testing.T, name, token string) {
	t.Helper()
	must(t, a.cs.CoreV1().ServiceAccounts(a.ns).Delete(t.Context(), name, metav1.DeleteOptions{}))
	a.waitAnswer(t, token, false)
}

// waitAnswer waits until the management cluster accepts the token (or refuses it).
func (a *rotatingAccounts) waitAnswer(t *testing.T, token string, accepted bool) {
	t.Helper()
	cfg := rest.AnonymousClientConfig(acctest.Cluster(t).RESTConfig)
	cfg.BearerToken = token
	client, err := kubernetes.NewForConfig(cfg)
	must(t, err)
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	err = wait.PollUntilContextCancel(ctx, 50*time.Millisecond, true, func(ctx context.Context) (bool, error) {
		_, err := client.CoreV1().Namespaces().Get(ctx, "default", metav1.GetOptions{})
		if accepted {
			return err == nil, nil
		}
		return apierrors.IsUnauthorized(err), nil
	})
	if err != nil {
		t.Fatalf("the token is not %s: %v", map[bool]string{true: "accepted", false: "refused"}[accepted], err)
	}
}

// writeTokenKubeconfig writes a kubeconfig of the management cluster with a bearer token.
func writeTokenKubeconfig(t *testing.T, base *rest.Config, file, token string) {
	t.Helper()
	raw, err := clientcmd.Write(clientcmdapi.Config{
		Clusters:       map[string]*clientcmdapi.Cluster{"mgmt": {Server: base.Host, CertificateAuthorityData: base.CAData}},
		AuthInfos:      map[string]*clientcmdapi.AuthInfo{"rotating": {Token: token}},
		Contexts:       map[string]*clientcmdapi.Context{"mgmt": {Cluster: "mgmt", AuthInfo: "rotating"}},
		CurrentContext: "mgmt",
	})
	must(t, err)
	must(t, os.WriteFile(file, raw, 0o600))
}

// stateAttr reads a string attribute of a resource from a state file.
func stateAttr(t *testing.T, state []byte, addr, attr string) string {
	t.Helper()
	var s struct {
		Resources []struct {
			Mode, Type, Name string
			Instances        []struct {
				Attributes map[string]any `json:"attributes"`
			} `json:"instances"`
		} `json:"resources"`
	}
	if err := json.Unmarshal(state, &s); err != nil {
		t.Fatal(err)
	}
	for _, r := range s.Resources {
		a := r.Type + "." + r.Name
		if r.Mode == "data" {
			a = "data." + a
		}
		if a == addr && len(r.Instances) == 1 {
			if v, ok := r.Instances[0].Attributes[attr].(string); ok && v != "" {
				return v
			}
		}
	}
	t.Fatalf("no %s.%s in the state", addr, attr)
	return ""
}
