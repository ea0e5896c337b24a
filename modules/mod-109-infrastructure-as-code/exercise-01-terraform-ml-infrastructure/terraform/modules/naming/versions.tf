# Provider-free on purpose: names, tags, the address plan and per-environment sizing are pure
# functions of the inputs, so `terraform test` runs this module for real without any cloud.
terraform {
  required_version = ">= 1.7"
}
