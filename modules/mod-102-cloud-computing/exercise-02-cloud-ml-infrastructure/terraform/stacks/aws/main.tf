# The AWS ML stack: SageMaker Studio + EKS GPU pool + S3/ECR, sized by the GPU catalog.
variable "environment" {
  description = "dev or prod."
  type        = string
}

variable "gpu_class" {
  description = "Cloud-neutral GPU class (t4, l4, a10, a100)."
  type        = string
}

variable "owner" {
  description = "Owning team (tag)."
  type        = string
}

variable "vpc_id" {
  description = "Landing-zone VPC."
  type        = string
}

variable "subnet_ids" {
  description = "Landing-zone private subnets (two zones at least)."
  type        = list(string)
}

module "catalog" {
  source      = "../../modules/gpu-catalog"
  cloud       = "aws"
  gpu_class   = var.gpu_class
  environment = var.environment
}

module "ml" {
  source           = "../../modules/aws-ml"
  name             = "mlplat-${var.environment}"
  vpc_id           = var.vpc_id
  subnet_ids       = var.subnet_ids
  gpu_machine_type = module.catalog.machine_type
  gpu_pool         = module.catalog.pool
  tags             = { owner = var.owner, environment = var.environment, "managed-by" = "terraform" }
}

output "stack" {
  description = "The stack's endpoints: ML service, cluster, bucket, registry."
  value       = module.ml
}
