output "stream_name" {
  description = "Name of the Kinesis data stream (tp-producer --to kinesis://NAME)."
  value       = aws_kinesis_stream.this.name
}

output "stream_arn" {
  description = "ARN of the Kinesis data stream."
  value       = aws_kinesis_stream.this.arn
}

output "stream_kms_key_arn" {
  description = "ARN of the customer managed key encrypting the stream, or null for the AWS managed key (then no role needs a KMS grant)."
  value       = var.kms_key_arn
}

output "firehose_name" {
  description = "Name of the Firehose delivery stream."
  value       = aws_kinesis_firehose_delivery_stream.raw.name
}

output "firehose_arn" {
  description = "ARN of the Firehose delivery stream."
  value       = aws_kinesis_firehose_delivery_stream.raw.arn
}

output "firehose_role_arn" {
  description = "ARN of the role Firehose assumes."
  value       = aws_iam_role.firehose.arn
}

output "bucket_name" {
  description = "Name of the data bucket."
  value       = aws_s3_bucket.data.bucket
}

output "bucket_arn" {
  description = "ARN of the data bucket."
  value       = aws_s3_bucket.data.arn
}

output "raw_data_prefix" {
  description = "Key prefix of the Firehose objects (raw-data/YYYY/MM/DD/HH/...gz)."
  value       = "raw-data/"
}
