"""Tenant nodes on eks: a managed node group of their own (tenant_nodes_builder.py)."""

from __future__ import annotations

from typing import Optional

import pulumi

from components.cluster import cluster_builder as cb
from components.provider import tenant_nodes_builder as tnb
from components.provider.config import TenantNodesSettings


class TenantNodes(pulumi.ComponentResource):
    def __init__(self, name: str, eks_info, settings: TenantNodesSettings, *, opts: Optional[pulumi.ResourceOptions] = None):
        super().__init__("pegasus:provider:TenantNodes", name, None, opts)
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
        self.node_group = eks.ManagedNodeGroup(
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
        self.register_outputs({})
