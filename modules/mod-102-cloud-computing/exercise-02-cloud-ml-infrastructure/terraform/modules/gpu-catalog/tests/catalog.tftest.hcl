variables {
  cloud       = "aws"
  gpu_class   = "a10"
  environment = "dev"
}

run "aws_a10_dev" {
  command = plan

  assert {
    condition     = output.machine_type == "g5.xlarge" && output.accelerator == null
    error_message = "a10 on AWS is g5.xlarge, no separate accelerator"
  }
  assert {
    condition     = output.pool.min == 0 && output.pool.spot
    error_message = "dev GPU pools scale to zero on spot"
  }
}

run "gcp_t4_prod" {
  command = plan
  variables {
    cloud       = "gcp"
    gpu_class   = "t4"
    environment = "prod"
  }

  assert {
    condition     = output.machine_type == "n1-standard-8" && output.accelerator == "nvidia-tesla-t4"
    error_message = "t4 on GCP is an n1 machine with a T4 accelerator"
  }
  assert {
    condition     = output.pool.min >= 1 && !output.pool.spot
    error_message = "prod keeps an on-demand GPU node"
  }
}

run "azure_a100" {
  command = plan
  variables {
    cloud     = "azure"
    gpu_class = "a100"
  }

  assert {
    condition     = output.machine_type == "Standard_NC24ads_A100_v4"
    error_message = "a100 on Azure is NC24ads A100 v4"
  }
}

run "rejects_unknown_cloud" {
  command = plan
  variables {
    cloud = "oracle"
  }
  expect_failures = [var.cloud]
}

run "warns_on_a_class_the_cloud_lacks" {
  command = plan
  variables {
    cloud     = "gcp"
    gpu_class = "a10"
  }
  expect_failures = [check.gpu_class_offered]
}
