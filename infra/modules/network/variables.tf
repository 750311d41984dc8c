variable "name" {
  description = "Prefix of every resource name (and the Name tag)."
  type        = string
  default     = "tradepipe"
}

variable "cidr_block" {
  description = "IPv4 CIDR block of the VPC, /16 to /19. Split in eighths: private subnets take the first ones (a /19 each for a /16), public and firewall subnets share the last."
  type        = string
  default     = "10.40.0.0/16"

  validation {
    condition     = can(cidrhost(var.cidr_block, 0)) && try(tonumber(split("/", var.cidr_block)[1]) >= 16 && tonumber(split("/", var.cidr_block)[1]) <= 19, false)
    error_message = "cidr_block must be an IPv4 CIDR block from /16 to /19."
  }
}

variable "az_count" {
  description = "Number of Availability Zones (one private subnet each, plus one public subnet each when there is a NAT gateway)."
  type        = number
  default     = 2

  validation {
    condition     = var.az_count >= 2 && var.az_count <= 6
    error_message = "az_count must be between 2 and 6."
  }
}

variable "nat_gateway_mode" {
  description = "Outbound internet access of the private subnets: \"single\" (one NAT gateway, about $33/month), \"per_az\" (one per AZ, survives the loss of an AZ) or \"none\" (no NAT, no internet gateway: the programs reach AWS only through the VPC endpoints)."
  type        = string
  default     = "single"

  validation {
    condition     = contains(["none", "single", "per_az"], var.nat_gateway_mode)
    error_message = "nat_gateway_mode must be \"none\", \"single\" or \"per_az\"."
  }
}

variable "interface_endpoints" {
  description = "AWS services reached through interface VPC endpoints (com.amazonaws.REGION.<name>), each billed per AZ-hour. The default covers the producer on Fargate: Kinesis, ECR (API and registry), CloudWatch Logs and STS."
  type        = list(string)
  default     = ["kinesis-streams", "ecr.api", "ecr.dkr", "logs", "sts"]
}

variable "enable_network_firewall" {
  description = "Route the private subnets' internet traffic through an AWS Network Firewall (one endpoint per AZ, about $288/month each plus $0.065/GB). Needs nat_gateway_mode other than \"none\"."
  type        = bool
  default     = false
}

variable "firewall_allowed_domains" {
  description = "Domains the Network Firewall lets HTTP and TLS traffic reach (a leading dot matches subdomains); other HTTP/TLS destinations are dropped."
  type        = list(string)
  default     = [".amazonaws.com"]
}

variable "tags" {
  description = "Tags added to every resource."
  type        = map(string)
  default     = {}
}
