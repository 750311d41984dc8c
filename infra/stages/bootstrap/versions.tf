# The bootstrap stage keeps its state locally (terraform.tfstate beside this
# file, not committed): it makes the bucket every other stage keeps its state in.
terraform {
  required_version = ">= 1.10.0"

  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = "~> 5.0"
    }
  }
}

provider "aws" {
  region = var.region

  default_tags {
    tags = merge({ Project = var.name, Stage = "bootstrap", ManagedBy = "terraform" }, var.tags)
  }
}
