locals {
  prefix = "${var.project}-${var.environment}"

  # Required tags win over extra ones: a module caller cannot drop or fake them.
  tags = merge(var.extra_tags, {
    project       = var.project
    environment   = var.environment
    owner         = var.owner
    "cost-center" = var.cost_center
    "managed-by"  = "terraform"
  })

  # The address plan: /20s (for a /16) carved in a fixed order, so adding a zone later never
  # renumbers an existing subnet. 0-3 private (nodes, databases), 8-11 public (NAT, LBs).
  newbits = 4
  private_subnets = {
    for i, zone in var.zones : zone => cidrsubnet(var.network_cidr, local.newbits, i)
  }
  public_subnets = {
    for i, zone in var.zones : zone => cidrsubnet(var.network_cidr, local.newbits, 8 + i)
  }

  profiles = {
    dev = {
      nat_gateways         = 1
      db_multi_az          = false
      db_backup_days       = 3
      deletion_protection  = false
      gpu_capacity_type    = "SPOT"
      log_retention_days   = 14
      artifact_version_ttl = 14
      endpoint_public      = true
    }
    staging = {
      nat_gateways         = 1
      db_multi_az          = false
      db_backup_days       = 7
      deletion_protection  = true
      gpu_capacity_type    = "SPOT"
      log_retention_days   = 30
      artifact_version_ttl = 30
      endpoint_public      = true
    }
    prod = {
      nat_gateways         = length(var.zones)
      db_multi_az          = true
      db_backup_days       = 14
      deletion_protection  = true
      gpu_capacity_type    = "ON_DEMAND"
      log_retention_days   = 365
      artifact_version_ttl = 90
      endpoint_public      = false
    }
  }
}
