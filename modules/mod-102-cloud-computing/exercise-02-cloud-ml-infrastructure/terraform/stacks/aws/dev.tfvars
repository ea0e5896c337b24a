environment = "dev"
gpu_class   = "a10"
owner       = "ml-platform"
vpc_id      = "vpc-0a1b2c3d4e5f60718"
subnet_ids  = ["subnet-0a1b2c3d4e5f60711", "subnet-0a1b2c3d4e5f60722"]
