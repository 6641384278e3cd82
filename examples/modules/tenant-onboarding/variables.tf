variable "tenant_name" {
  description = "Name of the tenant, a DNS-1123 label. Its namespace is `tenant-<name>`."
  type        = string
}

variable "members" {
  description = "Who may use the tenant: `kind` (`User`, `Group`, `ServiceAccount`), `name`, `role` (`admin`, `edit`, `view`) and, for service accounts, `namespace`."
  type = list(object({
    kind      = string
    name      = string
    role      = string
    namespace = optional(string)
  }))
  default = []
}

variable "quota" {
  description = "Hard limits of the tenant's ResourceQuota, e.g. `{ \"requests.cpu\" = \"64\" }`. Empty: no quota."
  type        = map(string)
  default     = {}
}

variable "network_isolation" {
  description = "Whether the tenant's namespace gets the provider's NetworkPolicies (deny from other namespaces)."
  type        = bool
  default     = true
}

variable "cluster" {
  description = <<-EOT
    The tenant's Kubernetes cluster: `version` (required), `name`, control-plane `replicas`,
    `cluster_api` (Cluster API mode, needed for worker pools), how the API server is exposed
    (`service_type`), the Cluster API infrastructure object (`infrastructure_ref`, optional)
    and the CoreDNS and kube-proxy add-ons.
  EOT
  type = object({
    name         = optional(string, "main")
    version      = string
    replicas     = optional(number, 2)
    cluster_api  = optional(bool, true)
    service_type = optional(string, "LoadBalancer")
    infrastructure_ref = optional(object({
      api_group = string
      kind      = string
      name      = string
    }))
    core_dns   = optional(bool, true)
    kube_proxy = optional(bool, true)
  })
}

variable "worker_pools" {
  description = <<-EOT
    Worker pools by name. `infrastructure` is the Cluster API machine template: `api_group`,
    `kind` and either `spec` (a JSON object, the template's `spec.template.spec`, made by the
    provider) or `name` (an existing template). `version` defaults to the control plane's.
  EOT
  type = map(object({
    replicas = optional(number, 1)
    version  = optional(string)
    infrastructure = object({
      api_group = string
      kind      = string
      name      = optional(string)
      spec      = optional(string)
    })
    node_labels = optional(map(string), {})
    node_taints = optional(list(object({
      key    = string
      value  = optional(string)
      effect = string
    })), [])
  }))
  default = {}
}

variable "openstack" {
  description = <<-EOT
    The tenant's OpenStack: `enabled`, where the OpenStack-Helm charts come from
    (`chart_repository`, default OpenStack-Helm's published repository; `chart_version`,
    default the newest), `region_name`, `public_domain` (services published as
    `<service>.<domain>`), and `services`: changes to the default set (mariadb, rabbitmq,
    memcached, openvswitch, libvirt, keystone, glance, placement, nova, neutron, horizon),
    e.g. `{ cinder = {}, horizon = { enabled = false } }`.
  EOT
  type = object({
    enabled          = optional(bool, true)
    chart_repository = optional(string)
    chart_version    = optional(string)
    region_name      = optional(string)
    public_domain    = optional(string)
    services = optional(map(object({
      enabled  = optional(bool)
      replicas = optional(number)
      version  = optional(string)
      values   = optional(list(string))
    })), {})
  })
  default = {}
}
