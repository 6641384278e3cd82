# The demo `make demo` applies against the local management cluster: one tenant onboarded
# with the tenant-onboarding module — namespace, members, quota and isolation; a cluster in
# Cluster API mode; a worker pool; OpenStack from the charts the local cluster serves.
#
# The make target sets QUMULUS_CONFIG_PATH (the local cluster's kubeconfig) and
# TF_VAR_chart_repository (its chart repository). Against a real management cluster, set
# QUMULUS_CONFIG_PATH yourself, leave chart_repository unset (OpenStack-Helm's published
# repository) and use your infrastructure provider's machine template instead of Docker's.
terraform {
  required_version = ">= 1.3"

  required_providers {
    qumulus = {
      source = "qumulus/qumulus"
    }
  }
}

provider "qumulus" {}

variable "chart_repository" {
  description = "OpenStack-Helm chart repository. Default: OpenStack-Helm's published one."
  type        = string
  default     = null
}

module "tenant" {
  source = "../modules/tenant-onboarding"

  tenant_name = "demo"
  members = [
    { kind = "Group", name = "demo-admins", role = "admin" },
    { kind = "User", name = "viewer@demo.example", role = "view" },
  ]
  quota = {
    "count/tenantcontrolplanes.kamaji.clastix.io" = "2"
  }

  cluster = {
    name         = "demo"
    version      = "v1.35.0"
    service_type = "ClusterIP"
  }

  # Cluster API's Docker provider (CAPD) makes kind nodes; in the local cluster the
  # simulator plays it.
  worker_pools = {
    workers = {
      replicas = 2
      infrastructure = {
        api_group = "infrastructure.cluster.x-k8s.io"
        kind      = "DockerMachineTemplate"
        spec      = jsonencode({ customImage = "kindest/node:v1.35.0" })
      }
      node_labels = {
        "openstack-control-plane" = "enabled"
        "openstack-compute-node"  = "enabled"
        "openvswitch"             = "enabled"
      }
    }
  }

  # The default services: mariadb, rabbitmq, memcached, openvswitch, libvirt, keystone,
  # glance, placement, nova, neutron and horizon.
  openstack = {
    chart_repository = var.chart_repository
  }
}

output "summary" {
  description = "What the apply made."
  value = join("\n", concat(
    [
      format("Tenant      demo: namespace %s", module.tenant.namespace),
      format("Cluster     %s: %s, Kubernetes %s, API server %s", module.tenant.cluster_id, module.tenant.cluster_status, module.tenant.cluster_version, module.tenant.cluster_endpoint),
    ],
    [for name, p in module.tenant.worker_pools : format("Worker pool %s: %d machines ready, %d available", name, p.ready_replicas, p.available_replicas)],
    ["OpenStack   releases in the tenant cluster's namespace openstack:"],
    [for name, r in module.tenant.openstack_releases : format("              %-12s %-9s chart %-9s revision %d", name, r.status, r.chart_version, r.revision)],
    [format("Keystone    %s (user %s)", module.tenant.keystone_url, module.tenant.admin_username)],
  ))
}

output "namespace" {
  value = module.tenant.namespace
}

output "cluster_name" {
  value = "demo"
}

output "clouds_yaml" {
  description = "terraform output -raw clouds_yaml > clouds.yaml"
  value       = module.tenant.clouds_yaml
  sensitive   = true
}
