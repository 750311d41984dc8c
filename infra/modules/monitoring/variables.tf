variable "name" {
  description = "Prefix of every resource name: dashboard NAME, alarms NAME-..., topic NAME-alarms."
  type        = string
  default     = "tradepipe"
}

variable "stream_name" {
  description = "Name of the Kinesis data stream."
  type        = string
}

variable "firehose_name" {
  description = "Name of the Firehose delivery stream."
  type        = string
}

variable "function_name" {
  description = "Name of the consumer Lambda function."
  type        = string
}

variable "table_names" {
  description = "DynamoDB tables watched for throttling (the positions and shard-state tables)."
  type        = list(string)
}

variable "failure_queue_name" {
  description = "Name of the consumer's on-failure SQS queue (a message there is a batch given up on); null: no alarm on it."
  type        = string
  default     = null
}

variable "metrics_namespace" {
  description = "Namespace of the consumer's embedded-metric-format metrics (dimension Shard)."
  type        = string
  default     = "tradepipe"
}

variable "iterator_age_threshold_ms" {
  description = "Alarm when the stream's or the function's iterator age (how far the readers are behind) stays above this many milliseconds for 5 minutes."
  type        = number
  default     = 60000
}

variable "lambda_duration_threshold_ms" {
  description = "Alarm when the function's maximum duration goes above this many milliseconds (say 80% of its timeout) in 2 of 3 five-minute periods."
  type        = number
  default     = 48000
}

variable "firehose_freshness_threshold_seconds" {
  description = "Alarm when the oldest record not yet delivered to S3 by Firehose is older than this (leave room for its buffer interval)."
  type        = number
  default     = 900
}

variable "alarm_email" {
  description = "Address that receives alarm notifications through an SNS topic (the subscription must be confirmed from the mail); empty: no topic, alarms only show in the console."
  type        = string
  default     = ""
}

variable "alarm_actions" {
  description = "More ARNs notified on alarm and on recovery (SNS topics, ...)."
  type        = list(string)
  default     = []
}

variable "tags" {
  description = "Tags added to every resource."
  type        = map(string)
  default     = {}
}
