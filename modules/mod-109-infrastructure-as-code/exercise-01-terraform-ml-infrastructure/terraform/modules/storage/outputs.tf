output "bucket" {
  description = "Name of the artifact bucket (MLflow: --artifacts-destination s3://<bucket>)."
  value       = aws_s3_bucket.artifacts.id
}

output "bucket_arn" {
  description = "ARN of the artifact bucket."
  value       = aws_s3_bucket.artifacts.arn
}

output "read_write_policy_arn" {
  description = "Managed policy granting read/write on this bucket only; attach to workload roles."
  value       = aws_iam_policy.read_write.arn
}
