variable "name" {
  description = "Prefix of every resource name, e.g. mlplat-dev."
  type        = string

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{2,20}$", var.name))
    error_message = "name must be 3-21 lowercase letters, digits and dashes, starting with a letter."
  }
}

variable "project" {
  description = "GCP project id."
  type        = string
}

variable "region" {
  description = "Region of every regional resource, e.g. us-central1."
  type        = string
}

variable "network" {
  description = "Self link of the existing VPC network (landing zone)."
  type        = string
}

variable "subnetwork" {
  description = "Self link of the subnetwork, with secondary ranges named pods and services."
  type        = string
}

variable "kubernetes_version" {
  description = "GKE minimum master version."
  type        = string
  default     = "1.33"
}

variable "gpu_machine_type" {
  description = "Machine type of the GPU node pool (gpu-catalog module)."
  type        = string
}

variable "gpu_accelerator" {
  description = "Accelerator attached to each GPU node, e.g. nvidia-tesla-t4 (gpu-catalog module)."
  type        = string
}

variable "gpu_pool" {
  description = "GPU node pool bounds and pricing: min, max, spot (gpu-catalog module)."
  type        = object({ min = number, max = number, spot = bool })
}

variable "labels" {
  description = "Labels for every labellable resource; must include owner and environment."
  type        = map(string)

  validation {
    condition     = alltrue([for k in ["owner", "environment"] : contains(keys(var.labels), k)])
    error_message = "labels must include owner and environment."
  }
}
