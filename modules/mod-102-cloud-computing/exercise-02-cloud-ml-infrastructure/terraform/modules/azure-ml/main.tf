# Azure: an Azure Machine Learning workspace (private, high business impact) with its Key Vault,
# Application Insights, storage and registry; AKS with a GPU pool for serving and training.

data "azurerm_client_config" "current" {}

locals {
  compact = replace(var.name, "-", "")
}

resource "azurerm_resource_group" "ml" {
  name     = "${var.name}-ml"
  location = var.location
  tags     = var.tags
}

resource "azurerm_key_vault" "ml" {
  #checkov:skip=CKV2_AZURE_32:the private endpoint comes from the landing zone's DNS setup
  name                          = "${local.compact}kv"
  location                      = azurerm_resource_group.ml.location
  resource_group_name           = azurerm_resource_group.ml.name
  tenant_id                     = data.azurerm_client_config.current.tenant_id
  sku_name                      = "premium"
  rbac_authorization_enabled    = true
  purge_protection_enabled      = true
  soft_delete_retention_days    = 90
  public_network_access_enabled = false
  tags                          = var.tags

  network_acls {
    default_action = "Deny"
    bypass         = "AzureServices"
  }
}

resource "azurerm_log_analytics_workspace" "ml" {
  name                = "${var.name}-logs"
  location            = azurerm_resource_group.ml.location
  resource_group_name = azurerm_resource_group.ml.name
  sku                 = "PerGB2018"
  retention_in_days   = 90
  tags                = var.tags
}

resource "azurerm_application_insights" "ml" {
  name                = "${var.name}-insights"
  location            = azurerm_resource_group.ml.location
  resource_group_name = azurerm_resource_group.ml.name
  workspace_id        = azurerm_log_analytics_workspace.ml.id
  application_type    = "web"
  tags                = var.tags
}

resource "azurerm_storage_account" "ml" {
  #checkov:skip=CKV2_AZURE_1:Microsoft-managed keys; customer-managed keys need a Key Vault key and identity per account
  #checkov:skip=CKV2_AZURE_33:the private endpoint comes from the landing zone's DNS setup
  #checkov:skip=CKV_AZURE_33:no queues are used
  #checkov:skip=CKV_AZURE_206:ZRS in prod is chosen by the stack; GRS is the disaster-recovery exercise
  name                            = "${local.compact}ml"
  location                        = azurerm_resource_group.ml.location
  resource_group_name             = azurerm_resource_group.ml.name
  account_tier                    = "Standard"
  account_replication_type        = "ZRS"
  min_tls_version                 = "TLS1_2"
  https_traffic_only_enabled      = true
  allow_nested_items_to_be_public = false
  shared_access_key_enabled       = false
  public_network_access_enabled   = false
  tags                            = var.tags

  blob_properties {
    versioning_enabled = true
    delete_retention_policy {
      days = 30
    }
  }

  network_rules {
    default_action = "Deny"
    bypass         = ["AzureServices"]
  }

  sas_policy {
    expiration_period = "01.00:00:00"
  }
}

resource "azurerm_container_registry" "ml" {
  #checkov:skip=CKV_AZURE_165:a single-region stack; geo-replication belongs to the multi-region project (203)
  #checkov:skip=CKV_AZURE_164:content trust is superseded by Notation signing, configured per pipeline
  #checkov:skip=CKV_AZURE_233:zone redundancy is set per region in prod registries
  #checkov:skip=CKV_AZURE_237:dedicated data endpoints are configured with the private endpoint
  name                          = "${local.compact}acr"
  location                      = azurerm_resource_group.ml.location
  resource_group_name           = azurerm_resource_group.ml.name
  sku                           = "Premium"
  admin_enabled                 = false
  public_network_access_enabled = false
  quarantine_policy_enabled     = true
  retention_policy_in_days      = 30
  tags                          = var.tags
}

resource "azurerm_machine_learning_workspace" "ml" {
  #checkov:skip=CKV_AZURE_144:workspace encryption with a customer key is an optional add-on
  name                          = "${var.name}-aml"
  location                      = azurerm_resource_group.ml.location
  resource_group_name           = azurerm_resource_group.ml.name
  application_insights_id       = azurerm_application_insights.ml.id
  key_vault_id                  = azurerm_key_vault.ml.id
  storage_account_id            = azurerm_storage_account.ml.id
  container_registry_id         = azurerm_container_registry.ml.id
  public_network_access_enabled = false
  high_business_impact          = true
  tags                          = var.tags

  identity {
    type = "SystemAssigned"
  }
}

resource "azurerm_kubernetes_cluster" "ml" {
  #checkov:skip=CKV_AZURE_115:private cluster is on; the check wants a private DNS zone id the landing zone owns
  #checkov:skip=CKV_AZURE_117:disk encryption sets need a Key Vault key, an add-on here
  #checkov:skip=CKV_AZURE_226:ephemeral OS disks depend on the VM size's cache, chosen per pool
  #checkov:skip=CKV_AZURE_227:encryption at host must be enabled per subscription first
  name                              = "${var.name}-aks"
  location                          = azurerm_resource_group.ml.location
  resource_group_name               = azurerm_resource_group.ml.name
  dns_prefix                        = var.name
  kubernetes_version                = var.kubernetes_version
  sku_tier                          = "Standard"
  private_cluster_enabled           = true
  local_account_disabled            = true
  oidc_issuer_enabled               = true
  workload_identity_enabled         = true
  azure_policy_enabled              = true
  role_based_access_control_enabled = true
  automatic_upgrade_channel         = "stable"
  tags                              = var.tags

  default_node_pool {
    name                         = "system"
    vm_size                      = "Standard_D4s_v5"
    vnet_subnet_id               = var.nodes_subnet_id
    auto_scaling_enabled         = true
    min_count                    = 1
    max_count                    = 3
    max_pods                     = 50
    only_critical_addons_enabled = true
  }

  identity {
    type = "SystemAssigned"
  }

  azure_active_directory_role_based_access_control {
    azure_rbac_enabled = true
  }

  network_profile {
    network_plugin      = "azure"
    network_plugin_mode = "overlay"
    network_policy      = "cilium"
    network_data_plane  = "cilium"
  }

  oms_agent {
    log_analytics_workspace_id = azurerm_log_analytics_workspace.ml.id
  }

  key_vault_secrets_provider {
    secret_rotation_enabled = true
  }
}

resource "azurerm_kubernetes_cluster_node_pool" "gpu" {
  #checkov:skip=CKV_AZURE_227:encryption at host must be enabled per subscription first
  name                  = "gpu"
  kubernetes_cluster_id = azurerm_kubernetes_cluster.ml.id
  vm_size               = var.gpu_machine_type
  vnet_subnet_id        = var.nodes_subnet_id
  auto_scaling_enabled  = true
  min_count             = var.gpu_pool.min
  max_count             = var.gpu_pool.max
  max_pods              = 50
  priority              = var.gpu_pool.spot ? "Spot" : "Regular"
  eviction_policy       = var.gpu_pool.spot ? "Delete" : null
  node_labels           = { workload = "gpu" }
  node_taints           = ["nvidia.com/gpu=true:NoSchedule"]
  tags                  = var.tags
}

# AKS pulls images from the registry with its kubelet identity (no admin user, no secrets).
resource "azurerm_role_assignment" "aks_pull" {
  scope                = azurerm_container_registry.ml.id
  role_definition_name = "AcrPull"
  principal_id         = azurerm_kubernetes_cluster.ml.kubelet_identity[0].object_id
}
