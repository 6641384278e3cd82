resource "qumulus_tenant" "acme" {
  name = "acme"
}

resource "qumulus_cluster" "prod" {
  namespace = qumulus_tenant.acme.namespace
  name      = "prod"
  version   = "v1.35.0"
}

# The admin kubeconfig of a cluster. Referring to the cluster's id makes Terraform read it
# only after the cluster is created and ready, in the same apply.
data "qumulus_kubeconfig" "prod" {
  cluster_id = qumulus_cluster.prod.id
}

# Configure the kubernetes and helm providers for the tenant cluster from it. No file is
# written, so this works in HCP Terraform workspaces too. The data source keeps the client
# key in the state (sensitive); the ephemeral resource of the same name does not.
provider "kubernetes" {
  host                   = data.qumulus_kubeconfig.prod.host
  cluster_ca_certificate = data.qumulus_kubeconfig.prod.cluster_ca_certificate
  client_certificate     = data.qumulus_kubeconfig.prod.client_certificate
  client_key             = data.qumulus_kubeconfig.prod.client_key
}

provider "helm" {
  kubernetes = {
    host                   = data.qumulus_kubeconfig.prod.host
    cluster_ca_certificate = data.qumulus_kubeconfig.prod.cluster_ca_certificate
    client_certificate     = data.qumulus_kubeconfig.prod.client_certificate
    client_key             = data.qumulus_kubeconfig.prod.client_key
  }
}

# Or by tenant namespace and cluster name, checking that the tenant API server answers
# from where Terraform runs.
data "qumulus_kubeconfig" "checked" {
  namespace         = qumulus_tenant.acme.namespace
  name              = "prod"
  verify_connection = true

  depends_on = [qumulus_cluster.prod]
}

# The whole kubeconfig, e.g. for a secrets store. It stays sensitive.
output "kubeconfig" {
  value     = data.qumulus_kubeconfig.prod.kubeconfig_raw
  sensitive = true
}
