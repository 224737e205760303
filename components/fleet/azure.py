"""One Azure location's fleet group: thin wiring of components/fleet/azure_builder.py."""

from __future__ import annotations

from datetime import datetime

import pulumi
import pulumi_azure_native as az

from components.fleet import agent_builder as ab
from components.fleet import azure_builder as b
from components.fleet.config import FleetSettings, Region


class FleetGroupAzure(pulumi.ComponentResource):
    group_name: pulumi.Output[str]
    """The VM scale set's name."""

    def __init__(self, name: str, settings: FleetSettings, region: Region, now: datetime,
                 opts: pulumi.ResourceOptions | None = None):
        super().__init__("pegasus:fleet:AzureGroup", name, None, opts)
        provider = az.Provider(f"{name}-provider", location=region.region, opts=pulumi.ResourceOptions(parent=self))
        child = pulumi.ResourceOptions(parent=self, provider=provider)
        group = b.group_name(settings, region)

        rg = az.resources.ResourceGroup(f"{name}-rg", **b.resource_group_args(settings, region), opts=child)
        nsg = az.network.NetworkSecurityGroup(f"{name}-nsg", **b.network_security_group_args(settings, region, rg.name), opts=child)
        vnet = az.network.VirtualNetwork(f"{name}-vnet", **b.virtual_network_args(settings, region, rg.name), opts=pulumi.ResourceOptions.merge(
            child, pulumi.ResourceOptions(ignore_changes=["subnets"])))
        subnet = az.network.Subnet(f"{name}-subnet", **b.subnet_args(settings, region, rg.name, vnet.name, nsg.id), opts=child)
        identity = az.managedidentity.UserAssignedIdentity(f"{name}-identity", **b.identity_args(settings, region, rg.name), opts=child)
        user_data = ab.cloud_init(settings, ab.GroupRef("azure", region.region, group, azure_resource_group=group, azure_autoscale=group,
                                                  azure_profile=b.agent_profile(settings), min_size=region.min_size, max_size=region.max_size))
        vmss = az.compute.VirtualMachineScaleSet(
            f"{name}-vmss", **b.scale_set_args(settings, region, rg.name, subnet.id, identity.id, user_data, now),
            # The autoscale setting (and through it the capacity owner) sets the capacity.
            opts=pulumi.ResourceOptions.merge(child, pulumi.ResourceOptions(ignore_changes=["sku.capacity"])))
        autoscale = az.monitor.AutoscaleSetting(
            f"{name}-autoscale", **b.autoscale_args(settings, region, rg.name, vmss.id, now),
            opts=pulumi.ResourceOptions.merge(child, pulumi.ResourceOptions(ignore_changes=b.autoscale_ignore_changes(settings))))
        if settings.capacity_owner == "agent":
            client = az.authorization.get_client_config_output(opts=pulumi.InvokeOutputOptions(provider=provider))
            az.authorization.RoleAssignment(
                f"{name}-capacity",
                **b.role_assignment_args(client.subscription_id, autoscale.id, identity.principal_id),
                opts=child)

        self.group_name = vmss.name
        self.register_outputs({"group_name": self.group_name})
