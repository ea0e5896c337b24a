output "ml_service" {
  description = "The managed ML service: the Azure Machine Learning workspace id."
  value       = azurerm_machine_learning_workspace.ml.id
}

output "cluster_name" {
  description = "AKS cluster for serving and custom training."
  value       = azurerm_kubernetes_cluster.ml.name
}

output "data_bucket" {
  description = "Storage account for datasets and model artifacts."
  value       = azurerm_storage_account.ml.name
}

output "image_registry" {
  description = "Container registry login server."
  value       = azurerm_container_registry.ml.login_server
}
