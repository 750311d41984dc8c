data "terraform_remote_state" "streaming" {
  backend = "s3"

  config = {
    bucket = var.state_bucket
    key    = "stages/streaming/terraform.tfstate"
    region = coalesce(var.state_region, var.region)
  }
}

data "terraform_remote_state" "consumer" {
  backend = "s3"

  config = {
    bucket = var.state_bucket
    key    = "stages/consumer/terraform.tfstate"
    region = coalesce(var.state_region, var.region)
  }
}
