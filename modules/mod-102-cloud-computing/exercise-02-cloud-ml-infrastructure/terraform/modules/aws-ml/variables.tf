variable "name" {
  description = "Prefix of every resource name, e.g. mlplat-dev."
  type        = string

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{2,30}$", var.name))
    error_message = "name must be lowercase letters, digits and dashes, starting with a letter."
  }
}

variable "vpc_id" {
  description = "Existing VPC (from the landing zone) the stack lives in."
  type        = string
}

variable "subnet_ids" {
  description = "Private subnets in at least two zones: EKS nodes and SageMaker Studio ENIs."
  type        = list(string)

  validation {
    condition     = length(var.subnet_ids) >= 2
    error_message = "subnet_ids must list private subnets in at least two zones."
  }
}

variable "kubernetes_version" {
  description = "EKS minor version."
  type        = string
  default     = "1.33"
}

variable "gpu_machine_type" {
  description = "Instance type of the GPU node group (gpu-catalog module)."
  type        = string
}

variable "gpu_pool" {
  description = "GPU node group bounds and pricing: min, max, spot (gpu-catalog module)."
  type        = object({ min = number, max = number, spot = bool })
}

variable "tags" {
  description = "Tags for every resource; must include owner and environment."
  type        = map(string)

  validation {
    condition     = alltrue([for k in ["owner", "environment"] : contains(keys(var.tags), k)])
    error_message = "tags must include owner and environment."
  }
}
