# An OpenStack control plane is imported by <namespace>/<cluster_name>/<release_namespace>.
terraform import qumulus_openstack.prod tenant-acme/prod/openstack
