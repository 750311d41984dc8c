# Offline: a mocked AWS provider (Terraform 1.7+), `terraform test` in
# infra/modules/consumer. package_zip only has to exist here: main.tf does.

mock_provider "aws" {
  override_data {
    target = data.aws_iam_policy_document.assume
    values = { json = "{\"Version\":\"2012-10-17\",\"Statement\":[]}" }
  }

  override_data {
    target = data.aws_iam_policy_document.this
    values = { json = "{\"Version\":\"2012-10-17\",\"Statement\":[]}" }
  }

  mock_resource "aws_iam_role" {
    defaults = { arn = "arn:aws:iam::123456789012:role/tradepipe-consumer" }
  }

  mock_resource "aws_lambda_function" {
    defaults = { arn = "arn:aws:lambda:us-east-1:123456789012:function:tradepipe-consumer" }
  }

  mock_resource "aws_sqs_queue" {
    defaults = { arn = "arn:aws:sqs:us-east-1:123456789012:tradepipe-consumer-failures" }
  }

  mock_resource "aws_dynamodb_table" {
    defaults = { arn = "arn:aws:dynamodb:us-east-1:123456789012:table/tradepipe-positions" }
  }

  mock_resource "aws_cloudwatch_log_group" {
    defaults = { arn = "arn:aws:logs:us-east-1:123456789012:log-group:/aws/lambda/tradepipe-consumer" }
  }
}

variables {
  stream_arn  = "arn:aws:kinesis:us-east-1:123456789012:stream/tradepipe"
  bucket_name = "tradepipe-data"
  bucket_arn  = "arn:aws:s3:::tradepipe-data"
  package_zip = "main.tf"
}

run "defaults" {
  command = apply

  assert {
    condition     = aws_lambda_function.this.runtime == "provided.al2023" && aws_lambda_function.this.handler == "bootstrap"
    error_message = "a provided.al2023 custom runtime"
  }

  assert {
    condition = aws_lambda_function.this.environment[0].variables == tomap({
      DYNAMODB_TABLE = "tradepipe-positions"
      STATE_TABLE    = "tradepipe-positions-shards"
      S3_BUCKET      = "tradepipe-data"
    })
    error_message = "the environment the bootstrap reads, no S3_PREFIX"
  }

  assert {
    condition = (
      aws_lambda_event_source_mapping.kinesis.parallelization_factor == 1 &&
      aws_lambda_event_source_mapping.kinesis.bisect_batch_on_function_error &&
      tolist(aws_lambda_event_source_mapping.kinesis.function_response_types) == tolist(["ReportBatchItemFailures"]) &&
      aws_lambda_event_source_mapping.kinesis.maximum_retry_attempts == 10 &&
      aws_lambda_event_source_mapping.kinesis.destination_config[0].on_failure[0].destination_arn == aws_sqs_queue.failures.arn
    )
    error_message = "the mapping's settings"
  }

  assert {
    condition = (
      aws_dynamodb_table.positions.hash_key == "symbol" && aws_dynamodb_table.state.hash_key == "shard" &&
      aws_dynamodb_table.positions.billing_mode == "PAY_PER_REQUEST" &&
      aws_dynamodb_table.state.point_in_time_recovery[0].enabled &&
      aws_dynamodb_table.state.server_side_encryption[0].enabled
    )
    error_message = "the tables"
  }

  assert {
    condition     = output.trades_key_prefix == "completed-trades/"
    error_message = "trades at the root by default"
  }
}

run "prefix_and_engine" {
  command = apply

  variables {
    trades_prefix   = "/live/"
    engine_settings = { TP_DROP_PCT = "3" }
  }

  assert {
    condition     = aws_lambda_function.this.environment[0].variables["S3_PREFIX"] == "live" && aws_lambda_function.this.environment[0].variables["TP_DROP_PCT"] == "3"
    error_message = "S3_PREFIX without slashes, engine settings passed"
  }

  assert {
    condition     = output.trades_key_prefix == "live/completed-trades/"
    error_message = "the trades' key prefix"
  }
}

run "unknown_engine_setting" {
  command = plan

  variables {
    engine_settings = { TP_DROP = "3" }
  }

  expect_failures = [var.engine_settings]
}

run "missing_package" {
  command = plan

  variables {
    package_zip = "no-such.zip"
  }

  expect_failures = [aws_lambda_function.this]
}
