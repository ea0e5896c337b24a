output "prefix" {
  description = "<project>-<environment>: the start of every resource name."
  value       = local.prefix
}

output "tags" {
  description = "Tags every taggable resource carries (project, environment, owner, cost-center, managed-by, plus extra_tags)."
  value       = local.tags
}

output "private_subnets" {
  description = "Zone => CIDR of the private subnet (nodes and databases)."
  value       = local.private_subnets
}

output "public_subnets" {
  description = "Zone => CIDR of the public subnet (NAT gateways and load balancers only)."
  value       = local.public_subnets
}

output "sizing" {
  description = "The environment's sizing profile: NAT gateways, database HA and backups, deletion protection, GPU capacity type, log and artifact retention, API endpoint exposure."
  value       = local.profiles[var.environment]
}
