output "ecr_repository_url" {
  description = "URL of the ECR repository to push the tp-producer image to (docker push URL:TAG)."
  value       = aws_ecr_repository.this.repository_url
}

output "ecr_repository_arn" {
  description = "ARN of the ECR repository."
  value       = aws_ecr_repository.this.arn
}

output "cluster_name" {
  description = "Name of the ECS cluster."
  value       = aws_ecs_cluster.this.name
}

output "cluster_arn" {
  description = "ARN of the ECS cluster."
  value       = aws_ecs_cluster.this.arn
}

output "service_name" {
  description = "Name of the ECS service running tp-producer."
  value       = aws_ecs_service.this.name
}

output "task_definition_arn" {
  description = "ARN of the task definition (for a one-off `aws ecs run-task`)."
  value       = aws_ecs_task_definition.this.arn
}

output "task_role_arn" {
  description = "ARN of the task role (Kinesis writes to the stream only)."
  value       = aws_iam_role.task.arn
}

output "security_group_id" {
  description = "Security group of the tasks."
  value       = aws_security_group.tasks.id
}

output "log_group_name" {
  description = "CloudWatch log group of the tasks (tp-producer's progress line every 60 s)."
  value       = aws_cloudwatch_log_group.this.name
}

output "image" {
  description = "Image the task definition runs."
  value       = local.image
}

output "command" {
  description = "tp-producer arguments the task runs."
  value       = local.command
}

output "running" {
  description = "False while no image is set (desired count forced to 0)."
  value       = local.has_image
}
