variable "name" {
  description = "Prefix of every resource name, e.g. mlplat-dev."
  type        = string

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{2,16}$", var.name))
    error_message = "name must be 3-17 lowercase letters, digits and dashes (storage and registry names are short)."
  }
}

variable "location" {
  description = "Azure region, e.g. eastus."
  type        = string
}

variable "nodes_subnet_id" {
  description = "Existing subnet (landing zone) for the AKS nodes and private endpoints."
  type        = string
}

variable "kubernetes_version" {
  description = "AKS Kubernetes version."
  type        = string
  default     = "1.33"
}

variable "gpu_machine_type" {
  description = "VM size of the GPU node pool (gpu-catalog module)."
  type        = string
}

variable "gpu_pool" {
  description = "GPU node pool bounds and pricing: min, max, spot (gpu-catalog module)."
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
