# AWS: SageMaker Studio (VPC only) for notebooks and training jobs, EKS with a GPU node group
# for serving and custom training, S3 + ECR for data, models and images; one KMS key for all.

data "aws_caller_identity" "current" {}

data "aws_iam_policy_document" "key" {
  #checkov:skip=CKV_AWS_109:in a key policy "*" is this key; the root statement is AWS's default key policy
  #checkov:skip=CKV_AWS_111:in a key policy "*" is this key; the root statement is AWS's default key policy
  #checkov:skip=CKV_AWS_356:in a key policy "*" is this key; the root statement is AWS's default key policy
  statement {
    sid       = "AccountAdministers"
    actions   = ["kms:*"]
    resources = ["*"]
    principals {
      type        = "AWS"
      identifiers = ["arn:aws:iam::${data.aws_caller_identity.current.account_id}:root"]
    }
  }
}

resource "aws_kms_key" "ml" {
  description         = "${var.name}: ML data, models, images, Studio volumes"
  enable_key_rotation = true
  policy              = data.aws_iam_policy_document.key.json
  tags                = var.tags
}

resource "aws_s3_bucket" "ml" {
  #checkov:skip=CKV_AWS_18:object access is audited by CloudTrail data events, not a log bucket per stack
  #checkov:skip=CKV2_AWS_62:nothing consumes bucket events
  #checkov:skip=CKV_AWS_144:cross-region replication is the disaster-recovery exercise (102-03)
  #checkov:skip=CKV2_AWS_61:training data is kept; model versions expire through the registry
  bucket_prefix = "${var.name}-ml-"
  tags          = var.tags
}

resource "aws_s3_bucket_server_side_encryption_configuration" "ml" {
  bucket = aws_s3_bucket.ml.id
  rule {
    apply_server_side_encryption_by_default {
      sse_algorithm     = "aws:kms"
      kms_master_key_id = aws_kms_key.ml.arn
    }
    bucket_key_enabled = true
  }
}

resource "aws_s3_bucket_versioning" "ml" {
  bucket = aws_s3_bucket.ml.id
  versioning_configuration {
    status = "Enabled"
  }
}

resource "aws_s3_bucket_public_access_block" "ml" {
  bucket                  = aws_s3_bucket.ml.id
  block_public_acls       = true
  block_public_policy     = true
  ignore_public_acls      = true
  restrict_public_buckets = true
}

resource "aws_ecr_repository" "images" {
  name                 = "${var.name}/training"
  image_tag_mutability = "IMMUTABLE"
  image_scanning_configuration {
    scan_on_push = true
  }
  encryption_configuration {
    encryption_type = "KMS"
    kms_key         = aws_kms_key.ml.arn
  }
  tags = var.tags
}

data "aws_iam_policy_document" "sagemaker_assume" {
  statement {
    actions = ["sts:AssumeRole"]
    principals {
      type        = "Service"
      identifiers = ["sagemaker.amazonaws.com"]
    }
  }
}

# SageMaker's execution role: this bucket, this repository, this key (no AmazonSageMakerFullAccess).
data "aws_iam_policy_document" "sagemaker" {
  statement {
    actions   = ["s3:ListBucket"]
    resources = [aws_s3_bucket.ml.arn]
  }
  statement {
    actions   = ["s3:GetObject", "s3:PutObject"]
    resources = ["${aws_s3_bucket.ml.arn}/*"]
  }
  statement {
    actions   = ["ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer", "ecr:BatchCheckLayerAvailability"]
    resources = [aws_ecr_repository.images.arn]
  }
  statement {
    actions   = ["kms:Decrypt", "kms:GenerateDataKey"]
    resources = [aws_kms_key.ml.arn]
  }
}

resource "aws_iam_role" "sagemaker" {
  name_prefix        = "${var.name}-sm-"
  assume_role_policy = data.aws_iam_policy_document.sagemaker_assume.json
  tags               = var.tags
}

resource "aws_iam_role_policy" "sagemaker" {
  role   = aws_iam_role.sagemaker.id
  policy = data.aws_iam_policy_document.sagemaker.json
}

resource "aws_sagemaker_domain" "studio" {
  domain_name             = "${var.name}-studio"
  auth_mode               = "IAM"
  vpc_id                  = var.vpc_id
  subnet_ids              = var.subnet_ids
  app_network_access_type = "VpcOnly"
  kms_key_id              = aws_kms_key.ml.arn

  default_user_settings {
    execution_role = aws_iam_role.sagemaker.arn
  }

  tags = var.tags
}

data "aws_iam_policy_document" "eks_assume" {
  statement {
    actions = ["sts:AssumeRole", "sts:TagSession"]
    principals {
      type        = "Service"
      identifiers = ["eks.amazonaws.com"]
    }
  }
}

data "aws_iam_policy_document" "node_assume" {
  statement {
    actions = ["sts:AssumeRole"]
    principals {
      type        = "Service"
      identifiers = ["ec2.amazonaws.com"]
    }
  }
}

resource "aws_iam_role" "cluster" {
  name_prefix        = "${var.name}-eks-"
  assume_role_policy = data.aws_iam_policy_document.eks_assume.json
  tags               = var.tags
}

resource "aws_iam_role_policy_attachment" "cluster" {
  role       = aws_iam_role.cluster.name
  policy_arn = "arn:aws:iam::aws:policy/AmazonEKSClusterPolicy"
}

resource "aws_iam_role" "nodes" {
  name_prefix        = "${var.name}-nodes-"
  assume_role_policy = data.aws_iam_policy_document.node_assume.json
  tags               = var.tags
}

resource "aws_iam_role_policy_attachment" "nodes" {
  for_each   = toset(["AmazonEKSWorkerNodePolicy", "AmazonEKS_CNI_Policy", "AmazonEC2ContainerRegistryReadOnly"])
  role       = aws_iam_role.nodes.name
  policy_arn = "arn:aws:iam::aws:policy/${each.key}"
}

resource "aws_eks_cluster" "ml" {
  name                      = "${var.name}-eks"
  version                   = var.kubernetes_version
  role_arn                  = aws_iam_role.cluster.arn
  enabled_cluster_log_types = ["api", "audit", "authenticator", "controllerManager", "scheduler"]

  vpc_config {
    subnet_ids              = var.subnet_ids
    endpoint_private_access = true
    endpoint_public_access  = false
  }

  encryption_config {
    resources = ["secrets"]
    provider {
      key_arn = aws_kms_key.ml.arn
    }
  }

  tags       = var.tags
  depends_on = [aws_iam_role_policy_attachment.cluster]
}

# Cluster add-ons, controllers and CPU workloads run here, never on a GPU node.
resource "aws_eks_node_group" "system" {
  cluster_name    = aws_eks_cluster.ml.name
  node_group_name = "system"
  node_role_arn   = aws_iam_role.nodes.arn
  subnet_ids      = var.subnet_ids
  instance_types  = ["m6i.large"]
  labels          = { workload = "system" }

  scaling_config {
    min_size     = 1
    max_size     = 3
    desired_size = 1
  }

  tags       = var.tags
  depends_on = [aws_iam_role_policy_attachment.nodes]
}

resource "aws_eks_node_group" "gpu" {
  cluster_name    = aws_eks_cluster.ml.name
  node_group_name = "gpu"
  node_role_arn   = aws_iam_role.nodes.arn
  subnet_ids      = var.subnet_ids
  ami_type        = "AL2023_x86_64_NVIDIA"
  instance_types  = [var.gpu_machine_type]
  capacity_type   = var.gpu_pool.spot ? "SPOT" : "ON_DEMAND"
  labels          = { workload = "gpu" }

  taint {
    key    = "nvidia.com/gpu"
    value  = "true"
    effect = "NO_SCHEDULE"
  }

  scaling_config {
    min_size     = var.gpu_pool.min
    max_size     = var.gpu_pool.max
    desired_size = var.gpu_pool.min
  }

  tags       = var.tags
  depends_on = [aws_iam_role_policy_attachment.nodes]
}
