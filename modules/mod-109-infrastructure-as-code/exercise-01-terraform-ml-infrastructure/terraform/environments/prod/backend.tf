# Remote state in S3 with native locking (Terraform >= 1.10, no DynamoDB table). The bucket is
# created once per account, outside this configuration (bootstrap), versioned and encrypted:
#   terraform init -backend-config="bucket=<state-bucket>"
terraform {
  backend "s3" {
    key          = "mlplat/prod/terraform.tfstate"
    region       = "us-east-1"
    encrypt      = true
    use_lockfile = true
  }
}
