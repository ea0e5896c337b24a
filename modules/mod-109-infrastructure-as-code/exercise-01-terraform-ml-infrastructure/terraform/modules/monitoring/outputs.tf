output "alert_topic_arn" {
  description = "SNS topic the alarms publish to (subscribe PagerDuty/Slack here)."
  value       = aws_sns_topic.alerts.arn
}

output "alarm_names" {
  description = "Names of the CloudWatch alarms."
  value       = [aws_cloudwatch_metric_alarm.db_cpu.alarm_name, aws_cloudwatch_metric_alarm.db_storage.alarm_name, aws_cloudwatch_metric_alarm.gpu_nodes_failed.alarm_name]
}
