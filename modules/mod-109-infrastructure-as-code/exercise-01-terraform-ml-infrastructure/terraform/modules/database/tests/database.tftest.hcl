# A unit test of the database module with a mocked AWS provider (Terraform >= 1.7). The mock
# needs the provider's schema: `terraform init` must reach the registry (see storage's test).

mock_provider "aws" {}

variables {
  name                  = "mlplat-dev"
  vpc_id                = "vpc-0123456789abcdef0"
  subnet_ids            = ["subnet-a", "subnet-b"]
  allowed_cidrs         = ["10.40.0.0/16"]
  instance_class        = "db.t4g.medium"
  allocated_storage_gb  = 50
  multi_az              = false
  backup_retention_days = 1
  deletion_protection   = false
  kms_key_arn           = "arn:aws:kms:us-east-1:111122223333:key/test"
  tags                  = { project = "mlplat" }
}

run "private_encrypted_tls_only" {
  command = plan

  assert {
    condition     = aws_db_instance.mlflow.storage_encrypted && !aws_db_instance.mlflow.publicly_accessible
    error_message = "storage is encrypted and the instance is not public"
  }
  assert {
    condition     = anytrue([for p in aws_db_parameter_group.db.parameter : p.name == "rds.force_ssl" && p.value == "1"])
    error_message = "clients must use TLS"
  }
  assert {
    condition     = one(aws_security_group.db.ingress).from_port == 5432 && one(aws_security_group.db.ingress).cidr_blocks == tolist(["10.40.0.0/16"])
    error_message = "only 5432, only from the allowed ranges"
  }
  assert {
    condition     = aws_db_instance.mlflow.skip_final_snapshot && aws_db_instance.mlflow.final_snapshot_identifier == null
    error_message = "without deletion protection there is no final snapshot"
  }
}

run "prod_keeps_a_final_snapshot" {
  command = plan
  variables {
    deletion_protection   = true
    multi_az              = true
    backup_retention_days = 7
  }
  assert {
    condition     = !aws_db_instance.mlflow.skip_final_snapshot && aws_db_instance.mlflow.final_snapshot_identifier == "mlplat-dev-mlflow-final"
    error_message = "deletion protection keeps a final snapshot"
  }
}

run "open_to_the_internet_is_refused" {
  command = plan
  variables {
    allowed_cidrs = ["0.0.0.0/0"]
  }
  expect_failures = [var.allowed_cidrs]
}

run "one_subnet_is_refused" {
  command = plan
  variables {
    subnet_ids = ["subnet-a"]
  }
  expect_failures = [var.subnet_ids]
}
