variable "name" {
  description = "Prefix of the alarm and topic names."
  type        = string
}

variable "alert_emails" {
  description = "Addresses subscribed to the alert topic (they must confirm)."
  type        = list(string)
  default     = []

  validation {
    condition     = alltrue([for e in var.alert_emails : can(regex("^[^@\\s]+@[^@\\s]+\\.[^@\\s]+$", e))])
    error_message = "alert_emails must be e-mail addresses."
  }
}

variable "db_instance_id" {
  description = "RDS instance to watch."
  type        = string
}

variable "cluster_name" {
  description = "EKS cluster to watch (Container Insights metrics)."
  type        = string
}

variable "db_cpu_threshold" {
  description = "Alarm when database CPU stays above this percentage for 15 minutes."
  type        = number
  default     = 80

  validation {
    condition     = var.db_cpu_threshold > 0 && var.db_cpu_threshold <= 100
    error_message = "db_cpu_threshold is a percentage (0-100]."
  }
}

variable "db_free_storage_gb" {
  description = "Alarm when free database storage drops below this many GiB."
  type        = number
  default     = 5
}

variable "kms_key_arn" {
  description = "KMS key that encrypts the alert topic."
  type        = string
}

variable "tags" {
  description = "Tags for every resource."
  type        = map(string)
}
