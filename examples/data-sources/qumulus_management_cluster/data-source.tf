data "qumulus_management_cluster" "this" {}

# Fail early, at plan, when the management cluster lacks what tenants need.
check "platform_installed" {
  assert {
    condition     = data.qumulus_management_cluster.this.kamaji_installed && data.qumulus_management_cluster.this.cluster_api_installed
    error_message = "The management cluster at ${data.qumulus_management_cluster.this.host} needs Kamaji and Cluster API installed."
  }
}

output "management_kubernetes_version" {
  value = data.qumulus_management_cluster.this.kubernetes_version
}
