module "network" {
  source = "../../modules/network"

  name                     = var.name
  cidr_block               = var.cidr_block
  az_count                 = var.az_count
  nat_gateway_mode         = var.nat_gateway_mode
  interface_endpoints      = var.interface_endpoints
  enable_network_firewall  = var.enable_network_firewall
  firewall_allowed_domains = var.firewall_allowed_domains
}
