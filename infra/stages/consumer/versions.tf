terraform {
  required_version = ">= 1.10.0" # S3-native state locking (use_lockfile)

  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = "~> 5.0"
    }
  }

  # bucket and region come from infra/stages/backend.hcl (the bootstrap
  # stage's backend_config output): terraform init -backend-config=../backend.hcl
  backend "s3" {
    key          = "stages/consumer/terraform.tfstate"
    encrypt      = true
    use_lockfile = true
  }
}

provider "aws" {
  region = var.region

  default_tags {
    tags = merge({ Project = var.name, Stage = "consumer", ManagedBy = "terraform" }, var.tags)
  }
}
