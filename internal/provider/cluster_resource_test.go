package provider

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"sync"
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
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/dynamic"

	"github.com/qumulus/terraform-provider-qumulus/internal/capi"
	"github.com/qumulus/terraform-provider-qumulus/internal/kamaji"
	"github.com/qumulus/terraform-provider-qumulus/internal/kube"
	"github.com/qumulus/terraform-provider-qumulus/internal/tenant"
	"github.com/qumulus/terraform-provider-qumulus/internal/testsupport/acctest"
	"github.com/qumulus/terraform-provider-qumulus/internal/testsupport/crds"
	"github.com/qumulus/terraform-provider-qumulus/internal/testsupport/fixtures"
	"github.com/qumulus/terraform-provider-qumulus/internal/testsupport/simulator"
)

// clusterConfig is a tenant and, in its namespace, a qumulus_cluster "test" with body.
func clusterConfig(t *testing.T, tenantName, body string) string {
	return acctest.ProviderBlock(t) + fmt.Sprintf(`
resource "qumulus_tenant" "test" {
  name          = %q
  force_destroy = true
}

resource "qumulus_cluster" "test" {
  namespace = qumulus_tenant.test.namespace
%s
}
`, tenantName, body)
}

// checkClustersDestroyed fails while any object of a qumulus_cluster in the state exists.
func checkClustersDestroyed(t *testing.T) func(*terraform.State) error {
	return func(s *terraform.State) error {
		return errors.Join(
			acctest.CheckDestroyed("qumulus_cluster", kamaji.TenantControlPlaneGVR)(s),
			acctest.CheckDestroyed("qumulus_cluster", capi.KamajiControlPlaneGVR)(s),
			acctest.CheckDestroyed("qumulus_cluster", capi.ClusterGVR)(s),
			checkTenantsDestroyed(t)(s),
		)
	}
}

type schemaGVR = schema.GroupVersionResource

func getObject(ctx context.Context, dyn dynamic.Interface, gvr schemaGVR, ns, name string) (*unstructured.Unstructured, error) {
	return dyn.Resource(gvr).Namespace(ns).Get(ctx, name, metav1.GetOptions{})
}

// expectField fails unless the object's field at path equals want.
func expectField(obj *unstructured.Unstructured, want any, path ...string) error {
	got, found, err := unstructured.NestedFieldCopy(obj.Object, path...)
	if err != nil || !found {
		return fmt.Errorf("%s %s: %s not set (%w)", obj.GetKind(), obj.GetName(), strings.Join(path, "."), err)
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		return fmt.Errorf("%s %s: %s is %v, want %v", obj.GetKind(), obj.GetName(), strings.Join(path, "."), got, want)
	}
	return nil
}

// phaseRecorder records every status.kubernetesResources.version.status a
// TenantControlPlane passes through.
type phaseRecorder struct {
	mu     sync.Mutex
	phases []string
	stop   context.CancelFunc
}

func recordPhases(t *testing.T, dyn dynamic.Interface, ns, name string) *phaseRecorder {
	ctx, cancel := context.WithCancel(context.Background())
	r := &phaseRecorder{stop: cancel}
	w, err := dyn.Resource(kamaji.TenantControlPlaneGVR).Namespace(ns).Watch(ctx, metav1.ListOptions{FieldSelector: "metadata.name=" + name})
	must(t, err)
	go func() {
		defer w.Stop()
		for e := range w.ResultChan() {
			if obj, ok := e.Object.(*unstructured.Unstructured); ok && e.Type != watch.Deleted {
				phase, _, _ := unstructured.NestedString(obj.Object, "status", "kubernetesResources", "version", "status")
				r.mu.Lock()
				if n := len(r.phases); phase != "" && (n == 0 || r.phases[n-1] != phase) {
					r.phases = append(r.phases, phase)
				}
				r.mu.Unlock()
			}
		}
	}()
	t.Cleanup(cancel)
	return r
}

func (r *phaseRecorder) saw(want ...string) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	i := 0
	for _, p := range r.phases {
		if i < len(want) && p == want[i] {
			i++
		}
	}
	if i < len(want) {
		return fmt.Errorf("TenantControlPlane went through %v, want %v in that order", r.phases, want)
	}
	return nil
}

func TestAccCluster_basic(t *testing.T) {
	isolateEnv(t)
	tn := tenantName()
	ns := tenant.DefaultNamespace(tn)
	name := "prod"
	addr := "qumulus_cluster.test"
	_, dyn := kubeClients(t)
	var upgrade *phaseRecorder

	first := clusterConfig(t, tn, `
  name    = "prod"
  version = "1.35.0"
  labels      = { team = "platform" }
  annotations = { "example.com/owner" = "ops" }
  network = {
    service_type        = "ClusterIP"
    service_annotations = { "example.com/lb" = "internal" }
    cert_sans           = ["prod.acme.example"]
  }
  addons = {
    core_dns   = {}
    kube_proxy = { image_tag = "v1.35.0" }
  }
  api_server = {
    extra_args = ["--v=2"]
    requests   = { cpu = "250m", memory = "512Mi" }
  }
`)
	second := clusterConfig(t, tn, `
  name     = "prod"
  version  = "v1.36.0"
  replicas = 3
  labels   = { team = "infra" }
  network = {
    service_type = "ClusterIP"
    cert_sans    = ["prod.acme.example", "api.acme.example"]
  }
  addons = {
    core_dns = {}
  }
  api_server = {
    extra_args = ["--v=2"]
    requests   = { cpu = "0.5", memory = "512Mi" }
  }
  scheduler = {}
`)

	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: protoV6ProviderFactories,
		CheckDestroy:             checkClustersDestroyed(t),
		Steps: []resource.TestStep{
			{
				Config: first,
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					// Unknown until created, so that data sources referring to it wait for it.
					plancheck.ExpectUnknownValue(addr, tfjsonpath.New("id")),
					plancheck.ExpectKnownValue(addr, tfjsonpath.New("status"), knownvalue.StringExact("Ready")),
					plancheck.ExpectKnownValue(addr, tfjsonpath.New("installed_version"), knownvalue.StringExact("v1.35.0")),
				}},
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue(addr, tfjsonpath.New("version"), knownvalue.StringExact("1.35.0")),
					statecheck.ExpectKnownValue(addr, tfjsonpath.New("installed_version"), knownvalue.StringExact("v1.35.0")),
					statecheck.ExpectKnownValue(addr, tfjsonpath.New("status"), knownvalue.StringExact("Ready")),
					statecheck.ExpectKnownValue(addr, tfjsonpath.New("replicas"), knownvalue.Int64Exact(2)),
					statecheck.ExpectKnownValue(addr, tfjsonpath.New("network").AtMapKey("port"), knownvalue.Int64Exact(6443)),
					statecheck.ExpectKnownValue(addr, tfjsonpath.New("network").AtMapKey("service_cidrs"),
						knownvalue.ListExact([]knownvalue.Check{knownvalue.StringExact("10.96.0.0/16")})),
					statecheck.ExpectKnownValue(addr, tfjsonpath.New("kubeconfig_secret_name"), knownvalue.StringExact(kamaji.AdminKubeconfigSecretName(name))),
					statecheck.ExpectKnownValue(addr, tfjsonpath.New("endpoint"), knownvalue.StringRegexp(regexp.MustCompile(`^[\w.-]+:\d+$`))),
					statecheck.ExpectKnownValue(addr, tfjsonpath.New("ca_certificate"), knownvalue.StringRegexp(regexp.MustCompile(`^-----BEGIN CERTIFICATE-----`))),
					statecheck.ExpectKnownValue(addr, tfjsonpath.New("api_server").AtMapKey("requests").AtMapKey("cpu"), knownvalue.StringExact("250m")),
				},
				Check: resource.ComposeAggregateTestCheckFunc(
					noKeyMaterial(addr),
					check(func(ctx context.Context) error {
						tcp, err := getObject(ctx, dyn, kamaji.TenantControlPlaneGVR, ns, name)
						if err != nil {
							return err
						}
						if tcp.GetLabels()[kube.LabelManagedBy] != kube.ManagedBy || tcp.GetLabels()["qumulus.io/cluster"] != name ||
							tcp.GetLabels()[kube.LabelTenant] != tn || tcp.GetLabels()["team"] != "platform" {
							return fmt.Errorf("TenantControlPlane labels %v", tcp.GetLabels())
						}
						return errors.Join(
							expectField(tcp, "v1.35.0", "spec", "kubernetes", "version"),
							expectField(tcp, "ClusterIP", "spec", "controlPlane", "service", "serviceType"),
							expectField(tcp, "internal", "spec", "controlPlane", "service", "additionalMetadata", "annotations", "example.com/lb"),
							expectField(tcp, []any{"prod.acme.example"}, "spec", "networkProfile", "certSANs"),
							expectField(tcp, []any{"--v=2"}, "spec", "controlPlane", "deployment", "extraArgs", "apiServer"),
							expectField(tcp, "250m", "spec", "controlPlane", "deployment", "resources", "apiServer", "requests", "cpu"),
							expectField(tcp, map[string]any{}, "spec", "addons", "coreDNS"),
							expectField(tcp, "v1.35.0", "spec", "addons", "kubeProxy", "imageTag"),
							expectField(tcp, "ops", "metadata", "annotations", "example.com/owner"),
						)
					}),
				),
			},
			{
				PreConfig: func() { upgrade = recordPhases(t, dyn, ns, name) },
				Config:    second,
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectResourceAction(addr, plancheck.ResourceActionUpdate),
					plancheck.ExpectKnownValue(addr, tfjsonpath.New("installed_version"), knownvalue.StringExact("v1.36.0")),
					// The network changes, so the endpoint may too.
					plancheck.ExpectUnknownValue(addr, tfjsonpath.New("endpoint")),
				}},
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue(addr, tfjsonpath.New("installed_version"), knownvalue.StringExact("v1.36.0")),
					statecheck.ExpectKnownValue(addr, tfjsonpath.New("replicas"), knownvalue.Int64Exact(3)),
					statecheck.ExpectKnownValue(addr, tfjsonpath.New("api_server").AtMapKey("requests").AtMapKey("cpu"), knownvalue.StringExact("0.5")),
				},
				Check: check(func(ctx context.Context) error {
					upgrade.stop()
					tcp, err := getObject(ctx, dyn, kamaji.TenantControlPlaneGVR, ns, name)
					if err != nil {
						return err
					}
					var errs []error
					errs = append(errs, upgrade.saw(kamaji.StatusUpgrading, kamaji.StatusReady),
						expectField(tcp, int64(3), "spec", "controlPlane", "deployment", "replicas"),
						expectField(tcp, "v1.36.0", "status", "kubernetesResources", "version", "version"))
					// Removed settings are removed from the object.
					if _, found, _ := unstructured.NestedFieldNoCopy(tcp.Object, "spec", "addons", "kubeProxy"); found {
						errs = append(errs, errors.New("kubeProxy add-on still set"))
					}
					if _, found := tcp.GetAnnotations()["example.com/owner"]; found {
						errs = append(errs, errors.New("annotation example.com/owner still set"))
					}
					if _, found := tcp.GetLabels()["team"]; !found || tcp.GetLabels()["team"] != "infra" {
						errs = append(errs, fmt.Errorf("label team is %q", tcp.GetLabels()["team"]))
					}
					return errors.Join(errs...)
				}),
			},
			{
				// An import reads quantities in the API server's spelling; an empty
				// component block stays as written.
				Config: strings.Replace(strings.Replace(second, `"0.5"`, `"500m"`, 1), "scheduler = {}", "", 1),
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					// Nothing of the network changes: the endpoint is known at plan.
					plancheck.ExpectKnownValue(addr, tfjsonpath.New("endpoint"), knownvalue.StringRegexp(regexp.MustCompile(`:\d+$`))),
				}},
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue(addr, tfjsonpath.New("api_server").AtMapKey("requests").AtMapKey("cpu"), knownvalue.StringExact("500m")),
				},
			},
			{
				ResourceName:      addr,
				ImportState:       true,
				ImportStateId:     ns + "/" + name,
				ImportStateVerify: true,
				// timeouts is configuration only.
				ImportStateVerifyIgnore: []string{"timeouts"},
			},
			{
				// An import block plans a no-op (no Config of its own: OpenTofu needs the
				// step's provider source).
				ResourceName:    addr,
				ImportState:     true,
				ImportStateKind: resource.ImportBlockWithID,
				ImportStateId:   ns + "/" + name,
			},
		},
	})
}

// noKeyMaterial fails when any attribute of the resource holds private key material: the
// simulator puts a marker where Kamaji keeps the CA key, and admin kubeconfigs carry client keys.
func noKeyMaterial(addr string) resource.TestCheckFunc {
	return func(s *terraform.State) error {
		rs, ok := s.RootModule().Resources[addr]
		if !ok {
			return fmt.Errorf("%s not in state", addr)
		}
		for k, v := range rs.Primary.Attributes {
			if strings.Contains(v, simulator.CAKeyMarker) || strings.Contains(v, "PRIVATE KEY") || strings.Contains(v, "client-key-data") {
				return fmt.Errorf("%s.%s holds key material", addr, k)
			}
		}
		return nil
	}
}

func TestAccCluster_clusterAPI(t *testing.T) {
	isolateEnv(t)
	tn := tenantName()
	ns := tenant.DefaultNamespace(tn)
	name := "capi"
	addr := "qumulus_cluster.test"
	_, dyn := kubeClients(t)
	// Against the simulator the Cluster points at an OpenStackCluster that nobody
	// provisions; on a real cluster Cluster API would wait for it, so it is left out there.
	infrastructureRef, wantInfrastructure := "", ""
	if acctest.Cluster(t).Simulated {
		infrastructureRef = `    infrastructure_ref = {
      api_group = "infrastructure.cluster.x-k8s.io"
      kind      = "OpenStackCluster"
      name      = "capi"
    }`
		wantInfrastructure = "OpenStackCluster"
	}
	capiConfig := clusterConfig(t, tn, `
  name    = "capi"
  version = "v1.35.2"
  replicas = 1
  network = {
    service_type  = "NodePort"
    port          = 31443
    pod_cidrs     = ["10.200.0.0/16"]
    service_cidrs = ["10.100.0.0/16"]
  }
  addons = { core_dns = {} }
  cluster_api = {
`+infrastructureRef+`
  }
`)
	bare := clusterConfig(t, tn, `
  name     = "capi"
  version  = "v1.35.2"
  replicas = 1
  network = {
    service_type = "NodePort"
  }
`)
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: protoV6ProviderFactories,
		CheckDestroy:             checkClustersDestroyed(t),
		Steps: []resource.TestStep{
			{
				Config: capiConfig,
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue(addr, tfjsonpath.New("status"), knownvalue.StringExact("Ready")),
					statecheck.ExpectKnownValue(addr, tfjsonpath.New("installed_version"), knownvalue.StringExact("v1.35.2")),
					statecheck.ExpectKnownValue(addr, tfjsonpath.New("kubeconfig_secret_name"), knownvalue.StringExact(kamaji.AdminKubeconfigSecretName(name))),
					statecheck.ExpectKnownValue(addr, tfjsonpath.New("network").AtMapKey("port"), knownvalue.Int64Exact(31443)),
				},
				Check: check(func(ctx context.Context) error {
					cl, err := getObject(ctx, dyn, capi.ClusterGVR, ns, name)
					if err != nil {
						return err
					}
					kcp, err := getObject(ctx, dyn, capi.KamajiControlPlaneGVR, ns, name)
					if err != nil {
						return err
					}
					tcp, err := getObject(ctx, dyn, kamaji.TenantControlPlaneGVR, ns, name)
					if err != nil {
						return err
					}
					return errors.Join(
						expectField(cl, capi.ControlPlaneGroup, "spec", "controlPlaneRef", "apiGroup"),
						expectField(cl, "KamajiControlPlane", "spec", "controlPlaneRef", "kind"),
						expectField(cl, name, "spec", "controlPlaneRef", "name"),
						expectInfrastructure(cl, wantInfrastructure),
						expectField(cl, []any{"10.200.0.0/16"}, "spec", "clusterNetwork", "pods", "cidrBlocks"),
						expectField(cl, int64(31443), "spec", "clusterNetwork", "apiServerPort"),
						expectField(kcp, "v1.35.2", "spec", "version"),
						expectField(kcp, int64(1), "spec", "replicas"),
						expectField(kcp, "NodePort", "spec", "network", "serviceType"),
						expectField(kcp, map[string]any{}, "spec", "addons", "coreDNS"),
						// Kamaji's provider (here the simulator) made the TenantControlPlane from them.
						expectField(tcp, "10.200.0.0/16", "spec", "networkProfile", "podCidr"),
						expectField(tcp, "Ready", "status", "kubernetesResources", "version", "status"),
					)
				}),
			},
			{
				ResourceName:            addr,
				ImportState:             true,
				ImportStateId:           ns + "/" + name,
				ImportStateVerify:       true,
				ImportStateVerifyIgnore: []string{"timeouts"},
			},
			{
				// Leaving Cluster API mode replaces the cluster.
				Config: bare,
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectResourceAction(addr, plancheck.ResourceActionDestroyBeforeCreate),
					plancheck.ExpectUnknownValue(addr, tfjsonpath.New("id")),
				}},
				Check: check(func(ctx context.Context) error {
					for _, gvr := range []schemaGVR{capi.ClusterGVR, capi.KamajiControlPlaneGVR} {
						if _, err := getObject(ctx, dyn, gvr, ns, name); !apierrors.IsNotFound(err) {
							return fmt.Errorf("%s %s/%s: want it gone, got %w", gvr.Resource, ns, name, err)
						}
					}
					tcp, err := getObject(ctx, dyn, kamaji.TenantControlPlaneGVR, ns, name)
					if err != nil {
						return err
					}
					if len(tcp.GetOwnerReferences()) > 0 {
						return fmt.Errorf("bare TenantControlPlane has owners %v", tcp.GetOwnerReferences())
					}
					return nil
				}),
			},
		},
	})
}

func expectInfrastructure(cluster *unstructured.Unstructured, kind string) error {
	got, _, _ := unstructured.NestedString(cluster.Object, "spec", "infrastructureRef", "kind")
	if got != kind {
		return fmt.Errorf("Cluster %s: infrastructureRef kind %q, want %q", cluster.GetName(), got, kind)
	}
	return nil
}

func TestAccCluster_drift(t *testing.T) {
	isolateEnv(t)
	tn := tenantName()
	ns := tenant.DefaultNamespace(tn)
	name := "drift"
	addr := "qumulus_cluster.test"
	_, dyn := kubeClients(t)
	config := clusterConfig(t, tn, `
  name    = "drift"
  version = "v1.35.0"
  network = { service_type = "ClusterIP" }
`)
	patch := func(body string) func() {
		return func() {
			_, err := dyn.Resource(kamaji.TenantControlPlaneGVR).Namespace(ns).Patch(context.Background(), name,
				types.MergePatchType, []byte(body), metav1.PatchOptions{FieldManager: "kubectl-edit"})
			must(t, err)
		}
	}
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: protoV6ProviderFactories,
		CheckDestroy:             checkClustersDestroyed(t),
		Steps: []resource.TestStep{
			{Config: config},
			{
				// Scaled and re-exposed by hand: the plan puts it back.
				PreConfig: patch(`{"spec":{"controlPlane":{"deployment":{"replicas":5},"service":{"serviceType":"NodePort"}}}}`),
				Config:    config,
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectResourceAction(addr, plancheck.ResourceActionUpdate),
				}},
				ConfigStateChecks: []statecheck.StateCheck{
					// replicas is Optional+Computed and unset: the server's value is kept.
					statecheck.ExpectKnownValue(addr, tfjsonpath.New("replicas"), knownvalue.Int64Exact(5)),
					statecheck.ExpectKnownValue(addr, tfjsonpath.New("network").AtMapKey("service_type"), knownvalue.StringExact("ClusterIP")),
				},
			},
			{
				// Deleted out of band: the plan re-creates it.
				PreConfig: func() {
					ctx := context.Background()
					must(t, dyn.Resource(kamaji.TenantControlPlaneGVR).Namespace(ns).Delete(ctx, name, metav1.DeleteOptions{}))
					must(t, wait.PollUntilContextTimeout(ctx, 100*time.Millisecond, time.Minute, true, func(ctx context.Context) (bool, error) {
						_, err := getObject(ctx, dyn, kamaji.TenantControlPlaneGVR, ns, name)
						return apierrors.IsNotFound(err), nil
					}))
				},
				Config: config,
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectResourceAction(addr, plancheck.ResourceActionCreate),
				}},
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue(addr, tfjsonpath.New("status"), knownvalue.StringExact("Ready")),
				},
			},
		},
	})
}

func TestAccCluster_notReadyTimeout(t *testing.T) {
	isolateEnv(t)
	if !acctest.Cluster(t).Simulated {
		t.Skip("holds the control plane with the simulator's annotation")
	}
	tn := tenantName()
	config := func(extra, timeout string) string {
		return clusterConfig(t, tn, fmt.Sprintf(`
  name    = "held"
  version = "v1.35.0"
  network = { service_type = "ClusterIP" }
  %s
  timeouts {
    create = %q
  }
`, extra, timeout))
	}
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: protoV6ProviderFactories,
		CheckDestroy:             checkClustersDestroyed(t),
		Steps: []resource.TestStep{
			{
				Config: config(fmt.Sprintf(`annotations = { %q = "true" }`, simulator.HoldAnnotation), "3s"),
				ExpectError: regexp.MustCompile(`(?s)Control Plane Not Ready In Time.*TenantControlPlane\s+tenant-` + tn +
					`/held.*status\s+Provisioning.*installed\s+version\s+none.*kubectl\s+-n\s+tenant-` + tn + `\s+describe\s+tenantcontrolplane\s+held`),
			},
			{
				// The cluster that timed out was tainted; without the hold its replacement becomes ready.
				Config: config("", "5m"),
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectResourceAction("qumulus_cluster.test", plancheck.ResourceActionDestroyBeforeCreate),
				}},
			},
		},
	})
}

func TestAccCluster_noWait(t *testing.T) {
	isolateEnv(t)
	tn := tenantName()
	addr := "qumulus_cluster.test"
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: protoV6ProviderFactories,
		CheckDestroy:             checkClustersDestroyed(t),
		Steps: []resource.TestStep{{
			Config: clusterConfig(t, tn, fmt.Sprintf(`
  name           = "nowait"
  version        = "v1.35.0"
  wait_for_ready = false
  annotations    = { %q = "true" }
  network        = { service_type = "ClusterIP" }
`, simulator.HoldAnnotation)),
			ConfigStateChecks: []statecheck.StateCheck{
				statecheck.ExpectKnownValue(addr, tfjsonpath.New("installed_version"), knownvalue.StringExact("")),
				statecheck.ExpectKnownValue(addr, tfjsonpath.New("kubeconfig_secret_name"), knownvalue.StringExact("")),
			},
		}},
	})
}

func TestAccCluster_deleteTimeout(t *testing.T) {
	isolateEnv(t)
	tn := tenantName()
	ns := tenant.DefaultNamespace(tn)
	_, dyn := kubeClients(t)
	const hold = "test.qumulus.io/hold"
	config := clusterConfig(t, tn, `
  name    = "stuck"
  version = "v1.35.0"
  network = { service_type = "ClusterIP" }
  timeouts {
    delete = "3s"
  }
`)
	setFinalizers := func(add bool) {
		ctx := context.Background()
		tcp, err := getObject(ctx, dyn, kamaji.TenantControlPlaneGVR, ns, "stuck")
		must(t, err)
		f := slices.DeleteFunc(tcp.GetFinalizers(), func(s string) bool { return s == hold })
		if add {
			f = append(f, hold)
		}
		tcp.SetFinalizers(f)
		_, err = dyn.Resource(kamaji.TenantControlPlaneGVR).Namespace(ns).Update(ctx, tcp, metav1.UpdateOptions{})
		must(t, err)
	}
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: protoV6ProviderFactories,
		CheckDestroy:             checkClustersDestroyed(t),
		Steps: []resource.TestStep{
			{Config: config},
			{
				PreConfig: func() { setFinalizers(true) },
				Config:    config,
				Destroy:   true,
				ExpectError: regexp.MustCompile(`(?s)Cluster Not Deleted In Time.*TenantControlPlane\s+tenant-` + tn +
					`/stuck\s+\(finalizers:.*` + regexp.QuoteMeta(hold)),
			},
			{
				PreConfig: func() { setFinalizers(false) },
				Config:    config,
				Destroy:   true,
			},
		},
	})
}

func TestAccCluster_applyErrors(t *testing.T) {
	isolateEnv(t)
	tn := tenantName()
	ns := tenant.DefaultNamespace(tn)
	_, dyn := kubeClients(t)
	tenantOnly := acctest.ProviderBlock(t) + fmt.Sprintf(`
resource "qumulus_tenant" "test" {
  name          = %q
  force_destroy = true
}
`, tn)
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: protoV6ProviderFactories,
		CheckDestroy:             checkClustersDestroyed(t),
		Steps: []resource.TestStep{
			{
				Config: acctest.ProviderBlock(t) + `
resource "qumulus_cluster" "test" {
  namespace = "tenant-does-not-exist"
  name      = "orphan"
  version   = "v1.35.0"
}
`,
				ExpectError: regexp.MustCompile(`(?s)Tenant Namespace Not Found.*tenant-does-not-exist.*qumulus_tenant`),
			},
			{Config: tenantOnly},
			{
				// A TenantControlPlane made by someone else is never taken over.
				PreConfig: func() {
					_, err := dyn.Resource(kamaji.TenantControlPlaneGVR).Namespace(ns).Create(context.Background(),
						fixtures.TenantControlPlane(ns, "taken"), metav1.CreateOptions{})
					must(t, err)
				},
				Config: clusterConfig(t, tn, `
  name    = "taken"
  version = "v1.35.0"
  network = { service_type = "ClusterIP" }
`),
				ExpectError: regexp.MustCompile(`(?s)Cluster Already Exists.*TenantControlPlane\s+tenant-` + tn +
					`/taken.*not\s+made\s+by\s+this\s+provider.*terraform\s+import`),
			},
		},
	})
}

// diagnosticRegexp matches the CLI's rendering of an error diagnostic with summary whose
// detail contains detail, however the CLI wraps its lines.
func diagnosticRegexp(summary, detail string) *regexp.Regexp {
	text := func(s string) string { return strings.Join(strings.Fields(regexp.QuoteMeta(s)), `\s+`) }
	return regexp.MustCompile(`(?s)Error:\s+` + text(summary) + `\s*\n.*` + text(detail))
}

func TestDiagnosticRegexp(t *testing.T) {
	// Terraform's rendering (-no-color), its detail wrapped at spaces.
	out := "Error: Invalid Attribute Value\n\n  with qumulus_cluster.test,\n  on terraform_plugin_test.tf line 12, in resource \"qumulus_cluster\" \"test\":\n" +
		"  12:   replicas = -1\n\nAttribute replicas value must be between 0 and\n2147483647, got: -1\n"
	if !diagnosticRegexp("Invalid Attribute Value", "Attribute replicas value must be between 0 and 2147483647, got: -1").MatchString(out) {
		t.Error("no match on the wrapped detail")
	}
	for _, c := range [][2]string{
		{"Invalid Attribute Value Match", "Attribute replicas"},
		{"Invalid Attribute", "Attribute replicas"},
		{"Invalid Attribute Value", "got: -2"},
	} {
		if diagnosticRegexp(c[0], c[1]).MatchString(out) {
			t.Errorf("%q, %q matches", c[0], c[1])
		}
	}
}

func TestAccCluster_versionChanges(t *testing.T) {
	isolateEnv(t)
	tn := tenantName()
	config := func(version string) string {
		return clusterConfig(t, tn, fmt.Sprintf(`
  name    = "versions"
  version = %q
  network = { service_type = "ClusterIP" }
`, version))
	}
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: protoV6ProviderFactories,
		CheckDestroy:             checkClustersDestroyed(t),
		Steps: []resource.TestStep{
			{Config: config("v1.34.2")},
			{Config: config("v1.33.9"), PlanOnly: true, ExpectError: regexp.MustCompile(`(?s)Unsupported Version Change.*downgrading.*v1\.34\.2\s+to\s+v1\.33\.9`)},
			{Config: config("v1.34.1"), PlanOnly: true, ExpectError: regexp.MustCompile(`(?s)Unsupported Version Change.*downgrading`)},
			{Config: config("1.36.0"), PlanOnly: true, ExpectError: regexp.MustCompile(`(?s)Unsupported Version Change.*skips\s+a\s+minor\s+version.*next:\s+v1\.35\.x`)},
			{Config: config("v1.37.0"), PlanOnly: true, ExpectError: regexp.MustCompile(`newer\s+than\s+Kamaji\s+supports`)},
			// The same version spelled without "v" is no change on the server.
			{
				Config: config("1.34.2"),
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectResourceAction("qumulus_cluster.test", plancheck.ResourceActionUpdate),
				}},
			},
			{Config: config("1.35.0")},
			{
				// A replacement is a new control plane: any supported version goes.
				Config: strings.Replace(config("v1.33.0"), `"versions"`, `"versions-b"`, 1),
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectResourceAction("qumulus_cluster.test", plancheck.ResourceActionDestroyBeforeCreate),
				}},
			},
		},
	})
}

// kamaji26Config is a cluster "newer" setting fields only Kamaji 26.x knows.
func kamaji26Config(t *testing.T, tn string) string {
	return clusterConfig(t, tn, `
  name    = "newer"
  version = "v1.35.0"
  network = {
    service_type   = "ClusterIP"
    cluster_domain = "acme.internal"
    service_cidrs  = ["10.96.0.0/16", "fd00:10:96::/112"]
    pod_cidrs      = ["10.244.0.0/16", "fd00:10:244::/56"]
  }
  addons = {
    konnectivity = { agent_mode = "Deployment" }
  }
  kubelet = {
    config_patches = [{ op = "replace", path = "/cgroupDriver", value = jsonencode("systemd") }]
  }
`)
}

// installedKamajiIs26 tells whether the management cluster's TenantControlPlane CRD is Kamaji
// 26.x's, by the presence of spec.networkProfile.clusterDomain in its schema: the upstream
// CRDs of ../shared/crds are, the fallback v1.0.0 ones of a fresh clone are not.
func installedKamajiIs26(t *testing.T, dyn dynamic.Interface) bool {
	t.Helper()
	crdGVR := schema.GroupVersionResource{Group: "apiextensions.k8s.io", Version: "v1", Resource: "customresourcedefinitions"}
	crd, err := dyn.Resource(crdGVR).Get(context.Background(), kamaji.TenantControlPlaneGVR.GroupResource().String(), metav1.GetOptions{})
	must(t, err)
	versions, _, err := unstructured.NestedSlice(crd.Object, "spec", "versions")
	must(t, err)
	for _, v := range versions {
		v, ok := v.(map[string]any)
		if !ok || v["name"] != kamaji.TenantControlPlaneGVR.Version {
			continue
		}
		_, found, err := unstructured.NestedMap(v, "schema", "openAPIV3Schema", "properties", "spec", "properties",
			"networkProfile", "properties", "clusterDomain")
		must(t, err)
		return found
	}
	t.Fatalf("CRD %s does not serve %s", crd.GetName(), kamaji.TenantControlPlaneGVR.Version)
	return false
}

// TestAccCluster_kamaji26FieldsRefused: with a Kamaji older than 26.x (the v1.0.0 CRDs of a
// fresh clone) the apply is refused with a message that names the field instead of the
// field being dropped.
func TestAccCluster_kamaji26FieldsRefused(t *testing.T) {
	isolateEnv(t)
	_, dyn := kubeClients(t)
	if installedKamajiIs26(t, dyn) {
		t.Skip("the installed TenantControlPlane CRD is Kamaji 26.x's: nothing to refuse; TestAccCluster_kamaji26Fields writes the fields")
	}
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: protoV6ProviderFactories,
		CheckDestroy:             checkClustersDestroyed(t),
		Steps: []resource.TestStep{{
			Config:      kamaji26Config(t, tenantName()),
			ExpectError: regexp.MustCompile(`(?s)Field Not Known To The Installed Kamaji.*TenantControlPlane\s+CRD.*(clusterDomain|serviceCidrs|podCidrs|configurationJSONPatches|mode)`),
		}},
	})
}

// TestAccCluster_kamaji26Fields sets fields only Kamaji 26.x knows and finds them written.
// It needs Kamaji 26.x's CRDs: ../shared/crds beside the checkout, or QUMULUS_SHARED_CRDS.
func TestAccCluster_kamaji26Fields(t *testing.T) {
	isolateEnv(t)
	tn := tenantName()
	ns := tenant.DefaultNamespace(tn)
	addr := "qumulus_cluster.test"
	_, dyn := kubeClients(t)
	if !installedKamajiIs26(t, dyn) {
		t.Skip("the installed TenantControlPlane CRD predates Kamaji 26.x (without ../shared/crds: Kamaji " + crds.FallbackKamajiVersion +
			"'s); only the refusal is tested (TestAccCluster_kamaji26FieldsRefused). Put the upstream CRDs in ../shared/crds or QUMULUS_SHARED_CRDS")
	}
	config := kamaji26Config(t, tn)
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: protoV6ProviderFactories,
		CheckDestroy:             checkClustersDestroyed(t),
		Steps: []resource.TestStep{
			{
				Config: config,
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue(addr, tfjsonpath.New("network").AtMapKey("cluster_domain"), knownvalue.StringExact("acme.internal")),
					statecheck.ExpectKnownValue(addr, tfjsonpath.New("addons").AtMapKey("konnectivity").AtMapKey("server_port"), knownvalue.Int64Exact(8132)),
					statecheck.ExpectKnownValue(addr, tfjsonpath.New("kubelet").AtMapKey("config_patches").AtSliceIndex(0).AtMapKey("value"), knownvalue.StringExact(`"systemd"`)),
				},
				Check: check(func(ctx context.Context) error {
					tcp, err := getObject(ctx, dyn, kamaji.TenantControlPlaneGVR, ns, "newer")
					if err != nil {
						return err
					}
					return errors.Join(
						expectField(tcp, "acme.internal", "spec", "networkProfile", "clusterDomain"),
						expectField(tcp, []any{"10.96.0.0/16", "fd00:10:96::/112"}, "spec", "networkProfile", "serviceCidrs"),
						expectField(tcp, "Deployment", "spec", "addons", "konnectivity", "agent", "mode"),
						expectField(tcp, "[map[op:replace path:/cgroupDriver value:systemd]]", "spec", "kubernetes", "kubelet", "configurationJSONPatches"),
					)
				}),
			},
			{
				// The cluster domain cannot change on a running control plane.
				Config: strings.Replace(config, "acme.internal", "acme.local", 1),
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectResourceAction(addr, plancheck.ResourceActionDestroyBeforeCreate),
				}},
			},
		},
	})
}
