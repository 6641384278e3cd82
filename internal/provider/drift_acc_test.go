package provider

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os/exec"
	"slices"
	"strings"
	"testing"
	"time"

	"helm.sh/helm/v3/pkg/storage/driver"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	k8sresource "k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"

	"github.com/qumulus/terraform-provider-qumulus/internal/capi"
	"github.com/qumulus/terraform-provider-qumulus/internal/cloud"
	"github.com/qumulus/terraform-provider-qumulus/internal/helmrelease"
	"github.com/qumulus/terraform-provider-qumulus/internal/kamaji"
	"github.com/qumulus/terraform-provider-qumulus/internal/kube"
	"github.com/qumulus/terraform-provider-qumulus/internal/tenant"
	"github.com/qumulus/terraform-provider-qumulus/internal/testsupport/acctest"
	"github.com/qumulus/terraform-provider-qumulus/internal/testsupport/chartrepo"
)

// driftCase is one out-of-band change to one kind of object the provider owns.
type driftCase struct {
	// kind names the object: "qumulus_tenant ResourceQuota".
	kind string
	// addr is the resource whose plan must show the change; want is its planned action
	// (update, create, replace; a|b when either is right).
	addr, want string
	// edit is false for a delete.
	edit bool
	// inject changes the object as an operator would with kubectl.
	inject func(ctx context.Context) error
	// restored fails until the object is back as configured.
	restored func(ctx context.Context) error
	// leftAlone, when set, says why the provider deliberately does not take this change
	// back: the plan must then stay empty.
	leftAlone string
}

// driftObjects is the configuration the drift test walks: a tenant with every object a
// tenant can own, a bare cluster, a Cluster API cluster with a worker pool and its health
// check, and OpenStack (a few services) in the bare cluster.
func driftObjects(t *testing.T, tn string, repo *chartrepo.Repo, relNS string) string {
	return `
terraform {
  required_providers {
    qumulus = { source = "qumulus/qumulus" }
  }
}
` + acctest.ProviderBlock(t) + fmt.Sprintf(`
resource "qumulus_tenant" "test" {
  name          = %q
  force_destroy = true
  labels        = { team = "platform" }
  members       = [{ kind = "Group", name = "ops", role = "admin" }]
  quota         = { "requests.cpu" = "4", pods = "20" }
  limit_range = {
    max = { cpu = "2" }
  }
  network_isolation = {
    allowed_namespaces          = ["kamaji-system"]
    allow_control_plane_ingress = true
  }
}

resource "qumulus_cluster" "prod" {
  namespace = qumulus_tenant.test.namespace
  name      = "prod"
  version   = "v1.35.0"
  network   = { service_type = "ClusterIP" }
}

resource "qumulus_cluster" "work" {
  namespace   = qumulus_tenant.test.namespace
  name        = "work"
  version     = "v1.35.2"
  replicas    = 1
  labels      = { team = "platform" }
  network     = { service_type = "NodePort" }
  cluster_api = {}
}

resource "qumulus_worker_pool" "test" {
  namespace    = qumulus_cluster.work.namespace
  cluster_name = qumulus_cluster.work.name
  name         = "workers"
  replicas     = 2
  pre_kubeadm_commands = ["echo pre"]
  health_check = {
    node_startup_timeout_seconds = 600
    unhealthy_node_conditions    = [{ type = "Ready", status = "False", timeout_seconds = 300 }]
  }
%s
}

resource "qumulus_openstack" "test" {
  namespace         = qumulus_cluster.prod.namespace
  cluster_name      = qumulus_cluster.prod.name
  release_namespace = %q
  charts = {
    repository = %q
  }
  services = {
    glance    = { enabled = false }
    placement = { enabled = false }
    nova      = { enabled = false }
    neutron   = { enabled = false }
    libvirt   = { enabled = false }
    horizon   = { enabled = false }
  }
}
`, tn, fmt.Sprintf(dockerInfra, "v1.35.2", `"busybox"`), relNS, repo.URL)
}

// TestAccDrift_everyOwnedObject walks the inventory of the objects the provider owns:
// for each kind one delete and one edit of a field the provider manages, made as an
// operator would with kubectl. Each must show in the next plan, as an in-place update of
// the resource that owns the object (or its re-creation when the object was the resource
// itself), the apply must put the object back as configured, and the plan after it must be
// empty. Changes the provider deliberately leaves alone are in the table with the reason,
// and must leave the plan empty.
func TestAccDrift_everyOwnedObject(t *testing.T) {
	isolateEnv(t)
	repo := chartrepo.ServeTestCharts(t)
	tn := tenantName()
	ns := tenant.DefaultNamespace(tn)
	relNS := "os-" + strings.TrimPrefix(tn, "acc-")
	cs, dyn := kubeClients(t)

	cli := acctest.NewCLI(t, false)
	destroyed := false
	t.Cleanup(func() {
		if !destroyed {
			_, _ = cli.Run("destroy", "-auto-approve")
		}
	})
	cli.Write(driftObjects(t, tn, repo, relNS))
	cli.MustRun("apply", "-auto-approve")
	if out, err := cli.Run("plan", "-detailed-exitcode"); err != nil {
		t.Fatalf("the plan after the first apply is not empty: %v\n%s", err, out)
	}
	bootstrap, infra := stateAttr(t, cli.State(), "qumulus_worker_pool.test", "bootstrap_template_name"),
		stateAttr(t, cli.State(), "qumulus_worker_pool.test", "infrastructure_template_name")
	tc := tenantConn(t, ns)

	cases := slices.Concat(
		tenantDrift(cs, ns),
		clusterDrift(dyn, ns),
		poolDrift(dyn, ns, bootstrap, infra),
		openstackDrift(tc, relNS),
		// After the OpenStack cases: the tenant cluster goes with its control plane.
		[]driftCase{{
			kind: "qumulus_cluster TenantControlPlane", addr: "qumulus_cluster.prod", want: "create",
			inject:   deleteObject(dyn.Resource(kamaji.TenantControlPlaneGVR).Namespace(ns), "prod"),
			restored: fieldIs(dyn.Resource(kamaji.TenantControlPlaneGVR).Namespace(ns), "prod", "ClusterIP", "spec", "controlPlane", "service", "serviceType"),
		}},
		// Last: deleting the namespace takes everything in it.
		[]driftCase{{
			kind: "qumulus_tenant Namespace", addr: "qumulus_tenant.test", want: "create",
			inject: func(ctx context.Context) error {
				if err := cs.CoreV1().Namespaces().Delete(ctx, ns, metav1.DeleteOptions{}); err != nil {
					return err
				}
				waitNamespaceGone(t, cs, ns)
				return nil
			},
			restored: namespaceLabelled(cs, ns),
		}},
	)

	kinds := map[string]bool{}
	var deletes, edits, shown, repaired, leftAlone, surfaced int
	for _, c := range cases {
		kinds[c.kind] = true
		change := "delete"
		if c.edit {
			change, edits = "edit", edits+1
		} else {
			deletes++
		}
		name := c.kind + " " + change
		ctx := t.Context()
		if err := c.inject(ctx); err != nil {
			t.Errorf("%s: injecting: %v", name, err)
			continue
		}
		actions, out, err := planActions(cli)
		if err != nil {
			surfaced++
			t.Errorf("%s: the plan failed: %v\n%s", name, err, out)
			continue
		}
		if c.leftAlone != "" {
			if len(actions) == 0 {
				leftAlone++
			} else {
				t.Errorf("%s is left alone (%s), yet the plan has changes: %v", name, c.leftAlone, actions)
			}
			continue
		}
		if got := actions[c.addr]; got == "" || !slices.Contains(strings.Split(c.want, "|"), got) {
			t.Errorf("%s: the plan has %s %q, want %q (all changes: %v)\n%s", name, c.addr, got, c.want, actions, out)
		} else {
			shown++
		}
		if out, err := cli.Run("apply", "-auto-approve"); err != nil {
			surfaced++
			t.Errorf("%s: the apply failed: %v\n%s", name, err, out)
			continue
		}
		if err := c.restored(ctx); err != nil {
			t.Errorf("%s: not repaired: %v", name, err)
			continue
		}
		if out, err := cli.Run("plan", "-detailed-exitcode"); err != nil {
			t.Errorf("%s: the plan after the repair is not empty: %v\n%s", name, err, out)
			continue
		}
		repaired++
	}
	t.Logf("drift: %d kinds, %d deletes and %d edits injected, %d shown by plan, %d repaired, %d left alone by design, errors surfaced: %d",
		len(kinds), deletes, edits, shown, repaired, leftAlone, surfaced)

	cli.MustRun("destroy", "-auto-approve")
	destroyed = true
}

// planActions runs a plan and returns the planned action of every resource that changes.
// A failed plan is an error; a plan with changes is not.
func planActions(cli *acctest.CLI) (map[string]string, string, error) {
	out, err := cli.Run("plan", "-json", "-detailed-exitcode")
	var exit *exec.ExitError
	if err != nil && (!errors.As(err, &exit) || exit.ExitCode() != 2) {
		return nil, out, err
	}
	actions := map[string]string{}
	for line := range strings.Lines(out) {
		var msg struct {
			Type   string `json:"type"`
			Change struct {
				Resource struct {
					Addr string `json:"addr"`
				} `json:"resource"`
				Action string `json:"action"`
			} `json:"change"`
		}
		if json.Unmarshal([]byte(line), &msg) == nil && msg.Type == "planned_change" {
			actions[msg.Change.Resource.Addr] = msg.Change.Action
		}
	}
	if err != nil && len(actions) == 0 {
		return nil, out, errors.New("the plan reports changes but names none")
	}
	return actions, out, nil
}

// mergePatch patches an object as kubectl edit would: another field manager.
func mergePatch(r dynamic.ResourceInterface, name, body string) func(context.Context) error {
	return func(ctx context.Context) error {
		_, err := r.Patch(ctx, name, types.MergePatchType, []byte(body), metav1.PatchOptions{FieldManager: "kubectl-edit"})
		return err
	}
}

func deleteObject(r dynamic.ResourceInterface, name string) func(context.Context) error {
	return func(ctx context.Context) error {
		if err := r.Delete(ctx, name, metav1.DeleteOptions{}); err != nil {
			return err
		}
		return waitObjectGone(ctx, r, name)
	}
}

// waitObjectGone waits out finalizers, so that the next plan sees the object gone.
func waitObjectGone(ctx context.Context, r dynamic.ResourceInterface, name string) error {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	return kube.WaitGone(ctx, r, metav1.ListOptions{FieldSelector: "metadata.name=" + name})
}

// fieldIs fails unless the object's field at path is want.
func fieldIs(r dynamic.ResourceInterface, name string, want any, path ...string) func(context.Context) error {
	return func(ctx context.Context) error {
		obj, err := r.Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			return err
		}
		return expectField(obj, want, path...)
	}
}

func namespaceLabelled(cs kubernetes.Interface, ns string) func(context.Context) error {
	return func(ctx context.Context) error {
		n, err := cs.CoreV1().Namespaces().Get(ctx, ns, metav1.GetOptions{})
		if err != nil {
			return err
		}
		if n.Labels["team"] != "platform" {
			return fmt.Errorf("namespace %s has labels %v, want team=platform", ns, n.Labels)
		}
		return nil
	}
}

func tenantDrift(cs kubernetes.Interface, ns string) []driftCase {
	rbac, net, core := cs.RbacV1(), cs.NetworkingV1(), cs.CoreV1()
	const addr = "qumulus_tenant.test"
	roleRestored := func(ctx context.Context) error {
		r, err := rbac.Roles(ns).Get(ctx, tenant.PlatformRole, metav1.GetOptions{})
		if err != nil {
			return err
		}
		for _, rule := range r.Rules {
			if slices.Contains(rule.Verbs, "delete") {
				return fmt.Errorf("Role %s still grants delete", tenant.PlatformRole)
			}
		}
		return nil
	}
	bindingRestored := func(name string) func(context.Context) error {
		return func(ctx context.Context) error {
			return expectSubjects(ctx, cs, ns, name, bindingRole(name), "Group:ops")
		}
	}
	policyRestored := func(name string, want int) func(context.Context) error {
		return func(ctx context.Context) error {
			p, err := net.NetworkPolicies(ns).Get(ctx, name, metav1.GetOptions{})
			if err != nil {
				return err
			}
			if got := len(p.Spec.Ingress); got != want {
				return fmt.Errorf("NetworkPolicy %s has %d ingress rules, want %d", name, got, want)
			}
			return nil
		}
	}
	quotaRestored := func(ctx context.Context) error {
		q, err := core.ResourceQuotas(ns).Get(ctx, tenant.ResourceQuotaName, metav1.GetOptions{})
		if err != nil {
			return err
		}
		return expectQuantity(q.Spec.Hard, "requests.cpu", "4")
	}
	limitsRestored := func(ctx context.Context) error {
		l, err := core.LimitRanges(ns).Get(ctx, tenant.LimitRangeName, metav1.GetOptions{})
		if err != nil {
			return err
		}
		if len(l.Spec.Limits) != 1 {
			return fmt.Errorf("LimitRange %s has %d items", tenant.LimitRangeName, len(l.Spec.Limits))
		}
		return expectQuantity(l.Spec.Limits[0].Max, "cpu", "2")
	}
	return []driftCase{
		{kind: "qumulus_tenant Namespace", addr: addr, want: "update", edit: true,
			inject: func(ctx context.Context) error {
				n, err := core.Namespaces().Get(ctx, ns, metav1.GetOptions{})
				if err != nil {
					return err
				}
				delete(n.Labels, "team")
				_, err = core.Namespaces().Update(ctx, n, metav1.UpdateOptions{FieldManager: "kubectl-edit"})
				return err
			},
			restored: namespaceLabelled(cs, ns)},
		{kind: "qumulus_tenant Role", addr: addr, want: "update",
			inject: func(ctx context.Context) error {
				return rbac.Roles(ns).Delete(ctx, tenant.PlatformRole, metav1.DeleteOptions{})
			},
			restored: roleRestored},
		{kind: "qumulus_tenant Role", addr: addr, want: "update", edit: true,
			inject: func(ctx context.Context) error {
				r, err := rbac.Roles(ns).Get(ctx, tenant.PlatformRole, metav1.GetOptions{})
				if err != nil {
					return err
				}
				r.Rules[0].Verbs = append(r.Rules[0].Verbs, "delete")
				_, err = rbac.Roles(ns).Update(ctx, r, metav1.UpdateOptions{FieldManager: "kubectl-edit"})
				return err
			},
			restored: roleRestored},
		{kind: "qumulus_tenant RoleBinding", addr: addr, want: "update",
			inject: func(ctx context.Context) error {
				return rbac.RoleBindings(ns).Delete(ctx, tenant.ClusterRoleBindingName("admin"), metav1.DeleteOptions{})
			},
			restored: bindingRestored(tenant.ClusterRoleBindingName("admin"))},
		{kind: "qumulus_tenant RoleBinding", addr: addr, want: "update", edit: true,
			inject: func(ctx context.Context) error {
				rb, err := rbac.RoleBindings(ns).Get(ctx, tenant.ClusterRoleBindingName("admin"), metav1.GetOptions{})
				if err != nil {
					return err
				}
				rb.Subjects = append(rb.Subjects, rbacv1.Subject{Kind: "User", APIGroup: rbacv1.GroupName, Name: "mallory"})
				_, err = rbac.RoleBindings(ns).Update(ctx, rb, metav1.UpdateOptions{FieldManager: "kubectl-edit"})
				return err
			},
			restored: bindingRestored(tenant.ClusterRoleBindingName("admin"))},
		{kind: "qumulus_tenant NetworkPolicy", addr: addr, want: "update",
			inject: func(ctx context.Context) error {
				return net.NetworkPolicies(ns).Delete(ctx, tenant.PolicyDefaultDeny, metav1.DeleteOptions{})
			},
			restored: policyRestored(tenant.PolicyDefaultDeny, 0)},
		{kind: "qumulus_tenant NetworkPolicy", addr: addr, want: "update", edit: true,
			inject: func(ctx context.Context) error {
				// Opens the tenant to every namespace.
				p, err := net.NetworkPolicies(ns).Get(ctx, tenant.PolicyDefaultDeny, metav1.GetOptions{})
				if err != nil {
					return err
				}
				// A rule with no peers admits everything.
				p.Spec.Ingress = append(p.Spec.Ingress, networkingv1.NetworkPolicyIngressRule{})
				_, err = net.NetworkPolicies(ns).Update(ctx, p, metav1.UpdateOptions{FieldManager: "kubectl-edit"})
				return err
			},
			restored: policyRestored(tenant.PolicyDefaultDeny, 0)},
		{kind: "qumulus_tenant ResourceQuota", addr: addr, want: "update",
			inject: func(ctx context.Context) error {
				return core.ResourceQuotas(ns).Delete(ctx, tenant.ResourceQuotaName, metav1.DeleteOptions{})
			},
			restored: quotaRestored},
		{kind: "qumulus_tenant ResourceQuota", addr: addr, want: "update", edit: true,
			inject: func(ctx context.Context) error {
				q, err := core.ResourceQuotas(ns).Get(ctx, tenant.ResourceQuotaName, metav1.GetOptions{})
				if err != nil {
					return err
				}
				q.Spec.Hard["requests.cpu"] = k8sresource.MustParse("64")
				_, err = core.ResourceQuotas(ns).Update(ctx, q, metav1.UpdateOptions{FieldManager: "kubectl-edit"})
				return err
			},
			restored: quotaRestored},
		{kind: "qumulus_tenant ResourceQuota", edit: true,
			leftAlone: "a key another field manager adds to the quota is theirs: the provider owns only the keys it applied",
			inject: func(ctx context.Context) error {
				q, err := core.ResourceQuotas(ns).Get(ctx, tenant.ResourceQuotaName, metav1.GetOptions{})
				if err != nil {
					return err
				}
				q.Spec.Hard["limits.memory"] = k8sresource.MustParse("8Gi")
				_, err = core.ResourceQuotas(ns).Update(ctx, q, metav1.UpdateOptions{FieldManager: "kubectl-edit"})
				return err
			}},
		{kind: "qumulus_tenant LimitRange", addr: addr, want: "update",
			inject: func(ctx context.Context) error {
				return core.LimitRanges(ns).Delete(ctx, tenant.LimitRangeName, metav1.DeleteOptions{})
			},
			restored: limitsRestored},
		{kind: "qumulus_tenant LimitRange", addr: addr, want: "update", edit: true,
			inject: func(ctx context.Context) error {
				l, err := core.LimitRanges(ns).Get(ctx, tenant.LimitRangeName, metav1.GetOptions{})
				if err != nil {
					return err
				}
				l.Spec.Limits[0].Max[corev1.ResourceCPU] = k8sresource.MustParse("64")
				l.Spec.Limits[0].Default[corev1.ResourceCPU] = k8sresource.MustParse("64")
				_, err = core.LimitRanges(ns).Update(ctx, l, metav1.UpdateOptions{FieldManager: "kubectl-edit"})
				return err
			},
			restored: limitsRestored},
	}
}

// bindingRole is the role a tenant RoleBinding refers to.
func bindingRole(name string) string {
	if name == tenant.PlatformRole {
		return tenant.PlatformRole
	}
	return strings.TrimPrefix(name, "qumulus-")
}

func clusterDrift(dyn dynamic.Interface, ns string) []driftCase {
	tcps := dyn.Resource(kamaji.TenantControlPlaneGVR).Namespace(ns)
	clusters := dyn.Resource(capi.ClusterGVR).Namespace(ns)
	kcps := dyn.Resource(capi.KamajiControlPlaneGVR).Namespace(ns)
	return []driftCase{
		{kind: "qumulus_cluster TenantControlPlane", addr: "qumulus_cluster.prod", want: "update", edit: true,
			inject:   mergePatch(tcps, "prod", `{"spec":{"controlPlane":{"service":{"serviceType":"NodePort"}}}}`),
			restored: fieldIs(tcps, "prod", "ClusterIP", "spec", "controlPlane", "service", "serviceType")},
		{kind: "qumulus_cluster Cluster", addr: "qumulus_cluster.work", want: "update", edit: true,
			inject:   mergePatch(clusters, "work", `{"metadata":{"labels":{"team":"other"}}}`),
			restored: fieldIs(clusters, "work", "platform", "metadata", "labels", "team")},
		{kind: "qumulus_cluster KamajiControlPlane", addr: "qumulus_cluster.work", want: "update", edit: true,
			inject:   mergePatch(kcps, "work", `{"spec":{"replicas":3}}`),
			restored: fieldIs(kcps, "work", int64(1), "spec", "replicas")},
		{kind: "qumulus_cluster TenantControlPlane (Cluster API mode)", edit: true,
			leftAlone: "Kamaji's Cluster API provider writes it from the KamajiControlPlane and owns it; the provider reads only its status",
			inject:    mergePatch(tcps, "work", `{"metadata":{"labels":{"operator":"note"}}}`)},
		// The Cluster stays: the resource is Incomplete and the update writes the
		// KamajiControlPlane again.
		{kind: "qumulus_cluster KamajiControlPlane", addr: "qumulus_cluster.work", want: "update",
			inject:   deleteObject(kcps, "work"),
			restored: fieldIs(kcps, "work", int64(1), "spec", "replicas")},
		// Cluster API deletes the control plane with its Cluster, and then the whole
		// cluster is created again; the simulator plays no garbage collector and leaves the
		// KamajiControlPlane, and then the update writes the Cluster again.
		{kind: "qumulus_cluster Cluster", addr: "qumulus_cluster.work", want: "update|create",
			inject:   deleteObject(clusters, "work"),
			restored: fieldIs(clusters, "work", "platform", "metadata", "labels", "team")},
	}
}

func poolDrift(dyn dynamic.Interface, ns, bootstrap, infra string) []driftCase {
	const addr = "qumulus_worker_pool.test"
	mds := dyn.Resource(machineDeploymentGVR).Namespace(ns)
	kcts := dyn.Resource(kubeadmTemplatesGVR).Namespace(ns)
	dmts := dyn.Resource(dockerTemplatesGVR).Namespace(ns)
	mhcs := dyn.Resource(machineHealthChecks).Namespace(ns)
	return []driftCase{
		{kind: "qumulus_worker_pool MachineDeployment", addr: addr, want: "update", edit: true,
			inject:   mergePatch(mds, "workers", `{"spec":{"replicas":5}}`),
			restored: fieldIs(mds, "workers", int64(2), "spec", "replicas")},
		{kind: "qumulus_worker_pool KubeadmConfigTemplate", addr: addr, want: "update", edit: true,
			inject:   mergePatch(kcts, bootstrap, `{"spec":{"template":{"spec":{"preKubeadmCommands":["echo edited"]}}}}`),
			restored: fieldIs(kcts, bootstrap, []any{"echo pre"}, "spec", "template", "spec", "preKubeadmCommands")},
		{kind: "qumulus_worker_pool KubeadmConfigTemplate", addr: addr, want: "update",
			inject:   deleteObject(kcts, bootstrap),
			restored: fieldIs(kcts, bootstrap, []any{"echo pre"}, "spec", "template", "spec", "preKubeadmCommands")},
		{kind: "qumulus_worker_pool DockerMachineTemplate", addr: addr, want: "update", edit: true,
			inject:   mergePatch(dmts, infra, `{"spec":{"template":{"spec":{"customImage":"kindest/node:edited"}}}}`),
			restored: fieldIs(dmts, infra, "kindest/node:v1.35.2", "spec", "template", "spec", "customImage")},
		{kind: "qumulus_worker_pool DockerMachineTemplate", addr: addr, want: "update",
			inject:   deleteObject(dmts, infra),
			restored: fieldIs(dmts, infra, "kindest/node:v1.35.2", "spec", "template", "spec", "customImage")},
		{kind: "qumulus_worker_pool MachineHealthCheck", addr: addr, want: "update", edit: true,
			inject:   mergePatch(mhcs, "workers", `{"spec":{"checks":{"nodeStartupTimeoutSeconds":60}}}`),
			restored: fieldIs(mhcs, "workers", int64(600), "spec", "checks", "nodeStartupTimeoutSeconds")},
		{kind: "qumulus_worker_pool MachineHealthCheck", addr: addr, want: "update",
			inject:   deleteObject(mhcs, "workers"),
			restored: fieldIs(mhcs, "workers", int64(600), "spec", "checks", "nodeStartupTimeoutSeconds")},
		{kind: "qumulus_worker_pool MachineDeployment", addr: addr, want: "create",
			inject:   deleteObject(mds, "workers"),
			restored: fieldIs(mds, "workers", int64(2), "spec", "replicas")},
	}
}

func openstackDrift(tc *kube.Clients, relNS string) []driftCase {
	const addr = osAddr
	core, tdyn := tc.Kubernetes.CoreV1(), tc.Dynamic
	deployments := tdyn.Resource(appsGVR("deployments")).Namespace(relNS)
	statefulSets := tdyn.Resource(appsGVR("statefulsets")).Namespace(relNS)
	daemonSets := tdyn.Resource(appsGVR("daemonsets")).Namespace(relNS)
	services := tdyn.Resource(corev1.SchemeGroupVersion.WithResource("services")).Namespace(relNS)
	secrets := tdyn.Resource(corev1.SchemeGroupVersion.WithResource("secrets")).Namespace(relNS)
	image := func(r dynamic.ResourceInterface, name string) func(context.Context) error {
		return func(ctx context.Context) error {
			obj, err := r.Get(ctx, name, metav1.GetOptions{})
			if err != nil {
				return err
			}
			for _, c := range containers(obj.Object) {
				if strings.Contains(fmt.Sprint(c["image"]), "edited") {
					return fmt.Errorf("%s %s still runs %v", obj.GetKind(), name, c["image"])
				}
			}
			return nil
		}
	}
	editImage := func(r dynamic.ResourceInterface, name string) func(context.Context) error {
		return func(ctx context.Context) error {
			obj, err := r.Get(ctx, name, metav1.GetOptions{})
			if err != nil {
				return err
			}
			cs := containers(obj.Object)
			if len(cs) == 0 {
				return fmt.Errorf("%s %s has no containers", obj.GetKind(), name)
			}
			body := fmt.Sprintf(`{"spec":{"template":{"spec":{"containers":[{"name":%q,"image":"registry.invalid/edited:1"}]}}}}`, cs[0]["name"])
			_, err = r.Patch(ctx, name, types.StrategicMergePatchType, []byte(body), metav1.PatchOptions{FieldManager: "kubectl-edit"})
			return err
		}
	}
	exists := func(r dynamic.ResourceInterface, name string) func(context.Context) error {
		return func(ctx context.Context) error {
			_, err := r.Get(ctx, name, metav1.GetOptions{})
			return err
		}
	}
	secretData := func(ctx context.Context) error {
		s, err := core.Secrets(relNS).Get(ctx, "keystone-etc", metav1.GetOptions{})
		if err != nil {
			return err
		}
		for k, v := range s.Data {
			if string(v) == "edited" {
				return fmt.Errorf("Secret keystone-etc key %s still edited", k)
			}
		}
		return nil
	}
	servicePort := func(ctx context.Context) error {
		s, err := core.Services(relNS).Get(ctx, "keystone-api", metav1.GetOptions{})
		if err != nil {
			return err
		}
		if len(s.Spec.Ports) == 0 || s.Spec.Ports[0].Port != 5000 {
			return fmt.Errorf("Service keystone-api ports %v, want 5000 first", s.Spec.Ports)
		}
		return nil
	}
	releaseDeployed := func(name string) func(context.Context) error {
		return func(ctx context.Context) error {
			list, err := core.Secrets(relNS).List(ctx, metav1.ListOptions{LabelSelector: "owner=helm,name=" + name + ",status=deployed"})
			if err != nil {
				return err
			}
			if len(list.Items) != 1 {
				return fmt.Errorf("helm release %s has %d deployed revisions", name, len(list.Items))
			}
			return nil
		}
	}
	return []driftCase{
		{kind: "qumulus_openstack Deployment", addr: addr, want: "update", edit: true,
			inject: editImage(deployments, "keystone-api"), restored: image(deployments, "keystone-api")},
		{kind: "qumulus_openstack Deployment", addr: addr, want: "update",
			inject: deleteObject(deployments, "keystone-api"), restored: exists(deployments, "keystone-api")},
		{kind: "qumulus_openstack StatefulSet", addr: addr, want: "update", edit: true,
			inject: mergePatch(statefulSets, "mariadb-server", `{"spec":{"replicas":4}}`), restored: fieldIs(statefulSets, "mariadb-server", int64(3), "spec", "replicas")},
		{kind: "qumulus_openstack StatefulSet", addr: addr, want: "update",
			inject: deleteObject(statefulSets, "mariadb-server"), restored: exists(statefulSets, "mariadb-server")},
		{kind: "qumulus_openstack DaemonSet", addr: addr, want: "update", edit: true,
			inject: editImage(daemonSets, "openvswitch"), restored: image(daemonSets, "openvswitch")},
		{kind: "qumulus_openstack DaemonSet", addr: addr, want: "update",
			inject: deleteObject(daemonSets, "openvswitch"), restored: exists(daemonSets, "openvswitch")},
		{kind: "qumulus_openstack Service", addr: addr, want: "update", edit: true,
			inject:   mergePatch(services, "keystone-api", `{"spec":{"ports":[{"name":"ks-pub","port":5999,"targetPort":5000}]}}`),
			restored: servicePort},
		{kind: "qumulus_openstack Service", addr: addr, want: "update",
			inject: deleteObject(services, "keystone-api"), restored: servicePort},
		{kind: "qumulus_openstack Secret", addr: addr, want: "update", edit: true,
			inject: func(ctx context.Context) error {
				s, err := core.Secrets(relNS).Get(ctx, "keystone-etc", metav1.GetOptions{})
				if err != nil {
					return err
				}
				for k := range s.Data {
					s.Data[k] = []byte("edited")
				}
				_, err = core.Secrets(relNS).Update(ctx, s, metav1.UpdateOptions{FieldManager: "kubectl-edit"})
				return err
			},
			restored: secretData},
		{kind: "qumulus_openstack Secret", addr: addr, want: "update",
			inject: deleteObject(secrets, "keystone-etc"), restored: secretData},
		{kind: "qumulus_openstack Helm release", addr: addr, want: "update",
			// helm uninstall without its hooks: the release record goes, the objects stay.
			inject: func(ctx context.Context) error {
				return core.Secrets(relNS).DeleteCollection(ctx, metav1.DeleteOptions{}, metav1.ListOptions{LabelSelector: "owner=helm,name=memcached"})
			},
			restored: releaseDeployed("memcached")},
		{kind: "qumulus_openstack Helm release", addr: addr, want: "update", edit: true,
			// The values of the deployed revision changed in Helm's record, as an
			// out-of-band helm upgrade --reuse-values --set leaves them.
			inject: func(ctx context.Context) error {
				records := driver.NewSecrets(core.Secrets(relNS))
				list, err := records.Query(map[string]string{"name": "memcached", "status": "deployed"})
				if err != nil || len(list) != 1 {
					return fmt.Errorf("the deployed revision of memcached: %d found, %w", len(list), err)
				}
				rel := list[0]
				if rel.Config == nil {
					rel.Config = map[string]any{}
				}
				rel.Config["edited"] = true
				return records.Update(fmt.Sprintf("sh.helm.release.v1.%s.v%d", rel.Name, rel.Version), rel)
			},
			restored: func(ctx context.Context) error {
				if err := releaseDeployed("memcached")(ctx); err != nil {
					return err
				}
				rel, err := (&helmrelease.Driver{Clients: tc, Namespace: relNS}).Get(ctx, "memcached")
				if err != nil {
					return err
				}
				if _, edited := rel.Values["edited"]; edited {
					return errors.New("helm release memcached still has the values set out of band")
				}
				return nil
			}},
		{kind: "qumulus_openstack checksum key Secret", edit: true,
			leftAlone: "bookkeeping: the release values' checksum key, which only an import reads; every apply writes it again",
			inject:    mergePatch(secrets, cloud.KeySecret, `{"metadata":{"labels":{"operator":"note"}}}`)},
		{kind: "qumulus_openstack release Namespace", edit: true,
			leftAlone: "bookkeeping: the record annotation keeps the settings for an import; every apply writes it again",
			inject: func(ctx context.Context) error {
				n, err := core.Namespaces().Get(ctx, relNS, metav1.GetOptions{})
				if err != nil {
					return err
				}
				delete(n.Annotations, cloud.RecordAnnotation)
				_, err = core.Namespaces().Update(ctx, n, metav1.UpdateOptions{FieldManager: "kubectl-edit"})
				return err
			}},
		{kind: "qumulus_openstack release Namespace", addr: addr, want: "create",
			inject: func(ctx context.Context) error {
				if err := core.Namespaces().Delete(ctx, relNS, metav1.DeleteOptions{}); err != nil {
					return err
				}
				return waitObjectGone(ctx, tdyn.Resource(corev1.SchemeGroupVersion.WithResource("namespaces")), relNS)
			},
			restored: releaseDeployed("keystone")},
	}
}

func appsGVR(resource string) schemaGVR {
	return schemaGVR{Group: "apps", Version: "v1", Resource: resource}
}

// containers are the pod template's containers of a workload.
func containers(obj map[string]any) []map[string]any {
	list, _, _ := unstructured.NestedSlice(obj, "spec", "template", "spec", "containers")
	var out []map[string]any
	for _, c := range list {
		if m, ok := c.(map[string]any); ok {
			out = append(out, m)
		}
	}
	return out
}
