"""The fleet blueprint (design document 004): one autoscaled group per cloud and region, the
agent on every VM, the control center, and the capacity owner's wiring. No Kubernetes."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Callable, Optional

import pulumi

from components.fleet.config import FleetSettings
from components.fleet import timing

ALIBABA_HORIZON = timedelta(days=90)  # ESS ScheduledTask launch_time limit


def _now() -> datetime:
    return datetime.now(timezone.utc)


def schedule_warnings(settings: FleetSettings, now: datetime) -> list[str]:
    """What the clouds will refuse about the schedule, said before `pulumi up` tries it."""
    out = []
    if "alibaba" in settings.clouds():
        s = settings.schedule
        late = [c for c in timing.fleet_schedule(s.start, s.stop, s.start_offset, now) if c.at > now + ALIBABA_HORIZON]
        if late:
            out.append(f"fleet.schedule.{'stop' if late[0].name == 'stop' else 'start'} is more than 90 days ahead: ESS refuses a "
                       "scheduled task that far out, so creating the Alibaba tasks fails; run `pulumi up` again closer to it")
    return out


def deploy(settings: FleetSettings, clock: Optional[Callable[[], datetime]] = None) -> None:
    """`clock`: the time schedules are compared with (default: now; tests freeze it). A
    scheduled time that has passed by then is not declared again."""
    # Imported here, not at the top: the Azure and Alibaba SDKs cost about a second of import
    # that the validator blueprint, which never uses them, should not pay.
    import pulumi_gcp as gcp

    from components.fleet import gcp_builder as fleet_gcp_builder
    from components.fleet.alibaba import FleetGroupAlibaba
    from components.fleet.aws import FleetGroupAws
    from components.fleet.azure import FleetGroupAzure
    from components.fleet.cc import ControlCenter
    from components.fleet.gcp import FleetGroupGcp

    now = (clock or _now)()
    for warning in (*settings.warnings, *schedule_warnings(settings, now)):
        pulumi.log.warn(warning)
    if settings.control_center.provider != "none":
        ControlCenter(f"{settings.name}-cc", settings)

    capacity_role = None
    gcp_apis: list = []
    if settings.gcp_project and "gcp" in settings.clouds():
        provider = gcp.Provider(f"{settings.name}-gcp-project", project=settings.gcp_project)
        # Enabled once per project, before anything is created through them (a new project has
        # none of them on, and the first call to a disabled API fails at apply).
        gcp_apis = [gcp.projects.Service(fleet_gcp_builder.service_resource_name(settings, api),
                                         **fleet_gcp_builder.service_args(settings, api), opts=pulumi.ResourceOptions(provider=provider))
                    for api in fleet_gcp_builder.project_apis(settings)]
        if settings.capacity_owner in ("agent", "watcher"):
            capacity_role = gcp.projects.IAMCustomRole(
                f"{settings.name}-capacity-writer", **fleet_gcp_builder.custom_role_args(settings),
                opts=pulumi.ResourceOptions(provider=provider, depends_on=gcp_apis)).name

    groups = {}
    for region in settings.regions:
        name = f"{settings.name}-{region.cloud}-{region.region}"
        if region.cloud == "aws":
            group = FleetGroupAws(name, settings, region, now)
        elif region.cloud == "gcp":
            group = FleetGroupGcp(name, settings, region, now, capacity_role, gcp_apis)
        elif region.cloud == "azure":
            group = FleetGroupAzure(name, settings, region, now)
        else:
            group = FleetGroupAlibaba(name, settings, region, now)
        groups[f"{region.cloud}/{region.region}"] = group.group_name
    pulumi.export("fleetGroups", groups)
    pulumi.export("capacityOwner", settings.capacity_owner)
