output "ecr_repository_url" {
  description = "Push the tp-producer image here (docker push URL:TAG), then apply with image_tag = TAG."
  value       = module.producer.ecr_repository_url
}

output "cluster_name" {
  description = "ECS cluster."
  value       = module.producer.cluster_name
}

output "service_name" {
  description = "ECS service running tp-producer."
  value       = module.producer.service_name
}

output "log_group_name" {
  description = "Log group of the producer tasks."
  value       = module.producer.log_group_name
}

output "command" {
  description = "tp-producer arguments of the task."
  value       = module.producer.command
}

output "running" {
  description = "False until an image tag is set."
  value       = module.producer.running
}
