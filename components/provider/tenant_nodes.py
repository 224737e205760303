"""Tenant nodes: a node pool of their own on eks or gke (tenant_nodes_builder.py)."""

from __future__ import annotations

from typing import Optional

import pulumi

from components.cluster import cluster_builder as cb
from components.provider import tenant_nodes_builder as tnb
from components.provider.config import TenantNodesSettings


class TenantNodes(pulumi.ComponentResource):
    def __init__(self, name: str, settings: TenantNodesSettings, *, eks_info=None, gke_info=None,
                 opts: Optional[pulumi.ResourceOptions] = None):
        super().__init__("pegasus:provider:TenantNodes", name, None, opts)
        if eks_info is not None:
            self._eks(name, settings, eks_info)
        elif gke_info is not None:
            self._gke(name, settings, gke_info)
        self.register_outputs({})

    def _eks(self, name: str, settings: TenantNodesSettings, eks_info) -> None:
        import pulumi_aws as aws
        import pulumi_eks as eks

        from components.cluster.aws_util import node_role

        aws_opts = pulumi.ResourceOptions(parent=self, provider=eks_info.aws_provider)
        tags = eks_info.tags
        # A role of their own: nothing granted to the system nodes' role reaches tenant nodes.
        role, policies = node_role(f"{name}-node", eks_info.account, tags, aws_opts)
        # IMDS at one hop, as on the system group: a tenant pod cannot take the node role's credentials.
        launch_template = aws.ec2.LaunchTemplate(
            f"{name}-nodes",
            block_device_mappings=cb.launch_template_block_devices(),
            metadata_options=cb.launch_template_metadata_options(),
            tag_specifications=[{"resourceType": "instance", "tags": tags}, {"resourceType": "volume", "tags": tags}],
            tags=tags,
            opts=aws_opts,
        )
        eks.ManagedNodeGroup(
            f"{name}-group",
            cluster=eks_info.cluster,
            node_group_name_prefix=f"{eks_info.cluster_name}-{tnb.POOL}-",
            node_role=role,
            instance_types=[settings.instance_type],
            scaling_config=tnb.scaling(settings.count),
            subnet_ids=eks_info.private_subnet_ids,
            labels=tnb.node_labels(),
            taints=tnb.node_taints(),
            launch_template={"id": launch_template.id, "version": launch_template.latest_version.apply(str)},
            tags=tags,
            opts=pulumi.ResourceOptions(parent=self, providers={"aws": eks_info.aws_provider}, depends_on=policies),
        )

    def _gke(self, name: str, settings: TenantNodesSettings, gke_info) -> None:
        import pulumi_gcp as gcp

        # As the system pool (components/cluster/cluster.py), plus the tenants' label and taint.
        # GKE_METADATA: pods see the GKE metadata server, never the node's service account.
        gcp.container.NodePool(
            f"{name}-pool",
            name=tnb.POOL,
            cluster=gke_info.cluster.name,
            location=gke_info.region,
            autoscaling=tnb.gke_autoscaling(settings.count),
            management={"autoRepair": True, "autoUpgrade": True},
            node_config={
                "machineType": settings.instance_type,
                "serviceAccount": gke_info.node_service_account,
                "oauthScopes": ["https://www.googleapis.com/auth/cloud-platform"],
                "workloadMetadataConfig": {"mode": "GKE_METADATA"},
                "shieldedInstanceConfig": {"enableSecureBoot": True, "enableIntegrityMonitoring": True},
                "labels": tnb.node_labels(),
                "taints": tnb.node_taints(),
                "resourceLabels": dict(gke_info.resource_labels),
            },
            opts=pulumi.ResourceOptions(parent=self, provider=gke_info.gcp_provider),
        )
