# A unit test of the AWS stack's module with a mocked provider (Terraform >= 1.7): no
# credentials, no API calls. The mock still needs hashicorp/aws's schema, so `terraform init`
# must reach the registry; `cloudinfra test` runs it where it can and says why not here.

mock_provider "aws" {
  mock_data "aws_iam_policy_document" {
    defaults = {
      json = "{\"Version\":\"2012-10-17\",\"Statement\":[]}"
    }
  }
  mock_data "aws_caller_identity" {
    defaults = {
      account_id = "111122223333"
    }
  }
}

variables {
  name             = "mlplat-dev"
  vpc_id           = "vpc-0123456789abcdef0"
  subnet_ids       = ["subnet-a", "subnet-b"]
  gpu_machine_type = "g5.xlarge"
  gpu_pool         = { min = 0, max = 4, spot = true }
  tags             = { owner = "ml-platform", environment = "dev" }
}

run "private_by_default" {
  command = plan

  assert {
    condition     = !one(aws_eks_cluster.ml.vpc_config).endpoint_public_access && one(aws_eks_cluster.ml.vpc_config).endpoint_private_access
    error_message = "the EKS API is private"
  }
  assert {
    condition     = aws_sagemaker_domain.studio.app_network_access_type == "VpcOnly"
    error_message = "SageMaker Studio stays in the VPC"
  }
  assert {
    condition     = aws_s3_bucket_public_access_block.ml.block_public_acls && aws_s3_bucket_public_access_block.ml.restrict_public_buckets
    error_message = "the bucket blocks public access"
  }
  assert {
    condition     = aws_ecr_repository.images.image_tag_mutability == "IMMUTABLE"
    error_message = "image tags cannot be overwritten"
  }
}

run "gpu_pool_is_tainted_and_follows_the_catalog" {
  command = plan

  assert {
    condition     = one(aws_eks_node_group.gpu.taint).key == "nvidia.com/gpu" && one(aws_eks_node_group.gpu.taint).effect == "NO_SCHEDULE"
    error_message = "only pods that tolerate GPUs land on GPU nodes"
  }
  assert {
    condition     = aws_eks_node_group.gpu.capacity_type == "SPOT" && one(aws_eks_node_group.gpu.scaling_config).max_size == 4
    error_message = "spot and the pool bounds come from gpu_pool"
  }
  assert {
    condition     = aws_eks_node_group.gpu.instance_types == tolist(["g5.xlarge"])
    error_message = "the GPU machine comes from the catalog"
  }
}

run "tags_without_an_owner_are_refused" {
  command = plan
  variables {
    tags = { environment = "dev" }
  }
  expect_failures = [var.tags]
}

run "a_bad_name_is_refused" {
  command = plan
  variables {
    name = "ML_Platform"
  }
  expect_failures = [var.name]
}
