data "aws_caller_identity" "current" {}

data "aws_region" "current" {}

locals {
  account_id    = data.aws_caller_identity.current.account_id
  region        = data.aws_region.current.name
  bucket_name   = coalesce(var.bucket_name, "${var.name}-data-${local.account_id}-${local.region}")
  firehose_name = "${var.name}-raw"
  log_group     = "/aws/kinesisfirehose/${local.firehose_name}"
  log_stream    = "S3Delivery"

  tags = merge(var.tags, { Module = "tradepipe/streaming" })
}

# The stream. Partition key = symbol (tp-producer), so one symbol's ticks stay
# in order in one shard.

resource "aws_kinesis_stream" "this" {
  name             = var.name
  shard_count      = var.stream_mode == "PROVISIONED" ? var.shard_count : null
  retention_period = var.retention_hours
  encryption_type  = "KMS"
  kms_key_id       = coalesce(var.kms_key_arn, "alias/aws/kinesis")

  stream_mode_details {
    stream_mode = var.stream_mode
  }

  tags = local.tags
}

# The bucket: raw-data/ (Firehose), errors/ (Firehose's failures),
# completed-trades/ (the consumer).

resource "aws_s3_bucket" "data" {
  bucket        = local.bucket_name
  force_destroy = var.force_destroy

  tags = local.tags
}

resource "aws_s3_bucket_ownership_controls" "data" {
  bucket = aws_s3_bucket.data.id

  rule {
    object_ownership = "BucketOwnerEnforced" # no ACLs: the bucket policy and IAM decide
  }
}

resource "aws_s3_bucket_public_access_block" "data" {
  bucket = aws_s3_bucket.data.id

  block_public_acls       = true
  block_public_policy     = true
  ignore_public_acls      = true
  restrict_public_buckets = true
}

resource "aws_s3_bucket_server_side_encryption_configuration" "data" {
  bucket = aws_s3_bucket.data.id

  rule {
    apply_server_side_encryption_by_default {
      sse_algorithm = "AES256"
    }
    bucket_key_enabled = true
  }
}

resource "aws_s3_bucket_versioning" "data" {
  bucket = aws_s3_bucket.data.id

  versioning_configuration {
    status = "Enabled"
  }
}

resource "aws_s3_bucket_lifecycle_configuration" "data" {
  bucket = aws_s3_bucket.data.id

  rule {
    id     = "raw-data"
    status = "Enabled"

    filter {
      prefix = "raw-data/"
    }

    transition {
      days          = var.raw_data_ia_days
      storage_class = "STANDARD_IA"
    }

    dynamic "expiration" {
      for_each = var.raw_data_expire_days > 0 ? [var.raw_data_expire_days] : []
      content {
        days = expiration.value
      }
    }
  }

  rule {
    id     = "errors"
    status = "Enabled"

    filter {
      prefix = "errors/"
    }

    expiration {
      days = var.errors_expire_days
    }
  }

  rule {
    id     = "noncurrent-versions"
    status = "Enabled"

    filter {}

    noncurrent_version_expiration {
      noncurrent_days = var.noncurrent_version_expire_days
    }

    abort_incomplete_multipart_upload {
      days_after_initiation = 7
    }
  }

  # Lifecycle rules act on versions: versioning must be configured first.
  depends_on = [aws_s3_bucket_versioning.data]
}

data "aws_iam_policy_document" "bucket" {
  statement {
    sid     = "DenyInsecureTransport"
    effect  = "Deny"
    actions = ["s3:*"] # a Deny: it may cover every action
    resources = [
      aws_s3_bucket.data.arn,
      "${aws_s3_bucket.data.arn}/*",
    ]

    principals {
      type        = "*"
      identifiers = ["*"]
    }

    condition {
      test     = "Bool"
      variable = "aws:SecureTransport"
      values   = ["false"]
    }
  }
}

resource "aws_s3_bucket_policy" "data" {
  bucket = aws_s3_bucket.data.id
  policy = data.aws_iam_policy_document.bucket.json

  depends_on = [aws_s3_bucket_public_access_block.data]
}

# Firehose: the stream to raw-data/YYYY/MM/DD/HH/ (UTC arrival time), gzip.
# Firehose de-aggregates the producer's KPL records itself.

resource "aws_cloudwatch_log_group" "firehose" {
  name              = local.log_group
  retention_in_days = var.log_retention_days

  tags = local.tags
}

resource "aws_cloudwatch_log_stream" "firehose" {
  name           = local.log_stream
  log_group_name = aws_cloudwatch_log_group.firehose.name
}

data "aws_iam_policy_document" "firehose_assume" {
  statement {
    actions = ["sts:AssumeRole"]

    principals {
      type        = "Service"
      identifiers = ["firehose.amazonaws.com"]
    }

    # Only Firehose acting for this account (confused-deputy guard).
    condition {
      test     = "StringEquals"
      variable = "sts:ExternalId"
      values   = [local.account_id]
    }
  }
}

resource "aws_iam_role" "firehose" {
  name               = "${local.firehose_name}-firehose"
  assume_role_policy = data.aws_iam_policy_document.firehose_assume.json

  tags = local.tags
}

data "aws_iam_policy_document" "firehose" {
  statement {
    sid = "ReadTheStream"
    actions = [
      "kinesis:DescribeStream",
      "kinesis:GetShardIterator",
      "kinesis:GetRecords",
      "kinesis:ListShards",
    ]
    resources = [aws_kinesis_stream.this.arn]
  }

  statement {
    sid = "TheBucket"
    actions = [
      "s3:GetBucketLocation",
      "s3:ListBucket",
    ]
    resources = [aws_s3_bucket.data.arn]
  }

  statement {
    sid = "WriteRawDataAndErrors"
    actions = [
      "s3:PutObject",
      "s3:AbortMultipartUpload",
    ]
    resources = [
      "${aws_s3_bucket.data.arn}/raw-data/*",
      "${aws_s3_bucket.data.arn}/errors/*",
    ]
  }

  statement {
    sid       = "DeliveryErrorLog"
    actions   = ["logs:PutLogEvents"]
    resources = ["${aws_cloudwatch_log_group.firehose.arn}:log-stream:${local.log_stream}"]
  }

  # Only with a customer managed key: the AWS managed key needs no grant.
  dynamic "statement" {
    for_each = var.kms_key_arn == null ? [] : [var.kms_key_arn]
    content {
      sid       = "DecryptTheStream"
      actions   = ["kms:Decrypt"]
      resources = [statement.value]
    }
  }
}

resource "aws_iam_role_policy" "firehose" {
  name   = "firehose"
  role   = aws_iam_role.firehose.id
  policy = data.aws_iam_policy_document.firehose.json
}

resource "aws_kinesis_firehose_delivery_stream" "raw" {
  name        = local.firehose_name
  destination = "extended_s3"

  kinesis_source_configuration {
    kinesis_stream_arn = aws_kinesis_stream.this.arn
    role_arn           = aws_iam_role.firehose.arn
  }

  extended_s3_configuration {
    role_arn            = aws_iam_role.firehose.arn
    bucket_arn          = aws_s3_bucket.data.arn
    prefix              = "raw-data/!{timestamp:yyyy/MM/dd/HH}/"
    error_output_prefix = "errors/!{firehose:error-output-type}/!{timestamp:yyyy/MM/dd}/"
    buffering_size      = var.buffering_size_mb
    buffering_interval  = var.buffering_interval_seconds
    compression_format  = "GZIP"

    # A newline after each record (the processor's default delimiter), for
    # Athena's line-based JSON SerDe.
    processing_configuration {
      enabled = var.newline_delimited

      dynamic "processors" {
        for_each = var.newline_delimited ? ["AppendDelimiterToRecord"] : []
        content {
          type = processors.value
        }
      }
    }

    cloudwatch_logging_options {
      enabled         = true
      log_group_name  = aws_cloudwatch_log_group.firehose.name
      log_stream_name = aws_cloudwatch_log_stream.firehose.name
    }
  }

  tags = local.tags

  # The role must be able to read the stream before Firehose starts.
  depends_on = [aws_iam_role_policy.firehose]
}
