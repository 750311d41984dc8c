output "vpc_id" {
  description = "ID of the VPC."
  value       = aws_vpc.this.id
}

output "vpc_cidr_block" {
  description = "CIDR block of the VPC."
  value       = aws_vpc.this.cidr_block
}

output "availability_zones" {
  description = "Availability Zones used, in subnet order."
  value       = local.azs
}

output "private_subnet_ids" {
  description = "IDs of the private subnets, one per AZ (where the producer tasks run)."
  value       = aws_subnet.private[*].id
}

output "public_subnet_ids" {
  description = "IDs of the public subnets holding the NAT gateways (empty when nat_gateway_mode is \"none\")."
  value       = aws_subnet.public[*].id
}

output "private_route_table_ids" {
  description = "IDs of the private route tables (the gateway endpoints are attached to them)."
  value       = aws_route_table.private[*].id
}

output "nat_gateway_ids" {
  description = "IDs of the NAT gateways (none, one, or one per AZ)."
  value       = aws_nat_gateway.this[*].id
}

output "endpoints_security_group_id" {
  description = "Security group of the interface endpoints (HTTPS from the VPC)."
  value       = aws_security_group.endpoints.id
}

output "interface_endpoint_ids" {
  description = "Interface VPC endpoint IDs by service name (kinesis-streams, ecr.api, ...)."
  value       = { for k, e in aws_vpc_endpoint.interface : k => e.id }
}

output "gateway_endpoint_ids" {
  description = "Gateway VPC endpoint IDs of S3 and DynamoDB."
  value = {
    s3       = aws_vpc_endpoint.s3.id
    dynamodb = aws_vpc_endpoint.dynamodb.id
  }
}

output "network_firewall_arn" {
  description = "ARN of the Network Firewall, or null when it is off."
  value       = one(aws_networkfirewall_firewall.this[*].arn)
}
