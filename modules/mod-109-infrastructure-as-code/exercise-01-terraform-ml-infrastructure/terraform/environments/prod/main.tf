# prod: three zones, a NAT gateway per zone, private API, on-demand GPUs, Multi-AZ database.
module "platform" {
  source            = "../../platform"
  project           = "mlplat"
  environment       = "prod"
  owner             = "ml-platform"
  cost_center       = "research"
  region            = "us-east-1"
  zones             = ["us-east-1a", "us-east-1b", "us-east-1c"]
  network_cidr      = "10.50.0.0/16"
  system_nodes      = { min = 3, max = 6, desired = 3 }
  gpu_instance_type = "g5.2xlarge"
  gpu_nodes         = { min = 1, max = 8, desired = 1 }
  db_instance_class = "db.m6g.large"
  db_storage_gb     = 100
  alert_emails      = ["ml-oncall@example.com"]
}

output "platform" {
  description = "Everything the platform exports."
  value       = module.platform
}
