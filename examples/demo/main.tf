# The demo `make demo` plans against the local management cluster. The provider reads the
# cluster's kubeconfig from QUMULUS_CONFIG_PATH, which the make target sets.
terraform {
  required_providers {
    qumulus = {
      source = "qumulus/qumulus"
    }
  }
}

provider "qumulus" {}

data "qumulus_management_cluster" "this" {}

output "management_cluster" {
  value = {
    host                      = data.qumulus_management_cluster.this.host
    kubernetes_version        = data.qumulus_management_cluster.this.kubernetes_version
    kamaji                    = data.qumulus_management_cluster.this.kamaji_installed
    cluster_api               = data.qumulus_management_cluster.this.cluster_api_installed
    kamaji_capi_control_plane = data.qumulus_management_cluster.this.kamaji_control_plane_provider_installed
  }
}

# A tenant: its namespace, who may use it, and how it is kept apart from other tenants.
resource "qumulus_tenant" "demo" {
  name = "demo"

  members = [
    { kind = "Group", name = "demo-admins", role = "admin" },
    { kind = "User", name = "viewer@demo.example", role = "view" },
  ]

  quota = {
    "count/tenantcontrolplanes.kamaji.clastix.io" = "2"
  }
}

output "tenant_namespace" {
  value = qumulus_tenant.demo.namespace
}

# A tenant control plane, run by Kamaji (in the local cluster: by the simulator).
resource "qumulus_cluster" "demo" {
  namespace = qumulus_tenant.demo.namespace
  name      = "demo"
  version   = "v1.35.0"

  network = {
    service_type = "ClusterIP"
  }

  addons = {
    core_dns = {}
  }
}

output "cluster" {
  value = {
    endpoint          = qumulus_cluster.demo.endpoint
    status            = qumulus_cluster.demo.status
    installed_version = qumulus_cluster.demo.installed_version
    kubeconfig_secret = qumulus_cluster.demo.kubeconfig_secret_name
  }
}

# The cluster's admin kubeconfig, read once the cluster is ready; host and certificates are
# what the kubernetes and helm providers take. (With Terraform 1.10+ or OpenTofu 1.11+, the
# ephemeral resource of the same name keeps them out of the state.)
data "qumulus_kubeconfig" "demo" {
  cluster_id = qumulus_cluster.demo.id
}

output "tenant_api_server" {
  value = data.qumulus_kubeconfig.demo.host
}
