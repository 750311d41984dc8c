# Offline: the stage reads the network and streaming stages' outputs (remote
# state overridden here) and hands them to the module (mocked AWS provider).

mock_provider "aws" {
  override_data {
    target = module.producer.data.aws_caller_identity.current
    values = { account_id = "123456789012" }
  }

  override_data {
    target = module.producer.data.aws_region.current
    values = { name = "us-east-1" }
  }

  override_data {
    target = module.producer.data.aws_iam_policy_document.tasks_assume
    values = { json = "{}" }
  }

  override_data {
    target = module.producer.data.aws_iam_policy_document.execution
    values = { json = "{}" }
  }

  override_data {
    target = module.producer.data.aws_iam_policy_document.task
    values = { json = "{}" }
  }

  mock_resource "aws_ecr_repository" {
    defaults = {
      arn            = "arn:aws:ecr:us-east-1:123456789012:repository/tradepipe/tp-producer"
      repository_url = "123456789012.dkr.ecr.us-east-1.amazonaws.com/tradepipe/tp-producer"
    }
  }

  mock_resource "aws_iam_role" {
    defaults = { arn = "arn:aws:iam::123456789012:role/tradepipe-producer" }
  }

  mock_resource "aws_cloudwatch_log_group" {
    defaults = { arn = "arn:aws:logs:us-east-1:123456789012:log-group:/ecs/tradepipe/tp-producer" }
  }

  mock_resource "aws_ecs_task_definition" {
    defaults = { arn = "arn:aws:ecs:us-east-1:123456789012:task-definition/tradepipe-producer:1" }
  }

  mock_resource "aws_ecs_cluster" {
    defaults = { arn = "arn:aws:ecs:us-east-1:123456789012:cluster/tradepipe" }
  }
}

override_data {
  target = data.terraform_remote_state.network
  values = {
    outputs = {
      vpc_id             = "vpc-0123456789abcdef0"
      private_subnet_ids = ["subnet-0123456789abcdef0", "subnet-0123456789abcdef1"]
    }
  }
}

override_data {
  target = data.terraform_remote_state.streaming
  values = {
    outputs = {
      stream_name        = "tradepipe"
      stream_arn         = "arn:aws:kinesis:us-east-1:123456789012:stream/tradepipe"
      stream_kms_key_arn = null
    }
  }
}

variables {
  state_bucket = "tradepipe-tfstate-123456789012-us-east-1"
  image_tag    = "abc123"
}

run "wiring" {
  command = apply

  assert {
    condition     = output.running && output.command[1] == "kinesis://tradepipe"
    error_message = "the producer writes to the streaming stage's stream"
  }

  assert {
    condition     = output.ecr_repository_url == "123456789012.dkr.ecr.us-east-1.amazonaws.com/tradepipe/tp-producer"
    error_message = "the stage's outputs"
  }
}
