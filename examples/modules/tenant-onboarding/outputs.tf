output "namespace" {
  description = "The tenant's namespace on the management cluster."
  value       = qumulus_tenant.this.namespace
}

output "cluster_id" {
  description = "`<namespace>/<name>` of the tenant cluster, e.g. for the `qumulus_kubeconfig` data source or ephemeral resource."
  value       = qumulus_cluster.this.id
}

output "cluster_endpoint" {
  description = "`host:port` of the tenant cluster's API server."
  value       = qumulus_cluster.this.endpoint
}

output "cluster_version" {
  description = "Kubernetes version the control plane runs."
  value       = qumulus_cluster.this.installed_version
}

output "cluster_status" {
  description = "Kamaji's status of the control plane (`Ready` after an apply that waited)."
  value       = qumulus_cluster.this.status
}

output "kubeconfig_secret_name" {
  description = "Secret in `namespace` that holds the cluster's admin kubeconfig (key `admin.conf`)."
  value       = qumulus_cluster.this.kubeconfig_secret_name
}

output "worker_pools" {
  description = "Per pool: the machines whose Node is ready and those available."
  value = { for name, p in qumulus_worker_pool.this : name => {
    ready_replicas     = p.ready_replicas
    available_replicas = p.available_replicas
  } }
}

output "openstack_releases" {
  description = "Per OpenStack service: its Helm release's status, chart version and revision."
  value = { for name, r in try(qumulus_openstack.this[0].releases, {}) : name => {
    status        = r.status
    chart_version = r.chart_version
    revision      = r.revision
  } }
}

output "keystone_url" {
  description = "The Keystone (identity) endpoint, or null without OpenStack."
  value       = try(qumulus_openstack.this[0].keystone_url, null)
}

output "admin_username" {
  description = "The OpenStack admin user, or null without OpenStack."
  value       = try(qumulus_openstack.this[0].admin_username, null)
}

output "admin_password" {
  description = "The OpenStack admin password, or null without OpenStack."
  value       = try(qumulus_openstack.this[0].admin_password, null)
  sensitive   = true
}

output "clouds_yaml" {
  description = "A `clouds.yaml` for the OpenStack CLI and SDKs, or null without OpenStack."
  value       = try(qumulus_openstack.this[0].clouds_yaml, null)
  sensitive   = true
}
