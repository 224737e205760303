"""Pure builders of one GCP region's fleet group: firewall rules, instance template, regional
managed instance group, the autoscaler with scaling schedules, the service accounts, and the
watcher (Cloud Function on Cloud Scheduler).

GCP has no one-time scaled action: a scaling schedule is a cron with a duration that raises the
autoscaler's minimum. The fleet's start is a one-shot schedule (the cron's optional year field)
at the start minute lasting until the stop (or ten years), kept while that window is open, so an
update inside the window never drops it. The policy's minimum stays the group's own; a capacity
writer moves the window's minRequiredReplicas, which carries ignoreChanges with it.

A capacity writer's service account holds a custom role bound with an IAM condition on its own
autoscaler's resource name, so it can update that autoscaler and no other.
"""

from __future__ import annotations

import zlib
from datetime import datetime, timedelta
from typing import Any, Optional

from pegasus import names
from components.fleet.config import FleetSettings, Region
from components.fleet import capacity, timing

CAPACITY_PERMISSIONS = ("compute.autoscalers.get", "compute.autoscalers.update")
# What `gcloud compute instance-groups managed update-autoscaling` reads before its PATCH
# (googlecloudsdk's update_autoscaling.py: GetInstanceGroupManagerOrThrow, then
# AutoscalerForMigByRef, which lists the region's autoscalers to find the group's): the agent
# needs both; the watcher calls the REST API directly and does not.
GCLOUD_LOOKUP_PERMISSIONS = ("compute.instanceGroupManagers.get", "compute.autoscalers.list")
CADENCE_PERMISSIONS = ("cloudscheduler.jobs.get", "cloudscheduler.jobs.update")
NO_STOP_DURATION = timedelta(days=3650)  # a start with no stop: a ten-year window
MIN_WINDOW = timedelta(seconds=300)  # AutoscalingPolicyScalingSchedule.durationSec's minimum
CPU_TARGET = 1.0
FUNCTION_RUNTIME = "python312"


# The APIs each resource of the fleet is created through. A new project has none of them
# enabled, and a call to a disabled API fails at apply ("API has not been used in project ...
# before or it is disabled"); the stack enables them first and every GCP resource depends on
# them. Each name is the host of the API's rootUrl in its discovery document (tests check it).
BASE_APIS = (
    "compute.googleapis.com",  # instance template, group manager, autoscaler, firewall rules
    "iam.googleapis.com",  # service accounts, the capacity writers' custom role
    "cloudresourcemanager.googleapis.com",  # the project-level IAM bindings (projects.setIamPolicy)
)
WATCHER_APIS = (
    "storage.googleapis.com",  # the function's code bucket
    "cloudfunctions.googleapis.com",  # the 2nd-generation function
    "cloudbuild.googleapis.com",  # builds the function's source
    "artifactregistry.googleapis.com",  # holds the image that build produces
    "run.googleapis.com",  # a 2nd-generation function runs as a Cloud Run service (and its invoker binding)
    "cloudscheduler.googleapis.com",  # the job that calls the function
    # No eventarc: the function has an HTTP trigger, called by Cloud Scheduler; Eventarc serves
    # event triggers only.
)


def project_apis(settings: FleetSettings) -> tuple[str, ...]:
    return BASE_APIS + (WATCHER_APIS if settings.capacity_owner == "watcher" else ())


def service_args(settings: FleetSettings, api: str) -> dict:
    """Left enabled on destroy: other workloads in the project may use the same API, and
    disabling compute would stop every VM in it."""
    return {"project": settings.gcp_project, "service": api, "disable_on_destroy": False, "disable_dependent_services": False}


def service_resource_name(settings: FleetSettings, api: str) -> str:
    return f"{settings.name}-api-{api.split('.')[0]}"


def group_name(settings: FleetSettings, region: Region) -> str:
    return names.fleet_group(settings.name, "gcp", region.region)


def labels(settings: FleetSettings, region: Region) -> dict:
    return {"pegasus-fleet": settings.name, names.FLEET_GROUP_TAG: group_name(settings, region), "managed-by": "pegasus"}


def account_id(settings: FleetSettings, region: Region, role: str) -> str:
    """6-30 characters: the fleet name and a hash of the region and role."""
    digest = format(zlib.crc32(f"{region.region}/{role}".encode()), "08x")
    return f"{settings.name}-{digest}"[:30]


def custom_role_id(settings: FleetSettings) -> str:
    return settings.name.replace("-", "_") + "_fleet_capacity"


def custom_role_args(settings: FleetSettings) -> dict:
    return {
        "role_id": custom_role_id(settings),
        "title": f"Pegasus fleet {settings.name}: capacity writer",
        "description": "Read and update one autoscaler; every binding carries a condition naming it.",
        "permissions": list(CAPACITY_PERMISSIONS)
        + (list(GCLOUD_LOOKUP_PERMISSIONS) if settings.capacity_owner == "agent" else [])
        + (list(CADENCE_PERMISSIONS) if settings.watcher_follows_control_center() else []),
        "project": settings.gcp_project,
    }


def autoscaler_resource_name(settings: FleetSettings, region: Region) -> str:
    return f"projects/{settings.gcp_project}/regions/{region.region}/autoscalers/{group_name(settings, region)}"


def group_manager_resource_name(settings: FleetSettings, region: Region) -> str:
    return f"projects/{settings.gcp_project}/regions/{region.region}/instanceGroupManagers/{group_name(settings, region)}"


def job_name(settings: FleetSettings, region: Region) -> str:
    return f"{group_name(settings, region)}-watcher"


def job_resource_name(settings: FleetSettings, region: Region) -> str:
    return f"projects/{settings.gcp_project}/locations/{region.region}/jobs/{job_name(settings, region)}"


def capacity_binding_args(settings: FleetSettings, region: Region, role: Any, email: Any, own_job: bool = False,
                          gcloud: bool = False) -> dict:
    """`own_job`: the watcher following cc-w-scheduler may also update its own Cloud Scheduler job.
    `gcloud`: the agent's gcloud also gets its own group manager and lists the autoscalers (a
    list is checked on the project, as p2p-agent-infra's agent binding does)."""
    expression = f'resource.name == "{autoscaler_resource_name(settings, region)}"'
    if gcloud:
        expression += (f' || resource.name == "{group_manager_resource_name(settings, region)}"'
                       f' || resource.name == "projects/{settings.gcp_project}"')
    if own_job:
        expression += f' || resource.name == "{job_resource_name(settings, region)}"'
    return {
        "project": settings.gcp_project,
        "role": role,
        "member": email,
        "condition": {"title": f"only {group_name(settings, region)}", "expression": expression},
    }


# The group's own network, as the AWS, Azure and Alibaba groups get theirs: the project's
# `default` network does not exist in a project created under the organization policy
# compute.skipDefaultNetworkCreation, and the template and firewall rules would then fail at
# apply. A new VPC network gets its default route to the internet gateway (the agent's egress).
SUBNET_CIDR = "10.43.0.0/20"


def network_args(settings: FleetSettings, region: Region) -> dict:
    return {"name": group_name(settings, region), "project": settings.gcp_project, "auto_create_subnetworks": False,
            "description": f"Pegasus fleet {group_name(settings, region)}"}


def subnetwork_args(settings: FleetSettings, region: Region, network: Any) -> dict:
    return {"name": group_name(settings, region), "project": settings.gcp_project, "region": region.region,
            "network": network, "ip_cidr_range": SUBNET_CIDR}


def firewall_args(settings: FleetSettings, region: Region, network: Any) -> list[tuple[str, dict]]:
    group = group_name(settings, region)
    out = []
    if settings.open_ports:
        ports = [f"{lo}-{hi}" if lo != hi else str(lo) for lo, hi in settings.open_ports]
        out.append(("p2p", {"name": f"{group}-p2p", "network": network, "project": settings.gcp_project,
                            "direction": "INGRESS", "source_ranges": ["0.0.0.0/0"], "target_tags": [group],
                            "allows": [{"protocol": "tcp", "ports": ports}, {"protocol": "udp", "ports": ports}]}))
    if settings.allow_ssh:
        out.append(("ssh", {"name": f"{group}-ssh", "network": network, "project": settings.gcp_project,
                            "direction": "INGRESS", "source_ranges": list(settings.ssh_cidrs), "target_tags": [group],
                            "allows": [{"protocol": "tcp", "ports": ["22"]}]}))
    return out


def instance_template_args(settings: FleetSettings, region: Region, user_data: str, email: Any, subnetwork: Any) -> dict:
    group = group_name(settings, region)
    return {
        # Templates are immutable: a change makes a new one (name_prefix), then the group moves.
        "name_prefix": f"{group}-",
        "project": settings.gcp_project,
        "machine_type": region.size,
        "disks": [{"source_image": region.image, "auto_delete": True, "boot": True, "disk_size_gb": settings.disk_size_gb}],
        "network_interfaces": [{"subnetwork": subnetwork, "access_configs": [{}]}],
        "metadata": {"user-data": user_data, "enable-oslogin": "TRUE", "block-project-ssh-keys": "TRUE"},
        "service_account": {"email": email, "scopes": ["cloud-platform"]},
        "shielded_instance_config": {"enable_secure_boot": True, "enable_vtpm": True, "enable_integrity_monitoring": True},
        "tags": [group],
        "labels": labels(settings, region),
    }


def group_manager_args(settings: FleetSettings, region: Region, template: Any) -> dict:
    group = group_name(settings, region)
    return {
        "name": group,
        "project": settings.gcp_project,
        "region": region.region,
        "base_instance_name": group,
        "versions": [{"name": "primary", "instance_template": template}],
        "update_policy": {"type": "PROACTIVE", "minimal_action": "REPLACE", "max_surge_fixed": 3, "max_unavailable_fixed": 0},
    }


def desired(settings: FleetSettings, region: Region) -> Optional[int]:
    return capacity.resolve(settings.desired_capacity, "gcp", region.region)


def scaling_schedules(settings: FleetSettings, region: Region, now) -> list[dict]:
    """The start window, while it is still open (a start in the past whose stop is ahead
    stays: dropping it would scale a running fleet down)."""
    s = settings.schedule
    n = desired(settings, region)
    if not hasattr(s.start, "tzinfo") or n is None or settings.capacity_owner == "watcher":
        # With the watcher owning capacity, its own window is the only one (one writer).
        return []
    at = s.start + s.start_offset
    end = s.stop or at + NO_STOP_DURATION
    if end <= now:
        return []
    return [{
        "name": start_schedule_name(settings),
        # With the year: one firing, not one every year on that date.
        "schedule": timing.one_shot_cron(at),
        "time_zone": "Etc/UTC",
        "duration_sec": int((end - at).total_seconds()),
        "min_required_replicas": min(max(n, region.min_size), region.max_size),
        "description": f"Pegasus fleet start {timing.format_time(at)} until {timing.format_time(end)}",
    }]


def autoscaler_args(settings: FleetSettings, region: Region, target: Any, now) -> dict:
    s = settings.schedule
    schedules = scaling_schedules(settings, region, now)
    if isinstance(s.start, datetime) or settings.capacity_owner == "watcher":
        # A window (the stack's or the watcher's) raises the group; the minimum stays the
        # group's own, or the fleet would be held up past the window's end, the stop.
        initial = region.min_size
    else:
        initial = timing.initial_capacity(s.start, s.stop, s.start_offset, desired(settings, region), region.min_size,
                                          region.max_size, now)
    policy = {
        "min_replicas": initial,
        "max_replicas": region.max_size,
        "cooldown_period": 60,
        "mode": "ON",
        # A GCP autoscaler always has a CPU signal (0.6 when none is given). 1.0 is the largest
        # target the API takes: a VM cannot use more than all its CPU, so a CPU-bound agent is
        # at the target, never above it, and load never adds a VM (0.99 asked for one more
        # than ran). The size is the window's and the minimum.
        "cpu_utilization": {"target": CPU_TARGET},
    }
    if schedules:
        policy["scaling_schedules"] = schedules
    return {"name": group_name(settings, region), "project": settings.gcp_project, "region": region.region,
            "target": target, "autoscaling_policy": policy}


def start_schedule_name(settings: FleetSettings) -> str:
    return f"{settings.name}-start"


def agent_schedule(settings: FleetSettings) -> str:
    """The window the agent writes: the stack's start schedule whenever the start is a time
    (not only while it is declared: the agent's script is in the instance template, and a
    change of it would replace every VM). Once the window is gone, gcloud's update of it fails
    and the agent leaves the group alone; it does not fall back to the minimum, which would
    hold the fleet up past the stop."""
    return start_schedule_name(settings) if isinstance(settings.schedule.start, datetime) else ""


def autoscaler_ignore_changes(settings: FleetSettings) -> list[str]:
    ignore = ["autoscalingPolicy.minReplicas"]
    if settings.capacity_owner in ("watcher", "agent"):
        # The watcher writes its own schedules; the agent writes the start window's minimum.
        ignore.append("autoscalingPolicy.scalingSchedules")
    return ignore


def watcher_environment(settings: FleetSettings, region: Region) -> dict:
    import json

    return {
        **({"PEGASUS_SCHEDULE": job_name(settings, region)} if settings.watcher_follows_control_center() else {}),
        "PEGASUS_CLOUD": "gcp",
        "PEGASUS_REGION": region.region,
        "PEGASUS_GROUP": group_name(settings, region),
        "PEGASUS_GCP_PROJECT": settings.gcp_project,
        "PEGASUS_CC_HOSTS": json.dumps(list(settings.control_center.hosts)),
        "PEGASUS_START_OFFSET": f"{int(settings.schedule.start_offset.total_seconds())}s",
        "PEGASUS_MIN_SIZE": str(region.min_size),
        "PEGASUS_MAX_SIZE": str(region.max_size),
        **settings.watcher_defaults(),
    }


def bucket_args(settings: FleetSettings, region: Region) -> dict:
    return {"name": f"{settings.gcp_project}-{group_name(settings, region)}-watcher"[:63], "project": settings.gcp_project,
            "location": region.region.upper(), "uniform_bucket_level_access": True,
            "public_access_prevention": "enforced", "force_destroy": True, "labels": labels(settings, region)}


def function_args(settings: FleetSettings, region: Region, bucket: Any, obj: Any, email: Any) -> dict:
    return {
        "name": f"{group_name(settings, region)}-watcher",
        "project": settings.gcp_project,
        "location": region.region,
        "build_config": {"runtime": FUNCTION_RUNTIME, "entry_point": "gcp_handler",
                         "source": {"storage_source": {"bucket": bucket, "object": obj}}},
        "service_config": {"max_instance_count": 1, "available_memory": "256M", "timeout_seconds": 60,
                           "service_account_email": email, "ingress_settings": "ALLOW_ALL",
                           "all_traffic_on_latest_revision": True,
                           "environment_variables": watcher_environment(settings, region)},
        "labels": labels(settings, region),
    }


def job_args(settings: FleetSettings, region: Region, uri: Any, invoker_email: Any) -> dict:
    return {
        "name": job_name(settings, region),
        "project": settings.gcp_project,
        "region": region.region,
        "schedule": settings.watcher_expression.cron,
        "time_zone": "Etc/UTC",
        "attempt_deadline": "120s",
        "http_target": {"uri": uri, "http_method": "POST",
                        "oidc_token": {"service_account_email": invoker_email, "audience": uri}},
    }
