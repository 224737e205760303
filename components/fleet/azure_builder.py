"""Pure builders of one Azure location's fleet group (pulumi-azure-native 3): resource group,
network, network security group, a user-assigned managed identity, the VM scale set and its
autoscale setting.

Azure's schedules are autoscale profiles: the default profile holds the group's standing
capacity, a fixed-date profile wins inside its window (see profiles()). The agent (with
capacityOwner agent) changes the profile in force, the start window when there is one (a
change of the default would not move the group inside the window, and would hold it up after
the stop), through `az monitor autoscale update --set`, so its identity holds Monitoring
Contributor on that one autoscale setting and nothing else.
"""

from __future__ import annotations

import base64
from datetime import datetime, timedelta
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
NO_STOP = timedelta(days=3650)


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
                "os_disk": {"create_option": "FromImage", "caching": "ReadWrite", "disk_size_gb": settings.disk_size_gb,
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


def _pinned(n: int) -> dict:
    """A profile's capacity with minimum = maximum = default: with no rules the count is held
    at n, not merely kept between a minimum and a maximum (p2p-agent-infra pins its profiles
    the same way), so a profile in force moves the group both up and down."""
    return {"minimum": str(n), "maximum": str(n), "default": str(n)}


def start_profile_name(settings: FleetSettings) -> str:
    return f"{settings.name}-start"


def stop_profile_name(settings: FleetSettings) -> str:
    return f"{settings.name}-stop"


def agent_profile(settings: FleetSettings) -> str:
    """The profile in force while the agent may write: the fixed-date start window when the start
    is a time (it wins over the default inside the window), the default profile otherwise."""
    return start_profile_name(settings) if isinstance(settings.schedule.start, datetime) else "default"


def profiles(settings: FleetSettings, region: Region, now) -> list[dict]:
    """The profiles of the group's autoscale setting. A fixed-date profile is in force inside its
    window, the default profile (no fixed date, no recurrence) otherwise:

    - a start time: a fixed-date window from the start to the stop (ten years with no stop) at
      the desired capacity, and a default at min_size, in force before and after it;
    - `now` with a stop: a default at the desired capacity, and a fixed-date stop profile from
      the stop on at min_size (nothing depends on when the plan ran, so it is stable);
    - `now` without a stop: the default at the desired capacity.
    """
    s = settings.schedule
    n = desired(settings, region)
    n = None if n is None else min(max(n, region.min_size), region.max_size)
    window = []
    if isinstance(s.start, datetime):
        standing = region.min_size
        at = s.start + s.start_offset
        end = s.stop or at + NO_STOP
        if n is not None and end > now:
            window = [{"name": start_profile_name(settings), "rules": [], "capacity": _pinned(n),
                       "fixed_date": {"time_zone": "UTC", "start": timing.format_time(at), "end": timing.format_time(end)}}]
    else:
        standing = initial(settings, region, now)
        if s.stop is not None:
            window = [{"name": stop_profile_name(settings), "rules": [], "capacity": _pinned(region.min_size),
                       "fixed_date": {"time_zone": "UTC", "start": timing.format_time(s.stop),
                                      "end": timing.format_time(s.stop + NO_STOP)}}]
    return window + [{"name": "default", "rules": [], "capacity": _pinned(standing)}]


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
