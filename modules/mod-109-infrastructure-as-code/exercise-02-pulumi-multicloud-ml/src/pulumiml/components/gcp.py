"""The GCP platform: VPC + Cloud NAT, private GKE with a tainted GPU pool, GCS + Cloud KMS,
Cloud SQL PostgreSQL on a private IP, Workload Identity for MLflow."""

from __future__ import annotations

from typing import Any

import pulumi
import pulumi_gcp as gcp

from pulumiml.components.base import GPU_LABEL, GPU_TAINT_KEY, MLPlatform
from pulumiml.spec import Cloud, NodePool

#: GKE control plane range (a /28 outside the node network).
MASTER_CIDR = "172.16.0.0/28"


class GcpMLPlatform(MLPlatform):
    """:class:`MLPlatform` on GCP."""

    cloud = Cloud.GCP

    def _build(self, name: str) -> None:
        spec, opts = self.spec, self.child
        labels = spec.tags()
        p = spec.prefix
        project = spec.gcp_project
        region = spec.resolved_region
        nodes_cidr = spec.subnets()["private"][0]

        ring = gcp.kms.KeyRing(
            f"{name}-ring", name=f"{p}-ring", location=region, project=project, opts=opts
        )
        key = gcp.kms.CryptoKey(
            f"{name}-key",
            name=f"{p}-key",
            key_ring=ring.id,
            rotation_period="7776000s",  # 90 days
            labels=labels,
            opts=opts,
        )

        # -- network: one regional subnet with secondary ranges for pods and services ---------
        network = gcp.compute.Network(
            f"{name}-vpc",
            name=f"{p}-vpc",
            project=project,
            auto_create_subnetworks=False,
            routing_mode="REGIONAL",
            opts=opts,
        )
        subnet = gcp.compute.Subnetwork(
            f"{name}-nodes",
            name=f"{p}-nodes",
            project=project,
            region=region,
            network=network.id,
            ip_cidr_range=nodes_cidr,
            private_ip_google_access=True,
            secondary_ip_ranges=[
                gcp.compute.SubnetworkSecondaryIpRangeArgs(
                    range_name="pods", ip_cidr_range="100.64.0.0/14"
                ),
                gcp.compute.SubnetworkSecondaryIpRangeArgs(
                    range_name="services", ip_cidr_range="100.68.0.0/20"
                ),
            ],
            log_config=gcp.compute.SubnetworkLogConfigArgs(
                aggregation_interval="INTERVAL_5_SEC", flow_sampling=0.5
            ),
            opts=opts,
        )
        router = gcp.compute.Router(
            f"{name}-router",
            name=f"{p}-router",
            project=project,
            region=region,
            network=network.id,
            opts=opts,
        )
        gcp.compute.RouterNat(
            f"{name}-nat",
            name=f"{p}-nat",
            project=project,
            region=region,
            router=router.name,
            nat_ip_allocate_option="AUTO_ONLY",
            source_subnetwork_ip_ranges_to_nat="ALL_SUBNETWORKS_ALL_IP_RANGES",
            opts=opts,
        )
        gcp.compute.Firewall(
            f"{name}-internal",
            name=f"{p}-allow-internal",
            project=project,
            network=network.id,
            direction="INGRESS",
            source_ranges=[spec.network_cidr, "100.64.0.0/14"],
            allows=[
                gcp.compute.FirewallAllowArgs(protocol="tcp"),
                gcp.compute.FirewallAllowArgs(protocol="udp"),
            ],
            opts=opts,
        )

        # -- GKE: private nodes; private endpoint in prod; Workload Identity; KMS secrets ------
        admins = [
            gcp.container.ClusterMasterAuthorizedNetworksConfigCidrBlockArgs(
                cidr_block=c, display_name="admin"
            )
            for c in spec.admin_cidrs
        ]
        cluster = gcp.container.Cluster(
            f"{name}-gke",
            name=f"{p}-gke",
            project=project,
            location=region,
            network=network.id,
            subnetwork=subnet.id,
            remove_default_node_pool=True,
            initial_node_count=1,
            min_master_version=spec.kubernetes_version,
            release_channel=gcp.container.ClusterReleaseChannelArgs(
                channel="STABLE" if spec.prod else "REGULAR"
            ),
            ip_allocation_policy=gcp.container.ClusterIpAllocationPolicyArgs(
                cluster_secondary_range_name="pods", services_secondary_range_name="services"
            ),
            private_cluster_config=gcp.container.ClusterPrivateClusterConfigArgs(
                enable_private_nodes=True,
                enable_private_endpoint=spec.prod or not spec.admin_cidrs,
                master_ipv4_cidr_block=MASTER_CIDR,
            ),
            master_authorized_networks_config=gcp.container.ClusterMasterAuthorizedNetworksConfigArgs(
                cidr_blocks=admins
            ),
            workload_identity_config=gcp.container.ClusterWorkloadIdentityConfigArgs(
                workload_pool=f"{project}.svc.id.goog"
            ),
            database_encryption=gcp.container.ClusterDatabaseEncryptionArgs(
                state="ENCRYPTED", key_name=key.id
            ),
            enable_shielded_nodes=True,
            deletion_protection=spec.prod,
            resource_labels=labels,
            opts=opts,
        )
        nodes_sa = gcp.serviceaccount.Account(
            f"{name}-nodes",
            account_id=f"{p}-nodes",
            project=project,
            display_name=f"{p} GKE nodes",
            opts=opts,
        )
        for role in ("roles/logging.logWriter", "roles/monitoring.metricWriter"):
            gcp.projects.IAMMember(
                f"{name}-nodes-{role.split('/')[-1]}",
                project=project,
                role=role,
                member=nodes_sa.email.apply(lambda e: f"serviceAccount:{e}"),
                opts=opts,
            )

        def pool(suffix: str, cfg: NodePool, machine_type: str, **node: Any) -> None:
            """A node pool that autoscales, auto-repairs, uses Workload Identity metadata."""
            gcp.container.NodePool(
                f"{name}-{suffix}",
                cluster=cluster.id,
                location=region,
                autoscaling=gcp.container.NodePoolAutoscalingArgs(
                    min_node_count=cfg.min_nodes, max_node_count=cfg.max_nodes
                ),
                node_config=gcp.container.NodePoolNodeConfigArgs(
                    machine_type=machine_type,
                    service_account=nodes_sa.email,
                    oauth_scopes=["https://www.googleapis.com/auth/cloud-platform"],
                    spot=cfg.spot,
                    resource_labels=labels,
                    workload_metadata_config=gcp.container.NodePoolNodeConfigWorkloadMetadataConfigArgs(
                        mode="GKE_METADATA"
                    ),
                    **node,
                ),
                management=gcp.container.NodePoolManagementArgs(
                    auto_repair=True, auto_upgrade=True
                ),
                opts=opts,
            )

        pool("system", spec.system_pool, spec.system_machine_type(), labels={"workload": "system"})
        gpu = spec.gpu_pool
        pool(
            "gpu",
            gpu,
            spec.gpu_machine_type(),
            disk_size_gb=100,
            labels=GPU_LABEL,
            guest_accelerators=[
                gcp.container.NodePoolNodeConfigGuestAcceleratorArgs(
                    type=gpu.accelerator,
                    count=gpu.gpus_per_node,
                    gpu_driver_installation_config=gcp.container.NodePoolNodeConfigGuestAcceleratorGpuDriverInstallationConfigArgs(
                        gpu_driver_version="LATEST"
                    ),
                )
            ],
            taints=[
                gcp.container.NodePoolNodeConfigTaintArgs(
                    key=GPU_TAINT_KEY, value="true", effect="NO_SCHEDULE"
                )
            ],
        )

        # -- artifact store: CMEK, versioned, uniform access, public access prevented --------
        gcs_agent = gcp.storage.get_project_service_account_output(project=project)
        key_grant = gcp.kms.CryptoKeyIAMMember(
            f"{name}-gcs-key",
            crypto_key_id=key.id,
            role="roles/cloudkms.cryptoKeyEncrypterDecrypter",
            member=gcs_agent.email_address.apply(lambda e: f"serviceAccount:{e}"),
            opts=opts,
        )
        bucket = gcp.storage.Bucket(
            f"{name}-artifacts",
            name=f"{project}-{p}-artifacts",
            project=project,
            location=region.upper(),
            uniform_bucket_level_access=True,
            public_access_prevention="enforced",
            versioning=gcp.storage.BucketVersioningArgs(enabled=True),
            encryption=gcp.storage.BucketEncryptionArgs(default_kms_key_name=key.id),
            lifecycle_rules=[
                gcp.storage.BucketLifecycleRuleArgs(
                    action=gcp.storage.BucketLifecycleRuleActionArgs(type="Delete"),
                    condition=gcp.storage.BucketLifecycleRuleConditionArgs(
                        days_since_noncurrent_time=spec.artifact_noncurrent_days,
                        with_state="ARCHIVED",
                    ),
                )
            ],
            force_destroy=not spec.prod,
            labels=labels,
            opts=pulumi.ResourceOptions(parent=self, depends_on=[key_grant]),
        )

        # -- Cloud SQL: private IP only, TLS only, HA + PITR in prod --------------------------
        peering_range = gcp.compute.GlobalAddress(
            f"{name}-sql-range",
            name=f"{p}-sql-range",
            project=project,
            network=network.id,
            purpose="VPC_PEERING",
            address_type="INTERNAL",
            prefix_length=20,
            labels=labels,
            opts=opts,
        )
        peering = gcp.servicenetworking.Connection(
            f"{name}-sql-peering",
            network=network.id,
            service="servicenetworking.googleapis.com",
            reserved_peering_ranges=[peering_range.name],
            opts=opts,
        )
        db = gcp.sql.DatabaseInstance(
            f"{name}-mlflow-db",
            name=f"{p}-mlflow",
            project=project,
            region=region,
            database_version="POSTGRES_16",
            encryption_key_name=key.id,
            deletion_protection=spec.database.deletion_protection,
            settings=gcp.sql.DatabaseInstanceSettingsArgs(
                tier=spec.db_class(),
                availability_type="REGIONAL" if spec.database.high_availability else "ZONAL",
                disk_size=spec.database.storage_gb,
                disk_autoresize=True,
                deletion_protection_enabled=spec.database.deletion_protection,
                backup_configuration=gcp.sql.DatabaseInstanceSettingsBackupConfigurationArgs(
                    enabled=True,
                    point_in_time_recovery_enabled=True,
                    backup_retention_settings=gcp.sql.DatabaseInstanceSettingsBackupConfigurationBackupRetentionSettingsArgs(
                        retained_backups=spec.database.backup_days
                    ),
                ),
                ip_configuration=gcp.sql.DatabaseInstanceSettingsIpConfigurationArgs(
                    ipv4_enabled=False,
                    private_network=network.id,
                    ssl_mode="ENCRYPTED_ONLY",
                ),
                user_labels=labels,
            ),
            opts=pulumi.ResourceOptions(parent=self, depends_on=[peering]),
        )

        # -- MLflow identity: a service account bound to one KSA, object access to one bucket -
        mlflow_sa = gcp.serviceaccount.Account(
            f"{name}-mlflow",
            account_id=f"{p}-mlflow",
            project=project,
            display_name=f"{p} MLflow",
            opts=opts,
        )
        gcp.storage.BucketIAMMember(
            f"{name}-mlflow-artifacts",
            bucket=bucket.name,
            role="roles/storage.objectUser",
            member=mlflow_sa.email.apply(lambda e: f"serviceAccount:{e}"),
            opts=opts,
        )
        gcp.serviceaccount.IAMMember(
            f"{name}-mlflow-wi",
            service_account_id=mlflow_sa.name,
            role="roles/iam.workloadIdentityUser",
            member=f"serviceAccount:{project}.svc.id.goog[mlflow/mlflow]",
            opts=opts,
        )

        self.network_id = network.id
        self.cluster_name = cluster.name
        self.artifact_store = bucket.name.apply(lambda b: f"gs://{b}")
        self.tracking_db_endpoint = db.private_ip_address.apply(lambda ip: f"{ip}:5432")
        self.workload_identity = mlflow_sa.email
