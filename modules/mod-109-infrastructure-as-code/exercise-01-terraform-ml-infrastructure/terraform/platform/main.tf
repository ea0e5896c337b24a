# The ML platform: the reusable modules wired together. Environments only choose values.

module "naming" {
  source       = "../modules/naming"
  project      = var.project
  environment  = var.environment
  owner        = var.owner
  cost_center  = var.cost_center
  network_cidr = var.network_cidr
  zones        = var.zones
}

locals {
  name   = module.naming.prefix
  tags   = module.naming.tags
  sizing = module.naming.sizing
}

data "aws_caller_identity" "current" {}

# One customer-managed key for the platform's data at rest: artifacts, database, secrets, logs.
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
  statement {
    sid       = "CloudWatchLogsUse"
    actions   = ["kms:Encrypt*", "kms:Decrypt*", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:Describe*"]
    resources = ["*"]
    principals {
      type        = "Service"
      identifiers = ["logs.${var.region}.amazonaws.com"]
    }
  }
}

resource "aws_kms_key" "platform" {
  description             = "${local.name}: artifacts, database, Kubernetes secrets, logs"
  enable_key_rotation     = true
  deletion_window_in_days = local.sizing.deletion_protection ? 30 : 7
  policy                  = data.aws_iam_policy_document.key.json
  tags                    = local.tags
}

resource "aws_kms_alias" "platform" {
  name          = "alias/${local.name}"
  target_key_id = aws_kms_key.platform.key_id
}

module "network" {
  source                  = "../modules/network"
  name                    = local.name
  cidr                    = var.network_cidr
  private_subnets         = module.naming.private_subnets
  public_subnets          = module.naming.public_subnets
  nat_gateways            = local.sizing.nat_gateways
  flow_log_retention_days = local.sizing.log_retention_days
  kms_key_arn             = aws_kms_key.platform.arn
  tags                    = local.tags
}

module "kubernetes" {
  source             = "../modules/kubernetes"
  name               = "${local.name}-eks"
  subnet_ids         = module.network.private_subnet_ids
  endpoint_public    = local.sizing.endpoint_public
  admin_cidrs        = var.admin_cidrs
  kms_key_arn        = aws_kms_key.platform.arn
  system_nodes       = var.system_nodes
  gpu_instance_type  = var.gpu_instance_type
  gpu_nodes          = var.gpu_nodes
  gpu_capacity_type  = local.sizing.gpu_capacity_type
  log_retention_days = local.sizing.log_retention_days
  tags               = local.tags
}

module "storage" {
  source                  = "../modules/storage"
  name                    = local.name
  kms_key_arn             = aws_kms_key.platform.arn
  noncurrent_version_days = local.sizing.artifact_version_ttl
  force_destroy           = !local.sizing.deletion_protection
  tags                    = local.tags
}

module "database" {
  source                = "../modules/database"
  name                  = local.name
  vpc_id                = module.network.vpc_id
  subnet_ids            = module.network.private_subnet_ids
  allowed_cidrs         = [var.network_cidr]
  instance_class        = var.db_instance_class
  allocated_storage_gb  = var.db_storage_gb
  multi_az              = local.sizing.db_multi_az
  backup_retention_days = local.sizing.db_backup_days
  deletion_protection   = local.sizing.deletion_protection
  kms_key_arn           = aws_kms_key.platform.arn
  tags                  = local.tags
}

module "monitoring" {
  source         = "../modules/monitoring"
  name           = local.name
  alert_emails   = var.alert_emails
  db_instance_id = module.database.instance_id
  cluster_name   = module.kubernetes.cluster_name
  kms_key_arn    = aws_kms_key.platform.arn
  tags           = local.tags
}

# MLflow's identity: EKS Pod Identity for the mlflow/mlflow service account, with the storage
# module's bucket-only policy.
data "aws_iam_policy_document" "mlflow_assume" {
  statement {
    actions = ["sts:AssumeRole", "sts:TagSession"]
    principals {
      type        = "Service"
      identifiers = ["pods.eks.amazonaws.com"]
    }
  }
}

resource "aws_iam_role" "mlflow" {
  name_prefix        = "${local.name}-mlflow-"
  assume_role_policy = data.aws_iam_policy_document.mlflow_assume.json
  tags               = local.tags
}

resource "aws_iam_role_policy_attachment" "mlflow_artifacts" {
  role       = aws_iam_role.mlflow.name
  policy_arn = module.storage.read_write_policy_arn
}

resource "aws_eks_pod_identity_association" "mlflow" {
  cluster_name    = module.kubernetes.cluster_name
  namespace       = "mlflow"
  service_account = "mlflow"
  role_arn        = aws_iam_role.mlflow.arn
  tags            = local.tags
}
