package provider

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/qumulus/terraform-provider-qumulus/internal/kamaji"
	"github.com/qumulus/terraform-provider-qumulus/internal/openstack"
	"github.com/qumulus/terraform-provider-qumulus/internal/tenant"
	"github.com/qumulus/terraform-provider-qumulus/internal/testsupport/acctest"
	"github.com/qumulus/terraform-provider-qumulus/internal/testsupport/chartrepo"
)

// moduleOutputs are the outputs of examples/modules/tenant-onboarding the test reads.
type moduleOutputs struct {
	Namespace       string `json:"namespace"`
	ClusterID       string `json:"cluster_id"`
	ClusterEndpoint string `json:"cluster_endpoint"`
	ClusterVersion  string `json:"cluster_version"`
	ClusterStatus   string `json:"cluster_status"`
	WorkerPools     map[string]struct {
		ReadyReplicas     int `json:"ready_replicas"`
		AvailableReplicas int `json:"available_replicas"`
	} `json:"worker_pools"`
	OpenStackReleases map[string]struct {
		Status       string `json:"status"`
		ChartVersion string `json:"chart_version"`
		Revision     int    `json:"revision"`
	} `json:"openstack_releases"`
	KeystoneURL   string `json:"keystone_url"`
	AdminPassword string `json:"admin_password"`
	CloudsYAML    string `json:"clouds_yaml"`
}

// TestAccModule_tenantOnboarding applies the tenant-onboarding module the demo uses, as a
// user does (Terraform CLI, the provider built from this checkout): a tenant, a cluster in
// Cluster API mode, a worker pool and OpenStack in one apply; then a plan must be empty,
// and destroy must leave nothing behind.
func TestAccModule_tenantOnboarding(t *testing.T) {
	isolateEnv(t)
	if !acctest.Cluster(t).Simulated {
		// A real management cluster needs a DockerCluster for CAPD machines, and the tenant
		// cluster nodes and a CNI before OpenStack's workloads run.
		t.Skip("needs the simulator: the pool has no infrastructure cluster and the tenant cluster no nodes or CNI")
	}
	repo := chartrepo.Serve(t)
	cli := acctest.NewCLI(t, false)
	copyDir(t, filepath.Join(chartrepo.Root(), "examples", "modules", "tenant-onboarding"), filepath.Join(cli.Dir, "modules", "tenant-onboarding"))
	tn := tenantName()
	ns := tenant.DefaultNamespace(tn)
	cli.Write(`
terraform {
  required_providers {
    qumulus = { source = "qumulus/qumulus" }
  }
}
` + acctest.ProviderBlock(t) + fmt.Sprintf(`
module "tenant" {
  source = "./modules/tenant-onboarding"

  tenant_name = %q
  members     = [{ kind = "Group", name = "admins", role = "admin" }]
  quota       = { "count/tenantcontrolplanes.kamaji.clastix.io" = "1" }

  cluster = {
    name         = "main"
    version      = "v1.35.0"
    replicas     = 1
    service_type = "NodePort"
  }

  worker_pools = {
    workers = {
      replicas = 2
      infrastructure = {
        api_group = "infrastructure.cluster.x-k8s.io"
        kind      = "DockerMachineTemplate"
        spec      = jsonencode({ customImage = "kindest/node:v1.35.0" })
      }
      node_labels = { "openstack-control-plane" = "enabled" }
    }
  }

  openstack = {
    chart_repository = %q
    services         = { horizon = { enabled = false } }
  }
}

output "all" {
  value     = module.tenant
  sensitive = true
}
`, tn, repo.URL))
	destroyed := false
	t.Cleanup(func() {
		if !destroyed {
			_, _ = cli.Run("destroy", "-auto-approve")
		}
	})

	cli.MustRun("get")
	applied := cli.MustRun("apply", "-auto-approve")
	if !strings.Contains(applied, "Resources: 4 added, 0 changed, 0 destroyed") {
		t.Errorf("apply: want the tenant, cluster, pool and openstack added:\n%s", applied)
	}

	// The module's outputs, through one sensitive root output.
	var all struct {
		All struct {
			Sensitive bool          `json:"sensitive"`
			Value     moduleOutputs `json:"value"`
		} `json:"all"`
	}
	if err := json.Unmarshal([]byte(cli.MustRun("output", "-json")), &all); err != nil {
		t.Fatal(err)
	}
	out := all.All.Value
	want := slices.DeleteFunc(openstack.DefaultServices(), func(s string) bool { return s == "horizon" })
	var problems []string
	check := func(ok bool, format string, args ...any) {
		if !ok {
			problems = append(problems, fmt.Sprintf(format, args...))
		}
	}
	check(out.Namespace == ns, "namespace %q, want %q", out.Namespace, ns)
	check(out.ClusterID == ns+"/main", "cluster_id %q", out.ClusterID)
	check(out.ClusterStatus == "Ready", "cluster_status %q, want Ready", out.ClusterStatus)
	check(out.ClusterVersion == "v1.35.0", "cluster_version %q", out.ClusterVersion)
	check(out.ClusterEndpoint != "", "no cluster_endpoint")
	check(out.WorkerPools["workers"].ReadyReplicas == 2, "worker pool workers: %+v, want 2 ready", out.WorkerPools)
	var got []string
	for name, r := range out.OpenStackReleases {
		got = append(got, name)
		check(r.Status == "deployed" && r.Revision == 1, "release %s: %+v, want deployed at revision 1", name, r)
	}
	slices.Sort(got)
	slices.Sort(want)
	check(slices.Equal(got, want), "openstack_releases %v, want %v", got, want)
	check(strings.HasPrefix(out.KeystoneURL, "http"), "keystone_url %q", out.KeystoneURL)
	check(out.AdminPassword != "" && strings.Contains(out.CloudsYAML, out.AdminPassword),
		"clouds_yaml does not hold the admin password")
	if len(problems) > 0 {
		t.Fatalf("module outputs:\n  %s", strings.Join(problems, "\n  "))
	}
	if strings.Contains(applied, out.AdminPassword) {
		t.Error("the apply output shows the OpenStack admin password")
	}

	// Applied twice, a configuration changes nothing.
	if plan, err := cli.Run("plan", "-detailed-exitcode"); err != nil {
		t.Fatalf("plan after apply is not empty (%v):\n%s", err, plan)
	}

	cli.MustRun("destroy", "-auto-approve")
	destroyed = true
	cs, dyn := kubeClients(t)
	var left []error
	gone := func(what string, err error) {
		switch {
		case apierrors.IsNotFound(err):
		case err == nil:
			left = append(left, errors.New(what+" still exists"))
		default:
			left = append(left, fmt.Errorf("%s: %w", what, err))
		}
	}
	_, err := cs.CoreV1().Namespaces().Get(t.Context(), ns, metav1.GetOptions{})
	gone("namespace "+ns, err)
	_, err = dyn.Resource(kamaji.TenantControlPlaneGVR).Namespace(ns).Get(t.Context(), "main", metav1.GetOptions{})
	gone("TenantControlPlane "+ns+"/main", err)
	if err := errors.Join(left...); err != nil {
		t.Errorf("destroy left objects behind:\n%v", err)
	}
}

// copyDir copies the regular files of src into dst.
func copyDir(t *testing.T, src, dst string) {
	t.Helper()
	entries, err := os.ReadDir(src)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(dst, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if !e.Type().IsRegular() {
			continue
		}
		if err := os.WriteFile(filepath.Join(dst, e.Name()), []byte(readFile(t, filepath.Join(src, e.Name()))), 0o600); err != nil {
			t.Fatal(err)
		}
	}
}

// readFile returns the content of path.
func readFile(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
