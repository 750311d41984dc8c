output "dashboard_name" {
  description = "Name of the CloudWatch dashboard."
  value       = aws_cloudwatch_dashboard.this.dashboard_name
}

output "dashboard_url" {
  description = "Console URL of the dashboard."
  value       = "https://${local.region}.console.aws.amazon.com/cloudwatch/home?region=${local.region}#dashboards/dashboard/${aws_cloudwatch_dashboard.this.dashboard_name}"
}

output "alarm_arns" {
  description = "ARNs of every alarm of the module."
  value       = local.alarm_arns
}

output "sns_topic_arn" {
  description = "ARN of the alarm topic, or null when alarm_email is empty."
  value       = one(aws_sns_topic.alarms[*].arn)
}
