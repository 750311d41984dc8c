data "aws_region" "current" {}

data "aws_availability_zones" "available" {
  state = "available"

  # Regular zones only: Local Zones and Wavelength Zones lack most services.
  filter {
    name   = "opt-in-status"
    values = ["opt-in-not-required"]
  }
}

locals {
  azs      = slice(data.aws_availability_zones.available.names, 0, var.az_count)
  nat      = var.nat_gateway_mode != "none"
  firewall = var.enable_network_firewall
  # Firewall routes need a NAT gateway behind them (the firewall's
  # precondition says so when there is none).
  firewall_routes = local.firewall && local.nat
  nat_count = (
    var.nat_gateway_mode == "per_az" ? var.az_count :
    var.nat_gateway_mode == "single" ? 1 : 0
  )

  # The VPC in eighths: private subnets first, public and firewall subnets in
  # the last eighth (for a /16: private /19s, public /22s, firewall /25s).
  last_eighth      = cidrsubnet(var.cidr_block, 3, 7)
  private_cidrs    = [for i in range(var.az_count) : cidrsubnet(var.cidr_block, 3, i)]
  public_cidrs     = [for i in range(var.az_count) : cidrsubnet(local.last_eighth, 3, i)]
  firewall_cidrs   = [for i in range(var.az_count) : cidrsubnet(local.last_eighth, 6, 56 + i)]
  interface_prefix = "com.amazonaws.${data.aws_region.current.name}"

  # The NAT gateway each AZ uses: its own (per_az) or the only one (single).
  nat_ids    = aws_nat_gateway.this[*].id
  nat_for_az = [for i in range(var.az_count) : length(local.nat_ids) == 0 ? null : local.nat_ids[var.nat_gateway_mode == "per_az" ? i : 0]]

  # Firewall endpoint (a VPC endpoint id) per AZ, once the firewall exists.
  firewall_endpoints = local.firewall ? {
    for s in aws_networkfirewall_firewall.this[0].firewall_status[0].sync_states :
    s.availability_zone => s.attachment[0].endpoint_id
  } : {}

  tags = merge(var.tags, { Module = "tradepipe/network" })
}

resource "aws_vpc" "this" {
  cidr_block           = var.cidr_block
  enable_dns_support   = true
  enable_dns_hostnames = true # required by interface endpoints' private DNS

  tags = merge(local.tags, { Name = var.name })
}

# The default security group allows all traffic between its members: empty it,
# so nothing uses it by accident.
resource "aws_default_security_group" "this" {
  vpc_id = aws_vpc.this.id

  tags = merge(local.tags, { Name = "${var.name}-default-unused" })
}

resource "aws_subnet" "private" {
  count = var.az_count

  vpc_id            = aws_vpc.this.id
  availability_zone = local.azs[count.index]
  cidr_block        = local.private_cidrs[count.index]

  tags = merge(local.tags, { Name = "${var.name}-private-${local.azs[count.index]}", Tier = "private" })
}

resource "aws_route_table" "private" {
  count = var.az_count

  vpc_id = aws_vpc.this.id

  tags = merge(local.tags, { Name = "${var.name}-private-${local.azs[count.index]}" })
}

resource "aws_route_table_association" "private" {
  count = var.az_count

  subnet_id      = aws_subnet.private[count.index].id
  route_table_id = aws_route_table.private[count.index].id
}

# Internet egress: only when there is a NAT gateway.

resource "aws_internet_gateway" "this" {
  count = local.nat ? 1 : 0

  vpc_id = aws_vpc.this.id

  tags = merge(local.tags, { Name = var.name })
}

resource "aws_subnet" "public" {
  count = local.nat ? var.az_count : 0

  vpc_id                  = aws_vpc.this.id
  availability_zone       = local.azs[count.index]
  cidr_block              = local.public_cidrs[count.index]
  map_public_ip_on_launch = false # only the NAT gateways live here

  tags = merge(local.tags, { Name = "${var.name}-public-${local.azs[count.index]}", Tier = "public" })
}

resource "aws_route_table" "public" {
  count = local.nat ? 1 : 0

  vpc_id = aws_vpc.this.id

  tags = merge(local.tags, { Name = "${var.name}-public" })
}

resource "aws_route" "public_default" {
  count = local.nat ? 1 : 0

  route_table_id         = aws_route_table.public[0].id
  destination_cidr_block = "0.0.0.0/0"
  gateway_id             = aws_internet_gateway.this[0].id
}

resource "aws_route_table_association" "public" {
  count = local.nat ? var.az_count : 0

  subnet_id      = aws_subnet.public[count.index].id
  route_table_id = aws_route_table.public[0].id
}

resource "aws_eip" "nat" {
  count = local.nat_count

  domain = "vpc"

  tags = merge(local.tags, { Name = "${var.name}-nat-${local.azs[count.index]}" })

  depends_on = [aws_internet_gateway.this]
}

resource "aws_nat_gateway" "this" {
  count = local.nat_count

  allocation_id = aws_eip.nat[count.index].id
  subnet_id     = aws_subnet.public[count.index].id

  tags = merge(local.tags, { Name = "${var.name}-${local.azs[count.index]}" })

  depends_on = [aws_internet_gateway.this]
}

# Private subnets: the default route goes to the AZ's NAT gateway, or to the
# AZ's firewall endpoint when the firewall is on (then the firewall subnet
# routes on to the NAT gateway, and the public subnets route the private CIDRs
# back through the same endpoint, so both directions are inspected).
resource "aws_route" "private_default" {
  count = local.nat ? var.az_count : 0

  route_table_id         = aws_route_table.private[count.index].id
  destination_cidr_block = "0.0.0.0/0"
  nat_gateway_id         = local.firewall ? null : local.nat_for_az[count.index]
  vpc_endpoint_id        = local.firewall ? local.firewall_endpoints[local.azs[count.index]] : null
}

# Gateway endpoints: free, and they keep S3 and DynamoDB traffic off the NAT.

resource "aws_vpc_endpoint" "s3" {
  vpc_id            = aws_vpc.this.id
  service_name      = "${local.interface_prefix}.s3"
  vpc_endpoint_type = "Gateway"
  route_table_ids   = aws_route_table.private[*].id

  tags = merge(local.tags, { Name = "${var.name}-s3" })
}

resource "aws_vpc_endpoint" "dynamodb" {
  vpc_id            = aws_vpc.this.id
  service_name      = "${local.interface_prefix}.dynamodb"
  vpc_endpoint_type = "Gateway"
  route_table_ids   = aws_route_table.private[*].id

  tags = merge(local.tags, { Name = "${var.name}-dynamodb" })
}

# Interface endpoints, reachable on 443 from inside the VPC only.

resource "aws_security_group" "endpoints" {
  name        = "${var.name}-endpoints"
  description = "Interface VPC endpoints: HTTPS from the VPC"
  vpc_id      = aws_vpc.this.id

  tags = merge(local.tags, { Name = "${var.name}-endpoints" })
}

resource "aws_vpc_security_group_ingress_rule" "endpoints_https" {
  security_group_id = aws_security_group.endpoints.id
  description       = "HTTPS from the VPC"
  ip_protocol       = "tcp"
  from_port         = 443
  to_port           = 443
  cidr_ipv4         = aws_vpc.this.cidr_block
}

resource "aws_vpc_endpoint" "interface" {
  for_each = toset(var.interface_endpoints)

  vpc_id              = aws_vpc.this.id
  service_name        = "${local.interface_prefix}.${each.key}"
  vpc_endpoint_type   = "Interface"
  private_dns_enabled = true
  subnet_ids          = aws_subnet.private[*].id
  security_group_ids  = [aws_security_group.endpoints.id]

  tags = merge(local.tags, { Name = "${var.name}-${each.key}" })
}

# AWS Network Firewall (optional, off by default: see README for its cost).

resource "aws_subnet" "firewall" {
  count = local.firewall ? var.az_count : 0

  vpc_id            = aws_vpc.this.id
  availability_zone = local.azs[count.index]
  cidr_block        = local.firewall_cidrs[count.index]

  tags = merge(local.tags, { Name = "${var.name}-firewall-${local.azs[count.index]}", Tier = "firewall" })
}

resource "aws_networkfirewall_rule_group" "egress_domains" {
  count = local.firewall ? 1 : 0

  name     = "${var.name}-egress-domains"
  type     = "STATEFUL"
  capacity = 100

  rule_group {
    rules_source {
      rules_source_list {
        generated_rules_type = "ALLOWLIST"
        target_types         = ["TLS_SNI", "HTTP_HOST"]
        targets              = var.firewall_allowed_domains
      }
    }
  }

  tags = local.tags
}

resource "aws_networkfirewall_firewall_policy" "this" {
  count = local.firewall ? 1 : 0

  name = var.name

  firewall_policy {
    stateless_default_actions          = ["aws:forward_to_sfe"]
    stateless_fragment_default_actions = ["aws:forward_to_sfe"]

    stateful_rule_group_reference {
      resource_arn = aws_networkfirewall_rule_group.egress_domains[0].arn
    }
  }

  tags = local.tags
}

resource "aws_networkfirewall_firewall" "this" {
  count = local.firewall ? 1 : 0

  name                = var.name
  vpc_id              = aws_vpc.this.id
  firewall_policy_arn = aws_networkfirewall_firewall_policy.this[0].arn

  dynamic "subnet_mapping" {
    for_each = aws_subnet.firewall[*].id
    content {
      subnet_id = subnet_mapping.value
    }
  }

  tags = local.tags

  lifecycle {
    precondition {
      condition     = local.nat
      error_message = "enable_network_firewall needs a NAT gateway: set nat_gateway_mode to \"single\" or \"per_az\"."
    }
  }
}

resource "aws_route_table" "firewall" {
  count = local.firewall ? var.az_count : 0

  vpc_id = aws_vpc.this.id

  tags = merge(local.tags, { Name = "${var.name}-firewall-${local.azs[count.index]}" })
}

resource "aws_route" "firewall_default" {
  count = local.firewall_routes ? var.az_count : 0

  route_table_id         = aws_route_table.firewall[count.index].id
  destination_cidr_block = "0.0.0.0/0"
  nat_gateway_id         = local.nat_for_az[count.index]
}

resource "aws_route_table_association" "firewall" {
  count = local.firewall ? var.az_count : 0

  subnet_id      = aws_subnet.firewall[count.index].id
  route_table_id = aws_route_table.firewall[count.index].id
}

resource "aws_route" "public_to_firewall" {
  count = local.firewall_routes ? var.az_count : 0

  route_table_id         = aws_route_table.public[0].id
  destination_cidr_block = local.private_cidrs[count.index]
  vpc_endpoint_id        = local.firewall_endpoints[local.azs[count.index]]
}
