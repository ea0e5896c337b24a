# dev: two zones, one NAT gateway, spot GPUs that scale to zero, a small single-AZ database.
module "platform" {
  source            = "../../platform"
  project           = "mlplat"
  environment       = "dev"
  owner             = "ml-platform"
  cost_center       = "research"
  region            = "us-east-1"
  zones             = ["us-east-1a", "us-east-1b"]
  network_cidr      = "10.40.0.0/16"
  admin_cidrs       = ["203.0.113.0/24"]
  system_nodes      = { min = 1, max = 3, desired = 1 }
  gpu_instance_type = "g5.xlarge"
  gpu_nodes         = { min = 0, max = 2, desired = 0 }
  db_instance_class = "db.t4g.medium"
  db_storage_gb     = 20
}

output "platform" {
  description = "Everything the platform exports."
  value       = module.platform
}
