variable "project" {
  description = "Short project name: the first part of every resource name."
  type        = string

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{2,18}[a-z0-9]$", var.project))
    error_message = "project must be 4-20 characters: lowercase letters, digits and dashes, starting with a letter."
  }
}

variable "environment" {
  description = "dev, staging or prod: picks the sizing profile."
  type        = string

  validation {
    condition     = contains(["dev", "staging", "prod"], var.environment)
    error_message = "environment must be one of dev, staging, prod."
  }
}

variable "owner" {
  description = "Team that owns the resources (tag)."
  type        = string
}

variable "cost_center" {
  description = "Cost center the spend is booked to (tag)."
  type        = string
}

variable "network_cidr" {
  description = "Private IPv4 range of the VPC, a /16 to /20."
  type        = string

  validation {
    condition     = can(cidrhost(var.network_cidr, 0)) && try(tonumber(split("/", var.network_cidr)[1]) >= 16 && tonumber(split("/", var.network_cidr)[1]) <= 20, false)
    error_message = "network_cidr must be a valid IPv4 CIDR from /16 to /20."
  }

  validation {
    condition     = can(regex("^(10\\.|192\\.168\\.|172\\.(1[6-9]|2[0-9]|3[01])\\.)", var.network_cidr))
    error_message = "network_cidr must be a private (RFC 1918) range."
  }
}

variable "zones" {
  description = "Availability zones to spread subnets and nodes over (1 to 3)."
  type        = list(string)

  validation {
    condition     = length(var.zones) >= 1 && length(var.zones) <= 3 && length(distinct(var.zones)) == length(var.zones)
    error_message = "zones must list 1 to 3 distinct availability zones."
  }
}

variable "extra_tags" {
  description = "More tags for every resource; cannot override the required ones."
  type        = map(string)
  default     = {}
}
