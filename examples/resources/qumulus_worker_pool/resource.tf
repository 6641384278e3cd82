resource "qumulus_tenant" "acme" {
  name = "acme"
}

# Worker pools need a cluster in Cluster API mode.
resource "qumulus_cluster" "staging" {
  namespace = qumulus_tenant.acme.namespace
  name      = "staging"
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
      name      = "staging"
    }
  }
}

# Three OpenStack machines that follow the control plane's version.
resource "qumulus_worker_pool" "general" {
  namespace    = qumulus_cluster.staging.namespace
  cluster_name = qumulus_cluster.staging.name
  name         = "general"
  replicas     = 3

  # Changing anything in here makes a new OpenStackMachineTemplate and rolls the machines.
  infrastructure = {
    api_group = "infrastructure.cluster.x-k8s.io"
    kind      = "OpenStackMachineTemplate"
    spec = jsonencode({
      flavor     = "m1.large"
      image      = { filter = { name = "ubuntu-2404-kube-v1.35.0" } }
      sshKeyName = "ops"
    })
  }

  node_labels = {
    "node-role.kubernetes.io/worker" = "" # put on the Machines; Cluster API syncs it to the Node
    "example.com/pool"               = "general"
  }

  kubelet_extra_args = { "max-pods" = "110" }

  rollout = {
    max_surge       = "1"
    max_unavailable = "0"
  }

  health_check = {
    node_startup_timeout_seconds = 900
    unhealthy_node_conditions = [
      { type = "Ready", status = "False", timeout_seconds = 300 },
      { type = "Ready", status = "Unknown", timeout_seconds = 300 },
    ]
    max_unhealthy = "40%"
  }
}

# A tainted GPU pool the cluster-autoscaler sizes between 0 and 4 machines, made from a
# template someone else manages, upgraded together with the control plane.
resource "qumulus_worker_pool" "gpu" {
  namespace    = qumulus_cluster.staging.namespace
  cluster_name = qumulus_cluster.staging.name
  name         = "gpu"
  version      = qumulus_cluster.staging.version

  autoscaling = {
    min = 0
    max = 4
  }

  infrastructure = {
    api_group = "infrastructure.cluster.x-k8s.io"
    kind      = "OpenStackMachineTemplate"
    name      = "gpu-a100"
  }

  node_taints = [{ key = "nvidia.com/gpu", value = "present", effect = "NoSchedule" }]

  files = [{
    path        = "/etc/containerd/conf.d/nvidia.toml"
    content     = <<-EOT
      [plugins."io.containerd.grpc.v1.cri".containerd]
        default_runtime_name = "nvidia"
    EOT
    permissions = "0644"
  }]
  pre_kubeadm_commands = ["systemctl restart containerd"]

  timeouts {
    create = "45m"
    update = "2h"
  }
}
