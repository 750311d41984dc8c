data "aws_caller_identity" "current" {}

data "aws_region" "current" {}

locals {
  account_id     = data.aws_caller_identity.current.account_id
  region         = data.aws_region.current.name
  database       = coalesce(var.database_name, replace(var.name, "-", "_"))
  results_bucket = coalesce(var.results_bucket_name, "${var.name}-athena-results-${local.account_id}-${local.region}")
  raw_location   = "s3://${var.data_bucket_name}/${trim(var.raw_data_prefix, "/")}/"
  trades_loc     = "s3://${var.data_bucket_name}/${trim(var.trades_key_prefix, "/")}/"

  tags = merge(var.tags, { Module = "tradepipe/analytics" })
}

resource "aws_glue_catalog_database" "this" {
  name        = local.database
  description = "libtradepipe: the raw trades Firehose writes and the trades the consumer completes"
}

# raw_trades: the Firehose objects (gzip, one JSON record per line), one
# partition per UTC hour. Partition projection computes the partitions from
# dt's range, so there is no crawler to run and no partition to add: an hour
# is queryable as soon as Firehose writes it.
resource "aws_glue_catalog_table" "raw_trades" {
  name          = "raw_trades"
  database_name = aws_glue_catalog_database.this.name
  description   = "Trade records as the producer put them, by the hour Firehose received them (dt = yyyy/MM/dd/HH, UTC)"
  table_type    = "EXTERNAL_TABLE"

  parameters = {
    EXTERNAL                      = "TRUE"
    classification                = "json"
    compressionType               = "gzip"
    "projection.enabled"          = "true"
    "projection.dt.type"          = "date"
    "projection.dt.format"        = "yyyy/MM/dd/HH"
    "projection.dt.range"         = "${var.projection_start},NOW"
    "projection.dt.interval"      = "1"
    "projection.dt.interval.unit" = "HOURS"
    "storage.location.template"   = "${local.raw_location}$${dt}/"
  }

  partition_keys {
    name    = "dt"
    type    = "string"
    comment = "UTC hour of arrival, yyyy/MM/dd/HH (the object's key)"
  }

  storage_descriptor {
    location      = local.raw_location
    input_format  = "org.apache.hadoop.mapred.TextInputFormat"
    output_format = "org.apache.hadoop.hive.ql.io.HiveIgnoreKeyTextOutputFormat"

    ser_de_info {
      name                  = "json"
      serialization_library = "org.openx.data.jsonserde.JsonSerDe"
      parameters = {
        "ignore.malformed.json" = "TRUE" # a malformed record is a row of nulls, not a failed query
      }
    }

    columns {
      name = "symbol"
      type = "string"
    }

    columns {
      name    = "price"
      type    = "decimal(18,8)"
      comment = "exact: the JSON number's digits"
    }

    columns {
      name = "volume"
      type = "bigint"
    }

    columns {
      name    = "timestamp"
      type    = "string"
      comment = "ISO-8601 UTC as the producer wrote it; quote the column in queries"
    }
  }
}

# completed_trades: one JSON object per file under
# PREFIX/completed-trades/SYMBOL/ENTRYSEQ-EXITSEQ-SHARDS.json (read recursively).
resource "aws_glue_catalog_table" "completed_trades" {
  name          = "completed_trades"
  database_name = aws_glue_catalog_database.this.name
  description   = "Round trips the consumer completed: entry, exit, quantity, realized P&L and return"
  table_type    = "EXTERNAL_TABLE"

  parameters = {
    EXTERNAL       = "TRUE"
    classification = "json"
  }

  storage_descriptor {
    location      = local.trades_loc
    input_format  = "org.apache.hadoop.mapred.TextInputFormat"
    output_format = "org.apache.hadoop.hive.ql.io.HiveIgnoreKeyTextOutputFormat"

    ser_de_info {
      name                  = "json"
      serialization_library = "org.openx.data.jsonserde.JsonSerDe"
      parameters = {
        "ignore.malformed.json" = "TRUE"
      }
    }

    columns {
      name = "symbol"
      type = "string"
    }

    columns {
      name = "quantity"
      type = "bigint"
    }

    columns {
      name = "entry"
      type = "struct<price:decimal(18,8),time:string,sequence:string,shard:string>"
    }

    columns {
      name = "exit"
      type = "struct<price:decimal(18,8),time:string,sequence:string,shard:string>"
    }

    columns {
      name    = "pnl"
      type    = "decimal(28,8)"
      comment = "realized P&L of the round trip, exact"
    }

    columns {
      name = "return_pct"
      type = "decimal(18,8)"
    }

    columns {
      name    = "reason"
      type    = "string"
      comment = "take_profit or stop_loss"
    }

    columns {
      name = "params"
      type = "struct<window:int,drop_pct:decimal(18,8),take_profit_pct:decimal(18,8),stop_loss_pct:decimal(18,8),order_size:bigint>"
    }
  }
}

# Athena results: their own bucket, private, encrypted, expiring.

resource "aws_s3_bucket" "results" {
  bucket        = local.results_bucket
  force_destroy = var.force_destroy

  tags = local.tags
}

resource "aws_s3_bucket_ownership_controls" "results" {
  bucket = aws_s3_bucket.results.bucket

  rule {
    object_ownership = "BucketOwnerEnforced"
  }
}

resource "aws_s3_bucket_public_access_block" "results" {
  bucket = aws_s3_bucket.results.bucket

  block_public_acls       = true
  block_public_policy     = true
  ignore_public_acls      = true
  restrict_public_buckets = true
}

resource "aws_s3_bucket_server_side_encryption_configuration" "results" {
  bucket = aws_s3_bucket.results.bucket

  rule {
    apply_server_side_encryption_by_default {
      sse_algorithm = "AES256"
    }
    bucket_key_enabled = true
  }
}

resource "aws_s3_bucket_lifecycle_configuration" "results" {
  bucket = aws_s3_bucket.results.bucket

  rule {
    id     = "expire-results"
    status = "Enabled"

    filter {}

    expiration {
      days = var.results_expire_days
    }

    abort_incomplete_multipart_upload {
      days_after_initiation = 1
    }
  }
}

resource "aws_athena_workgroup" "this" {
  name          = var.name
  description   = "libtradepipe queries: results location and scan limit enforced"
  state         = "ENABLED"
  force_destroy = true # its query history goes with it

  configuration {
    enforce_workgroup_configuration    = true
    publish_cloudwatch_metrics_enabled = true
    bytes_scanned_cutoff_per_query     = var.bytes_scanned_cutoff_per_query

    engine_version {
      selected_engine_version = "Athena engine version 3"
    }

    result_configuration {
      output_location = "s3://${aws_s3_bucket.results.bucket}/results/"

      encryption_configuration {
        encryption_option = "SSE_S3"
      }
    }
  }

  tags = local.tags
}

resource "aws_athena_named_query" "symbol_stats" {
  name        = "${var.name}-symbol-stats"
  description = "Per-symbol statistics of the raw trades (records, average, min, max, total volume), as tp-parse prints them; the last 24 hours by default"
  workgroup   = aws_athena_workgroup.this.id
  database    = aws_glue_catalog_database.this.name
  query       = <<-SQL
    -- Per-symbol statistics of the raw trades, as tp-parse (and the original
    -- parse_trading_data.py) prints them; the row with symbol '(all)' is the
    -- total. dt is the UTC hour of arrival, 'yyyy/MM/dd/HH': narrow it to
    -- scan less (e.g. dt BETWEEN '2025/10/22/00' AND '2025/10/22/23').
    SELECT coalesce(symbol, '(all)') AS symbol,
           count(*)                  AS records,
           round(avg(price), 2)      AS avg_price,
           min(price)                AS min_price,
           max(price)                AS max_price,
           sum(volume)               AS total_volume
    FROM "${aws_glue_catalog_database.this.name}"."${aws_glue_catalog_table.raw_trades.name}"
    WHERE dt >= date_format(current_timestamp - INTERVAL '1' DAY, '%Y/%m/%d/%H')
    GROUP BY ROLLUP (symbol)
    ORDER BY grouping(symbol), 1;
  SQL
}

resource "aws_athena_named_query" "pnl" {
  name        = "${var.name}-pnl"
  description = "Realized P&L per symbol from the completed trades (trades, P&L, average return, winners)"
  workgroup   = aws_athena_workgroup.this.id
  database    = aws_glue_catalog_database.this.name
  query       = <<-SQL
    -- Realized P&L per symbol from completed-trades/ (one object per round
    -- trip); the row with symbol '(all)' is the total.
    SELECT coalesce(symbol, '(all)')                   AS symbol,
           count(*)                                    AS trades,
           sum(quantity)                               AS shares,
           sum(pnl)                                    AS realized_pnl,
           round(avg(return_pct), 4)                   AS avg_return_pct,
           count_if(pnl > 0)                           AS winners,
           count_if(reason = 'stop_loss')              AS stop_losses,
           min("entry"."time")                         AS first_entry,
           max("exit"."time")                          AS last_exit
    FROM "${aws_glue_catalog_database.this.name}"."${aws_glue_catalog_table.completed_trades.name}"
    GROUP BY ROLLUP (symbol)
    ORDER BY grouping(symbol), 1;
  SQL
}
