# terraform init -backend-config="bucket=<state-bucket>" -backend-config="key=ml/<env>.tfstate"
terraform {
  backend "s3" {
    region       = "us-east-1"
    encrypt      = true
    use_lockfile = true
  }
}

provider "aws" {
  region = "us-east-1"
}
