package main

import (
	"context"
	"fmt"
)

// The configurations under test. Each has var.n instances of one resource (count), so that
// one workspace grows from one N to the next and the plan refreshes exactly n objects.

const header = `terraform {
  required_providers {
    qumulus = {
      source = "qumulus/qumulus"
    }
  }
}

# QUMULUS_HOST is the bench's counting proxy in front of the management API server.
provider "qumulus" {}

variable "n" {
  type = number
}
`

// clusterVersion is the Kubernetes version of every control plane.
const clusterVersion = "v1.35.0"

// clusterReplicas is the control plane's replica count (Kamaji's default, set explicitly).
const clusterReplicas = 2

// clusterConfig is n bare control planes c<i> behind ClusterIP Services.
func clusterConfig(namespace string) string {
	return header + fmt.Sprintf(`
resource "qumulus_cluster" "c" {
  count     = var.n
  namespace = %q
  name      = "c${count.index}"
  version   = %q
  replicas  = %d
  network = {
    service_type = "ClusterIP"
  }
}
`, namespace, clusterVersion, clusterReplicas)
}

// poolConfig is n worker pools <prefix><i> of 2 machines (Cluster API's Docker template
// kind) of the Cluster API mode cluster poolCluster.
func poolConfig(namespace, prefix string) string {
	return header + fmt.Sprintf(`
resource "qumulus_worker_pool" "p" {
  count        = var.n
  namespace    = %q
  cluster_name = %q
  name         = "%s${count.index}"
  replicas     = 2
  infrastructure = {
    api_group = "infrastructure.cluster.x-k8s.io"
    kind      = "DockerMachineTemplate"
    spec      = jsonencode({ customImage = "kindest/node:%s" })
  }
}
`, namespace, poolCluster, prefix, clusterVersion)
}

// tenantConfig is n tenants <prefix><i> with the defaults.
func tenantConfig(prefix string) string {
	return header + fmt.Sprintf(`
resource "qumulus_tenant" "t" {
  count = var.n
  name  = "%s${count.index}"
}
`, prefix)
}

// floorConfig is the same Terraform without the provider: n terraform_data.
const floorConfig = `variable "n" {
  type = number
}

resource "terraform_data" "d" {
  count = var.n
  input = "d${count.index}"
}
`

// setupConfig is what the worker pools and qumulus_openstack need: a Cluster API mode
// cluster for the pools and a bare cluster for OpenStack, in namespaces the bench made.
func setupConfig() string {
	return header + fmt.Sprintf(`
resource "qumulus_cluster" "pools" {
  namespace = %q
  name      = %q
  version   = %q
  replicas  = 1
  network = {
    service_type = "ClusterIP"
  }
  cluster_api = {}
}

resource "qumulus_cluster" "openstack" {
  namespace = %q
  name      = %q
  version   = %q
  network = {
    service_type = "ClusterIP"
  }
}
`, poolNamespace, poolCluster, clusterVersion, openstackNamespace, openstackCluster, clusterVersion)
}

const (
	poolNamespace      = "bench-pools"
	poolCluster        = "pools"
	openstackNamespace = "bench-openstack"
	openstackCluster   = "os"
)

// openstackConfig is a qumulus_openstack of the default services from the test charts of
// repo, on the setup's bare cluster.
func openstackConfig(repo, version string) string {
	return header + fmt.Sprintf(`
resource "qumulus_openstack" "os" {
  namespace    = %q
  cluster_name = %q
  charts = {
    repository = %q
    version    = %q
  }
}
`, openstackNamespace, openstackCluster, repo, version)
}

// setup applies setupConfig once.
func (h *harness) setup(ctx context.Context) error {
	if h.setupRan {
		return h.setupErr
	}
	h.setupRan = true
	h.setupErr = func() error {
		for _, ns := range []string{poolNamespace, openstackNamespace} {
			if err := h.namespace(ctx, ns); err != nil {
				return err
			}
		}
		w, err := h.workspace("setup", setupConfig())
		if err != nil {
			return err
		}
		logf("setup: a Cluster API mode cluster for the worker pools, a bare one for OpenStack")
		_, err = w.fast().apply(ctx, 0)
		return err
	}()
	return h.setupErr
}
