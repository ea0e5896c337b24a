"""The AWS platform: VPC, EKS with a tainted GPU node group, S3 + KMS, RDS PostgreSQL, IAM.

Least privilege: the MLflow workload gets an IAM role (EKS Pod Identity, no node-wide
credentials) whose policy names this bucket and this KMS key, nothing else.
"""

from __future__ import annotations

import json

import pulumi
import pulumi_aws as aws

from pulumiml.components.base import GPU_LABEL, GPU_TAINT_KEY, MLPlatform
from pulumiml.spec import Cloud

_MANAGED = "arn:aws:iam::aws:policy/"
CLUSTER_POLICIES = ("AmazonEKSClusterPolicy",)
NODE_POLICIES = (
    "AmazonEKSWorkerNodePolicy",
    "AmazonEKS_CNI_Policy",
    "AmazonEC2ContainerRegistryReadOnly",
)


def _assume(service: str, *, tag_session: bool = False) -> str:
    actions = ["sts:AssumeRole"] + (["sts:TagSession"] if tag_session else [])
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {"Effect": "Allow", "Principal": {"Service": service}, "Action": actions}
            ],
        }
    )


class AwsMLPlatform(MLPlatform):
    """:class:`MLPlatform` on AWS."""

    cloud = Cloud.AWS

    def _build(self, name: str) -> None:
        spec, opts = self.spec, self.child
        tags = spec.tags()
        p = spec.prefix
        zones = [f"{spec.resolved_region}{'abc'[i]}" for i in range(spec.zones)]
        subnets = spec.subnets()

        key = aws.kms.Key(
            f"{name}-key",
            description=f"{p}: artifacts, database, Kubernetes secrets",
            enable_key_rotation=True,
            deletion_window_in_days=30 if spec.prod else 7,
            tags=tags,
            opts=opts,
        )

        # -- network: private subnets for nodes and the database, public ones for NAT/LBs --
        vpc = aws.ec2.Vpc(
            f"{name}-vpc",
            cidr_block=spec.network_cidr,
            enable_dns_hostnames=True,
            enable_dns_support=True,
            tags=tags | {"Name": f"{p}-vpc"},
            opts=opts,
        )
        igw = aws.ec2.InternetGateway(f"{name}-igw", vpc_id=vpc.id, tags=tags, opts=opts)
        public_rt = aws.ec2.RouteTable(
            f"{name}-public",
            vpc_id=vpc.id,
            routes=[aws.ec2.RouteTableRouteArgs(cidr_block="0.0.0.0/0", gateway_id=igw.id)],
            tags=tags,
            opts=opts,
        )
        private_ids, public_ids, nats = [], [], []
        for i, zone in enumerate(zones):
            public = aws.ec2.Subnet(
                f"{name}-public-{i}",
                vpc_id=vpc.id,
                cidr_block=subnets["public"][i],
                availability_zone=zone,
                map_public_ip_on_launch=False,
                tags=tags | {"Name": f"{p}-public-{zone}", "kubernetes.io/role/elb": "1"},
                opts=opts,
            )
            aws.ec2.RouteTableAssociation(
                f"{name}-public-{i}", subnet_id=public.id, route_table_id=public_rt.id, opts=opts
            )
            public_ids.append(public.id)
            # One NAT gateway in dev (cheap); one per zone in prod (a zone outage keeps egress).
            if spec.prod or i == 0:
                eip = aws.ec2.Eip(f"{name}-nat-{i}", domain="vpc", tags=tags, opts=opts)
                nats.append(
                    aws.ec2.NatGateway(
                        f"{name}-nat-{i}",
                        allocation_id=eip.id,
                        subnet_id=public.id,
                        tags=tags,
                        opts=opts,
                    )
                )
            private = aws.ec2.Subnet(
                f"{name}-private-{i}",
                vpc_id=vpc.id,
                cidr_block=subnets["private"][i],
                availability_zone=zone,
                tags=tags | {"Name": f"{p}-private-{zone}", "kubernetes.io/role/internal-elb": "1"},
                opts=opts,
            )
            private_rt = aws.ec2.RouteTable(
                f"{name}-private-{i}",
                vpc_id=vpc.id,
                routes=[
                    aws.ec2.RouteTableRouteArgs(
                        cidr_block="0.0.0.0/0", nat_gateway_id=nats[min(i, len(nats) - 1)].id
                    )
                ],
                tags=tags,
                opts=opts,
            )
            aws.ec2.RouteTableAssociation(
                f"{name}-private-{i}", subnet_id=private.id, route_table_id=private_rt.id, opts=opts
            )
            private_ids.append(private.id)

        # -- EKS: private endpoint in prod; dev allows the admin networks only -------------
        cluster_role = aws.iam.Role(
            f"{name}-cluster", assume_role_policy=_assume("eks.amazonaws.com"), tags=tags, opts=opts
        )
        for policy in CLUSTER_POLICIES:
            aws.iam.RolePolicyAttachment(
                f"{name}-cluster-{policy}",
                role=cluster_role.name,
                policy_arn=_MANAGED + policy,
                opts=opts,
            )
        cluster = aws.eks.Cluster(
            f"{name}-eks",
            name=f"{p}-eks",
            version=spec.kubernetes_version,
            role_arn=cluster_role.arn,
            vpc_config=aws.eks.ClusterVpcConfigArgs(
                subnet_ids=private_ids,
                endpoint_private_access=True,
                endpoint_public_access=not spec.prod and bool(spec.admin_cidrs),
                public_access_cidrs=list(spec.admin_cidrs) or None,
            ),
            access_config=aws.eks.ClusterAccessConfigArgs(authentication_mode="API"),
            encryption_config=aws.eks.ClusterEncryptionConfigArgs(
                resources=["secrets"],
                provider=aws.eks.ClusterEncryptionConfigProviderArgs(key_arn=key.arn),
            ),
            enabled_cluster_log_types=["api", "audit", "authenticator"],
            deletion_protection=spec.prod,
            tags=tags,
            opts=opts,
        )
        aws.eks.Addon(
            f"{name}-pod-identity",
            cluster_name=cluster.name,
            addon_name="eks-pod-identity-agent",
            tags=tags,
            opts=opts,
        )
        node_role = aws.iam.Role(
            f"{name}-nodes", assume_role_policy=_assume("ec2.amazonaws.com"), tags=tags, opts=opts
        )
        for policy in NODE_POLICIES:
            aws.iam.RolePolicyAttachment(
                f"{name}-nodes-{policy}",
                role=node_role.name,
                policy_arn=_MANAGED + policy,
                opts=opts,
            )
        aws.eks.NodeGroup(
            f"{name}-system",
            cluster_name=cluster.name,
            node_role_arn=node_role.arn,
            subnet_ids=private_ids,
            instance_types=[spec.system_machine_type()],
            capacity_type="SPOT" if spec.system_pool.spot else "ON_DEMAND",
            scaling_config=aws.eks.NodeGroupScalingConfigArgs(
                min_size=spec.system_pool.min_nodes,
                max_size=spec.system_pool.max_nodes,
                desired_size=max(spec.system_pool.min_nodes, 1),
            ),
            labels={"workload": "system"},
            tags=tags,
            opts=opts,
        )
        gpu = spec.gpu_pool
        aws.eks.NodeGroup(
            f"{name}-gpu",
            cluster_name=cluster.name,
            node_role_arn=node_role.arn,
            subnet_ids=private_ids,
            ami_type="AL2023_x86_64_NVIDIA",
            instance_types=[spec.gpu_machine_type()],
            capacity_type="SPOT" if gpu.spot else "ON_DEMAND",
            disk_size=100,
            scaling_config=aws.eks.NodeGroupScalingConfigArgs(
                min_size=gpu.min_nodes, max_size=gpu.max_nodes, desired_size=gpu.min_nodes
            ),
            labels=GPU_LABEL,
            taints=[
                aws.eks.NodeGroupTaintArgs(key=GPU_TAINT_KEY, value="true", effect="NO_SCHEDULE")
            ],
            tags=tags,
            opts=opts,
        )

        # -- artifact store: KMS-encrypted, versioned, private, TLS only ----------------------
        bucket = aws.s3.Bucket(
            f"{name}-artifacts",
            bucket_prefix=f"{p}-artifacts-",
            force_destroy=not spec.prod,
            tags=tags,
            opts=opts,
        )
        aws.s3.BucketServerSideEncryptionConfiguration(
            f"{name}-artifacts",
            bucket=bucket.id,
            rules=[
                aws.s3.BucketServerSideEncryptionConfigurationRuleArgs(
                    apply_server_side_encryption_by_default=aws.s3.BucketServerSideEncryptionConfigurationRuleApplyServerSideEncryptionByDefaultArgs(
                        sse_algorithm="aws:kms", kms_master_key_id=key.arn
                    ),
                    bucket_key_enabled=True,
                )
            ],
            opts=opts,
        )
        aws.s3.BucketVersioning(
            f"{name}-artifacts",
            bucket=bucket.id,
            versioning_configuration=aws.s3.BucketVersioningVersioningConfigurationArgs(
                status="Enabled"
            ),
            opts=opts,
        )
        aws.s3.BucketPublicAccessBlock(
            f"{name}-artifacts",
            bucket=bucket.id,
            block_public_acls=True,
            block_public_policy=True,
            ignore_public_acls=True,
            restrict_public_buckets=True,
            opts=opts,
        )
        aws.s3.BucketLifecycleConfiguration(
            f"{name}-artifacts",
            bucket=bucket.id,
            rules=[
                aws.s3.BucketLifecycleConfigurationRuleArgs(
                    id="expire-old-versions",
                    status="Enabled",
                    filter=aws.s3.BucketLifecycleConfigurationRuleFilterArgs(prefix=""),
                    noncurrent_version_expiration=aws.s3.BucketLifecycleConfigurationRuleNoncurrentVersionExpirationArgs(
                        noncurrent_days=spec.artifact_noncurrent_days
                    ),
                )
            ],
            opts=opts,
        )
        aws.s3.BucketPolicy(
            f"{name}-artifacts-tls",
            bucket=bucket.id,
            policy=bucket.arn.apply(
                lambda arn: json.dumps(
                    {
                        "Version": "2012-10-17",
                        "Statement": [
                            {
                                "Sid": "DenyInsecureTransport",
                                "Effect": "Deny",
                                "Principal": "*",
                                "Action": "s3:*",
                                "Resource": [arn, f"{arn}/*"],
                                "Condition": {"Bool": {"aws:SecureTransport": "false"}},
                            }
                        ],
                    }
                )
            ),
            opts=opts,
        )

        # -- MLflow database: private, encrypted, HA + protected in prod ----------------------
        db_sg = aws.ec2.SecurityGroup(
            f"{name}-db",
            vpc_id=vpc.id,
            description="PostgreSQL from inside the VPC only",
            ingress=[
                aws.ec2.SecurityGroupIngressArgs(
                    protocol="tcp",
                    from_port=5432,
                    to_port=5432,
                    cidr_blocks=[spec.network_cidr],
                    description="PostgreSQL from the VPC",
                )
            ],
            tags=tags,
            opts=opts,
        )
        db_subnets = aws.rds.SubnetGroup(f"{name}-db", subnet_ids=private_ids, tags=tags, opts=opts)
        db = aws.rds.Instance(
            f"{name}-mlflow-db",
            identifier_prefix=f"{p}-mlflow-",
            engine="postgres",
            engine_version="16",
            instance_class=spec.db_class(),
            allocated_storage=spec.database.storage_gb,
            max_allocated_storage=spec.database.storage_gb * 4,
            db_name="mlflow",
            username="mlflow",
            manage_master_user_password=True,
            storage_encrypted=True,
            kms_key_id=key.arn,
            publicly_accessible=False,
            multi_az=spec.database.high_availability,
            backup_retention_period=spec.database.backup_days,
            deletion_protection=spec.database.deletion_protection,
            skip_final_snapshot=not spec.prod,
            final_snapshot_identifier=f"{p}-mlflow-final" if spec.prod else None,
            db_subnet_group_name=db_subnets.name,
            vpc_security_group_ids=[db_sg.id],
            iam_database_authentication_enabled=True,
            tags=tags,
            opts=opts,
        )

        # -- the MLflow workload's identity: this bucket and this key, nothing more ----------
        mlflow_role = aws.iam.Role(
            f"{name}-mlflow",
            assume_role_policy=_assume("pods.eks.amazonaws.com", tag_session=True),
            tags=tags,
            opts=opts,
        )
        aws.iam.RolePolicy(
            f"{name}-mlflow-artifacts",
            role=mlflow_role.id,
            policy=pulumi.Output.all(bucket.arn, key.arn).apply(
                lambda arns: json.dumps(
                    {
                        "Version": "2012-10-17",
                        "Statement": [
                            {
                                "Effect": "Allow",
                                "Action": ["s3:ListBucket"],
                                "Resource": [arns[0]],
                            },
                            {
                                "Effect": "Allow",
                                "Action": ["s3:GetObject", "s3:PutObject", "s3:DeleteObject"],
                                "Resource": [f"{arns[0]}/*"],
                            },
                            {
                                "Effect": "Allow",
                                "Action": ["kms:Decrypt", "kms:GenerateDataKey"],
                                "Resource": [arns[1]],
                            },
                        ],
                    }
                )
            ),
            opts=opts,
        )
        aws.eks.PodIdentityAssociation(
            f"{name}-mlflow",
            cluster_name=cluster.name,
            namespace="mlflow",
            service_account="mlflow",
            role_arn=mlflow_role.arn,
            tags=tags,
            opts=opts,
        )

        self.network_id = vpc.id
        self.cluster_name = cluster.name
        self.artifact_store = bucket.bucket.apply(lambda b: f"s3://{b}")
        self.tracking_db_endpoint = db.endpoint
        self.workload_identity = mlflow_role.arn
