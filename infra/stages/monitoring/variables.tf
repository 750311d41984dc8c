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

variable "alarm_email" {
  description = "Address for alarm mail through SNS (confirm the subscription); empty: none."
  type        = string
  default     = ""
}

variable "iterator_age_threshold_ms" {
  description = "Iterator age alarm threshold in milliseconds."
  type        = number
  default     = 60000
}

variable "firehose_freshness_threshold_seconds" {
  description = "Firehose data freshness alarm threshold in seconds."
  type        = number
  default     = 900
}
