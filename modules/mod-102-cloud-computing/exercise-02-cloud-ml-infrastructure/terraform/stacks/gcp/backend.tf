# terraform init -backend-config="bucket=<state-bucket>" -backend-config="prefix=ml/<env>"
terraform {
  backend "gcs" {}
}

provider "google" {}
