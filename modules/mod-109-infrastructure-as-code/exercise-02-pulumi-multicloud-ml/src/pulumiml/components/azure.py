"""The Azure platform: VNet + NSG, AKS with a tainted GPU pool (Workload Identity, Entra ID
RBAC), a locked-down StorageV2 account, PostgreSQL Flexible Server on a delegated subnet with
Entra-only authentication, a user-assigned identity for MLflow scoped to the storage account."""

from __future__ import annotations

import pulumi
import pulumi_azure_native as az

from pulumiml.components.base import GPU_LABEL, GPU_TAINT_KEY, MLPlatform
from pulumiml.spec import Cloud

#: Built-in role "Storage Blob Data Contributor".
BLOB_DATA_CONTRIBUTOR = "ba92f5b4-2d11-453d-a403-e96b0029c9fe"


class AzureMLPlatform(MLPlatform):
    """:class:`MLPlatform` on Azure."""

    cloud = Cloud.AZURE

    def _build(self, name: str) -> None:
        spec, opts = self.spec, self.child
        tags = spec.tags()
        p = spec.prefix
        location = spec.resolved_region
        subnets = spec.subnets()
        client = az.authorization.get_client_config_output()

        group = az.resources.ResourceGroup(
            f"{name}-rg", resource_group_name=f"{p}-rg", location=location, tags=tags, opts=opts
        )
        rg = group.name

        # -- network: nodes subnet, a subnet delegated to PostgreSQL, NSG on the database ------
        db_nsg = az.network.NetworkSecurityGroup(
            f"{name}-db-nsg",
            resource_group_name=rg,
            location=location,
            security_rules=[
                az.network.SecurityRuleArgs(
                    name="postgres-from-vnet",
                    priority=100,
                    direction="Inbound",
                    access="Allow",
                    protocol="Tcp",
                    source_address_prefix="VirtualNetwork",
                    source_port_range="*",
                    destination_address_prefix="*",
                    destination_port_range="5432",
                ),
                az.network.SecurityRuleArgs(
                    name="deny-internet",
                    priority=4000,
                    direction="Inbound",
                    access="Deny",
                    protocol="*",
                    source_address_prefix="Internet",
                    source_port_range="*",
                    destination_address_prefix="*",
                    destination_port_range="*",
                ),
            ],
            tags=tags,
            opts=opts,
        )
        vnet = az.network.VirtualNetwork(
            f"{name}-vnet",
            virtual_network_name=f"{p}-vnet",
            resource_group_name=rg,
            location=location,
            address_space=az.network.AddressSpaceArgs(address_prefixes=[spec.network_cidr]),
            tags=tags,
            opts=opts,
        )
        nodes = az.network.Subnet(
            f"{name}-nodes",
            subnet_name="nodes",
            resource_group_name=rg,
            virtual_network_name=vnet.name,
            address_prefix=subnets["private"][0],
            service_endpoints=[
                az.network.ServiceEndpointPropertiesFormatArgs(service="Microsoft.Storage")
            ],
            opts=opts,
        )
        db_subnet = az.network.Subnet(
            f"{name}-db",
            subnet_name="postgres",
            resource_group_name=rg,
            virtual_network_name=vnet.name,
            address_prefix=subnets["database"][0],
            network_security_group=az.network.NetworkSecurityGroupArgs(id=db_nsg.id),
            delegations=[
                az.network.DelegationArgs(
                    name="postgres", service_name="Microsoft.DBforPostgreSQL/flexibleServers"
                )
            ],
            opts=pulumi.ResourceOptions(parent=self, depends_on=[nodes]),
        )

        # -- AKS: Entra ID RBAC, no local accounts, Workload Identity, private API in prod -----
        cluster = az.containerservice.ManagedCluster(
            f"{name}-aks",
            resource_name_=f"{p}-aks",
            resource_group_name=rg,
            location=location,
            dns_prefix=p,
            kubernetes_version=spec.kubernetes_version,
            sku=az.containerservice.ManagedClusterSKUArgs(
                name="Base", tier="Standard" if spec.prod else "Free"
            ),
            identity=az.containerservice.ManagedClusterIdentityArgs(
                type=az.containerservice.ResourceIdentityType.SYSTEM_ASSIGNED
            ),
            enable_rbac=True,
            disable_local_accounts=True,
            aad_profile=az.containerservice.ManagedClusterAADProfileArgs(
                managed=True, enable_azure_rbac=True
            ),
            oidc_issuer_profile=az.containerservice.ManagedClusterOIDCIssuerProfileArgs(
                enabled=True
            ),
            security_profile=az.containerservice.ManagedClusterSecurityProfileArgs(
                workload_identity=az.containerservice.ManagedClusterSecurityProfileWorkloadIdentityArgs(
                    enabled=True
                )
            ),
            api_server_access_profile=az.containerservice.ManagedClusterAPIServerAccessProfileArgs(
                enable_private_cluster=spec.prod or not spec.admin_cidrs,
                authorized_ip_ranges=list(spec.admin_cidrs) or None,
            ),
            network_profile=az.containerservice.ContainerServiceNetworkProfileArgs(
                network_plugin="azure",
                network_plugin_mode="overlay",
                network_policy="cilium",
                network_dataplane="cilium",
                pod_cidr="100.64.0.0/14",
                service_cidr="100.68.0.0/20",
                dns_service_ip="100.68.0.10",
            ),
            agent_pool_profiles=[
                az.containerservice.ManagedClusterAgentPoolProfileArgs(
                    name="system",
                    mode="System",
                    vm_size=spec.system_machine_type(),
                    enable_auto_scaling=True,
                    count=max(spec.system_pool.min_nodes, 1),
                    min_count=max(spec.system_pool.min_nodes, 1),
                    max_count=spec.system_pool.max_nodes,
                    availability_zones=[str(z + 1) for z in range(spec.zones)],
                    vnet_subnet_id=nodes.id,
                    os_type="Linux",
                    node_labels={"workload": "system"},
                    tags=tags,
                )
            ],
            tags=tags,
            opts=opts,
        )
        gpu = spec.gpu_pool
        az.containerservice.AgentPool(
            f"{name}-gpu",
            agent_pool_name="gpu",
            resource_group_name=rg,
            resource_name_=cluster.name,
            mode="User",
            vm_size=spec.gpu_machine_type(),
            os_type="Linux",
            enable_auto_scaling=True,
            count=gpu.min_nodes,
            min_count=gpu.min_nodes,
            max_count=gpu.max_nodes,
            scale_set_priority="Spot" if gpu.spot else "Regular",
            scale_set_eviction_policy="Delete" if gpu.spot else None,
            vnet_subnet_id=nodes.id,
            node_labels=GPU_LABEL,
            node_taints=[f"{GPU_TAINT_KEY}=true:NoSchedule"],
            tags=tags,
            opts=opts,
        )

        # -- artifact store: no public blobs, no shared keys, TLS 1.2, versioning -------------
        account = az.storage.StorageAccount(
            f"{name}-artifacts",
            account_name=f"{spec.name}{spec.environment}art".replace("-", "")[:24],
            resource_group_name=rg,
            location=location,
            kind="StorageV2",
            sku=az.storage.SkuArgs(name="Standard_ZRS" if spec.prod else "Standard_LRS"),
            enable_https_traffic_only=True,
            minimum_tls_version="TLS1_2",
            allow_blob_public_access=False,
            allow_shared_key_access=False,
            encryption=az.storage.EncryptionArgs(
                key_source="Microsoft.Storage",
                require_infrastructure_encryption=True,
                services=az.storage.EncryptionServicesArgs(
                    blob=az.storage.EncryptionServiceArgs(enabled=True, key_type="Account")
                ),
            ),
            network_rule_set=az.storage.NetworkRuleSetArgs(
                default_action=az.storage.DefaultAction.DENY,
                bypass="AzureServices",
                virtual_network_rules=[
                    az.storage.VirtualNetworkRuleArgs(virtual_network_resource_id=nodes.id)
                ],
            ),
            tags=tags,
            opts=opts,
        )
        az.storage.BlobServiceProperties(
            f"{name}-artifacts",
            account_name=account.name,
            resource_group_name=rg,
            blob_services_name="default",
            is_versioning_enabled=True,
            delete_retention_policy=az.storage.DeleteRetentionPolicyArgs(
                enabled=True, days=spec.artifact_noncurrent_days
            ),
            opts=opts,
        )
        container = az.storage.BlobContainer(
            f"{name}-mlflow",
            container_name="mlflow",
            account_name=account.name,
            resource_group_name=rg,
            public_access=az.storage.PublicAccess.NONE,
            opts=opts,
        )

        # -- PostgreSQL Flexible Server: VNet-integrated, Entra ID auth only -----------------
        zone = az.privatedns.PrivateZone(
            f"{name}-pg-dns",
            private_zone_name=f"{p}.private.postgres.database.azure.com",
            resource_group_name=rg,
            location="global",
            tags=tags,
            opts=opts,
        )
        az.privatedns.VirtualNetworkLink(
            f"{name}-pg-dns",
            private_zone_name=zone.name,
            resource_group_name=rg,
            location="global",
            registration_enabled=False,
            virtual_network=az.privatedns.SubResourceArgs(id=vnet.id),
            tags=tags,
            opts=opts,
        )
        db_cfg = spec.database
        db = az.dbforpostgresql.Server(
            f"{name}-mlflow-db",
            server_name=f"{p}-mlflow",
            resource_group_name=rg,
            location=location,
            version="16",
            sku=az.dbforpostgresql.SkuArgs(
                name=spec.db_class(),
                tier="GeneralPurpose" if spec.prod else "Burstable",
            ),
            storage=az.dbforpostgresql.StorageArgs(
                storage_size_gb=max(db_cfg.storage_gb, 32), auto_grow="Enabled"
            ),
            backup=az.dbforpostgresql.BackupArgs(
                backup_retention_days=db_cfg.backup_days,
                geo_redundant_backup="Enabled" if spec.prod else "Disabled",
            ),
            high_availability=az.dbforpostgresql.HighAvailabilityArgs(
                mode="ZoneRedundant" if db_cfg.high_availability else "Disabled"
            ),
            network=az.dbforpostgresql.NetworkArgs(
                delegated_subnet_resource_id=db_subnet.id,
                private_dns_zone_arm_resource_id=zone.id,
                public_network_access="Disabled",
            ),
            auth_config=az.dbforpostgresql.AuthConfigArgs(
                active_directory_auth="Enabled",
                password_auth="Disabled",  # noqa: S106 (a switch, not a password)
                tenant_id=client.tenant_id,
            ),
            tags=tags,
            opts=pulumi.ResourceOptions(parent=self, protect=db_cfg.deletion_protection),
        )

        # -- MLflow identity: federated with one Kubernetes service account ------------------
        identity = az.managedidentity.UserAssignedIdentity(
            f"{name}-mlflow",
            resource_name_=f"{p}-mlflow",
            resource_group_name=rg,
            location=location,
            tags=tags,
            opts=opts,
        )
        az.managedidentity.FederatedIdentityCredential(
            f"{name}-mlflow",
            federated_identity_credential_resource_name="mlflow",
            resource_group_name=rg,
            resource_name_=identity.name,
            issuer=cluster.oidc_issuer_profile.apply(lambda o: o.issuer_url if o else ""),
            subject="system:serviceaccount:mlflow:mlflow",
            audiences=["api://AzureADTokenExchange"],
            opts=opts,
        )
        az.authorization.RoleAssignment(
            f"{name}-mlflow-artifacts",
            principal_id=identity.principal_id,
            principal_type="ServicePrincipal",
            role_definition_id=client.subscription_id.apply(
                lambda sub: (
                    f"/subscriptions/{sub}/providers/Microsoft.Authorization/"
                    f"roleDefinitions/{BLOB_DATA_CONTRIBUTOR}"
                )
            ),
            scope=account.id,
            opts=opts,
        )

        self.network_id = vnet.id
        self.cluster_name = cluster.name
        self.artifact_store = pulumi.Output.all(account.name, container.name).apply(
            lambda a: f"https://{a[0]}.blob.core.windows.net/{a[1]}"
        )
        self.tracking_db_endpoint = db.fully_qualified_domain_name.apply(lambda h: f"{h}:5432")
        self.workload_identity = identity.client_id
