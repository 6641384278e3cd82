# A tenant is imported by its name (not its namespace).
terraform import qumulus_tenant.acme acme
