data "terraform_remote_state" "streaming" {
  backend = "s3"

  config = {
    bucket = var.state_bucket
    key    = "stages/streaming/terraform.tfstate"
    region = coalesce(var.state_region, var.region)
  }
}
