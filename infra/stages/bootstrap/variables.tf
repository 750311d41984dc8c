variable "region" {
  description = "AWS region of the state bucket (and, by default, of the deployment)."
  type        = string
  default     = "us-east-1"
}

variable "name" {
  description = "Project name: prefix of resource names and the Project tag."
  type        = string
  default     = "tradepipe"
}

variable "state_bucket" {
  description = "Name of the Terraform state bucket; null: NAME-tfstate-ACCOUNT_ID-REGION."
  type        = string
  default     = null
}

variable "force_destroy" {
  description = "Let terraform destroy delete the state bucket with every state version in it (destroy.sh bootstrap sets it first)."
  type        = bool
  default     = false
}

variable "noncurrent_version_expire_days" {
  description = "Days old state versions are kept (the bucket is versioned, so a bad apply can be rolled back)."
  type        = number
  default     = 90
}

variable "github_repository" {
  description = "GitHub repository (OWNER/NAME) whose workflows may assume the plan and apply roles through OIDC; empty: no OIDC provider and no roles."
  type        = string
  default     = ""

  validation {
    condition     = var.github_repository == "" || can(regex("^[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+$", var.github_repository))
    error_message = "github_repository must be OWNER/NAME, or empty."
  }
}

variable "github_oidc_provider_arn" {
  description = "ARN of an existing token.actions.githubusercontent.com OIDC provider in the account (there can be only one); null creates it."
  type        = string
  default     = null
}

variable "github_apply_environment" {
  description = "GitHub environment the apply workflow runs in; only jobs of that environment may assume the apply role (give the environment required reviewers)."
  type        = string
  default     = "aws"
}

variable "github_plan_policy_arns" {
  description = "Managed policies of the plan role (pull requests: read everything, change nothing)."
  type        = list(string)
  default     = ["arn:aws:iam::aws:policy/ReadOnlyAccess"]
}

variable "github_apply_policy_arns" {
  description = "Managed policies of the apply role, which creates and deletes every resource of the stages (VPC, IAM roles, Kinesis, Firehose, S3, ECR, ECS, Lambda, DynamoDB, SQS, Glue, Athena, CloudWatch, SNS). None by default: choose them for your account (for example PowerUserAccess plus a policy allowing iam:*Role* and iam:PassRole on NAME-* roles)."
  type        = list(string)
  default     = []
}

variable "tags" {
  description = "Tags added to every resource."
  type        = map(string)
  default     = {}
}
