variable "name" {
  description = "Name prefix of every resource (naming module's prefix)."
  type        = string
}

variable "cidr" {
  description = "IPv4 range of the VPC."
  type        = string
}

variable "private_subnets" {
  description = "Zone => CIDR of the private subnets (naming module's private_subnets)."
  type        = map(string)

  validation {
    condition     = length(var.private_subnets) >= 1
    error_message = "at least one private subnet is needed."
  }
}

variable "public_subnets" {
  description = "Zone => CIDR of the public subnets; same zones as private_subnets."
  type        = map(string)
}

variable "nat_gateways" {
  description = "NAT gateways: 1 (cheap, one zone carries egress) or one per zone (prod)."
  type        = number

  validation {
    condition     = var.nat_gateways >= 1 && var.nat_gateways <= 3
    error_message = "nat_gateways must be 1 to 3."
  }
}

variable "flow_log_retention_days" {
  description = "Days to keep VPC flow logs."
  type        = number
  default     = 30
}

variable "kms_key_arn" {
  description = "KMS key that encrypts the flow log group."
  type        = string
}

variable "tags" {
  description = "Tags for every resource (naming module's tags)."
  type        = map(string)
}
