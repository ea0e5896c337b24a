# terraform init -backend-config="storage_account_name=<state account>" \
#   -backend-config="container_name=tfstate" -backend-config="key=ml/<env>.tfstate"
terraform {
  backend "azurerm" {
    resource_group_name = "tfstate"
    use_azuread_auth    = true
  }
}

provider "azurerm" {
  features {}
}
