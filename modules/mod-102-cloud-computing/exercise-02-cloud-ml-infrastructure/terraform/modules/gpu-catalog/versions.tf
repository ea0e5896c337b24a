# Provider-free: a lookup from a cloud-neutral GPU class to each cloud's machine type, and the
# per-environment pool sizes. `terraform test` runs it for real (tests/catalog.tftest.hcl).
terraform {
  required_version = ">= 1.7"
}
