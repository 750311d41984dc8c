variable "region" {
  description = "AWS region of the deployment."
  type        = string
  default     = "us-east-1"
}

variable "name" {
  description = "Project name: prefix of resource names and the Project tag (the same in every stage)."
  type        = string
  default     = "tradepipe"
}

variable "tags" {
  description = "Tags added to every resource."
  type        = map(string)
  default     = {}
}

variable "stream_mode" {
  description = "ON_DEMAND or PROVISIONED."
  type        = string
  default     = "ON_DEMAND"
}

variable "shard_count" {
  description = "Shards when stream_mode is PROVISIONED."
  type        = number
  default     = 2
}

variable "retention_hours" {
  description = "Stream retention in hours (24 to 8760)."
  type        = number
  default     = 24
}

variable "kms_key_arn" {
  description = "Customer managed KMS key of the stream; null: alias/aws/kinesis."
  type        = string
  default     = null
}

variable "bucket_name" {
  description = "Data bucket name; null: NAME-data-ACCOUNT_ID-REGION."
  type        = string
  default     = null
}

variable "force_destroy" {
  description = "Let destroy delete the data bucket with its objects (destroy.sh --purge sets it first)."
  type        = bool
  default     = false
}

variable "buffering_size_mb" {
  description = "Firehose buffer size in MiB."
  type        = number
  default     = 64
}

variable "buffering_interval_seconds" {
  description = "Firehose buffer interval in seconds."
  type        = number
  default     = 300
}

variable "raw_data_ia_days" {
  description = "Days before raw-data/ moves to STANDARD_IA."
  type        = number
  default     = 30
}

variable "raw_data_expire_days" {
  description = "Days before raw-data/ is deleted (0: never)."
  type        = number
  default     = 365
}
