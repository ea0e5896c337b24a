output "ml_service" {
  description = "The managed ML service: the SageMaker Studio domain id."
  value       = aws_sagemaker_domain.studio.id
}

output "cluster_name" {
  description = "EKS cluster for serving and custom training."
  value       = aws_eks_cluster.ml.name
}

output "data_bucket" {
  description = "S3 bucket for datasets and model artifacts."
  value       = aws_s3_bucket.ml.id
}

output "image_registry" {
  description = "ECR repository URL for training/serving images."
  value       = aws_ecr_repository.images.repository_url
}
