"""Pure builders of one Azure location's fleet group (pulumi-azure-native 3): resource group,
network, network security group, a user-assigned managed identity, the VM scale set and its
autoscale setting.

Azure's schedules are autoscale profiles: the default profile holds the group's standing
capacity, a fixed-date profile raises it between the start and the stop. The agent (with
capacityOwner agent) changes the default profile through `az monitor autoscale update`, so its
identity holds Monitoring Contributor on that one autoscale setting and nothing else.
"""

from __future__ import annotations

import base64
from typing import Any, Optional

from pegasus import names
from components.fleet.config import FleetSettings, Region
from components.fleet import capacity, timing

# Built-in role (Azure built-in roles, Monitor): "Can read all monitoring data and edit
# monitoring settings", autoscale settings included.
MONITORING_CONTRIBUTOR = "749f88d5-cbae-40b8-bcfc-e573ddc772fa"
ADMIN_USER = "pegasus"
IMAGE = {"publisher": "Canonical", "offer": "ubuntu-24_04-lts", "sku": "server", "version": "latest"}
VNET_CIDR = "10.60.0.0/16"
SUBNET_CIDR = "10.60.0.0/20"


def group_name(settings: FleetSettings, region: Region) -> str:
    return names.fleet_group(settings.name, "azure", region.region)


def tags(settings: FleetSettings, region: Region) -> dict:
    return {"pegasus-fleet": settings.name, names.FLEET_GROUP_TAG: group_name(settings, region), "managed-by": "pegasus"}


def resource_group_args(settings: FleetSettings, region: Region) -> dict:
    return {"resource_group_name": group_name(settings, region), "location": region.region, "tags": tags(settings, region)}


def network_security_group_args(settings: FleetSettings, region: Region, resource_group: Any) -> dict:
    rules = []
    priority = 100
    for lo, hi in settings.open_ports:
        rules.append({"name": f"p2p-{lo}-{hi}", "priority": priority, "direction": "Inbound", "access": "Allow",
                      "protocol": "*", "source_address_prefix": "Internet", "source_port_range": "*",
                      "destination_address_prefix": "*", "destination_port_range": f"{lo}-{hi}" if lo != hi else str(lo)})
        priority += 10
    if settings.allow_ssh:
        rules.append({"name": "ssh", "priority": priority, "direction": "Inbound", "access": "Allow", "protocol": "Tcp",
                      "source_address_prefixes": list(settings.ssh_cidrs), "source_port_range": "*",
                      "destination_address_prefix": "*", "destination_port_range": "22"})
    return {"network_security_group_name": group_name(settings, region), "resource_group_name": resource_group,
            "location": region.region, "security_rules": rules, "tags": tags(settings, region)}


def virtual_network_args(settings: FleetSettings, region: Region, resource_group: Any) -> dict:
    return {"virtual_network_name": group_name(settings, region), "resource_group_name": resource_group,
            "location": region.region, "address_space": {"address_prefixes": [VNET_CIDR]}, "tags": tags(settings, region)}


def subnet_args(settings: FleetSettings, region: Region, resource_group: Any, vnet: Any, nsg_id: Any) -> dict:
    return {"subnet_name": "fleet", "resource_group_name": resource_group, "virtual_network_name": vnet,
            "address_prefix": SUBNET_CIDR, "network_security_group": {"id": nsg_id}}


def identity_args(settings: FleetSettings, region: Region, resource_group: Any) -> dict:
    return {"resource_name_": group_name(settings, region), "resource_group_name": resource_group,
            "location": region.region, "tags": tags(settings, region)}


def desired(settings: FleetSettings, region: Region) -> Optional[int]:
    return capacity.resolve(settings.desired_capacity, "azure", region.region)


def initial(settings: FleetSettings, region: Region, now) -> int:
    s = settings.schedule
    return timing.initial_capacity(s.start, s.stop, s.start_offset, desired(settings, region), region.min_size,
                                   region.max_size, now)


def scale_set_args(settings: FleetSettings, region: Region, resource_group: Any, subnet_id: Any, identity_id: Any,
                   user_data: str, now) -> dict:
    group = group_name(settings, region)
    return {
        "vm_scale_set_name": group,
        "resource_group_name": resource_group,
        "location": region.region,
        "sku": {"name": region.size, "tier": "Standard", "capacity": initial(settings, region, now)},
        "upgrade_policy": {"mode": "Manual"},
        "overprovision": False,
        "identity": {"type": "UserAssigned", "user_assigned_identities": [identity_id]},
        "virtual_machine_profile": {
            "os_profile": {
                "computer_name_prefix": settings.name[:9],
                "admin_username": ADMIN_USER,
                "custom_data": base64.b64encode(user_data.encode()).decode(),
                "linux_configuration": {
                    "disable_password_authentication": True,
                    "ssh": {"public_keys": [{"path": f"/home/{ADMIN_USER}/.ssh/authorized_keys",
                                             "key_data": settings.azure_ssh_public_key}]},
                },
            },
            "storage_profile": {
                "image_reference": dict(IMAGE),
                "os_disk": {"create_option": "FromImage", "caching": "ReadWrite",
                            "managed_disk": {"storage_account_type": "Standard_LRS"}},
            },
            "network_profile": {"network_interface_configurations": [{
                "name": group, "primary": True,
                "ip_configurations": [{"name": group, "subnet": {"id": subnet_id},
                                       "public_ip_address_configuration": {"name": group, "idle_timeout_in_minutes": 15}}],
            }]},
        },
        "tags": tags(settings, region),
    }


def profiles(settings: FleetSettings, region: Region, now) -> list[dict]:
    """The default profile, plus a fixed-date window from start to stop while it is open."""
    standing = initial(settings, region, now)
    out = [{"name": "default", "rules": [],
            "capacity": {"minimum": str(standing), "maximum": str(region.max_size), "default": str(standing)}}]
    s = settings.schedule
    n = desired(settings, region)
    if hasattr(s.start, "tzinfo") and s.stop is not None and s.stop > now and n is not None:
        n = str(min(max(n, region.min_size), region.max_size))
        out.insert(0, {"name": f"{settings.name}-start", "rules": [],
                       "capacity": {"minimum": n, "maximum": str(region.max_size), "default": n},
                       "fixed_date": {"time_zone": "UTC", "start": timing.format_time(s.start + s.start_offset),
                                      "end": timing.format_time(s.stop)}})
    return out


def autoscale_args(settings: FleetSettings, region: Region, resource_group: Any, scale_set_id: Any, now) -> dict:
    return {"autoscale_setting_name": group_name(settings, region), "resource_group_name": resource_group,
            "location": region.region, "enabled": True, "target_resource_uri": scale_set_id,
            "profiles": profiles(settings, region, now), "tags": tags(settings, region)}


def autoscale_ignore_changes(settings: FleetSettings) -> list[str]:
    # The agent rewrites the default profile's counts; an update must not put them back.
    return ["profiles"] if settings.capacity_owner == "agent" else []


def role_assignment_args(subscription_id: Any, scope: Any, principal_id: Any) -> dict:
    return {"scope": scope, "principal_id": principal_id, "principal_type": "ServicePrincipal",
            "role_definition_id": f"/subscriptions/{subscription_id}/providers/Microsoft.Authorization/roleDefinitions/{MONITORING_CONTRIBUTOR}"}
