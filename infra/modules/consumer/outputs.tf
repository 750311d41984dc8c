output "function_name" {
  description = "Name of the consumer Lambda function."
  value       = aws_lambda_function.this.function_name
}

output "function_arn" {
  description = "ARN of the consumer Lambda function."
  value       = aws_lambda_function.this.arn
}

output "role_arn" {
  description = "ARN of the function's execution role."
  value       = aws_iam_role.this.arn
}

output "log_group_name" {
  description = "Log group of the function (diagnostics on stderr, EMF metric lines on stdout)."
  value       = aws_cloudwatch_log_group.this.name
}

output "event_source_mapping_uuid" {
  description = "UUID of the Kinesis event source mapping."
  value       = aws_lambda_event_source_mapping.kinesis.uuid
}

output "positions_table_name" {
  description = "Name of the positions table (key symbol)."
  value       = aws_dynamodb_table.positions.name
}

output "positions_table_arn" {
  description = "ARN of the positions table."
  value       = aws_dynamodb_table.positions.arn
}

output "state_table_name" {
  description = "Name of the shard-state table (key shard)."
  value       = aws_dynamodb_table.state.name
}

output "state_table_arn" {
  description = "ARN of the shard-state table."
  value       = aws_dynamodb_table.state.arn
}

output "failure_queue_url" {
  description = "URL of the on-failure SQS queue."
  value       = aws_sqs_queue.failures.url
}

output "failure_queue_arn" {
  description = "ARN of the on-failure SQS queue."
  value       = aws_sqs_queue.failures.arn
}

output "failure_queue_name" {
  description = "Name of the on-failure SQS queue."
  value       = aws_sqs_queue.failures.name
}

output "trades_key_prefix" {
  description = "Key prefix of the completed trades in the bucket (PREFIX/completed-trades/)."
  value       = local.trades_keys
}
