output "cluster_name" {
  description = "EKS cluster name."
  value       = module.kubernetes.cluster_name
}

output "artifact_bucket" {
  description = "MLflow artifact bucket."
  value       = module.storage.bucket
}

output "tracking_db_endpoint" {
  description = "host:port of the MLflow database."
  value       = module.database.endpoint
}

output "mlflow_role_arn" {
  description = "Role the mlflow/mlflow service account assumes."
  value       = aws_iam_role.mlflow.arn
}

output "alert_topic_arn" {
  description = "SNS topic of the alarms."
  value       = module.monitoring.alert_topic_arn
}

output "nat_public_ips" {
  description = "Egress IPs of the platform."
  value       = module.network.nat_public_ips
}
