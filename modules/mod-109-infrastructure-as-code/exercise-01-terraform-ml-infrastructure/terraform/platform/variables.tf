variable "project" {
  description = "Short project name (naming module)."
  type        = string
}

variable "environment" {
  description = "dev, staging or prod (naming module: picks the sizing profile)."
  type        = string
}

variable "owner" {
  description = "Owning team (tag)."
  type        = string
}

variable "cost_center" {
  description = "Cost center (tag)."
  type        = string
}

variable "region" {
  description = "AWS region."
  type        = string
}

variable "zones" {
  description = "Availability zones (2-3) in region."
  type        = list(string)
}

variable "network_cidr" {
  description = "Private /16-/20 of the VPC."
  type        = string
}

variable "admin_cidrs" {
  description = "Networks that may reach a public API server (ignored when the profile keeps it private)."
  type        = list(string)
  default     = []
}

variable "system_nodes" {
  description = "min/max/desired system nodes."
  type        = object({ min = number, max = number, desired = number })
}

variable "gpu_instance_type" {
  description = "GPU instance type of the GPU node group."
  type        = string
  default     = "g5.xlarge"
}

variable "gpu_nodes" {
  description = "min/max/desired GPU nodes."
  type        = object({ min = number, max = number, desired = number })
}

variable "db_instance_class" {
  description = "RDS class of the MLflow database."
  type        = string
}

variable "db_storage_gb" {
  description = "Initial database storage (GiB)."
  type        = number
}

variable "alert_emails" {
  description = "Who gets the CloudWatch alarms."
  type        = list(string)
  default     = []
}
