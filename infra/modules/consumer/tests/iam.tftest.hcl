# The role's policy as the real provider renders it: aws_iam_policy_document
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

variables {
  stream_arn    = "arn:aws:kinesis:us-east-1:123456789012:stream/tradepipe"
  bucket_name   = "tradepipe-data"
  bucket_arn    = "arn:aws:s3:::tradepipe-data"
  package_zip   = "main.tf"
  trades_prefix = "live"
}

run "least_privilege" {
  command = apply

  override_resource {
    target = aws_dynamodb_table.positions
    values = { arn = "arn:aws:dynamodb:us-east-1:123456789012:table/tradepipe-positions" }
  }

  override_resource {
    target = aws_dynamodb_table.state
    values = { arn = "arn:aws:dynamodb:us-east-1:123456789012:table/tradepipe-positions-shards" }
  }

  override_resource {
    target = aws_sqs_queue.failures
    values = { arn = "arn:aws:sqs:us-east-1:123456789012:tradepipe-consumer-failures" }
  }

  override_resource {
    target = aws_cloudwatch_log_group.this
    values = { arn = "arn:aws:logs:us-east-1:123456789012:log-group:/aws/lambda/tradepipe-consumer" }
  }


  override_resource {
    target = aws_iam_role.this
    values = { arn = "arn:aws:iam::123456789012:role/tradepipe-consumer" }
  }

  override_resource {
    target = aws_iam_role_policy.this
  }

  override_resource {
    target = aws_lambda_function.this
    values = { arn = "arn:aws:lambda:us-east-1:123456789012:function:tradepipe-consumer" }
  }

  override_resource {
    target = aws_lambda_event_source_mapping.kinesis
  }

  assert {
    condition = jsonencode({
      for s in jsondecode(data.aws_iam_policy_document.this.json).Statement :
      s.Sid => sort(flatten([s.Action]))
      }) == jsonencode({
      Logs                   = ["logs:CreateLogStream", "logs:PutLogEvents"]
      ReadTheStream          = ["kinesis:DescribeStream", "kinesis:DescribeStreamSummary", "kinesis:GetRecords", "kinesis:GetShardIterator", "kinesis:ListShards"]
      PositionsAndShardState = ["dynamodb:DescribeTable", "dynamodb:GetItem", "dynamodb:PutItem"]
      WriteCompletedTrades   = ["s3:PutObject"]
      OnFailureDestination   = ["sqs:SendMessage"]
    })
    error_message = "the role's actions, and nothing else"
  }

  assert {
    condition = alltrue([
      for s in jsondecode(data.aws_iam_policy_document.this.json).Statement :
      alltrue([for r in flatten([s.Resource]) : startswith(r, "arn:aws:")])
    ])
    error_message = "every statement scoped to ARNs"
  }

  assert {
    condition = [
      for s in jsondecode(data.aws_iam_policy_document.this.json).Statement : s.Resource if s.Sid == "WriteCompletedTrades"
    ][0] == "arn:aws:s3:::tradepipe-data/live/completed-trades/*"
    error_message = "trades: PutObject under PREFIX/completed-trades/ only"
  }
}
