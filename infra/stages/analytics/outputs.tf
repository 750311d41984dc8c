output "database_name" {
  description = "Glue database."
  value       = module.analytics.database_name
}

output "raw_trades_table" {
  description = "Raw trades table (partition dt = yyyy/MM/dd/HH)."
  value       = module.analytics.raw_trades_table
}

output "completed_trades_table" {
  description = "Completed trades table."
  value       = module.analytics.completed_trades_table
}

output "workgroup_name" {
  description = "Athena workgroup."
  value       = module.analytics.workgroup_name
}

output "results_bucket_name" {
  description = "Athena results bucket."
  value       = module.analytics.results_bucket_name
}

output "named_query_ids" {
  description = "Named queries: symbol_stats, pnl."
  value       = module.analytics.named_query_ids
}
