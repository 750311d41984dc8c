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

variable "state_bucket" {
  description = "Terraform state bucket (the bootstrap stage's state_bucket output), to read the earlier stages' outputs."
  type        = string
}

variable "state_region" {
  description = "Region of the state bucket; null: region."
  type        = string
  default     = null
}

variable "package_zip" {
  description = "Path of the Lambda zip built by infra/packaging (deploy.sh passes TP_LAMBDA_ZIP)."
  type        = string
}

variable "architecture" {
  description = "x86_64 or arm64, as the zip was built."
  type        = string
  default     = "x86_64"
}

variable "memory_size" {
  description = "Function memory in MiB."
  type        = number
  default     = 256
}

variable "timeout_seconds" {
  description = "Function timeout in seconds."
  type        = number
  default     = 60
}

variable "batch_size" {
  description = "Most records per invocation."
  type        = number
  default     = 1000
}

variable "maximum_batching_window_in_seconds" {
  description = "Seconds the mapping gathers records before invoking."
  type        = number
  default     = 1
}

variable "parallelization_factor" {
  description = "Concurrent batches per shard; keep 1 (the shard state orders the shard)."
  type        = number
  default     = 1
}

variable "maximum_retry_attempts" {
  description = "Retries of a failing batch before the failure queue."
  type        = number
  default     = 10
}

variable "starting_position" {
  description = "TRIM_HORIZON or LATEST."
  type        = string
  default     = "TRIM_HORIZON"
}

variable "trades_prefix" {
  description = "Key prefix of the completed trades in the data bucket (empty: completed-trades/ at the root)."
  type        = string
  default     = ""
}

variable "engine_settings" {
  description = "TP_* engine settings of the bootstrap (fixed for the life of the tables)."
  type        = map(string)
  default     = {}
}

variable "deletion_protection" {
  description = "Protect the DynamoDB tables from deletion."
  type        = bool
  default     = false
}
