# Offline: a mocked AWS provider (Terraform 1.7+), `terraform test` in
# infra/modules/network. Checks the layout each setting makes.

mock_provider "aws" {
  # The provider checks these ARNs where they are used: give them the shape.
  mock_resource "aws_networkfirewall_rule_group" {
    defaults = { arn = "arn:aws:network-firewall:us-east-1:123456789012:stateful-rulegroup/tradepipe-egress-domains" }
  }

  mock_resource "aws_networkfirewall_firewall_policy" {
    defaults = { arn = "arn:aws:network-firewall:us-east-1:123456789012:firewall-policy/tradepipe" }
  }

  override_data {
    target = data.aws_region.current
    values = { name = "us-east-1" }
  }

  override_data {
    target = data.aws_availability_zones.available
    values = { names = ["us-east-1a", "us-east-1b", "us-east-1c"] }
  }
}

run "defaults" {
  command = apply

  assert {
    condition     = length(aws_subnet.private) == 2 && length(aws_subnet.public) == 2
    error_message = "two private and two public subnets by default"
  }

  assert {
    condition     = length(aws_nat_gateway.this) == 1 && length(aws_route.private_default) == 2
    error_message = "one NAT gateway, the default route of both private route tables"
  }

  assert {
    condition     = toset(keys(aws_vpc_endpoint.interface)) == toset(["kinesis-streams", "ecr.api", "ecr.dkr", "logs", "sts"])
    error_message = "the five interface endpoints"
  }

  assert {
    condition     = aws_vpc_endpoint.interface["kinesis-streams"].service_name == "com.amazonaws.us-east-1.kinesis-streams"
    error_message = "interface endpoint service names"
  }

  assert {
    condition     = aws_vpc_security_group_ingress_rule.endpoints_https.from_port == 443 && aws_vpc_security_group_ingress_rule.endpoints_https.cidr_ipv4 == "10.40.0.0/16"
    error_message = "endpoints: 443 from the VPC only"
  }

  assert {
    condition     = aws_subnet.private[0].cidr_block == "10.40.0.0/19" && aws_subnet.public[1].cidr_block == "10.40.228.0/22"
    error_message = "subnet CIDRs"
  }

  assert {
    condition     = length(aws_networkfirewall_firewall.this) == 0 && output.network_firewall_arn == null
    error_message = "no firewall by default"
  }
}

run "nat_per_az" {
  command = plan

  variables {
    az_count         = 3
    nat_gateway_mode = "per_az"
  }

  assert {
    condition     = length(aws_nat_gateway.this) == 3 && length(aws_eip.nat) == 3
    error_message = "one NAT gateway per AZ"
  }
}

run "no_nat" {
  command = plan

  variables {
    nat_gateway_mode = "none"
  }

  assert {
    condition     = length(aws_internet_gateway.this) == 0 && length(aws_subnet.public) == 0 && length(aws_route.private_default) == 0
    error_message = "no NAT: no internet gateway, no public subnet, no default route"
  }
}

run "firewall" {
  command = apply

  variables {
    enable_network_firewall = true
  }

  override_resource {
    target = aws_networkfirewall_firewall.this
    values = {
      firewall_status = [{
        sync_states = [
          { availability_zone = "us-east-1a", attachment = [{ endpoint_id = "vpce-fw-a", subnet_id = "subnet-a" }] },
          { availability_zone = "us-east-1b", attachment = [{ endpoint_id = "vpce-fw-b", subnet_id = "subnet-b" }] },
        ]
      }]
    }
  }

  assert {
    condition     = length(aws_subnet.firewall) == 2 && aws_subnet.firewall[0].cidr_block == "10.40.252.0/25"
    error_message = "one firewall subnet per AZ"
  }

  assert {
    condition     = aws_route.private_default[1].vpc_endpoint_id == "vpce-fw-b" && aws_route.private_default[1].nat_gateway_id == null
    error_message = "private subnets route to their AZ's firewall endpoint"
  }

  assert {
    condition     = aws_route.public_to_firewall[0].destination_cidr_block == "10.40.0.0/19" && aws_route.public_to_firewall[0].vpc_endpoint_id == "vpce-fw-a"
    error_message = "return traffic through the same endpoint"
  }
}

run "firewall_needs_nat" {
  command = plan

  variables {
    enable_network_firewall = true
    nat_gateway_mode        = "none"
  }

  expect_failures = [aws_networkfirewall_firewall.this]
}

run "one_az_refused" {
  command = plan

  variables {
    az_count = 1
  }

  expect_failures = [var.az_count]
}
