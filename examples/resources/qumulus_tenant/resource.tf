# A tenant with its own namespace (tenant-acme), members, network isolation and a quota.
resource "qumulus_tenant" "acme" {
  name = "acme"

  labels = {
    "example.com/cost-center" = "4711"
  }

  members = [
    { kind = "Group", name = "acme-platform-admins", role = "admin" },
    { kind = "User", name = "dev@acme.example", role = "edit" },
    { kind = "User", name = "auditor@acme.example", role = "view" },
    # A service account of the tenant's own namespace (namespace defaults to it) ...
    { kind = "ServiceAccount", name = "reporter", role = "view" },
    # ... or of another namespace, e.g. a CI runner.
    { kind = "ServiceAccount", name = "ci-runner", namespace = "ci", role = "edit" },
  ]

  network_isolation = {
    # Kamaji's controller talks to every control plane; monitoring scrapes them.
    allowed_namespaces = ["kamaji-system", "monitoring"]
    allowed_namespace_selectors = [
      { "example.com/ingress" = "true" },
    ]
  }

  quota = {
    "requests.cpu"                                = "32"
    "requests.memory"                             = "128Gi"
    "count/tenantcontrolplanes.kamaji.clastix.io" = "3"
  }

  limit_range = {
    default         = { cpu = "500m", memory = "512Mi" }
    default_request = { cpu = "100m", memory = "128Mi" }
  }

  timeouts {
    delete = "20m"
  }
}

output "acme_namespace" {
  value = qumulus_tenant.acme.namespace
}
