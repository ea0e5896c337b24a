# The GCP ML stack: Vertex AI + GKE GPU pool + GCS/Artifact Registry, sized by the GPU catalog.
variable "environment" {
  description = "dev or prod."
  type        = string
}

variable "gpu_class" {
  description = "Cloud-neutral GPU class (t4, l4, a100 on GCP)."
  type        = string
}

variable "owner" {
  description = "Owning team (label)."
  type        = string
}

variable "project" {
  description = "GCP project id."
  type        = string
}

variable "region" {
  description = "GCP region."
  type        = string
}

variable "network" {
  description = "Landing-zone VPC self link."
  type        = string
}

variable "subnetwork" {
  description = "Landing-zone subnetwork self link (secondary ranges pods, services)."
  type        = string
}

module "catalog" {
  source      = "../../modules/gpu-catalog"
  cloud       = "gcp"
  gpu_class   = var.gpu_class
  environment = var.environment
}

module "ml" {
  source           = "../../modules/gcp-ml"
  name             = "mlplat-${var.environment}"
  project          = var.project
  region           = var.region
  network          = var.network
  subnetwork       = var.subnetwork
  gpu_machine_type = module.catalog.machine_type
  gpu_accelerator  = module.catalog.accelerator
  gpu_pool         = module.catalog.pool
  labels           = { owner = var.owner, environment = var.environment, "managed-by" = "terraform" }
}

output "stack" {
  description = "The stack's endpoints: ML service, cluster, bucket, registry."
  value       = module.ml
}
