output "vpc_id" {
  description = "ID of the VPC."
  value       = aws_vpc.this.id
}

output "private_subnet_ids" {
  description = "IDs of the private subnets, in zone order."
  value       = [for zone in local.zones : aws_subnet.private[zone].id]
}

output "public_subnet_ids" {
  description = "IDs of the public subnets, in zone order."
  value       = [for zone in local.zones : aws_subnet.public[zone].id]
}

output "nat_public_ips" {
  description = "Egress IPs of the NAT gateways (allow-list them at partners)."
  value       = aws_eip.nat[*].public_ip
}
