locals {
  # One NVIDIA GPU of the class per node (a100: the smallest A100 shape each cloud sells).
  # null: the cloud has no such shape; the check below turns that into a plan-time error.
  machine_types = {
    aws = {
      t4   = "g4dn.xlarge"
      l4   = "g6.xlarge"
      a10  = "g5.xlarge"
      a100 = "p4d.24xlarge"
    }
    gcp = {
      t4   = "n1-standard-8"
      l4   = "g2-standard-8"
      a10  = null
      a100 = "a2-highgpu-1g"
    }
    azure = {
      t4   = "Standard_NC4as_T4_v3"
      l4   = null
      a10  = "Standard_NV36ads_A10_v5"
      a100 = "Standard_NC24ads_A100_v4"
    }
  }
  # GCP attaches the GPU to the machine as an accelerator.
  gcp_accelerators = {
    t4   = "nvidia-tesla-t4"
    l4   = "nvidia-l4"
    a10  = null
    a100 = "nvidia-tesla-a100"
  }
  pools = {
    dev  = { min = 0, max = 2, spot = true }
    prod = { min = 1, max = 8, spot = false }
  }
  machine_type = local.machine_types[var.cloud][var.gpu_class]
}

check "gpu_class_offered" {
  assert {
    condition     = local.machine_type != null
    error_message = "${var.cloud} has no ${var.gpu_class} machine type in this catalog."
  }
}
