output "state_bucket" {
  description = "Name of the Terraform state bucket."
  value       = aws_s3_bucket.state.bucket
}

output "state_region" {
  description = "Region of the Terraform state bucket."
  value       = var.region
}

output "backend_config" {
  description = "Partial S3 backend configuration for the other stages (deploy.sh writes it to infra/stages/backend.hcl; each stage's backend block sets key, encrypt and use_lockfile)."
  value       = <<-EOT
    bucket = "${aws_s3_bucket.state.bucket}"
    region = "${var.region}"
  EOT
}

output "github_plan_role_arn" {
  description = "Role the infra-plan workflow assumes (repository variable AWS_PLAN_ROLE_ARN), or null."
  value       = one(aws_iam_role.github_plan[*].arn)
}

output "github_apply_role_arn" {
  description = "Role the infra-apply workflow assumes (repository variable AWS_APPLY_ROLE_ARN), or null."
  value       = one(aws_iam_role.github_apply[*].arn)
}
