terraform {
  # optional() defaults in variable types, preconditions.
  required_version = ">= 1.3"

  required_providers {
    qumulus = {
      source = "qumulus/qumulus"
    }
  }
}
