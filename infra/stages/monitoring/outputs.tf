output "dashboard_url" {
  description = "Console URL of the dashboard."
  value       = module.monitoring.dashboard_url
}

output "alarm_arns" {
  description = "ARNs of the alarms."
  value       = module.monitoring.alarm_arns
}

output "sns_topic_arn" {
  description = "Alarm topic, or null."
  value       = module.monitoring.sns_topic_arn
}
