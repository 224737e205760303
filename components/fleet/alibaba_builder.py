"""Pure builders of one Alibaba Cloud region's fleet group (pulumi-alicloud 4): VPC, vSwitch,
security group and rules, the ESS scaling group with its scaling configuration and scheduled
tasks, and the instance RAM role.

The group launches: its scaling configuration is active and enables the group. The schedule is
two one-time tasks on the group's bounds (see scheduled_task_args).

The RAM role (with capacityOwner agent) may modify only its own scaling group: the policy names
the group's ARN, acs:ess:<region>:*:scalinggroup/<id>; describing groups is read-only.
ESS refuses a scheduled task more than 90 days ahead of its creation (ScheduledTask launch_time).
"""

from __future__ import annotations

import base64
import json
from typing import Any, Optional

from pegasus import names
from components.fleet.config import FleetSettings, Region
from components.fleet import capacity, timing

VPC_CIDR = "10.70.0.0/16"
VSWITCH_CIDR = "10.70.0.0/20"
WRITE_ACTIONS = ("ess:ModifyScalingGroup",)
READ_ACTIONS = ("ess:DescribeScalingGroups",)


def group_name(settings: FleetSettings, region: Region) -> str:
    return names.fleet_group(settings.name, "alibaba", region.region)


def tags(settings: FleetSettings, region: Region) -> dict:
    return {"pegasus-fleet": settings.name, names.FLEET_GROUP_TAG: group_name(settings, region), "managed-by": "pegasus"}


def role_name(settings: FleetSettings, region: Region) -> str:
    return group_name(settings, region)[:64]


def vpc_args(settings: FleetSettings, region: Region) -> dict:
    return {"vpc_name": group_name(settings, region), "cidr_block": VPC_CIDR, "tags": tags(settings, region)}


def vswitch_args(settings: FleetSettings, region: Region, vpc_id: Any, zone_id: Any) -> dict:
    """`zone_id`: the config's zoneId, or the first zone the region offers for a vSwitch and
    the instance type (zone IDs are not `<region>a` everywhere: cn-hangzhou's are cn-hangzhou-b
    and on, for one)."""
    return {"vswitch_name": group_name(settings, region), "vpc_id": vpc_id, "cidr_block": VSWITCH_CIDR,
            "zone_id": zone_id, "tags": tags(settings, region)}


def zones_query(region: Region) -> dict:
    return {"available_resource_creation": "VSwitch", "available_instance_type": region.size, "network_type": "Vpc"}


def security_group_args(settings: FleetSettings, region: Region, vpc_id: Any) -> dict:
    return {"security_group_name": group_name(settings, region), "vpc_id": vpc_id, "tags": tags(settings, region),
            "description": f"Pegasus fleet {settings.name}"}


def security_group_rules(settings: FleetSettings, security_group_id: Any) -> list[tuple[str, dict]]:
    out = []
    for lo, hi in settings.open_ports:
        for proto in ("tcp", "udp"):
            out.append((f"{proto}-{lo}-{hi}", {"type": "ingress", "ip_protocol": proto, "port_range": f"{lo}/{hi}",
                                               "cidr_ip": "0.0.0.0/0", "nic_type": "intranet", "policy": "accept",
                                               "security_group_id": security_group_id}))
    for i, cidr in enumerate(settings.ssh_cidrs if settings.allow_ssh else ()):
        out.append((f"ssh-{i}", {"type": "ingress", "ip_protocol": "tcp", "port_range": "22/22", "cidr_ip": cidr,
                                 "nic_type": "intranet", "policy": "accept", "security_group_id": security_group_id}))
    return out


def desired(settings: FleetSettings, region: Region) -> Optional[int]:
    return capacity.resolve(settings.desired_capacity, "alibaba", region.region)


def scaling_group_args(settings: FleetSettings, region: Region, vswitch_id: Any, now) -> dict:
    """A desired capacity of 0 is not sent: the provider drops it at create (GetOk treats 0 as
    unset), so the group would not carry one and the state would disagree. A group created
    before its start runs at min_size; the start task raises it."""
    s = settings.schedule
    initial = timing.initial_capacity(s.start, s.stop, s.start_offset, desired(settings, region), region.min_size,
                                      region.max_size, now)
    args = {"scaling_group_name": group_name(settings, region), "min_size": region.min_size, "max_size": region.max_size,
            "vswitch_ids": [vswitch_id], "removal_policies": ["NewestInstance", "OldestScalingConfiguration"],
            "tags": tags(settings, region)}
    if initial > 0:
        args["desired_capacity"] = initial
    return args


def scaling_configuration_args(settings: FleetSettings, region: Region, group_id: Any, image_id: Any,
                               security_group_id: Any, user_data: str, role: Optional[Any]) -> dict:
    args = {
        "scaling_group_id": group_id,
        "scaling_configuration_name": group_name(settings, region),
        "image_id": image_id,
        "instance_type": region.size,
        "security_group_id": security_group_id,
        "user_data": base64.b64encode(user_data.encode()).decode(),
        "internet_max_bandwidth_out": 10,
        "system_disk_category": "cloud_essd",
        "system_disk_size": settings.disk_size_gb,
        # `active` makes this the group's configuration; `enable` enables the group
        # (EnableScalingGroup). Without it the group stays Inactive and launches nothing.
        "active": True,
        "enable": True,
        "force_delete": True,
        "tags": tags(settings, region),
    }
    if role is not None:
        args["role_name"] = role
    return args


def scheduled_task_args(settings: FleetSettings, region: Region, group_id: Any, now) -> dict[str, dict]:
    """One-time tasks that move the group's bounds, not its desired capacity: a task's
    DesiredCapacity needs the group to carry one above 0, which a group created before its start
    does not (p2p-agent-infra's tasks do the same). The start raises the minimum to the desired
    capacity; the stop sets both bounds to 0, which removes every instance; the next start puts
    the maximum back."""
    s = settings.schedule
    out = {}
    for change in timing.fleet_schedule(s.start, s.stop, s.start_offset, now):
        n = change.capacity if change.capacity is not None else desired(settings, region)
        if n is None:
            continue
        stop = change.name == "stop"
        args = {"scheduled_task_name": f"{settings.name}-{change.name}", "scaling_group_id": group_id,
                # ESS takes minutes: YYYY-MM-DDThh:mmZ, in UTC.
                "launch_time": change.at.strftime("%Y-%m-%dT%H:%MZ"),
                "min_value": 0 if stop else min(max(n, region.min_size), region.max_size),
                "max_value": 0 if stop else region.max_size,
                "launch_expiration_time": 600, "task_enabled": True}
        out[change.name] = args
    return out


def trust_policy() -> str:
    return json.dumps({"Version": "1", "Statement": [
        {"Action": "sts:AssumeRole", "Effect": "Allow", "Principal": {"Service": ["ecs.aliyuncs.com"]}}]})


def capacity_policy(region: Region, group_id: str) -> str:
    return json.dumps({"Version": "1", "Statement": [
        {"Effect": "Allow", "Action": list(WRITE_ACTIONS), "Resource": [f"acs:ess:{region.region}:*:scalinggroup/{group_id}"]},
        {"Effect": "Allow", "Action": list(READ_ACTIONS), "Resource": ["*"]},
    ]})
