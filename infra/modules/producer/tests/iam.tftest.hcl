# The roles' policies as the real provider renders them: aws_iam_policy_document
# is computed locally (fake credentials), and every resource is overridden,
# so the apply calls no AWS API.

provider "aws" {
  region                      = "us-east-1"
  access_key                  = "test"
  secret_key                  = "test"
  skip_credentials_validation = true
  skip_requesting_account_id  = true
  skip_metadata_api_check     = true
  skip_region_validation      = true
}

override_data {
  target = data.aws_caller_identity.current
  values = { account_id = "123456789012" }
}

override_data {
  target = data.aws_region.current
  values = { name = "us-east-1" }
}

override_resource {
  target = aws_ecr_repository.this
  values = {
    arn            = "arn:aws:ecr:us-east-1:123456789012:repository/tradepipe/tp-producer"
    repository_url = "123456789012.dkr.ecr.us-east-1.amazonaws.com/tradepipe/tp-producer"
  }
}

override_resource {
  target = aws_cloudwatch_log_group.this
  values = { arn = "arn:aws:logs:us-east-1:123456789012:log-group:/ecs/tradepipe/tp-producer" }
}

override_resource {
  target = aws_iam_role.execution
  values = { arn = "arn:aws:iam::123456789012:role/tradepipe-producer-execution" }
}

override_resource {
  target = aws_iam_role.task
  values = { arn = "arn:aws:iam::123456789012:role/tradepipe-producer-task" }
}

override_resource {
  target = aws_ecr_lifecycle_policy.this
}

override_resource {
  target = aws_ecs_cluster.this
}

override_resource {
  target = aws_iam_role_policy.execution
}

override_resource {
  target = aws_iam_role_policy.task
}

override_resource {
  target = aws_security_group.tasks
}

override_resource {
  target = aws_vpc_security_group_egress_rule.tasks_https
}

override_resource {
  target = aws_ecs_task_definition.this
}

override_resource {
  target = aws_ecs_service.this
}

variables {
  stream_name = "tradepipe"
  stream_arn  = "arn:aws:kinesis:us-east-1:123456789012:stream/tradepipe"
  vpc_id      = "vpc-0123456789abcdef0"
  subnet_ids  = ["subnet-0123456789abcdef0"]
}

run "least_privilege" {
  command = apply

  assert {
    condition = jsonencode({
      for s in jsondecode(data.aws_iam_policy_document.task.json).Statement :
      s.Sid => { actions = sort(flatten([s.Action])), resources = flatten([s.Resource]) }
      }) == jsonencode({
      PutToTheStream = {
        actions   = ["kinesis:DescribeStreamSummary", "kinesis:ListShards", "kinesis:PutRecords"]
        resources = ["arn:aws:kinesis:us-east-1:123456789012:stream/tradepipe"]
      }
    })
    error_message = "task role: three Kinesis actions on the stream, nothing else"
  }

  assert {
    condition = jsonencode({
      for s in jsondecode(data.aws_iam_policy_document.execution.json).Statement :
      s.Sid => { actions = sort(flatten([s.Action])), resources = flatten([s.Resource]) }
      }) == jsonencode({
      EcrAuthToken = { actions = ["ecr:GetAuthorizationToken"], resources = ["*"] }
      PullTheImage = {
        actions   = ["ecr:BatchCheckLayerAvailability", "ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer"]
        resources = ["arn:aws:ecr:us-east-1:123456789012:repository/tradepipe/tp-producer"]
      }
      WriteTheLogs = {
        actions   = ["logs:CreateLogStream", "logs:PutLogEvents"]
        resources = ["arn:aws:logs:us-east-1:123456789012:log-group:/ecs/tradepipe/tp-producer:log-stream:*"]
      }
    })
    error_message = "execution role: ECR pull and logs; \"*\" only for GetAuthorizationToken"
  }
}
