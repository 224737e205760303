"""Pure builders of one AWS region's fleet group: security group, launch template, Auto
Scaling group, scheduled actions, the instance role, and the watcher (Lambda on an EventBridge
Scheduler schedule).

Every capacity writer (the agent's instance role, the watcher's role) may change only its own
group: Auto Scaling has no group ARN before the group exists (it carries a UUID), so the
policies use the `autoscaling:ResourceTag/<key>` condition on the tag the group carries
(AWS "Control which Auto Scaling groups can be deleted or updated", ABAC for Amazon EC2 Auto
Scaling). Describe calls cannot be scoped and are read-only.
"""

from __future__ import annotations

import base64
import json
from typing import Any, Optional

from pegasus import names
from components.fleet.config import FleetSettings, Region
from components.fleet import capacity, timing

# Least privilege, per writer, by what each one calls (tests record the calls against moto and
# check every name against botocore's Auto Scaling service model):
# - the agent: `aws autoscaling set-desired-capacity`, nothing else; it may not delete the stop
#   action or raise MaxSize;
# - the watcher: the two describes it reads first, SetDesiredCapacity, and
#   PutScheduledUpdateGroupAction for watcher-start and watcher-stop.
AGENT_ACTIONS = ("autoscaling:SetDesiredCapacity",)
WATCHER_ACTIONS = ("autoscaling:SetDesiredCapacity", "autoscaling:PutScheduledUpdateGroupAction")
CAPACITY_ACTIONS = WATCHER_ACTIONS
READ_ACTIONS = ("autoscaling:DescribeAutoScalingGroups", "autoscaling:DescribeScheduledActions")
LAMBDA_RUNTIME = "python3.12"
ROOT_DEVICE = "/dev/sda1"
LAMBDA_BASIC_EXECUTION = "arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole"


def group_name(settings: FleetSettings, region: Region) -> str:
    return names.fleet_group(settings.name, "aws", region.region)


def tags(settings: FleetSettings, region: Region) -> dict:
    return {"pegasus-fleet": settings.name, names.FLEET_GROUP_TAG: group_name(settings, region), "managed-by": "pegasus"}


def trust_policy(service: str) -> str:
    return json.dumps({
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Principal": {"Service": service}, "Action": "sts:AssumeRole"}],
    })


def capacity_policy(group: str, actions: tuple[str, ...] = WATCHER_ACTIONS, reads: tuple[str, ...] = READ_ACTIONS) -> str:
    """Write access to the one group tagged with `group`; describe (read-only) everywhere."""
    statements = [{"Sid": "OwnGroupOnly", "Effect": "Allow", "Action": list(actions), "Resource": "*",
                   "Condition": {"StringEquals": {f"autoscaling:ResourceTag/{names.FLEET_GROUP_TAG}": group}}}]
    if reads:
        statements.append({"Sid": "Describe", "Effect": "Allow", "Action": list(reads), "Resource": "*"})
    return json.dumps({"Version": "2012-10-17", "Statement": statements})


def agent_policy(group: str) -> str:
    return capacity_policy(group, AGENT_ACTIONS, ())


# The group's own network. A region's default VPC may not exist (accounts whose default VPCs
# were deleted, or created without them by an organization's baseline), and a launch into a
# missing default VPC fails at apply, not at plan. A small VPC of its own is what the Azure and
# Alibaba groups get too, and keeps the fleet out of whatever else runs in the default one.
VPC_CIDR = "10.42.0.0/16"
DEFAULT_ZONE_COUNT = 2  # every AWS region offers at least 2 available zones to every account
MAX_ZONES = 16  # /20 subnets in the /16


def subnet_cidr(index: int) -> str:
    return f"10.42.{16 * index}.0/20"


def vpc_args(settings: FleetSettings, region: Region) -> dict:
    return {"cidr_block": VPC_CIDR, "enable_dns_support": True, "enable_dns_hostnames": True,
            "tags": {**tags(settings, region), "Name": group_name(settings, region)}}


def internet_gateway_args(settings: FleetSettings, region: Region, vpc_id: Any) -> dict:
    return {"vpc_id": vpc_id, "tags": {**tags(settings, region), "Name": group_name(settings, region)}}


def route_table_args(settings: FleetSettings, region: Region, vpc_id: Any, gateway_id: Any) -> dict:
    """Egress through the internet gateway: the agent pulls its repository and reaches the
    control center; there is no NAT gateway to pay for."""
    return {"vpc_id": vpc_id, "routes": [{"cidr_block": "0.0.0.0/0", "gateway_id": gateway_id}],
            "tags": {**tags(settings, region), "Name": group_name(settings, region)}}


def subnet_args(settings: FleetSettings, region: Region, vpc_id: Any, index: int, zone: Any) -> dict:
    """Public subnets: each VM gets a public address (p2p peers dial it) and no inbound port
    beyond the security group's."""
    return {"vpc_id": vpc_id, "cidr_block": subnet_cidr(index), "availability_zone": zone, "map_public_ip_on_launch": True,
            "tags": {**tags(settings, region), "Name": f"{group_name(settings, region)}-{index}"}}


def security_group_args(settings: FleetSettings, region: Region, vpc_id: Any = None) -> dict:
    ingress = []
    for lo, hi in settings.open_ports:
        for proto in ("tcp", "udp"):
            ingress.append({"protocol": proto, "from_port": lo, "to_port": hi, "cidr_blocks": ["0.0.0.0/0"],
                            "description": "p2p"})
    if settings.allow_ssh:
        ingress.append({"protocol": "tcp", "from_port": 22, "to_port": 22, "cidr_blocks": list(settings.ssh_cidrs),
                        "description": "ssh from the operators"})
    return {
        "name": group_name(settings, region),
        "description": f"Pegasus fleet {settings.name}: p2p ports" + (" and ssh" if settings.allow_ssh else ""),
        "ingress": ingress,
        "egress": [{"protocol": "-1", "from_port": 0, "to_port": 0, "cidr_blocks": ["0.0.0.0/0"], "description": "all"}],
        "vpc_id": vpc_id,
        "tags": tags(settings, region),
    }


def launch_template_args(settings: FleetSettings, region: Region, user_data: str, security_group_id: Any,
                         instance_profile: Any) -> dict:
    """IMDSv2 only (http_tokens required) and a hop limit of 1: a process in a container on the
    VM cannot reach the instance role's credentials."""
    return {
        "name": group_name(settings, region),
        "image_id": region.image,
        "instance_type": region.size,
        "user_data": base64.b64encode(user_data.encode()).decode(),
        # The root volume: /dev/sda1 is the root device of Canonical's Ubuntu AMIs (the default
        # image); an image with another root device name would get a second, empty volume.
        "block_device_mappings": [{"device_name": ROOT_DEVICE, "ebs": {
            "volume_size": settings.disk_size_gb, "volume_type": "gp3", "delete_on_termination": "true", "encrypted": "true"}}],
        "metadata_options": {"http_endpoint": "enabled", "http_tokens": "required", "http_put_response_hop_limit": 1},
        "iam_instance_profile": {"name": instance_profile},
        "vpc_security_group_ids": [security_group_id],
        "update_default_version": True,
        "tag_specifications": [{"resource_type": "instance", "tags": tags(settings, region)}],
        "tags": tags(settings, region),
    }


def desired(settings: FleetSettings, region: Region) -> Optional[int]:
    return capacity.resolve(settings.desired_capacity, "aws", region.region)


def group_args(settings: FleetSettings, region: Region, launch_template_id: Any, subnet_ids: Any, now) -> dict:
    s = settings.schedule
    initial = timing.initial_capacity(s.start, s.stop, s.start_offset, desired(settings, region), region.min_size,
                                      region.max_size, now)
    return {
        "name": group_name(settings, region),
        "min_size": region.min_size,
        "max_size": region.max_size,
        "desired_capacity": initial,
        "launch_template": {"id": launch_template_id, "version": "$Latest"},
        # The group's own subnets, one per zone (never the region's default VPC).
        "vpc_zone_identifiers": subnet_ids,
        "tags": [{"key": k, "value": v, "propagate_at_launch": True} for k, v in tags(settings, region).items()],
    }


def schedule_args(settings: FleetSettings, region: Region, now) -> dict[str, dict]:
    """The scheduled actions to declare: {short name: args}. A passed time is not declared.
    None with the watcher owning capacity: it schedules the start and the stop itself (from the
    control center, or these settings as its defaults), one writer per group."""
    s = settings.schedule
    out = {}
    if settings.capacity_owner == "watcher":
        return out
    for change in timing.fleet_schedule(s.start, s.stop, s.start_offset, now):
        n = change.capacity if change.capacity is not None else desired(settings, region)
        if n is None:
            continue  # "leave it": no start action, the group keeps its capacity
        args = {
            "scheduled_action_name": f"{settings.name}-{change.name}",
            "autoscaling_group_name": group_name(settings, region),
            "start_time": timing.format_time(change.at),
            "desired_capacity": min(max(n, 0 if change.name == "stop" else region.min_size), region.max_size),
        }
        if change.name == "stop":
            args["min_size"] = 0
        out[change.name] = args
    return out


def schedule_name(settings: FleetSettings, region: Region) -> str:
    return f"{group_name(settings, region)}-watcher"


def watcher_environment(settings: FleetSettings, region: Region) -> dict:
    s = settings.schedule
    extra = {"PEGASUS_SCHEDULE": schedule_name(settings, region)} if settings.watcher_follows_control_center() else {}
    return {**extra, 
        "PEGASUS_CLOUD": "aws",
        "PEGASUS_REGION": region.region,
        "PEGASUS_GROUP": group_name(settings, region),
        "PEGASUS_CC_HOSTS": json.dumps(list(settings.control_center.hosts)),
        "PEGASUS_START_OFFSET": f"{int(s.start_offset.total_seconds())}s",
        "PEGASUS_MIN_SIZE": str(region.min_size),
        "PEGASUS_MAX_SIZE": str(region.max_size),
        **settings.watcher_defaults(),
    }


def watcher_function_args(settings: FleetSettings, region: Region, role_arn: Any, code: Any) -> dict:
    return {
        "name": f"{group_name(settings, region)}-watcher",
        "runtime": LAMBDA_RUNTIME,
        "handler": "watcher.aws_handler",
        "role": role_arn,
        "code": code,
        "timeout": 60,
        "memory_size": 128,
        # No reserved concurrency: a reservation must leave 10 unreserved, and a new account's
        # limit is 10, so reserving even 1 is refused there. Runs come at most once a minute;
        # one that overlaps the next reads the same group and writes the same values.
        "environment": {"variables": watcher_environment(settings, region)},
        "tags": tags(settings, region),
    }


def scheduler_args(settings: FleetSettings, region: Region, function_arn: Any, role_arn: Any) -> dict:
    return {
        "name": schedule_name(settings, region),
        "schedule_expression": settings.watcher_expression.aws,
        "schedule_expression_timezone": "UTC",
        "flexible_time_window": {"mode": "OFF"},
        "target": {"arn": function_arn, "role_arn": role_arn, "retry_policy": {"maximum_retry_attempts": 0}},
    }


def invoke_policy(function_arn: str) -> str:
    return json.dumps({
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Action": "lambda:InvokeFunction", "Resource": function_arn}],
    })


def cadence_policy(settings: FleetSettings, region: Region, scheduler_role_arn: str) -> str:
    """cc-w-scheduler: the watcher may read and update its own schedule, and pass that
    schedule's role on (UpdateSchedule replaces the target, role included), nothing else."""
    arn = f"arn:aws:scheduler:{region.region}:*:schedule/default/{schedule_name(settings, region)}"
    return json.dumps({
        "Version": "2012-10-17",
        "Statement": [
            {"Sid": "OwnSchedule", "Effect": "Allow", "Action": ["scheduler:GetSchedule", "scheduler:UpdateSchedule"], "Resource": arn},
            {"Sid": "PassItsRole", "Effect": "Allow", "Action": "iam:PassRole", "Resource": scheduler_role_arn,
             "Condition": {"StringEquals": {"iam:PassedToService": "scheduler.amazonaws.com"}}},
        ],
    })
