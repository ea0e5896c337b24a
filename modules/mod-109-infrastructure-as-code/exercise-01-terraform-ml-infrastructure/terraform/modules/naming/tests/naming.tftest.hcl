# Runs for real with `terraform test` (no provider needed): see tfml's test suite.

variables {
  project      = "mlplat"
  environment  = "dev"
  owner        = "ml-platform"
  cost_center  = "research"
  network_cidr = "10.40.0.0/16"
  zones        = ["us-east-1a", "us-east-1b"]
}

run "dev_plan" {
  command = plan

  assert {
    condition     = output.prefix == "mlplat-dev"
    error_message = "prefix is <project>-<environment>"
  }
  assert {
    condition     = output.private_subnets["us-east-1a"] == "10.40.0.0/20" && output.public_subnets["us-east-1b"] == "10.40.144.0/20"
    error_message = "subnets come from the fixed address plan"
  }
  assert {
    condition     = output.sizing.nat_gateways == 1 && output.sizing.gpu_capacity_type == "SPOT"
    error_message = "dev uses one NAT gateway and spot GPUs"
  }
}

run "prod_is_hardened" {
  command = plan
  variables {
    environment = "prod"
    zones       = ["us-east-1a", "us-east-1b", "us-east-1c"]
  }

  assert {
    condition     = output.sizing.nat_gateways == 3 && output.sizing.db_multi_az && output.sizing.deletion_protection && !output.sizing.endpoint_public
    error_message = "prod: a NAT gateway per zone, Multi-AZ, deletion protection, private API"
  }
}

run "required_tags_cannot_be_overridden" {
  command = plan
  variables {
    extra_tags = { owner = "someone-else", team = "vision" }
  }

  assert {
    condition     = output.tags.owner == "ml-platform" && output.tags.team == "vision" && output.tags["managed-by"] == "terraform"
    error_message = "extra_tags add tags but cannot replace the required ones"
  }
}

run "rejects_unknown_environment" {
  command = plan
  variables {
    environment = "qa"
  }
  expect_failures = [var.environment]
}

run "rejects_public_cidr" {
  command = plan
  variables {
    network_cidr = "8.8.0.0/16"
  }
  expect_failures = [var.network_cidr]
}

run "rejects_too_many_zones" {
  command = plan
  variables {
    zones = ["a", "b", "c", "d"]
  }
  expect_failures = [var.zones]
}
