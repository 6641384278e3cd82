# A tenant onboarded in one apply: its namespace on the management cluster, its Kubernetes
# cluster, the cluster's worker pools and OpenStack on top. Terraform follows the
# references: tenant, then cluster, then pools, then OpenStack.

resource "qumulus_tenant" "this" {
  name    = var.tenant_name
  members = var.members
  # An empty map means "no quota": leave the attribute out rather than pass {}.
  quota = length(var.quota) > 0 ? var.quota : null

  network_isolation = {
    enabled = var.network_isolation
  }
}

resource "qumulus_cluster" "this" {
  namespace = qumulus_tenant.this.namespace
  name      = var.cluster.name
  version   = var.cluster.version
  replicas  = var.cluster.replicas

  network = {
    service_type = var.cluster.service_type
  }

  addons = {
    core_dns   = var.cluster.core_dns ? {} : null
    kube_proxy = var.cluster.kube_proxy ? {} : null
  }

  cluster_api = var.cluster.cluster_api ? { infrastructure_ref = var.cluster.infrastructure_ref } : null

  lifecycle {
    precondition {
      condition     = var.cluster.cluster_api || length(var.worker_pools) == 0
      error_message = "worker_pools need the cluster in Cluster API mode: set cluster.cluster_api = true (changing the mode replaces the cluster)."
    }
  }
}

resource "qumulus_worker_pool" "this" {
  for_each = var.worker_pools

  namespace    = qumulus_cluster.this.namespace
  cluster_name = qumulus_cluster.this.name
  name         = each.key
  replicas     = each.value.replicas
  version      = each.value.version

  infrastructure = each.value.infrastructure

  node_labels = length(each.value.node_labels) > 0 ? each.value.node_labels : null
  node_taints = length(each.value.node_taints) > 0 ? each.value.node_taints : null
}

resource "qumulus_openstack" "this" {
  count = var.openstack.enabled ? 1 : 0

  namespace    = qumulus_cluster.this.namespace
  cluster_name = qumulus_cluster.this.name

  # The charts need nodes to run on.
  depends_on = [qumulus_worker_pool.this]

  charts = var.openstack.chart_repository == null && var.openstack.chart_version == null ? null : {
    repository = var.openstack.chart_repository
    version    = var.openstack.chart_version
  }

  region_name      = var.openstack.region_name
  public_endpoints = var.openstack.public_domain == null ? null : { domain = var.openstack.public_domain }
  services         = length(var.openstack.services) > 0 ? var.openstack.services : null
}
