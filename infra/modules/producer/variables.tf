variable "name" {
  description = "Prefix of every resource name: ECR repository NAME/tp-producer, cluster NAME, service NAME-producer."
  type        = string
  default     = "tradepipe"
}

variable "stream_name" {
  description = "Name of the Kinesis data stream the producer writes to."
  type        = string
}

variable "stream_arn" {
  description = "ARN of that stream (the task role may write to it only)."
  type        = string
}

variable "stream_kms_key_arn" {
  description = "ARN of the stream's customer managed KMS key, or null for the AWS managed key (no grant needed)."
  type        = string
  default     = null
}

variable "vpc_id" {
  description = "VPC of the tasks."
  type        = string
}

variable "subnet_ids" {
  description = "Private subnets the tasks run in (they reach AWS through VPC endpoints or NAT; no public IP)."
  type        = list(string)
}

variable "image_tag" {
  description = "Tag of the tp-producer image in the module's ECR repository (tags are immutable: use a version or commit id). Empty: the service is created with desired count 0 until an image is pushed."
  type        = string
  default     = ""
}

variable "image" {
  description = "Full image reference overriding the repository and image_tag (for example an image in another registry); null uses REPOSITORY_URL:image_tag."
  type        = string
  default     = null
}

variable "desired_count" {
  description = "Number of producer tasks (each one writes at `rate` records per second)."
  type        = number
  default     = 1
}

variable "cpu" {
  description = "Fargate task CPU units (256 = 0.25 vCPU)."
  type        = number
  default     = 256
}

variable "memory" {
  description = "Fargate task memory in MiB (512 to 2048 with 256 CPU units)."
  type        = number
  default     = 512
}

variable "cpu_architecture" {
  description = "CPU architecture of the image: X86_64 or ARM64."
  type        = string
  default     = "X86_64"

  validation {
    condition     = contains(["X86_64", "ARM64"], var.cpu_architecture)
    error_message = "cpu_architecture must be X86_64 or ARM64."
  }
}

variable "rate" {
  description = "tp-producer --rate: records per second per task (0: as fast as the stream takes them)."
  type        = number
  default     = 100
}

variable "duration_seconds" {
  description = "tp-producer --duration: seconds a task runs before it exits (0: until stopped). ECS starts a new task when one exits, so a duration makes runs of that length back to back."
  type        = number
  default     = 0
}

variable "symbols" {
  description = "tp-producer --symbols; empty: its default ten symbols."
  type        = list(string)
  default     = []
}

variable "extra_args" {
  description = "More tp-producer options appended to the command (for example [\"--seed\", \"7\"] or [\"--linger-ms\", \"50\"])."
  type        = list(string)
  default     = []
}

variable "command" {
  description = "The whole tp-producer argument list, replacing the one built from rate, duration_seconds, symbols and extra_args; null builds it."
  type        = list(string)
  default     = null
}

variable "entry_point" {
  description = "Container entry point; null keeps the image's (tp-producer in infra/packaging's image)."
  type        = list(string)
  default     = null
}

variable "log_retention_days" {
  description = "Retention of the tasks' log group, in days."
  type        = number
  default     = 14
}

variable "ecr_keep_images" {
  description = "How many images the ECR lifecycle policy keeps (older ones are expired)."
  type        = number
  default     = 20
}

variable "force_delete" {
  description = "Let terraform destroy delete the ECR repository even when it holds images."
  type        = bool
  default     = false
}

variable "container_insights" {
  description = "Enable CloudWatch Container Insights on the cluster (extra CloudWatch charges)."
  type        = bool
  default     = false
}

variable "tags" {
  description = "Tags added to every resource."
  type        = map(string)
  default     = {}
}
