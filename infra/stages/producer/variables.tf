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

variable "image_tag" {
  description = "Tag of the tp-producer image pushed to the stage's ECR repository; empty: the service runs no task yet."
  type        = string
  default     = ""
}

variable "image" {
  description = "Full image reference instead of REPOSITORY:image_tag; null: the repository's."
  type        = string
  default     = null
}

variable "desired_count" {
  description = "Number of producer tasks."
  type        = number
  default     = 1
}

variable "cpu" {
  description = "Task CPU units."
  type        = number
  default     = 256
}

variable "memory" {
  description = "Task memory in MiB."
  type        = number
  default     = 512
}

variable "cpu_architecture" {
  description = "X86_64 or ARM64, as the image was built."
  type        = string
  default     = "X86_64"
}

variable "rate" {
  description = "Records per second per task (tp-producer --rate)."
  type        = number
  default     = 100
}

variable "duration_seconds" {
  description = "tp-producer --duration (0: run until stopped)."
  type        = number
  default     = 0
}

variable "symbols" {
  description = "tp-producer --symbols (empty: its default ten)."
  type        = list(string)
  default     = []
}

variable "extra_args" {
  description = "More tp-producer options."
  type        = list(string)
  default     = []
}

variable "force_destroy" {
  description = "Let destroy delete the ECR repository with its images."
  type        = bool
  default     = false
}
