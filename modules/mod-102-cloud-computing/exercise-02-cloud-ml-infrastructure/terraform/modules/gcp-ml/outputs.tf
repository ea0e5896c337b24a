output "ml_service" {
  description = "The managed ML service: the Vertex AI endpoint id."
  value       = google_vertex_ai_endpoint.serving.id
}

output "cluster_name" {
  description = "GKE cluster for serving and custom training."
  value       = google_container_cluster.ml.name
}

output "data_bucket" {
  description = "GCS bucket for datasets and model artifacts."
  value       = google_storage_bucket.ml.name
}

output "image_registry" {
  description = "Artifact Registry repository for images."
  value       = "${var.region}-docker.pkg.dev/${var.project}/${google_artifact_registry_repository.images.repository_id}"
}
