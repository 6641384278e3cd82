# A kubeconfig file and one of its contexts.
provider "qumulus" {
  config_path    = "~/.kube/config"
  config_context = "qumulus-management"
}

# HCP Terraform has no local files: pass the kubeconfig itself, e.g. from a sensitive
# workspace variable.
variable "management_kubeconfig" {
  type      = string
  sensitive = true
}

provider "qumulus" {
  alias          = "content"
  config_content = var.management_kubeconfig
}

# Explicit endpoint and credentials, here from an exec credential plugin.
provider "qumulus" {
  alias                  = "exec"
  host                   = "https://management.example.com:6443"
  cluster_ca_certificate = file("${path.module}/management-ca.pem")
  exec = {
    api_version = "client.authentication.k8s.io/v1"
    command     = "aws"
    args        = ["eks", "get-token", "--cluster-name", "management"]
  }
}
