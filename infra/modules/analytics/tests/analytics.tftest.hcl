# Offline: a mocked AWS provider (Terraform 1.7+), `terraform test` in
# infra/modules/analytics.

mock_provider "aws" {
  override_data {
    target = data.aws_caller_identity.current
    values = { account_id = "123456789012" }
  }

  override_data {
    target = data.aws_region.current
    values = { name = "us-east-1" }
  }
}

variables {
  data_bucket_name = "tradepipe-data"
}

run "defaults" {
  command = apply

  assert {
    condition     = aws_glue_catalog_database.this.name == "tradepipe"
    error_message = "database name"
  }

  assert {
    condition = (
      aws_glue_catalog_table.raw_trades.parameters["projection.enabled"] == "true" &&
      aws_glue_catalog_table.raw_trades.parameters["projection.dt.type"] == "date" &&
      aws_glue_catalog_table.raw_trades.parameters["projection.dt.format"] == "yyyy/MM/dd/HH" &&
      aws_glue_catalog_table.raw_trades.parameters["storage.location.template"] == "s3://tradepipe-data/raw-data/$${dt}/"
    )
    error_message = "partition projection over raw-data/"
  }

  assert {
    condition = (
      aws_glue_catalog_table.raw_trades.storage_descriptor[0].ser_de_info[0].serialization_library == "org.openx.data.jsonserde.JsonSerDe" &&
      [for c in aws_glue_catalog_table.raw_trades.storage_descriptor[0].columns : "${c.name} ${c.type}"] == ["symbol string", "price decimal(18,8)", "volume bigint", "timestamp string"]
    )
    error_message = "JSON SerDe and the record's columns"
  }

  assert {
    condition     = aws_glue_catalog_table.completed_trades.storage_descriptor[0].location == "s3://tradepipe-data/completed-trades/"
    error_message = "completed trades location"
  }

  assert {
    condition = (
      aws_athena_workgroup.this.configuration[0].enforce_workgroup_configuration &&
      aws_athena_workgroup.this.configuration[0].bytes_scanned_cutoff_per_query == 10737418240 &&
      aws_athena_workgroup.this.configuration[0].result_configuration[0].output_location == "s3://tradepipe-athena-results-123456789012-us-east-1/results/"
    )
    error_message = "workgroup settings"
  }

  assert {
    condition     = strcontains(aws_athena_named_query.symbol_stats.query, "FROM \"tradepipe\".\"raw_trades\"") && strcontains(aws_athena_named_query.pnl.query, "sum(pnl)")
    error_message = "named queries"
  }
}

run "bad_projection_start" {
  command = plan

  variables {
    projection_start = "2025-01-01"
  }

  expect_failures = [var.projection_start]
}
