# A cluster is imported by <namespace>/<name>; Cluster API mode is detected.
terraform import qumulus_cluster.prod tenant-acme/prod
