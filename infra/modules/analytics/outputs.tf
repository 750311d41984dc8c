output "database_name" {
  description = "Name of the Glue database."
  value       = aws_glue_catalog_database.this.name
}

output "raw_trades_table" {
  description = "Name of the raw trades table (partition column dt, yyyy/MM/dd/HH UTC)."
  value       = aws_glue_catalog_table.raw_trades.name
}

output "completed_trades_table" {
  description = "Name of the completed trades table."
  value       = aws_glue_catalog_table.completed_trades.name
}

output "workgroup_name" {
  description = "Name of the Athena workgroup (aws athena start-query-execution --work-group NAME)."
  value       = aws_athena_workgroup.this.name
}

output "results_bucket_name" {
  description = "Name of the Athena results bucket."
  value       = aws_s3_bucket.results.bucket
}

output "named_query_ids" {
  description = "IDs of the named queries: symbol_stats and pnl (aws athena get-named-query --named-query-id ID)."
  value = {
    symbol_stats = aws_athena_named_query.symbol_stats.id
    pnl          = aws_athena_named_query.pnl.id
  }
}
