output "stream_name" {
  description = "Kinesis data stream (kinesis://NAME)."
  value       = module.streaming.stream_name
}

output "stream_arn" {
  description = "ARN of the stream."
  value       = module.streaming.stream_arn
}

output "stream_kms_key_arn" {
  description = "Customer managed key of the stream, or null."
  value       = module.streaming.stream_kms_key_arn
}

output "firehose_name" {
  description = "Firehose delivery stream."
  value       = module.streaming.firehose_name
}

output "bucket_name" {
  description = "Data bucket (raw-data/, completed-trades/)."
  value       = module.streaming.bucket_name
}

output "bucket_arn" {
  description = "ARN of the data bucket."
  value       = module.streaming.bucket_arn
}

output "raw_data_prefix" {
  description = "Prefix of the Firehose objects."
  value       = module.streaming.raw_data_prefix
}
