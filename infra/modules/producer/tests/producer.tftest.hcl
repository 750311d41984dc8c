# Offline: a mocked AWS provider (Terraform 1.7+), `terraform test` in
# infra/modules/producer.

mock_provider "aws" {
  override_data {
    target = data.aws_caller_identity.current
    values = { account_id = "123456789012" }
  }

  override_data {
    target = data.aws_region.current
    values = { name = "us-east-1" }
  }

  override_data {
    target = data.aws_iam_policy_document.tasks_assume
    values = { json = "{\"Version\":\"2012-10-17\",\"Statement\":[]}" }
  }

  override_data {
    target = data.aws_iam_policy_document.execution
    values = { json = "{\"Version\":\"2012-10-17\",\"Statement\":[]}" }
  }

  override_data {
    target = data.aws_iam_policy_document.task
    values = { json = "{\"Version\":\"2012-10-17\",\"Statement\":[]}" }
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

variables {
  stream_name = "tradepipe"
  stream_arn  = "arn:aws:kinesis:us-east-1:123456789012:stream/tradepipe"
  vpc_id      = "vpc-0123456789abcdef0"
  subnet_ids  = ["subnet-0123456789abcdef0", "subnet-0123456789abcdef1"]
}

run "no_image_yet" {
  command = apply

  assert {
    condition     = aws_ecs_service.this.desired_count == 0 && output.running == false
    error_message = "no task while there is no image"
  }

  assert {
    condition     = aws_ecr_repository.this.image_tag_mutability == "IMMUTABLE" && aws_ecr_repository.this.image_scanning_configuration[0].scan_on_push
    error_message = "immutable tags, scan on push"
  }

  assert {
    condition     = output.command == tolist(["--to", "kinesis://tradepipe", "--start", "now", "--rate", "100", "--progress", "60"])
    error_message = "the default command"
  }

  assert {
    condition     = aws_ecs_service.this.network_configuration[0].assign_public_ip == false
    error_message = "no public IP"
  }
}

run "with_image" {
  command = apply

  variables {
    image_tag        = "v1"
    rate             = 250
    duration_seconds = 3600
    symbols          = ["AAPL", "MSFT"]
    extra_args       = ["--seed", "7"]
  }

  assert {
    condition     = aws_ecs_service.this.desired_count == 1
    error_message = "one task with an image"
  }

  assert {
    condition     = jsondecode(aws_ecs_task_definition.this.container_definitions)[0].image == "123456789012.dkr.ecr.us-east-1.amazonaws.com/tradepipe/tp-producer:v1"
    error_message = "the image from the repository and the tag"
  }

  assert {
    condition = jsondecode(aws_ecs_task_definition.this.container_definitions)[0].command == [
      "--to", "kinesis://tradepipe", "--start", "now", "--rate", "250", "--progress", "60",
      "--duration", "3600", "--symbols", "AAPL,MSFT", "--seed", "7",
    ]
    error_message = "the command built from the variables"
  }

  assert {
    condition     = !contains(keys(jsondecode(aws_ecs_task_definition.this.container_definitions)[0]), "entryPoint")
    error_message = "the image's entry point by default"
  }
}
