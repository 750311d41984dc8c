variable "name" {
  description = "Prefix of every resource name: the stream is NAME, the Firehose NAME-raw."
  type        = string
  default     = "tradepipe"
}

variable "stream_mode" {
  description = "Capacity mode of the Kinesis stream: ON_DEMAND (pay per GB and per stream-hour, scales by itself) or PROVISIONED (pay per shard-hour, shard_count shards)."
  type        = string
  default     = "ON_DEMAND"

  validation {
    condition     = contains(["ON_DEMAND", "PROVISIONED"], var.stream_mode)
    error_message = "stream_mode must be ON_DEMAND or PROVISIONED."
  }
}

variable "shard_count" {
  description = "Number of shards when stream_mode is PROVISIONED (ignored for ON_DEMAND). Each shard takes 1 MiB/s or 1,000 records/s of writes."
  type        = number
  default     = 2

  validation {
    condition     = var.shard_count >= 1
    error_message = "shard_count must be at least 1."
  }
}

variable "retention_hours" {
  description = "How long the stream keeps records (24 to 8760 hours; beyond 24 costs extra)."
  type        = number
  default     = 24

  validation {
    condition     = var.retention_hours >= 24 && var.retention_hours <= 8760
    error_message = "retention_hours must be between 24 and 8760."
  }
}

variable "kms_key_arn" {
  description = "ARN of a customer managed KMS key for the stream's server-side encryption; null uses the AWS managed key alias/aws/kinesis (no key policy or IAM grant needed)."
  type        = string
  default     = null
}

variable "bucket_name" {
  description = "Name of the data bucket (raw-data/ from Firehose, completed-trades/ from the consumer); null makes NAME-data-ACCOUNT_ID-REGION."
  type        = string
  default     = null
}

variable "force_destroy" {
  description = "Let terraform destroy delete the bucket with every object and version in it. Keep false unless the data may go."
  type        = bool
  default     = false
}

variable "buffering_size_mb" {
  description = "Firehose buffer size in MiB before it writes an object (1 to 128)."
  type        = number
  default     = 64

  validation {
    condition     = var.buffering_size_mb >= 1 && var.buffering_size_mb <= 128
    error_message = "buffering_size_mb must be between 1 and 128."
  }
}

variable "buffering_interval_seconds" {
  description = "Firehose buffer interval in seconds before it writes an object (0 to 900)."
  type        = number
  default     = 300

  validation {
    condition     = var.buffering_interval_seconds >= 0 && var.buffering_interval_seconds <= 900
    error_message = "buffering_interval_seconds must be between 0 and 900."
  }
}

variable "newline_delimited" {
  description = "Have Firehose append a newline to every record (AppendDelimiterToRecord), so raw-data objects are NDJSON: Athena's JSON SerDe reads one record per line, and tp-parse reads both layouts. False keeps Firehose's default (records concatenated), which Athena cannot split."
  type        = bool
  default     = true
}

variable "raw_data_ia_days" {
  description = "Days after which raw-data/ objects move to STANDARD_IA (30 at least, S3's minimum for that class)."
  type        = number
  default     = 30

  validation {
    condition     = var.raw_data_ia_days >= 30
    error_message = "raw_data_ia_days must be at least 30."
  }
}

variable "raw_data_expire_days" {
  description = "Days after which raw-data/ objects are deleted (0: never)."
  type        = number
  default     = 365
}

variable "errors_expire_days" {
  description = "Days after which Firehose's errors/ objects are deleted."
  type        = number
  default     = 30
}

variable "noncurrent_version_expire_days" {
  description = "Days after which overwritten or deleted object versions are removed for good."
  type        = number
  default     = 30
}

variable "log_retention_days" {
  description = "Retention of the Firehose's delivery-error log group, in days."
  type        = number
  default     = 14
}

variable "tags" {
  description = "Tags added to every resource."
  type        = map(string)
  default     = {}
}
