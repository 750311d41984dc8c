# Offline: a mocked AWS provider (Terraform 1.7+), `terraform test` in
# infra/modules/streaming.

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
    target = data.aws_iam_policy_document.firehose_assume
    values = { json = "{\"Version\":\"2012-10-17\",\"Statement\":[]}" }
  }

  override_data {
    target = data.aws_iam_policy_document.firehose
    values = { json = "{\"Version\":\"2012-10-17\",\"Statement\":[]}" }
  }

  override_data {
    target = data.aws_iam_policy_document.bucket
    values = { json = "{\"Version\":\"2012-10-17\",\"Statement\":[]}" }
  }

  mock_resource "aws_kinesis_stream" {
    defaults = { arn = "arn:aws:kinesis:us-east-1:123456789012:stream/tradepipe" }
  }

  mock_resource "aws_s3_bucket" {
    defaults = { arn = "arn:aws:s3:::tradepipe-data-123456789012-us-east-1" }
  }

  mock_resource "aws_iam_role" {
    defaults = { arn = "arn:aws:iam::123456789012:role/tradepipe-raw-firehose" }
  }

  mock_resource "aws_cloudwatch_log_group" {
    defaults = { arn = "arn:aws:logs:us-east-1:123456789012:log-group:/aws/kinesisfirehose/tradepipe-raw" }
  }
}

run "defaults" {
  command = apply

  assert {
    condition     = aws_kinesis_stream.this.stream_mode_details[0].stream_mode == "ON_DEMAND" && aws_kinesis_stream.this.shard_count == null
    error_message = "an on-demand stream by default, no shard count"
  }

  assert {
    condition     = aws_kinesis_stream.this.encryption_type == "KMS" && aws_kinesis_stream.this.kms_key_id == "alias/aws/kinesis"
    error_message = "encrypted with the AWS managed key"
  }

  assert {
    condition     = aws_s3_bucket.data.bucket == "tradepipe-data-123456789012-us-east-1"
    error_message = "default bucket name"
  }

  assert {
    condition = (
      aws_kinesis_firehose_delivery_stream.raw.extended_s3_configuration[0].prefix == "raw-data/!{timestamp:yyyy/MM/dd/HH}/" &&
      aws_kinesis_firehose_delivery_stream.raw.extended_s3_configuration[0].error_output_prefix == "errors/!{firehose:error-output-type}/!{timestamp:yyyy/MM/dd}/" &&
      aws_kinesis_firehose_delivery_stream.raw.extended_s3_configuration[0].compression_format == "GZIP"
    )
    error_message = "Firehose prefixes and GZIP"
  }

  assert {
    condition     = aws_kinesis_firehose_delivery_stream.raw.extended_s3_configuration[0].processing_configuration[0].processors[0].type == "AppendDelimiterToRecord"
    error_message = "newline-delimited records by default"
  }

  assert {
    condition     = [for r in aws_s3_bucket_lifecycle_configuration.data.rule : r.id] == ["raw-data", "errors", "noncurrent-versions"]
    error_message = "lifecycle rules"
  }

  assert {
    condition     = aws_s3_bucket_public_access_block.data.block_public_acls && aws_s3_bucket_public_access_block.data.restrict_public_buckets
    error_message = "public access blocked"
  }
}

run "provisioned" {
  command = plan

  variables {
    stream_mode       = "PROVISIONED"
    shard_count       = 3
    newline_delimited = false
    bucket_name       = "my-bucket"
  }

  assert {
    condition     = aws_kinesis_stream.this.shard_count == 3
    error_message = "provisioned shards"
  }

  assert {
    condition     = length(aws_kinesis_firehose_delivery_stream.raw.extended_s3_configuration[0].processing_configuration[0].processors) == 0
    error_message = "no processor without newline_delimited"
  }
}

run "ia_minimum" {
  command = plan

  variables {
    raw_data_ia_days = 7
  }

  expect_failures = [var.raw_data_ia_days]
}
