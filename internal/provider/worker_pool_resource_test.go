package provider

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/knownvalue"
	"github.com/hashicorp/terraform-plugin-testing/plancheck"
	"github.com/hashicorp/terraform-plugin-testing/statecheck"
	"github.com/hashicorp/terraform-plugin-testing/terraform"
	"github.com/hashicorp/terraform-plugin-testing/tfjsonpath"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/dynamic"

	"github.com/qumulus/terraform-provider-qumulus/internal/capi"
	"github.com/qumulus/terraform-provider-qumulus/internal/kube"
	"github.com/qumulus/terraform-provider-qumulus/internal/tenant"
	"github.com/qumulus/terraform-provider-qumulus/internal/testsupport/acctest"
)

var (
	machineSetsGVR       = schemaGVR{Group: "cluster.x-k8s.io", Version: "v1beta2", Resource: "machinesets"}
	machineHealthChecks  = schemaGVR{Group: "cluster.x-k8s.io", Version: "v1beta2", Resource: "machinehealthchecks"}
	kubeadmTemplatesGVR  = schemaGVR{Group: "bootstrap.cluster.x-k8s.io", Version: "v1beta2", Resource: "kubeadmconfigtemplates"}
	dockerTemplatesGVR   = schemaGVR{Group: "infrastructure.cluster.x-k8s.io", Version: "v1beta2", Resource: "dockermachinetemplates"}
	machineDeploymentGVR = capi.MachineDeploymentGVR
)

// poolConfig is a tenant, a cluster "test" in Cluster API mode at clusterVersion, and
// extra (worker pools, ...).
func poolConfig(t *testing.T, tenantName, clusterVersion, extra string) string {
	return clusterConfig(t, tenantName, fmt.Sprintf(`
  name     = "work"
  version  = %q
  replicas = 1
  network = {
    service_type = "NodePort"
  }
  cluster_api = {}
`, clusterVersion)) + extra
}

// pool is a qumulus_worker_pool "test" of the cluster with body.
func pool(body string) string {
	return `
resource "qumulus_worker_pool" "test" {
  namespace    = qumulus_cluster.test.namespace
  cluster_name = qumulus_cluster.test.name
  name         = "workers"
` + body + `
}
`
}

const dockerInfra = `
  infrastructure = {
    api_group = "infrastructure.cluster.x-k8s.io"
    kind      = "DockerMachineTemplate"
    spec      = jsonencode({ customImage = "kindest/node:%s", preLoadImages = [%s] })
  }
`

func checkPoolsDestroyed(t *testing.T) func(*terraform.State) error {
	return func(s *terraform.State) error {
		return errors.Join(
			acctest.CheckDestroyed("qumulus_worker_pool", machineDeploymentGVR)(s),
			acctest.CheckDestroyed("qumulus_worker_pool", machineHealthChecks)(s),
			checkClustersDestroyed(t)(s),
		)
	}
}

// expectOnly fails unless the objects of kind gvr of pool "workers" are exactly the one named want.
func expectOnly(ctx context.Context, dyn dynamic.Interface, gvr schemaGVR, ns, want string) error {
	const pool = "workers"
	list, err := dyn.Resource(gvr).Namespace(ns).List(ctx, metav1.ListOptions{LabelSelector: labels.Set{"qumulus.io/worker-pool": pool}.String()})
	if err != nil {
		return err
	}
	var names []string
	for _, o := range list.Items {
		names = append(names, o.GetName())
	}
	if len(names) != 1 || names[0] != want {
		return fmt.Errorf("%s of pool %s: %v, want only %s", gvr.Resource, pool, names, want)
	}
	return nil
}

// stateString returns the state value of attr of addr.
func stateString(s *terraform.State, addr, attr string) string {
	rs, ok := s.RootModule().Resources[addr]
	if !ok {
		return ""
	}
	return rs.Primary.Attributes[attr]
}

func TestAccWorkerPool_lifecycle(t *testing.T) {
	isolateEnv(t)
	tn := tenantName()
	ns := tenant.DefaultNamespace(tn)
	addr := "qumulus_worker_pool.test"
	_, dyn := kubeClients(t)
	full := func(scaling, maxPods, preload string) string {
		return pool(scaling + `
  failure_domain = "az-1"
  node_labels = {
    "example.com/role"           = "db"
    "node-role.kubernetes.io/db" = ""
  }
  node_taints = [{ key = "dedicated", value = "db", effect = "NoSchedule" }]
  kubelet_extra_args = { "max-pods" = "` + maxPods + `" }
  files = [{ path = "/etc/motd", content = "tenant workers", permissions = "0644" }]
  pre_kubeadm_commands  = ["echo pre"]
  post_kubeadm_commands = ["echo post"]
  rollout = { max_surge = "1", max_unavailable = "0" }
  health_check = {
    node_startup_timeout_seconds = 600
    unhealthy_node_conditions    = [{ type = "Ready", status = "False", timeout_seconds = 300 }]
    max_unhealthy                = "40%"
  }
` + fmt.Sprintf(dockerInfra, "v1.35.2", preload))
	}
	var firstBootstrap, firstInfra string
	remember := func(s *terraform.State) error {
		firstBootstrap, firstInfra = stateString(s, addr, "bootstrap_template_name"), stateString(s, addr, "infrastructure_template_name")
		if firstBootstrap == "" || firstInfra == "" {
			return fmt.Errorf("template names %q, %q not in the state", firstBootstrap, firstInfra)
		}
		return nil
	}
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: protoV6ProviderFactories,
		CheckDestroy:             checkPoolsDestroyed(t),
		Steps: []resource.TestStep{
			{
				// Create with the cluster in one apply; version defaults to the control plane's.
				Config: poolConfig(t, tn, "v1.35.2", full("replicas = 2", "50", `"busybox"`)),
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectUnknownValue(addr, tfjsonpath.New("version")),
					plancheck.ExpectKnownValue(addr, tfjsonpath.New("bootstrap_template_name"), knownvalue.StringRegexp(regexp.MustCompile(`^workers-[0-9a-f]{10}$`))),
					plancheck.ExpectKnownValue(addr, tfjsonpath.New("available_replicas"), knownvalue.Int64Exact(2)),
				}},
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue(addr, tfjsonpath.New("id"), knownvalue.StringExact(ns+"/workers")),
					statecheck.ExpectKnownValue(addr, tfjsonpath.New("version"), knownvalue.StringExact("v1.35.2")),
					statecheck.ExpectKnownValue(addr, tfjsonpath.New("ready_replicas"), knownvalue.Int64Exact(2)),
					statecheck.ExpectKnownValue(addr, tfjsonpath.New("up_to_date_replicas"), knownvalue.Int64Exact(2)),
				},
				Check: resource.ComposeTestCheckFunc(remember, func(s *terraform.State) error {
					ctx := context.Background()
					md, err := getObject(ctx, dyn, machineDeploymentGVR, ns, "workers")
					if err != nil {
						return err
					}
					kct, err := getObject(ctx, dyn, kubeadmTemplatesGVR, ns, firstBootstrap)
					if err != nil {
						return err
					}
					dmt, err := getObject(ctx, dyn, dockerTemplatesGVR, ns, firstInfra)
					if err != nil {
						return err
					}
					mhc, err := getObject(ctx, dyn, machineHealthChecks, ns, "workers")
					if err != nil {
						return err
					}
					join := "spec.template.spec.joinConfiguration.nodeRegistration"
					return errors.Join(
						expectField(md, "work", "spec", "clusterName"),
						expectField(md, int64(2), "spec", "replicas"),
						expectField(md, "v1.35.2", "spec", "template", "spec", "version"),
						expectField(md, "az-1", "spec", "template", "spec", "failureDomain"),
						expectField(md, firstBootstrap, "spec", "template", "spec", "bootstrap", "configRef", "name"),
						expectField(md, "KubeadmConfigTemplate", "spec", "template", "spec", "bootstrap", "configRef", "kind"),
						expectField(md, "DockerMachineTemplate", "spec", "template", "spec", "infrastructureRef", "kind"),
						expectField(md, firstInfra, "spec", "template", "spec", "infrastructureRef", "name"),
						// The role label goes on the Machines (Cluster API syncs it to the Node) ...
						expectField(md, "", "spec", "template", "metadata", "labels", "node-role.kubernetes.io/db"),
						expectField(md, "1", "spec", "rollout", "strategy", "rollingUpdate", "maxSurge"),
						// ... the other to the kubelet.
						expectField(kct, []any{
							map[string]any{"name": "max-pods", "value": "50"},
							map[string]any{"name": "node-labels", "value": "example.com/role=db"},
						}, strings.Split(join+".kubeletExtraArgs", ".")...),
						expectField(kct, []any{map[string]any{"key": "dedicated", "value": "db", "effect": "NoSchedule"}}, strings.Split(join+".taints", ".")...),
						expectField(kct, []any{"echo pre"}, "spec", "template", "spec", "preKubeadmCommands"),
						expectField(kct, []any{map[string]any{"path": "/etc/motd", "content": "tenant workers", "permissions": "0644"}}, "spec", "template", "spec", "files"),
						expectField(dmt, "kindest/node:v1.35.2", "spec", "template", "spec", "customImage"),
						expectField(mhc, int64(600), "spec", "checks", "nodeStartupTimeoutSeconds"),
						expectField(mhc, "40%", "spec", "remediation", "triggerIf", "unhealthyLessThanOrEqualTo"),
						expectField(mhc, "workers", "spec", "selector", "matchLabels", "cluster.x-k8s.io/deployment-name"),
					)
				}),
			},
			{
				// Scaling changes no template.
				Config: poolConfig(t, tn, "v1.35.2", full("replicas = 3", "50", `"busybox"`)),
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectResourceAction(addr, plancheck.ResourceActionUpdate),
					plancheck.ExpectKnownValue(addr, tfjsonpath.New("bootstrap_template_name"), knownvalue.StringFunc(func(v string) error {
						if v != firstBootstrap {
							return fmt.Errorf("bootstrap template %s, want %s kept", v, firstBootstrap)
						}
						return nil
					})),
				}},
				Check: check(func(ctx context.Context) error {
					md, err := getObject(ctx, dyn, machineDeploymentGVR, ns, "workers")
					if err != nil {
						return err
					}
					return errors.Join(expectField(md, int64(3), "spec", "replicas"),
						expectOnly(ctx, dyn, kubeadmTemplatesGVR, ns, firstBootstrap))
				}),
			},
			{
				// A template change: new templates, a rollout, the old ones removed.
				Config: poolConfig(t, tn, "v1.35.2", full("replicas = 3", "60", `"busybox", "alpine"`)),
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectResourceAction(addr, plancheck.ResourceActionUpdate),
					plancheck.ExpectKnownValue(addr, tfjsonpath.New("infrastructure_template_name"), knownvalue.StringFunc(func(v string) error {
						if v == firstInfra || !strings.HasPrefix(v, "workers-") {
							return fmt.Errorf("infrastructure template %s, want a new workers-<hash>", v)
						}
						return nil
					})),
				}},
				Check: func(s *terraform.State) error {
					ctx := context.Background()
					bootstrap, infra := stateString(s, addr, "bootstrap_template_name"), stateString(s, addr, "infrastructure_template_name")
					if bootstrap == firstBootstrap || infra == firstInfra {
						return fmt.Errorf("templates %s, %s not renamed", bootstrap, infra)
					}
					md, err := getObject(ctx, dyn, machineDeploymentGVR, ns, "workers")
					if err != nil {
						return err
					}
					sets, err := dyn.Resource(machineSetsGVR).Namespace(ns).List(ctx, metav1.ListOptions{LabelSelector: "cluster.x-k8s.io/deployment-name=workers"})
					if err != nil {
						return err
					}
					var setErr error
					if len(sets.Items) != 1 {
						setErr = fmt.Errorf("%d MachineSets after the rollout, want 1", len(sets.Items))
					} else {
						setErr = expectField(&sets.Items[0], infra, "spec", "template", "spec", "infrastructureRef", "name")
					}
					return errors.Join(
						expectField(md, bootstrap, "spec", "template", "spec", "bootstrap", "configRef", "name"),
						expectField(md, infra, "spec", "template", "spec", "infrastructureRef", "name"),
						expectField(md, int64(3), "status", "upToDateReplicas"),
						setErr,
						expectOnly(ctx, dyn, kubeadmTemplatesGVR, ns, bootstrap),
						expectOnly(ctx, dyn, dockerTemplatesGVR, ns, infra),
					)
				},
			},
			{
				ResourceName:            addr,
				ImportState:             true,
				ImportStateId:           ns + "/workers",
				ImportStateVerify:       true,
				ImportStateVerifyIgnore: []string{"timeouts"},
			},
			{
				// Upgrading the cluster and the pool in one apply.
				Config: poolConfig(t, tn, "v1.36.0", full("replicas = 3\n  version = qumulus_cluster.test.version", "60", `"busybox", "alpine"`)),
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectKnownValue(addr, tfjsonpath.New("version"), knownvalue.StringExact("v1.36.0")),
				}},
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue(addr, tfjsonpath.New("version"), knownvalue.StringExact("v1.36.0")),
				},
				Check: check(func(ctx context.Context) error {
					md, err := getObject(ctx, dyn, machineDeploymentGVR, ns, "workers")
					if err != nil {
						return err
					}
					return expectField(md, "v1.36.0", "spec", "template", "spec", "version")
				}),
			},
			{
				// Without a version the pool follows the control plane, which is where it is.
				Config: poolConfig(t, tn, "v1.36.0", full("replicas = 3", "60", `"busybox", "alpine"`)),
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectEmptyPlan(),
				}},
			},
			{
				// Autoscaling: the annotations are set and spec.replicas left to the autoscaler.
				Config: poolConfig(t, tn, "v1.36.0", full("autoscaling = { min = 1, max = 5 }", "60", `"busybox", "alpine"`)),
				Check: check(func(ctx context.Context) error {
					md, err := getObject(ctx, dyn, machineDeploymentGVR, ns, "workers")
					if err != nil {
						return err
					}
					var ownsReplicas bool
					for _, f := range md.GetManagedFields() {
						if f.Manager == "terraform-provider-qumulus" && f.FieldsV1 != nil && strings.Contains(f.FieldsV1.GetRawString(), `"f:replicas"`) {
							ownsReplicas = true
						}
					}
					if ownsReplicas {
						return errors.New("the provider still owns spec.replicas of an autoscaled pool")
					}
					return errors.Join(
						expectField(md, "1", "metadata", "annotations", "cluster.x-k8s.io/cluster-api-autoscaler-node-group-min-size"),
						expectField(md, "5", "metadata", "annotations", "cluster.x-k8s.io/cluster-api-autoscaler-node-group-max-size"),
					)
				}),
			},
			{
				// The autoscaler scales the pool: no drift.
				PreConfig: func() {
					patch := []byte(`{"spec":{"replicas":4}}`)
					_, err := dyn.Resource(machineDeploymentGVR).Namespace(ns).Patch(context.Background(), "workers", types.MergePatchType, patch,
						metav1.PatchOptions{FieldManager: "cluster-autoscaler"})
					must(t, err)
				},
				Config: poolConfig(t, tn, "v1.36.0", full("autoscaling = { min = 1, max = 5 }", "60", `"busybox", "alpine"`)),
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectEmptyPlan(),
				}},
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue(addr, tfjsonpath.New("replicas"), knownvalue.Int64Exact(4)),
				},
			},
			{
				// Back to a fixed size.
				Config: poolConfig(t, tn, "v1.36.0", full("replicas = 2", "60", `"busybox", "alpine"`)),
				Check: check(func(ctx context.Context) error {
					md, err := getObject(ctx, dyn, machineDeploymentGVR, ns, "workers")
					if err != nil {
						return err
					}
					_, hasMin := md.GetAnnotations()["cluster.x-k8s.io/cluster-api-autoscaler-node-group-min-size"]
					if hasMin {
						return errors.New("autoscaler annotations left behind")
					}
					return expectField(md, int64(2), "spec", "replicas")
				}),
			},
		},
	})
}

func TestAccWorkerPool_drift(t *testing.T) {
	isolateEnv(t)
	tn := tenantName()
	ns := tenant.DefaultNamespace(tn)
	addr := "qumulus_worker_pool.test"
	_, dyn := kubeClients(t)
	config := poolConfig(t, tn, "v1.35.2", pool(`
  replicas             = 2
  pre_kubeadm_commands = ["echo pre"]
`+fmt.Sprintf(dockerInfra, "v1.35.2", `"busybox"`)))
	var bootstrap string
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: protoV6ProviderFactories,
		CheckDestroy:             checkPoolsDestroyed(t),
		Steps: []resource.TestStep{
			{
				Config: config,
				Check: func(s *terraform.State) error {
					if bootstrap = stateString(s, addr, "bootstrap_template_name"); bootstrap == "" {
						return fmt.Errorf("%s has no bootstrap_template_name", addr)
					}
					return nil
				},
			},
			{
				// Replicas changed out of band are set back.
				PreConfig: func() {
					_, err := dyn.Resource(machineDeploymentGVR).Namespace(ns).Patch(context.Background(), "workers", types.MergePatchType,
						[]byte(`{"spec":{"replicas":5}}`), metav1.PatchOptions{FieldManager: "kubectl-edit"})
					must(t, err)
				},
				Config: config,
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectResourceAction(addr, plancheck.ResourceActionUpdate),
				}},
				Check: check(func(ctx context.Context) error {
					md, err := getObject(ctx, dyn, machineDeploymentGVR, ns, "workers")
					if err != nil {
						return err
					}
					return expectField(md, int64(2), "spec", "replicas")
				}),
			},
			{
				// An edited template is set back.
				PreConfig: func() {
					_, err := dyn.Resource(kubeadmTemplatesGVR).Namespace(ns).Patch(context.Background(), bootstrap, types.MergePatchType,
						[]byte(`{"spec":{"template":{"spec":{"preKubeadmCommands":["echo edited"]}}}}`), metav1.PatchOptions{FieldManager: "kubectl-edit"})
					must(t, err)
				},
				Config: config,
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectResourceAction(addr, plancheck.ResourceActionUpdate),
				}},
				Check: check(func(ctx context.Context) error {
					kct, err := getObject(ctx, dyn, kubeadmTemplatesGVR, ns, bootstrap)
					if err != nil {
						return err
					}
					return expectField(kct, []any{"echo pre"}, "spec", "template", "spec", "preKubeadmCommands")
				}),
			},
			{
				// A deleted template is made again.
				PreConfig: func() {
					must(t, dyn.Resource(kubeadmTemplatesGVR).Namespace(ns).Delete(context.Background(), bootstrap, metav1.DeleteOptions{}))
				},
				Config: config,
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectResourceAction(addr, plancheck.ResourceActionUpdate),
				}},
				Check: check(func(ctx context.Context) error {
					return expectOnly(ctx, dyn, kubeadmTemplatesGVR, ns, bootstrap)
				}),
			},
			{
				// A deleted pool is made again.
				PreConfig: func() {
					ctx := context.Background()
					r := dyn.Resource(machineDeploymentGVR).Namespace(ns)
					must(t, r.Delete(ctx, "workers", metav1.DeleteOptions{}))
					waitGone(t, r, "workers")
				},
				Config: config,
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectResourceAction(addr, plancheck.ResourceActionCreate),
				}},
				Check: check(func(ctx context.Context) error {
					_, err := getObject(ctx, dyn, machineDeploymentGVR, ns, "workers")
					return err
				}),
			},
		},
	})
}

func waitGone(t *testing.T, r dynamic.ResourceInterface, name string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	must(t, kube.WaitGone(ctx, r, metav1.ListOptions{FieldSelector: "metadata.name=" + name}))
}

func TestAccWorkerPool_existingTemplate(t *testing.T) {
	isolateEnv(t)
	tn := tenantName()
	ns := tenant.DefaultNamespace(tn)
	addr := "qumulus_worker_pool.test"
	_, dyn := kubeClients(t)
	config := poolConfig(t, tn, "v1.35.2", pool(`
  version = "1.35.2"
  infrastructure = {
    api_group = "infrastructure.cluster.x-k8s.io"
    kind      = "DockerMachineTemplate"
    name      = "shared-workers"
  }
`))
	makeTemplate := func() {
		template := &unstructured.Unstructured{Object: map[string]any{
			"apiVersion": "infrastructure.cluster.x-k8s.io/v1beta2",
			"kind":       "DockerMachineTemplate",
			"metadata":   map[string]any{"name": "shared-workers", "namespace": ns},
			"spec":       map[string]any{"template": map[string]any{"spec": map[string]any{"customImage": "kindest/node:v1.35.2"}}},
		}}
		_, err := dyn.Resource(dockerTemplatesGVR).Namespace(ns).Create(context.Background(), template, metav1.CreateOptions{})
		if !apierrors.IsAlreadyExists(err) {
			must(t, err)
		}
	}
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: protoV6ProviderFactories,
		CheckDestroy: func(s *terraform.State) error {
			return checkPoolsDestroyed(t)(s)
		},
		Steps: []resource.TestStep{
			{
				// The template is missing: a clear error.
				Config:      config,
				ExpectError: errorText("Infrastructure Template Not Found", "DockerMachineTemplate "+ns+"/shared-workers"),
			},
			{
				PreConfig: makeTemplate,
				Config:    config,
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue(addr, tfjsonpath.New("infrastructure_template_name"), knownvalue.StringExact("shared-workers")),
					statecheck.ExpectKnownValue(addr, tfjsonpath.New("version"), knownvalue.StringExact("1.35.2")),
				},
				Check: check(func(ctx context.Context) error {
					md, err := getObject(ctx, dyn, machineDeploymentGVR, ns, "workers")
					if err != nil {
						return err
					}
					return errors.Join(
						expectField(md, "shared-workers", "spec", "template", "spec", "infrastructureRef", "name"),
						expectField(md, "v1.35.2", "spec", "template", "spec", "version"),
						expectField(md, int64(1), "spec", "replicas"),
					)
				}),
			},
			{
				ResourceName:            addr,
				ImportState:             true,
				ImportStateId:           ns + "/workers",
				ImportStateVerify:       true,
				ImportStateVerifyIgnore: []string{"timeouts", "version"},
			},
			{
				// Destroying the pool leaves the template it did not make.
				Config: poolConfig(t, tn, "v1.35.2", ""),
				Check: check(func(ctx context.Context) error {
					if _, err := getObject(ctx, dyn, machineDeploymentGVR, ns, "workers"); !apierrors.IsNotFound(err) {
						return fmt.Errorf("MachineDeployment: want it gone, got %w", err)
					}
					_, err := getObject(ctx, dyn, dockerTemplatesGVR, ns, "shared-workers")
					return err
				}),
			},
		},
	})
}

func TestAccWorkerPool_errors(t *testing.T) {
	isolateEnv(t)
	tn := tenantName()
	infra := fmt.Sprintf(dockerInfra, "v1.35.2", `"busybox"`)
	bare := clusterConfig(t, tn, `
  name     = "work"
  version  = "v1.35.2"
  replicas = 1
  network = {
    service_type = "NodePort"
  }
`)
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: protoV6ProviderFactories,
		CheckDestroy:             checkPoolsDestroyed(t),
		Steps: []resource.TestStep{
			{
				Config:      bare + pool(infra),
				ExpectError: errorText("Cluster Not In Cluster API Mode", "Add `cluster_api {}`"),
			},
			{
				Config:      poolConfig(t, tn, "v1.35.2", pool(`version = "v1.36.0"`+infra)),
				ExpectError: errorText("Worker Version Newer Than Control Plane", "v1.36.0", "v1.35.2"),
			},
			{
				Config:      poolConfig(t, tn, "v1.35.2", pool(`version = "v1.31.0"`+infra)),
				ExpectError: errorText("Worker Version Too Old", "at most 3 minor versions"),
			},
			{
				Config: poolConfig(t, tn, "v1.35.2", pool(`
  infrastructure = {
    api_group = "infrastructure.cluster.x-k8s.io"
    kind      = "OpenStackMachineTemplate"
    spec      = jsonencode({ flavor = "m1.large" })
  }
`)),
				ExpectError: errorText("Infrastructure Template Kind Not Served", "OpenStackMachineTemplate", "Install that Cluster API infrastructure provider"),
			},
			{
				// A field the CRD does not know is refused, not dropped: at plan, by the
				// plan's dry run of the template.
				Config: poolConfig(t, tn, "v1.35.2", pool(`
  infrastructure = {
    api_group = "infrastructure.cluster.x-k8s.io"
    kind      = "DockerMachineTemplate"
    spec      = jsonencode({ customImagee = "typo" })
  }
`)),
				ExpectError: errorText("Refused By The Management Cluster", "DockerMachineTemplate", "customImagee", "Change infrastructure.spec"),
			},
			{
				// Without the plan's dry run, the apply refuses it.
				PreConfig: func() { t.Setenv(envPlanDryRun, "false") },
				Config: poolConfig(t, tn, "v1.35.2", pool(`
  infrastructure = {
    api_group = "infrastructure.cluster.x-k8s.io"
    kind      = "DockerMachineTemplate"
    spec      = jsonencode({ customImagee = "typo" })
  }
`)),
				ExpectError: errorText("Field Not Known To The Installed Cluster API", "customImagee"),
			},
		},
	})
}

func TestAccWorkerPool_invalidConfiguration(t *testing.T) {
	isolateEnv(t)
	infra := fmt.Sprintf(dockerInfra, "v1.35.2", `"busybox"`)
	cases := []struct {
		name, body string
		want       *regexp.Regexp
	}{
		{"bad name", infra, diagnosticRegexp("Invalid Value", `"Workers_1" is not a DNS-1123 label`)},
		{"min above max", `autoscaling = { min = 5, max = 2 }` + infra, errorText("Autoscaling Minimum Above Maximum", "autoscaling.min (5)")},
		{"replicas with autoscaling", `replicas = 2
  autoscaling = { min = 1, max = 3 }` + infra, errorText("Invalid Attribute Combination", "replicas")},
		{"kubelet may not set the label", `node_labels = { "kubernetes.io/role" = "db" }` + infra, errorText("Node Label Not Allowed", "kubernetes.io/role")},
		{"node-labels as kubelet arg", `kubelet_extra_args = { "node-labels" = "a=b" }` + infra,
			diagnosticRegexp("Kubelet Flag Set By Another Attribute", `kubelet_extra_args["node-labels"]: the key "node-labels" is the kubelet flag --node-labels, which the provider writes from node_labels`)},
		{"register-with-taints as kubelet arg", `kubelet_extra_args = { "register-with-taints" = "a=b:NoSchedule" }` + infra,
			diagnosticRegexp("Kubelet Flag Set By Another Attribute", `writes from node_taints: set it there instead`)},
		{"kubelet arg with dashes", `kubelet_extra_args = { "--max-pods" = "110" }` + infra,
			diagnosticRegexp("Invalid Kubelet Flag", `kubelet_extra_args["--max-pods"]: the key "--max-pods" starts with -: kubeadm adds the leading -- itself, write the flag name alone, e.g. "max-pods"`)},
		{"rollout both zero", `rollout = { max_surge = "0", max_unavailable = "0" }` + infra,
			diagnosticRegexp("Rollout Can Never Progress", "max_surge (0) and max_unavailable (0) are both 0")},
		{"rollout both zero percent", `rollout = { max_surge = "0%", max_unavailable = "0%" }` + infra,
			diagnosticRegexp("Rollout Can Never Progress", "max_surge (0%) and max_unavailable (0%) are both 0")},
		{"rollout surge zero with default unavailable", `rollout = { max_surge = "0" }` + infra,
			diagnosticRegexp("Rollout Can Never Progress", "max_surge (0) and max_unavailable (0) are both 0")},
		{"unavailable above 100%", `rollout = { max_unavailable = "150%" }` + infra, diagnosticRegexp("Invalid Machine Count", "150% is more than all machines: at most 100%")},
		{"duplicate file path", `files = [{ path = "/etc/motd", content = "a" }, { path = "/etc/motd", content = "b" }]` + infra,
			diagnosticRegexp("Duplicate File Path", "files[0] and files[1] have the same path (/etc/motd)")},
		{"relative file path", `files = [{ path = "etc/motd", content = "a" }]` + infra, diagnosticRegexp("Invalid File Path", `files[0].path: "etc/motd" is not an absolute path`)},
		{"content not base64", `files = [{ path = "/etc/x", content = "not base64!", encoding = "base64" }]` + infra,
			diagnosticRegexp("Invalid File Content", `files[0].content: The content is not base64, as encoding = "base64" says`)},
		{"bad owner", `files = [{ path = "/etc/x", content = "a", owner = "root root" }]` + infra, diagnosticRegexp("Invalid File Owner", `"root root" is not user or user:group`)},
		{"duplicate taint", `node_taints = [{ key = "a", effect = "NoSchedule" }, { key = "a", value = "x", effect = "NoSchedule" }]` + infra,
			diagnosticRegexp("Duplicate Node Taint", "node_taints[0] and node_taints[1] have the same key and effect (a:NoSchedule)")},
		{"spec not an object", `infrastructure = {
    api_group = "infrastructure.cluster.x-k8s.io"
    kind      = "DockerMachineTemplate"
    spec      = "[1, 2]"
  }`, errorText("Template Spec Is Not A JSON Object")},
		{"spec and name", `infrastructure = {
    api_group = "infrastructure.cluster.x-k8s.io"
    kind      = "DockerMachineTemplate"
    spec      = jsonencode({})
    name      = "x"
  }`, errorText("Invalid Attribute Combination")},
		{"OnDelete with max_surge", `rollout = { strategy = "OnDelete", max_surge = "1" }` + infra, errorText("Rolling Update Setting With OnDelete")},
		{"empty health check", `health_check = {}` + infra, errorText("Health Check Checks Nothing")},
		{"bad percentage", `rollout = { max_unavailable = "25 %" }` + infra, diagnosticRegexp("Invalid Machine Count", `"25 %" is not a whole number or a percentage`)},
	}
	provider := acctest.ProviderBlock(t)
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			name := "workers"
			if c.name == "bad name" {
				name = "Workers_1"
			}
			config := provider + fmt.Sprintf(`
resource "qumulus_worker_pool" "test" {
  namespace    = "tenant-x"
  cluster_name = "work"
  name         = %q
%s
}
`, name, c.body)
			resource.Test(t, resource.TestCase{
				ProtoV6ProviderFactories: protoV6ProviderFactories,
				Steps:                    []resource.TestStep{{Config: config, PlanOnly: true, ExpectError: c.want}},
			})
		})
	}
}

// TestAccWorkerPool_emptyCollections: empty collections mean none, are applied as none,
// stay as written in the state, and plan no change afterwards.
func TestAccWorkerPool_emptyCollections(t *testing.T) {
	isolateEnv(t)
	tn := tenantName()
	addr := "qumulus_worker_pool.test"
	infra := fmt.Sprintf(dockerInfra, "v1.35.2", `"busybox"`)
	config := poolConfig(t, tn, "v1.35.2", pool(`
  node_labels           = {}
  node_taints           = []
  kubelet_extra_args    = {}
  files                 = []
  pre_kubeadm_commands  = []
  post_kubeadm_commands = []
  rollout               = {}
  health_check = {
    node_startup_timeout_seconds = 600
    unhealthy_node_conditions    = []
  }
`+infra))
	empty := knownvalue.ListExact([]knownvalue.Check{})
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: protoV6ProviderFactories,
		CheckDestroy:             checkPoolsDestroyed(t),
		Steps: []resource.TestStep{
			{
				Config: config,
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue(addr, tfjsonpath.New("files"), empty),
					statecheck.ExpectKnownValue(addr, tfjsonpath.New("node_taints"), empty),
					statecheck.ExpectKnownValue(addr, tfjsonpath.New("pre_kubeadm_commands"), empty),
					statecheck.ExpectKnownValue(addr, tfjsonpath.New("node_labels"), knownvalue.MapExact(map[string]knownvalue.Check{})),
					statecheck.ExpectKnownValue(addr, tfjsonpath.New("kubelet_extra_args"), knownvalue.MapExact(map[string]knownvalue.Check{})),
					statecheck.ExpectKnownValue(addr, tfjsonpath.New("rollout"), knownvalue.ObjectExact(map[string]knownvalue.Check{
						"strategy": knownvalue.Null(), "max_surge": knownvalue.Null(), "max_unavailable": knownvalue.Null(),
					})),
					statecheck.ExpectKnownValue(addr, tfjsonpath.New("health_check").AtMapKey("unhealthy_node_conditions"), empty),
				},
			},
			{
				// Refreshed from the cluster, nothing differs.
				Config:           config,
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()}},
			},
		},
	})
}
