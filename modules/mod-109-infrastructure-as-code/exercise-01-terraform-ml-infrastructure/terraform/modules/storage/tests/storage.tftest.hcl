# A unit test of the storage module with a mocked AWS provider (Terraform >= 1.7): no
# credentials, no API calls. The mock still needs the provider's schema, so `terraform init`
# must be able to install hashicorp/aws (CI with registry access; here `tfml test` says why it
# cannot run).

mock_provider "aws" {
  mock_data "aws_iam_policy_document" {
    defaults = {
      json = "{\"Version\":\"2012-10-17\",\"Statement\":[]}"
    }
  }
}

variables {
  name                    = "mlplat-dev"
  kms_key_arn             = "arn:aws:kms:us-east-1:111122223333:key/test"
  noncurrent_version_days = 30
  tags                    = { project = "mlplat" }
}

run "private_encrypted_versioned" {
  command = plan

  assert {
    condition = alltrue([
      aws_s3_bucket_public_access_block.artifacts.block_public_acls,
      aws_s3_bucket_public_access_block.artifacts.block_public_policy,
      aws_s3_bucket_public_access_block.artifacts.ignore_public_acls,
      aws_s3_bucket_public_access_block.artifacts.restrict_public_buckets,
    ])
    error_message = "every public-access switch is on"
  }
  assert {
    condition     = one(one(aws_s3_bucket_server_side_encryption_configuration.artifacts.rule).apply_server_side_encryption_by_default).kms_master_key_id == var.kms_key_arn
    error_message = "objects are encrypted with the given KMS key"
  }
  assert {
    condition     = one(aws_s3_bucket_versioning.artifacts.versioning_configuration).status == "Enabled"
    error_message = "versioning is on"
  }
  assert {
    condition     = one(one(aws_s3_bucket_lifecycle_configuration.artifacts.rule).noncurrent_version_expiration).noncurrent_days == 30
    error_message = "old versions expire after noncurrent_version_days"
  }
  assert {
    condition     = !aws_s3_bucket.artifacts.force_destroy
    error_message = "a non-empty bucket is not destroyed by default"
  }
}

run "zero_day_retention_is_refused" {
  command = plan
  variables {
    noncurrent_version_days = 0
  }
  expect_failures = [var.noncurrent_version_days]
}
