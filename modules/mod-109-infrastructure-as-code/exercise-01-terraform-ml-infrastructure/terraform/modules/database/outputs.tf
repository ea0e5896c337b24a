output "endpoint" {
  description = "host:port of the database (MLflow --backend-store-uri postgresql://...@<endpoint>/mlflow)."
  value       = aws_db_instance.mlflow.endpoint
}

output "instance_id" {
  description = "RDS instance identifier (CloudWatch dimension DBInstanceIdentifier)."
  value       = aws_db_instance.mlflow.identifier
}

output "master_secret_arn" {
  description = "Secrets Manager secret holding the managed master password."
  value       = aws_db_instance.mlflow.master_user_secret[0].secret_arn
}

output "security_group_id" {
  description = "Security group of the database."
  value       = aws_security_group.db.id
}
