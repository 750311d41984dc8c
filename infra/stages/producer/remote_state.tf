data "terraform_remote_state" "network" {
  backend = "s3"

  config = {
    bucket = var.state_bucket
    key    = "stages/network/terraform.tfstate"
    region = coalesce(var.state_region, var.region)
  }
}

data "terraform_remote_state" "streaming" {
  backend = "s3"

  config = {
    bucket = var.state_bucket
    key    = "stages/streaming/terraform.tfstate"
    region = coalesce(var.state_region, var.region)
  }
}
