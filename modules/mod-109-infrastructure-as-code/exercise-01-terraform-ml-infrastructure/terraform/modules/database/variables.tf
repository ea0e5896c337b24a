variable "name" {
  description = "Identifier prefix of the instance."
  type        = string
}

variable "vpc_id" {
  description = "VPC of the database."
  type        = string
}

variable "subnet_ids" {
  description = "Private subnets (two zones at least) for the DB subnet group."
  type        = list(string)

  validation {
    condition     = length(var.subnet_ids) >= 2
    error_message = "RDS needs subnets in at least two zones."
  }
}

variable "allowed_cidrs" {
  description = "Networks that may connect on 5432 (the VPC's range). Never 0.0.0.0/0."
  type        = list(string)

  validation {
    condition     = length(var.allowed_cidrs) > 0 && !contains(var.allowed_cidrs, "0.0.0.0/0")
    error_message = "allowed_cidrs must list private ranges, never 0.0.0.0/0."
  }
}

variable "instance_class" {
  description = "RDS instance class, e.g. db.t4g.medium."
  type        = string

  validation {
    condition     = startswith(var.instance_class, "db.")
    error_message = "instance_class must be an RDS class (db.*)."
  }
}

variable "allocated_storage_gb" {
  description = "Initial storage in GiB; storage autoscaling grows it up to 4x."
  type        = number

  validation {
    condition     = var.allocated_storage_gb >= 20 && var.allocated_storage_gb <= 16384
    error_message = "allocated_storage_gb must be 20 to 16384."
  }
}

variable "multi_az" {
  description = "Keep a synchronous standby in another zone."
  type        = bool
}

variable "backup_retention_days" {
  description = "Days of automated backups (point-in-time recovery window)."
  type        = number

  validation {
    condition     = var.backup_retention_days >= 1 && var.backup_retention_days <= 35
    error_message = "backup_retention_days must be 1 to 35."
  }
}

variable "deletion_protection" {
  description = "Refuse deletion (and take a final snapshot on destroy)."
  type        = bool
}

variable "kms_key_arn" {
  description = "KMS key for storage, Performance Insights and the managed master password."
  type        = string
}

variable "tags" {
  description = "Tags for every resource."
  type        = map(string)
}
