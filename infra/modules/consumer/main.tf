locals {
  function_name  = "${var.name}-consumer"
  positions_name = coalesce(var.positions_table_name, "${var.name}-positions")
  state_name     = coalesce(var.state_table_name, "${local.positions_name}-shards")
  trades_prefix  = trim(var.trades_prefix, "/")
  # The trade archive writes PREFIX/completed-trades/SYMBOL/KEY.json.
  trades_keys = local.trades_prefix == "" ? "completed-trades/" : "${local.trades_prefix}/completed-trades/"

  environment = merge(
    var.engine_settings,
    {
      DYNAMODB_TABLE = aws_dynamodb_table.positions.name
      STATE_TABLE    = aws_dynamodb_table.state.name
      S3_BUCKET      = var.bucket_name
    },
    { for k, v in { S3_PREFIX = local.trades_prefix } : k => v if v != "" },
  )

  tags = merge(var.tags, { Module = "tradepipe/consumer" })
}

# DynamoDB: positions (one item per symbol, written when it changes, on
# condition of the last applied shard and sequence) and shard state (one item
# per shard: its engine state and last applied sequence).

resource "aws_dynamodb_table" "positions" {
  name                        = local.positions_name
  billing_mode                = "PAY_PER_REQUEST"
  hash_key                    = "symbol"
  deletion_protection_enabled = var.deletion_protection

  attribute {
    name = "symbol"
    type = "S"
  }

  point_in_time_recovery {
    enabled = true
  }

  server_side_encryption {
    enabled = true # the AWS managed key aws/dynamodb
  }

  tags = local.tags
}

resource "aws_dynamodb_table" "state" {
  name                        = local.state_name
  billing_mode                = "PAY_PER_REQUEST"
  hash_key                    = "shard"
  deletion_protection_enabled = var.deletion_protection

  attribute {
    name = "shard"
    type = "S"
  }

  point_in_time_recovery {
    enabled = true
  }

  server_side_encryption {
    enabled = true
  }

  tags = local.tags
}

# Where the mapping sends the description of a batch that failed for good
# (its shard and sequence range, not the records: read them from the stream
# while it keeps them).
resource "aws_sqs_queue" "failures" {
  name                      = "${local.function_name}-failures"
  message_retention_seconds = var.failure_queue_retention_seconds
  sqs_managed_sse_enabled   = true

  tags = local.tags
}

resource "aws_cloudwatch_log_group" "this" {
  name              = "/aws/lambda/${local.function_name}"
  retention_in_days = var.log_retention_days

  tags = local.tags
}

data "aws_iam_policy_document" "assume" {
  statement {
    actions = ["sts:AssumeRole"]

    principals {
      type        = "Service"
      identifiers = ["lambda.amazonaws.com"]
    }
  }
}

resource "aws_iam_role" "this" {
  name               = local.function_name
  assume_role_policy = data.aws_iam_policy_document.assume.json

  tags = local.tags
}

data "aws_iam_policy_document" "this" {
  statement {
    sid = "Logs"
    actions = [
      "logs:CreateLogStream",
      "logs:PutLogEvents",
    ]
    resources = ["${aws_cloudwatch_log_group.this.arn}:log-stream:*"]
  }

  # What the event source mapping calls with the function's role.
  statement {
    sid = "ReadTheStream"
    actions = [
      "kinesis:DescribeStream",
      "kinesis:DescribeStreamSummary",
      "kinesis:GetRecords",
      "kinesis:GetShardIterator",
      "kinesis:ListShards",
    ]
    resources = [var.stream_arn]
  }

  # What the bootstrap calls: DescribeTable (open), GetItem (the shard's
  # state, read consistently; a symbol's position), PutItem (positions and
  # state, conditional). It creates no table and never scans.
  statement {
    sid = "PositionsAndShardState"
    actions = [
      "dynamodb:DescribeTable",
      "dynamodb:GetItem",
      "dynamodb:PutItem",
    ]
    resources = [
      aws_dynamodb_table.positions.arn,
      aws_dynamodb_table.state.arn,
    ]
  }

  # Completed trades only. (No s3:ListBucket: the archive's HeadBucket then
  # answers 403, which it takes as "allowed to write, not to list".)
  statement {
    sid       = "WriteCompletedTrades"
    actions   = ["s3:PutObject"]
    resources = ["${var.bucket_arn}/${local.trades_keys}*"]
  }

  statement {
    sid       = "OnFailureDestination"
    actions   = ["sqs:SendMessage"]
    resources = [aws_sqs_queue.failures.arn]
  }

  dynamic "statement" {
    for_each = var.stream_kms_key_arn == null ? [] : [var.stream_kms_key_arn]
    content {
      sid       = "DecryptTheStream"
      actions   = ["kms:Decrypt"]
      resources = [statement.value]
    }
  }
}

resource "aws_iam_role_policy" "this" {
  name   = "consumer"
  role   = aws_iam_role.this.id
  policy = data.aws_iam_policy_document.this.json
}

resource "aws_lambda_function" "this" {
  function_name = local.function_name
  description   = "libtradepipe consumer: Kinesis batches through the signal engine, positions in DynamoDB, trades in S3"
  role          = aws_iam_role.this.arn
  runtime       = "provided.al2023"
  handler       = "bootstrap" # unused by a custom runtime, but required
  architectures = [var.architecture]
  filename      = var.package_zip
  # try(): a destroy needs no package, and must not fail for want of one.
  source_code_hash = try(filebase64sha256(var.package_zip), null)
  memory_size      = var.memory_size
  timeout          = var.timeout_seconds

  reserved_concurrent_executions = var.reserved_concurrency

  environment {
    variables = local.environment
  }

  tags = local.tags

  depends_on = [aws_cloudwatch_log_group.this, aws_iam_role_policy.this]

  lifecycle {
    precondition {
      condition     = fileexists(var.package_zip)
      error_message = "package_zip: no file at ${var.package_zip} (build it with infra/packaging/lambda-zip.sh BUILD_DIR OUT.zip)."
    }
  }
}

resource "aws_lambda_event_source_mapping" "kinesis" {
  event_source_arn  = var.stream_arn
  function_name     = aws_lambda_function.this.arn
  starting_position = var.starting_position

  batch_size                         = var.batch_size
  maximum_batching_window_in_seconds = var.maximum_batching_window_in_seconds
  # 1: the shard's state item orders the whole shard (see the variable).
  parallelization_factor         = var.parallelization_factor
  bisect_batch_on_function_error = var.bisect_batch_on_function_error
  maximum_retry_attempts         = var.maximum_retry_attempts
  maximum_record_age_in_seconds  = var.maximum_record_age_in_seconds
  # Required by the bootstrap: it names the first record whose effects are not
  # durable, and Lambda retries from there instead of dropping what follows.
  function_response_types = ["ReportBatchItemFailures"]

  destination_config {
    on_failure {
      destination_arn = aws_sqs_queue.failures.arn
    }
  }

  depends_on = [aws_iam_role_policy.this]
}
