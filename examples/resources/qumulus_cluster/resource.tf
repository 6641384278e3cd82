resource "qumulus_tenant" "acme" {
  name = "acme"
}

# A bare Kamaji control plane behind a LoadBalancer Service.
resource "qumulus_cluster" "prod" {
  namespace = qumulus_tenant.acme.namespace
  name      = "prod"
  version   = "v1.35.0"
  replicas  = 3

  network = {
    service_type        = "LoadBalancer"
    service_annotations = { "loadbalancer.openstack.org/keep-floatingip" = "true" }
    cert_sans           = ["api.prod.acme.example"]
  }

  addons = {
    core_dns     = {}
    kube_proxy   = {}
    konnectivity = {}
  }

  api_server = {
    requests = { cpu = "500m", memory = "1Gi" }
  }

  timeouts {
    create = "30m"
  }
}

# A control plane under Cluster API, so that qumulus_worker_pool can join machines to it.
resource "qumulus_cluster" "staging" {
  namespace = qumulus_tenant.acme.namespace
  name      = "staging"
  version   = "1.35.0"

  network = {
    service_type  = "LoadBalancer"
    pod_cidrs     = ["192.168.0.0/16"]
    service_cidrs = ["10.96.0.0/12"]
  }

  addons = {
    core_dns     = {}
    kube_proxy   = {}
    konnectivity = {}
  }

  cluster_api = {
    infrastructure_ref = {
      api_group = "infrastructure.cluster.x-k8s.io"
      kind      = "OpenStackCluster"
      name      = "staging"
    }
  }
}

output "prod_endpoint" {
  value = qumulus_cluster.prod.endpoint
}
