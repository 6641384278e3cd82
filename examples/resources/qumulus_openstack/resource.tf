resource "qumulus_tenant" "acme" {
  name = "acme"
}

resource "qumulus_cluster" "prod" {
  namespace = qumulus_tenant.acme.namespace
  name      = "prod"
  version   = "v1.35.0"

  network = {
    service_type  = "LoadBalancer"
    pod_cidrs     = ["192.168.0.0/16"]
    service_cidrs = ["10.96.0.0/12"]
  }

  addons = {
    core_dns   = {}
    kube_proxy = {}
  }

  cluster_api = {
    infrastructure_ref = {
      api_group = "infrastructure.cluster.x-k8s.io"
      kind      = "OpenStackCluster"
      name      = "prod"
    }
  }
}

# The nodes OpenStack runs on, with the labels OpenStack-Helm's charts schedule by.
resource "qumulus_worker_pool" "openstack" {
  namespace    = qumulus_cluster.prod.namespace
  cluster_name = qumulus_cluster.prod.name
  name         = "openstack"
  replicas     = 3

  infrastructure = {
    api_group = "infrastructure.cluster.x-k8s.io"
    kind      = "OpenStackMachineTemplate"
    name      = "baremetal-large"
  }

  node_labels = {
    "openstack-control-plane" = "enabled"
    "openstack-compute-node"  = "enabled"
    "openvswitch"             = "enabled"
  }
}

resource "qumulus_openstack" "prod" {
  namespace    = qumulus_cluster.prod.namespace
  cluster_name = qumulus_cluster.prod.name

  # The charts need nodes to run on.
  depends_on = [qumulus_worker_pool.openstack]

  # OpenStack-Helm's published repository (the default), every chart at one version.
  charts = {
    version = "2026.1.0"
  }

  # Images of OpenStack 2026.1 on Ubuntu Noble (base_os defaults to ubuntu_noble), with
  # NetworkPolicies: each chart gets 2026.1-ubuntu_noble.yaml, netpol.yaml, ... from
  # <values_overrides>/<chart>/.
  openstack_release = "2026.1"
  features          = ["netpol"]
  values_overrides  = "https://opendev.org/openstack/openstack-helm/raw/branch/master/values_overrides"

  # keystone.cloud.acme.example, glance.cloud.acme.example, ... (routed by an Ingress
  # controller or a Gateway in the tenant cluster; the provider does not expose them).
  public_endpoints = {
    domain = "cloud.acme.example"
  }

  # Changes to the default set: mariadb, rabbitmq, memcached, openvswitch, libvirt,
  # keystone, glance, placement, nova, neutron and horizon.
  services = {
    cinder   = {}
    keystone = { replicas = 3 }
    horizon  = { enabled = false }
  }

  timeouts {
    create = "90m"
  }
}

output "keystone_url" {
  value = qumulus_openstack.prod.keystone_url
}

# terraform output -raw clouds_yaml > ~/.config/openstack/clouds.yaml
# openstack --os-cloud prod endpoint list
output "clouds_yaml" {
  value     = qumulus_openstack.prod.clouds_yaml
  sensitive = true
}
