data "aws_caller_identity" "current" {}

data "aws_region" "current" {}

locals {
  account_id = data.aws_caller_identity.current.account_id
  region     = data.aws_region.current.name
  container  = "tp-producer"
  has_image  = var.image != null || var.image_tag != ""
  image      = coalesce(var.image, "${aws_ecr_repository.this.repository_url}:${var.image_tag != "" ? var.image_tag : "unset"}")

  # tp-producer --to kinesis://STREAM: KPL aggregation, shard-aware batching
  # and rate limits, retries. --start now: live timestamps rather than the
  # fixed reproducible start. No --shards: the stream exists (an on-demand
  # stream's shard count varies).
  built_command = concat(
    ["--to", "kinesis://${var.stream_name}", "--start", "now", "--rate", tostring(var.rate), "--progress", "60"],
    var.duration_seconds > 0 ? ["--duration", tostring(var.duration_seconds)] : [],
    length(var.symbols) > 0 ? ["--symbols", join(",", var.symbols)] : [],
    var.extra_args,
  )
  command = var.command != null ? var.command : local.built_command

  container_definition = merge(
    {
      name                   = local.container
      image                  = local.image
      essential              = true
      command                = local.command
      readonlyRootFilesystem = true
      # SIGTERM: tp-producer puts what is batched and waits for every record
      # (at most its 30 s time-to-live) before it exits.
      stopTimeout = 45
      environment = [
        { name = "AWS_REGION", value = local.region },
      ]
      logConfiguration = {
        logDriver = "awslogs"
        options = {
          awslogs-group         = aws_cloudwatch_log_group.this.name
          awslogs-region        = local.region
          awslogs-stream-prefix = "producer"
        }
      }
    },
    # entryPoint only when given: the image's ENTRYPOINT otherwise.
    { for k, v in { entryPoint = var.entry_point } : k => v if v != null },
  )

  tags = merge(var.tags, { Module = "tradepipe/producer" })
}

resource "aws_ecr_repository" "this" {
  name                 = "${var.name}/tp-producer"
  image_tag_mutability = "IMMUTABLE"
  force_delete         = var.force_delete

  image_scanning_configuration {
    scan_on_push = true
  }

  encryption_configuration {
    encryption_type = "AES256"
  }

  tags = local.tags
}

resource "aws_ecr_lifecycle_policy" "this" {
  repository = aws_ecr_repository.this.name
  policy = jsonencode({
    rules = [{
      rulePriority = 1
      description  = "Keep the last ${var.ecr_keep_images} images"
      selection = {
        tagStatus   = "any"
        countType   = "imageCountMoreThan"
        countNumber = var.ecr_keep_images
      }
      action = { type = "expire" }
    }]
  })
}

resource "aws_cloudwatch_log_group" "this" {
  name              = "/ecs/${var.name}/tp-producer"
  retention_in_days = var.log_retention_days

  tags = local.tags
}

resource "aws_ecs_cluster" "this" {
  name = var.name

  setting {
    name  = "containerInsights"
    value = var.container_insights ? "enabled" : "disabled"
  }

  tags = local.tags
}

# Roles. Both are assumed by ECS tasks of this account only.

data "aws_iam_policy_document" "tasks_assume" {
  statement {
    actions = ["sts:AssumeRole"]

    principals {
      type        = "Service"
      identifiers = ["ecs-tasks.amazonaws.com"]
    }

    condition {
      test     = "StringEquals"
      variable = "aws:SourceAccount"
      values   = [local.account_id]
    }
  }
}

# Execution role: what ECS itself needs to start the task (pull the image,
# create the log stream).
resource "aws_iam_role" "execution" {
  name               = "${var.name}-producer-execution"
  assume_role_policy = data.aws_iam_policy_document.tasks_assume.json

  tags = local.tags
}

data "aws_iam_policy_document" "execution" {
  statement {
    sid = "EcrAuthToken"
    # GetAuthorizationToken has no resource-level permissions: AWS requires "*".
    actions   = ["ecr:GetAuthorizationToken"]
    resources = ["*"]
  }

  statement {
    sid = "PullTheImage"
    actions = [
      "ecr:BatchCheckLayerAvailability",
      "ecr:BatchGetImage",
      "ecr:GetDownloadUrlForLayer",
    ]
    resources = [aws_ecr_repository.this.arn]
  }

  statement {
    sid = "WriteTheLogs"
    actions = [
      "logs:CreateLogStream",
      "logs:PutLogEvents",
    ]
    resources = ["${aws_cloudwatch_log_group.this.arn}:log-stream:*"]
  }
}

resource "aws_iam_role_policy" "execution" {
  name   = "execution"
  role   = aws_iam_role.execution.id
  policy = data.aws_iam_policy_document.execution.json
}

# Task role: what tp-producer calls. DescribeStreamSummary (the stream exists,
# its limits), ListShards (the shard map for KPL aggregation and per-shard
# rate limits), PutRecords (the batches). Nothing else.
resource "aws_iam_role" "task" {
  name               = "${var.name}-producer-task"
  assume_role_policy = data.aws_iam_policy_document.tasks_assume.json

  tags = local.tags
}

data "aws_iam_policy_document" "task" {
  statement {
    sid = "PutToTheStream"
    actions = [
      "kinesis:DescribeStreamSummary",
      "kinesis:ListShards",
      "kinesis:PutRecords",
    ]
    resources = [var.stream_arn]
  }

  dynamic "statement" {
    for_each = var.stream_kms_key_arn == null ? [] : [var.stream_kms_key_arn]
    content {
      sid       = "EncryptForTheStream"
      actions   = ["kms:GenerateDataKey"]
      resources = [statement.value]
    }
  }
}

resource "aws_iam_role_policy" "task" {
  name   = "task"
  role   = aws_iam_role.task.id
  policy = data.aws_iam_policy_document.task.json
}

resource "aws_security_group" "tasks" {
  name        = "${var.name}-producer"
  description = "tp-producer tasks: no inbound, HTTPS out to the AWS APIs"
  vpc_id      = var.vpc_id

  tags = merge(local.tags, { Name = "${var.name}-producer" })
}

resource "aws_vpc_security_group_egress_rule" "tasks_https" {
  security_group_id = aws_security_group.tasks.id
  description       = "HTTPS to AWS APIs (VPC endpoints, S3 gateway endpoint, or NAT)"
  ip_protocol       = "tcp"
  from_port         = 443
  to_port           = 443
  cidr_ipv4         = "0.0.0.0/0"
}

resource "aws_ecs_task_definition" "this" {
  family                   = "${var.name}-producer"
  requires_compatibilities = ["FARGATE"]
  network_mode             = "awsvpc"
  cpu                      = var.cpu
  memory                   = var.memory
  execution_role_arn       = aws_iam_role.execution.arn
  task_role_arn            = aws_iam_role.task.arn

  runtime_platform {
    operating_system_family = "LINUX"
    cpu_architecture        = var.cpu_architecture
  }

  container_definitions = jsonencode([local.container_definition])

  tags = local.tags
}

resource "aws_ecs_service" "this" {
  name            = "${var.name}-producer"
  cluster         = aws_ecs_cluster.this.id
  task_definition = aws_ecs_task_definition.this.arn
  launch_type     = "FARGATE"
  # No image yet: keep the service but run nothing.
  desired_count = local.has_image ? var.desired_count : 0

  # Replace tasks one for one, never two generations at once.
  deployment_minimum_healthy_percent = 0
  deployment_maximum_percent         = 100

  deployment_circuit_breaker {
    enable   = true
    rollback = true
  }

  network_configuration {
    subnets          = var.subnet_ids
    security_groups  = [aws_security_group.tasks.id]
    assign_public_ip = false
  }

  propagate_tags = "SERVICE"

  tags = local.tags

  depends_on = [aws_iam_role_policy.execution, aws_iam_role_policy.task]
}
