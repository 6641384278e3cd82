resource "qumulus_tenant" "acme" {
  name = "acme"
}

resource "qumulus_cluster" "prod" {
  namespace = qumulus_tenant.acme.namespace
  name      = "prod"
  version   = "v1.35.0"
}

# Terraform 1.10+ or OpenTofu 1.11+. The kubeconfig is read in every run that needs it and
# never written to the plan or the state.
ephemeral "qumulus_kubeconfig" "prod" {
  cluster_id = qumulus_cluster.prod.id
}

provider "kubernetes" {
  host                   = ephemeral.qumulus_kubeconfig.prod.host
  cluster_ca_certificate = ephemeral.qumulus_kubeconfig.prod.cluster_ca_certificate
  client_certificate     = ephemeral.qumulus_kubeconfig.prod.client_certificate
  client_key             = ephemeral.qumulus_kubeconfig.prod.client_key
}

provider "helm" {
  kubernetes = {
    host                   = ephemeral.qumulus_kubeconfig.prod.host
    cluster_ca_certificate = ephemeral.qumulus_kubeconfig.prod.cluster_ca_certificate
    client_certificate     = ephemeral.qumulus_kubeconfig.prod.client_certificate
    client_key             = ephemeral.qumulus_kubeconfig.prod.client_key
  }
}

# The super-admin kubeconfig (group system:masters, which bypasses RBAC) for a one-off
# break-glass provider; ephemeral, so it never reaches the state.
ephemeral "qumulus_kubeconfig" "break_glass" {
  namespace         = qumulus_tenant.acme.namespace
  name              = "prod"
  kubeconfig_key    = "super-admin.conf"
  verify_connection = true

  depends_on = [qumulus_cluster.prod]
}

provider "kubernetes" {
  alias                  = "break_glass"
  host                   = ephemeral.qumulus_kubeconfig.break_glass.host
  cluster_ca_certificate = ephemeral.qumulus_kubeconfig.break_glass.cluster_ca_certificate
  client_certificate     = ephemeral.qumulus_kubeconfig.break_glass.client_certificate
  client_key             = ephemeral.qumulus_kubeconfig.break_glass.client_key
}
