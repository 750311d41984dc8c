variable "name" {
  description = "Prefix of every resource name: function NAME-consumer, tables NAME-positions and NAME-positions-shards, queue NAME-consumer-failures."
  type        = string
  default     = "tradepipe"
}

variable "stream_arn" {
  description = "ARN of the Kinesis data stream the function consumes."
  type        = string
}

variable "stream_kms_key_arn" {
  description = "ARN of the stream's customer managed KMS key, or null for the AWS managed key (no grant needed)."
  type        = string
  default     = null
}

variable "bucket_name" {
  description = "Bucket of the completed trades (S3_BUCKET)."
  type        = string
}

variable "bucket_arn" {
  description = "ARN of that bucket."
  type        = string
}

variable "trades_prefix" {
  description = "Key prefix of the completed trades (S3_PREFIX): trades go to PREFIX/completed-trades/SYMBOL/...json; empty puts completed-trades/ at the bucket's root."
  type        = string
  default     = ""
}

variable "package_zip" {
  description = "Path of the Lambda zip (bootstrap at its root, with the libraries it needs), as infra/packaging builds it."
  type        = string
}

variable "architecture" {
  description = "Lambda architecture the zip was built for: x86_64 or arm64."
  type        = string
  default     = "x86_64"

  validation {
    condition     = contains(["x86_64", "arm64"], var.architecture)
    error_message = "architecture must be x86_64 or arm64."
  }
}

variable "memory_size" {
  description = "Memory of the function in MiB (CPU grows with it)."
  type        = number
  default     = 256
}

variable "timeout_seconds" {
  description = "Function timeout. The bootstrap stops applying records a quarter of it before the deadline (TP_DEADLINE_MARGIN_MS) to save what it applied."
  type        = number
  default     = 60
}

variable "reserved_concurrency" {
  description = "Reserved concurrent executions of the function; -1: none (the account's unreserved pool). The mapping runs at most one invocation per shard (times parallelization_factor)."
  type        = number
  default     = -1
}

variable "batch_size" {
  description = "Most records per invocation (1 to 10000)."
  type        = number
  default     = 1000

  validation {
    condition     = var.batch_size >= 1 && var.batch_size <= 10000
    error_message = "batch_size must be between 1 and 10000."
  }
}

variable "maximum_batching_window_in_seconds" {
  description = "How long the mapping gathers records before invoking (0 to 300): fewer, larger batches, fewer state writes."
  type        = number
  default     = 1
}

variable "parallelization_factor" {
  description = "Concurrent batches per shard (1 to 10). Keep 1: the shard's state item orders the whole shard, so two batches of one shard at once would see each other's records as duplicates and one of them would be retried."
  type        = number
  default     = 1

  validation {
    condition     = var.parallelization_factor >= 1 && var.parallelization_factor <= 10
    error_message = "parallelization_factor must be between 1 and 10."
  }
}

variable "bisect_batch_on_function_error" {
  description = "On an invocation error, split the batch in two and retry each half."
  type        = bool
  default     = true
}

variable "maximum_retry_attempts" {
  description = "Retries of a failing batch before its records go to the on-failure queue (-1: until they expire)."
  type        = number
  default     = 10
}

variable "maximum_record_age_in_seconds" {
  description = "Records older than this are sent to the on-failure queue instead of being processed (-1: no limit, 60 to 604800)."
  type        = number
  default     = -1
}

variable "starting_position" {
  description = "Where a new mapping starts reading: TRIM_HORIZON (oldest record kept) or LATEST."
  type        = string
  default     = "TRIM_HORIZON"

  validation {
    condition     = contains(["TRIM_HORIZON", "LATEST"], var.starting_position)
    error_message = "starting_position must be TRIM_HORIZON or LATEST."
  }
}

variable "engine_settings" {
  description = "Engine settings passed as environment variables, e.g. { TP_DROP_PCT = \"2\", TP_TAKE_PROFIT_PCT = \"5\" } (TP_WINDOW, TP_DROP_PCT, TP_TAKE_PROFIT_PCT, TP_STOP_LOSS_PCT, TP_ORDER_SIZE, TP_MAX_SYMBOLS, TP_DEADLINE_MARGIN_MS). They must not change for the life of the tables: a state made with other options is refused."
  type        = map(string)
  default     = {}

  validation {
    condition = alltrue([for k in keys(var.engine_settings) : contains([
      "TP_WINDOW", "TP_DROP_PCT", "TP_TAKE_PROFIT_PCT", "TP_STOP_LOSS_PCT",
      "TP_ORDER_SIZE", "TP_MAX_SYMBOLS", "TP_DEADLINE_MARGIN_MS",
    ], k)])
    error_message = "engine_settings keys must be among TP_WINDOW, TP_DROP_PCT, TP_TAKE_PROFIT_PCT, TP_STOP_LOSS_PCT, TP_ORDER_SIZE, TP_MAX_SYMBOLS, TP_DEADLINE_MARGIN_MS."
  }
}

variable "positions_table_name" {
  description = "Name of the positions table (DYNAMODB_TABLE); null: NAME-positions."
  type        = string
  default     = null
}

variable "state_table_name" {
  description = "Name of the shard-state table (STATE_TABLE); null: the positions table's name followed by -shards, the bootstrap's default."
  type        = string
  default     = null
}

variable "deletion_protection" {
  description = "Protect both tables from deletion (terraform destroy then fails until it is turned off)."
  type        = bool
  default     = false
}

variable "failure_queue_retention_seconds" {
  description = "How long the on-failure queue keeps the descriptions of failed batches (60 to 1209600)."
  type        = number
  default     = 1209600
}

variable "log_retention_days" {
  description = "Retention of the function's log group, in days (it also carries the EMF metric lines)."
  type        = number
  default     = 14
}

variable "tags" {
  description = "Tags added to every resource."
  type        = map(string)
  default     = {}
}
