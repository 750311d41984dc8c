variable "region" {
  description = "AWS region of the deployment."
  type        = string
  default     = "us-east-1"
}

variable "name" {
  description = "Project name: prefix of resource names and the Project tag (the same in every stage)."
  type        = string
  default     = "tradepipe"
}

variable "tags" {
  description = "Tags added to every resource."
  type        = map(string)
  default     = {}
}

variable "cidr_block" {
  description = "IPv4 CIDR block of the VPC (/16 to /19)."
  type        = string
  default     = "10.40.0.0/16"
}

variable "az_count" {
  description = "Number of Availability Zones (2 or more)."
  type        = number
  default     = 2
}

variable "nat_gateway_mode" {
  description = "\"single\" NAT gateway, one \"per_az\", or \"none\" (VPC endpoints only)."
  type        = string
  default     = "single"
}

variable "interface_endpoints" {
  description = "Services reached through interface VPC endpoints."
  type        = list(string)
  default     = ["kinesis-streams", "ecr.api", "ecr.dkr", "logs", "sts"]
}

variable "enable_network_firewall" {
  description = "Inspect the private subnets' internet traffic with AWS Network Firewall (about $288/month per AZ: see the module's README)."
  type        = bool
  default     = false
}

variable "firewall_allowed_domains" {
  description = "Domains the firewall lets HTTP/TLS traffic reach."
  type        = list(string)
  default     = [".amazonaws.com"]
}
