variable "name" {
  description = "Prefix of the bucket name (a random suffix keeps it globally unique)."
  type        = string
}

variable "kms_key_arn" {
  description = "KMS key for SSE-KMS on every object."
  type        = string
}

variable "noncurrent_version_days" {
  description = "Days to keep overwritten/deleted artifact versions."
  type        = number

  validation {
    condition     = var.noncurrent_version_days >= 1
    error_message = "noncurrent_version_days must be at least 1."
  }
}

variable "force_destroy" {
  description = "Let terraform destroy a non-empty bucket (dev only)."
  type        = bool
  default     = false
}

variable "tags" {
  description = "Tags for every resource."
  type        = map(string)
}
