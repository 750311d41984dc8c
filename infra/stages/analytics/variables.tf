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

variable "projection_start" {
  description = "First UTC hour (yyyy/MM/dd/HH) of the raw table's partition projection."
  type        = string
  default     = "2025/01/01/00"
}

variable "bytes_scanned_cutoff_per_query" {
  description = "Athena's per-query scan limit in bytes."
  type        = number
  default     = 10737418240
}

variable "results_expire_days" {
  description = "Days Athena results are kept."
  type        = number
  default     = 30
}

variable "force_destroy" {
  description = "Let destroy delete the results bucket with its objects."
  type        = bool
  default     = false
}
