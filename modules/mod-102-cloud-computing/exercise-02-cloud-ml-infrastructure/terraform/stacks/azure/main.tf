# The Azure ML stack: Azure Machine Learning + AKS GPU pool + storage/ACR, sized by the catalog.
variable "environment" {
  description = "dev or prod."
  type        = string
}

variable "gpu_class" {
  description = "Cloud-neutral GPU class (t4, a10, a100 on Azure)."
  type        = string
}

variable "owner" {
  description = "Owning team (tag)."
  type        = string
}

variable "location" {
  description = "Azure region."
  type        = string
}

variable "nodes_subnet_id" {
  description = "Landing-zone subnet for nodes and private endpoints."
  type        = string
}

module "catalog" {
  source      = "../../modules/gpu-catalog"
  cloud       = "azure"
  gpu_class   = var.gpu_class
  environment = var.environment
}

module "ml" {
  source           = "../../modules/azure-ml"
  name             = "mlplat-${var.environment}"
  location         = var.location
  nodes_subnet_id  = var.nodes_subnet_id
  gpu_machine_type = module.catalog.machine_type
  gpu_pool         = module.catalog.pool
  tags             = { owner = var.owner, environment = var.environment, "managed-by" = "terraform" }
}

output "stack" {
  description = "The stack's endpoints: ML service, cluster, bucket, registry."
  value       = module.ml
}
