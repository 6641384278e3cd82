# A worker pool is imported by <namespace>/<name> of its MachineDeployment.
terraform import qumulus_worker_pool.general tenant-acme/general
