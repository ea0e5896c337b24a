output "machine_type" {
  description = "Machine/VM type with one GPU of the class on this cloud (null if none)."
  value       = local.machine_type
}

output "accelerator" {
  description = "GCP accelerator type for the class (null elsewhere)."
  value       = var.cloud == "gcp" ? local.gcp_accelerators[var.gpu_class] : null
}

output "pool" {
  description = "GPU pool size and pricing model for the environment: min, max, spot."
  value       = local.pools[var.environment]
}
