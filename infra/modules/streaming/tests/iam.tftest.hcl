# Firehose's role policy as the real provider renders it: aws_iam_policy_document
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
  target = aws_kinesis_stream.this
  values = { arn = "arn:aws:kinesis:us-east-1:123456789012:stream/tradepipe" }
}

override_resource {
  target = aws_s3_bucket.data
  values = { arn = "arn:aws:s3:::tradepipe-data-123456789012-us-east-1", id = "tradepipe-data-123456789012-us-east-1" }
}

override_resource {
  target = aws_cloudwatch_log_group.firehose
  values = { arn = "arn:aws:logs:us-east-1:123456789012:log-group:/aws/kinesisfirehose/tradepipe-raw", name = "/aws/kinesisfirehose/tradepipe-raw" }
}

override_resource {
  target = aws_iam_role.firehose
  values = { arn = "arn:aws:iam::123456789012:role/tradepipe-raw-firehose" }
}

override_resource {
  target = aws_s3_bucket_ownership_controls.data
}

override_resource {
  target = aws_s3_bucket_public_access_block.data
}

override_resource {
  target = aws_s3_bucket_server_side_encryption_configuration.data
}

override_resource {
  target = aws_s3_bucket_versioning.data
}

override_resource {
  target = aws_s3_bucket_lifecycle_configuration.data
}

override_resource {
  target = aws_s3_bucket_policy.data
}

override_resource {
  target = aws_cloudwatch_log_stream.firehose
}

override_resource {
  target = aws_iam_role_policy.firehose
}

override_resource {
  target = aws_kinesis_firehose_delivery_stream.raw
}

run "least_privilege" {
  command = apply

  assert {
    condition = jsonencode({
      for s in jsondecode(data.aws_iam_policy_document.firehose.json).Statement :
      s.Sid => { actions = sort(flatten([s.Action])), resources = sort(flatten([s.Resource])) }
      }) == jsonencode({
      ReadTheStream = {
        actions   = ["kinesis:DescribeStream", "kinesis:GetRecords", "kinesis:GetShardIterator", "kinesis:ListShards"]
        resources = ["arn:aws:kinesis:us-east-1:123456789012:stream/tradepipe"]
      }
      TheBucket = {
        actions   = ["s3:GetBucketLocation", "s3:ListBucket"]
        resources = ["arn:aws:s3:::tradepipe-data-123456789012-us-east-1"]
      }
      WriteRawDataAndErrors = {
        actions = ["s3:AbortMultipartUpload", "s3:PutObject"]
        resources = [
          "arn:aws:s3:::tradepipe-data-123456789012-us-east-1/errors/*",
          "arn:aws:s3:::tradepipe-data-123456789012-us-east-1/raw-data/*",
        ]
      }
      DeliveryErrorLog = {
        actions   = ["logs:PutLogEvents"]
        resources = ["arn:aws:logs:us-east-1:123456789012:log-group:/aws/kinesisfirehose/tradepipe-raw:log-stream:S3Delivery"]
      }
    })
    error_message = "Firehose: read the stream, write raw-data/ and errors/, its log stream; nothing else"
  }

  assert {
    condition     = jsondecode(data.aws_iam_policy_document.firehose_assume.json).Statement[0].Condition.StringEquals["sts:ExternalId"] == "123456789012"
    error_message = "Firehose assumes the role for this account only"
  }
}
