output "function_name" {
  description = "Consumer Lambda function."
  value       = module.consumer.function_name
}

output "timeout_seconds" {
  description = "Function timeout (the monitoring stage alarms at 80% of it)."
  value       = var.timeout_seconds
}

output "log_group_name" {
  description = "Log group of the function."
  value       = module.consumer.log_group_name
}

output "positions_table_name" {
  description = "Positions table (key symbol)."
  value       = module.consumer.positions_table_name
}

output "state_table_name" {
  description = "Shard-state table (key shard)."
  value       = module.consumer.state_table_name
}

output "failure_queue_name" {
  description = "On-failure SQS queue of the event source mapping."
  value       = module.consumer.failure_queue_name
}

output "failure_queue_url" {
  description = "URL of the on-failure queue."
  value       = module.consumer.failure_queue_url
}

output "trades_key_prefix" {
  description = "Key prefix of the completed trades."
  value       = module.consumer.trades_key_prefix
}
