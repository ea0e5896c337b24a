environment = "prod"
gpu_class   = "a10"
owner       = "ml-platform"
vpc_id      = "vpc-0f1e2d3c4b5a60718"
subnet_ids  = ["subnet-0f1e2d3c4b5a60711", "subnet-0f1e2d3c4b5a60722", "subnet-0f1e2d3c4b5a60733"]
