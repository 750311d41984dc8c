output "vpc_id" {
  description = "ID of the VPC."
  value       = module.network.vpc_id
}

output "vpc_cidr_block" {
  description = "CIDR block of the VPC."
  value       = module.network.vpc_cidr_block
}

output "private_subnet_ids" {
  description = "Private subnets (one per AZ)."
  value       = module.network.private_subnet_ids
}

output "public_subnet_ids" {
  description = "Public subnets of the NAT gateways."
  value       = module.network.public_subnet_ids
}

output "endpoints_security_group_id" {
  description = "Security group of the interface endpoints."
  value       = module.network.endpoints_security_group_id
}

output "nat_gateway_ids" {
  description = "NAT gateways."
  value       = module.network.nat_gateway_ids
}

output "network_firewall_arn" {
  description = "Network Firewall ARN, or null."
  value       = module.network.network_firewall_arn
}
