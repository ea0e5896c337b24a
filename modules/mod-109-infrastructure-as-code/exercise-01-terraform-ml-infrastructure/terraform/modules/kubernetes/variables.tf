variable "name" {
  description = "Cluster name (and prefix of its IAM roles)."
  type        = string
}

variable "kubernetes_version" {
  description = "EKS minor version, e.g. 1.33."
  type        = string
  default     = "1.33"

  validation {
    condition     = can(regex("^1\\.[0-9]{2}$", var.kubernetes_version))
    error_message = "kubernetes_version must look like 1.33."
  }
}

variable "subnet_ids" {
  description = "Private subnets for the control plane ENIs and the nodes."
  type        = list(string)

  validation {
    condition     = length(var.subnet_ids) >= 2
    error_message = "EKS needs subnets in at least two zones."
  }
}

variable "endpoint_public" {
  description = "Expose the API server publicly (to admin_cidrs only). False in prod."
  type        = bool
}

variable "admin_cidrs" {
  description = "Networks allowed to reach a public API server. Never 0.0.0.0/0."
  type        = list(string)
  default     = []

  validation {
    condition     = !contains(var.admin_cidrs, "0.0.0.0/0")
    error_message = "admin_cidrs must not contain 0.0.0.0/0: list your office/VPN ranges."
  }
}

variable "kms_key_arn" {
  description = "KMS key for envelope encryption of Kubernetes secrets."
  type        = string
}

variable "system_instance_type" {
  description = "Instance type of the system node group."
  type        = string
  default     = "m6i.large"
}

variable "system_nodes" {
  description = "min/max/desired nodes of the system group."
  type        = object({ min = number, max = number, desired = number })
  default     = { min = 1, max = 3, desired = 2 }
}

variable "gpu_instance_type" {
  description = "GPU instance type (g5/g6/p4/p5 family)."
  type        = string
  default     = "g5.xlarge"

  validation {
    condition     = can(regex("^(g[4-6][a-z]*|p[3-5][a-z]*)\\.", var.gpu_instance_type))
    error_message = "gpu_instance_type must be a GPU family (g4dn, g5, g6, p3, p4d, p5 ...)."
  }
}

variable "gpu_nodes" {
  description = "min/max/desired nodes of the GPU group; min 0 lets it scale to zero."
  type        = object({ min = number, max = number, desired = number })
  default     = { min = 0, max = 2, desired = 0 }

  validation {
    condition     = var.gpu_nodes.min <= var.gpu_nodes.desired && var.gpu_nodes.desired <= var.gpu_nodes.max
    error_message = "gpu_nodes must satisfy min <= desired <= max."
  }
}

variable "gpu_capacity_type" {
  description = "ON_DEMAND or SPOT for the GPU group."
  type        = string

  validation {
    condition     = contains(["ON_DEMAND", "SPOT"], var.gpu_capacity_type)
    error_message = "gpu_capacity_type must be ON_DEMAND or SPOT."
  }
}

variable "log_retention_days" {
  description = "Days to keep control-plane logs."
  type        = number
}

variable "tags" {
  description = "Tags for every resource."
  type        = map(string)
}
