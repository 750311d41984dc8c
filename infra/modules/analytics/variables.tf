variable "name" {
  description = "Prefix of every resource name: workgroup NAME, results bucket NAME-athena-results-ACCOUNT-REGION."
  type        = string
  default     = "tradepipe"
}

variable "data_bucket_name" {
  description = "Bucket holding raw-data/ (Firehose) and completed-trades/ (the consumer)."
  type        = string
}

variable "raw_data_prefix" {
  description = "Key prefix of the Firehose objects, laid out PREFIX/YYYY/MM/DD/HH/."
  type        = string
  default     = "raw-data/"
}

variable "trades_key_prefix" {
  description = "Key prefix of the completed trades (the consumer module's trades_key_prefix output)."
  type        = string
  default     = "completed-trades/"
}

variable "database_name" {
  description = "Name of the Glue database; null: NAME with '-' turned into '_'."
  type        = string
  default     = null
}

variable "projection_start" {
  description = "First hour (UTC, yyyy/MM/dd/HH) the raw table's partition projection covers; the range ends at NOW."
  type        = string
  default     = "2025/01/01/00"

  validation {
    condition     = can(regex("^[0-9]{4}/[0-9]{2}/[0-9]{2}/[0-9]{2}$", var.projection_start))
    error_message = "projection_start must look like 2025/01/01/00."
  }
}

variable "results_bucket_name" {
  description = "Name of the Athena results bucket; null: NAME-athena-results-ACCOUNT_ID-REGION."
  type        = string
  default     = null
}

variable "results_expire_days" {
  description = "Days after which query results are deleted."
  type        = number
  default     = 30
}

variable "bytes_scanned_cutoff_per_query" {
  description = "Athena cancels a query of the workgroup past this many bytes scanned (at least 10 MB; default 10 GiB, about $0.05 at $5 per TB)."
  type        = number
  default     = 10737418240

  validation {
    condition     = var.bytes_scanned_cutoff_per_query >= 10485760
    error_message = "bytes_scanned_cutoff_per_query must be at least 10485760 (10 MB)."
  }
}

variable "force_destroy" {
  description = "Let terraform destroy delete the results bucket with its objects."
  type        = bool
  default     = false
}

variable "tags" {
  description = "Tags added to every resource."
  type        = map(string)
  default     = {}
}
