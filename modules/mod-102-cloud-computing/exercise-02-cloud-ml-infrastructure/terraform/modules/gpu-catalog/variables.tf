variable "cloud" {
  description = "aws, gcp or azure."
  type        = string

  validation {
    condition     = contains(["aws", "gcp", "azure"], var.cloud)
    error_message = "cloud must be aws, gcp or azure."
  }
}

variable "gpu_class" {
  description = "Cloud-neutral GPU class: t4 (inference, small training), l4, a10 or a100."
  type        = string

  validation {
    condition     = contains(["t4", "l4", "a10", "a100"], var.gpu_class)
    error_message = "gpu_class must be one of t4, l4, a10, a100."
  }
}

variable "environment" {
  description = "dev or prod: picks pool sizes and spot/on-demand."
  type        = string

  validation {
    condition     = contains(["dev", "prod"], var.environment)
    error_message = "environment must be dev or prod."
  }
}
