"""The watcher (design document 004, "Watcher"): run by a cloud scheduler, it reads the cc-w-*
variables from the control center and keeps its one group's schedule and capacity in step.

- cc-w-a-start at or before now: a `watcher-start` scheduled action at start + cc-w-a-start-offset
  with the desired capacity (cc-w-a-desired-capacity, resolved for this group); once that time
  has passed too, the watcher sets the capacity directly.
- cc-w-a-stop in the future: a `watcher-stop` scheduled action with capacity 0.
- Nothing is written when the group already has it, and a value that does not resolve to a
  non-negative integer leaves the capacity alone.
- cc-w-scheduler, a 5-field cron, becomes the watcher's own schedule when it differs (only
  when the control center serves it: then the stack leaves that schedule to the watcher).

Standard library only (boto3 is in the Lambda runtime); shipped verbatim with capacity.py into
the function archives. `decide` is pure; the adapters talk to one cloud each.
"""

from __future__ import annotations

import json
import os
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Callable, Optional

try:  # inside the function archive the modules sit side by side
    from capacity import resolve
    import timing
except ImportError:  # in the repository
    from components.fleet.capacity import resolve
    from components.fleet import timing

START, STOP = "watcher-start", "watcher-stop"


@dataclass
class GroupState:
    desired: int
    scheduled: dict = field(default_factory=dict)  # name -> (aware datetime, capacity)


@dataclass(frozen=True)
class Action:
    kind: str  # schedule | capacity
    name: Optional[str] = None
    at: Optional[datetime] = None
    capacity: int = 0


def read_control_center(hosts: list[str], timeout: float = 5,
                        opener: Callable = urllib.request.urlopen) -> dict[str, str]:
    """The cc-w-* headers of the first host that answers with a status below 500."""
    for host in hosts:
        url = host if host.startswith(("http://", "https://")) else f"https://{host}/"
        try:
            response = opener(urllib.request.Request(url, method="HEAD"), timeout=timeout)
        except urllib.error.HTTPError as e:
            response = e
            if e.code >= 500:
                continue
        except OSError:
            continue
        return {k.lower(): v.strip() for k, v in response.headers.items() if k.lower().startswith("cc-w-")}
    return {}


def _time(value: Optional[str]) -> Optional[datetime]:
    try:
        return timing.parse_time(value) if value else None
    except ValueError:
        return None


def decide(variables: dict[str, str], *, cloud: str, region: str, now: datetime, default_offset: timedelta,
           min_size: int, max_size: int, group: GroupState) -> list[Action]:
    actions = []
    n = resolve(variables.get("cc-w-a-desired-capacity", ""), cloud, region)
    if n is not None:
        n = min(max(n, min_size), max_size)
    start, stop = _time(variables.get("cc-w-a-start")), _time(variables.get("cc-w-a-stop"))
    try:
        offset = timing.parse_offset(variables["cc-w-a-start-offset"])
    except (KeyError, ValueError):
        offset = default_offset
    stopped = stop is not None and stop <= now
    if start is not None and start <= now and n is not None and not stopped:
        at = start + offset
        if at > now:
            if group.scheduled.get(START) != (at, n):
                actions.append(Action("schedule", START, at, n))
        elif group.desired != n:
            actions.append(Action("capacity", capacity=n))
    if stop is not None and not stopped and group.scheduled.get(STOP) != (stop, 0):
        actions.append(Action("schedule", STOP, stop, 0))
    return actions


def decide_cadence(variables: dict[str, str], current: Optional[str], cloud: str) -> Optional[str]:
    """The watcher's new schedule expression in the cloud's own form, or None to keep it."""
    text = variables.get("cc-w-scheduler", "")
    try:
        every = timing.parse_every(text)
    except ValueError:
        return None
    wanted = every.aws if cloud == "aws" else every.cron
    return None if wanted == current else wanted


class AwsSchedule:
    """The watcher's own EventBridge Scheduler schedule, through boto3's scheduler client."""

    def __init__(self, client, name: str):
        self.client, self.name = client, name

    def expression(self) -> str:
        return self.client.get_schedule(Name=self.name)["ScheduleExpression"]

    def update(self, expression: str) -> None:
        current = self.client.get_schedule(Name=self.name)
        # UpdateSchedule replaces the whole schedule: carry over what it had.
        keep = {k: current[k] for k in ("FlexibleTimeWindow", "Target", "ScheduleExpressionTimezone", "State") if k in current}
        self.client.update_schedule(Name=self.name, ScheduleExpression=expression, **keep)


class GcpJob:
    """The watcher's own Cloud Scheduler job, through the REST API (`request` as GcpGroup's)."""

    def __init__(self, request: Callable, project: str, region: str, name: str):
        self.request = request
        self.url = f"https://cloudscheduler.googleapis.com/v1/projects/{project}/locations/{region}/jobs/{name}"

    def expression(self) -> str:
        return self.request("GET", self.url, None).get("schedule", "")

    def update(self, expression: str) -> None:
        self.request("PATCH", f"{self.url}?updateMask=schedule", {"schedule": expression})


def follow_cadence(schedule, variables: dict, cloud: str) -> Optional[str]:
    wanted = decide_cadence(variables, schedule.expression(), cloud)
    if wanted is not None:
        schedule.update(wanted)
    return wanted


class AwsGroup:
    """One Auto Scaling group through boto3's autoscaling client."""

    def __init__(self, client, name: str):
        self.client, self.name = client, name

    def state(self) -> GroupState:
        group = self.client.describe_auto_scaling_groups(AutoScalingGroupNames=[self.name])["AutoScalingGroups"][0]
        actions = self.client.describe_scheduled_actions(AutoScalingGroupName=self.name)["ScheduledUpdateGroupActions"]
        scheduled = {a["ScheduledActionName"]: (a["StartTime"].astimezone(timezone.utc), a.get("DesiredCapacity"))
                     for a in actions}
        return GroupState(group["DesiredCapacity"], scheduled)

    def apply(self, action: Action) -> None:
        if action.kind == "capacity":
            self.client.set_desired_capacity(AutoScalingGroupName=self.name, DesiredCapacity=action.capacity, HonorCooldown=False)
            return
        extra = {"MinSize": 0} if action.name == STOP else {}
        self.client.put_scheduled_update_group_action(
            AutoScalingGroupName=self.name, ScheduledActionName=action.name, StartTime=action.at,
            DesiredCapacity=action.capacity, **extra)


class GcpGroup:
    """One regional autoscaler through the Compute REST API. `request(method, url, body)`
    returns the decoded JSON; in the function it carries the metadata server's token.

    GCP scaling schedules are cron-based and only raise a minimum: watcher-start becomes a
    schedule at the start minute that lasts until cc-w-a-stop (or a year), watcher-stop ends
    it, and the desired capacity is the autoscaler's minReplicas."""

    def __init__(self, request: Callable, project: str, region: str, name: str):
        self.request = request
        self.url = f"https://compute.googleapis.com/compute/v1/projects/{project}/regions/{region}/autoscalers"
        self.name = name

    def _get(self) -> dict:
        return self.request("GET", f"{self.url}/{self.name}", None)

    def state(self) -> GroupState:
        policy = self._get().get("autoscalingPolicy", {})
        scheduled = {}
        for name, sch in (policy.get("scalingSchedules") or {}).items():
            scheduled[name] = (_time(sch.get("description")), sch.get("minRequiredReplicas"))
        return GroupState(policy.get("minReplicas", 0), scheduled)

    def apply(self, action: Action) -> None:
        policy = self._get().get("autoscalingPolicy", {})
        schedules = dict(policy.get("scalingSchedules") or {})
        if action.kind == "capacity":
            policy["minReplicas"] = action.capacity
        elif action.name == START:
            at = action.at
            schedules[START] = {"schedule": f"{at.minute} {at.hour} {at.day} {at.month} *", "timeZone": "Etc/UTC",
                                "durationSec": 365 * 86400, "minRequiredReplicas": action.capacity,
                                # the one-time start, as the watcher compares it on its next run
                                "description": timing.format_time(at)}
        else:
            start = schedules.get(START)
            if start is not None and _time(start.get("description")) is not None:
                seconds = int((action.at - _time(start["description"])).total_seconds())
                start["durationSec"] = max(seconds, 300)
            schedules[STOP] = {"schedule": f"{action.at.minute} {action.at.hour} {action.at.day} {action.at.month} *",
                               "timeZone": "Etc/UTC", "durationSec": 300, "minRequiredReplicas": 0, "disabled": True,
                               "description": timing.format_time(action.at)}
        policy["scalingSchedules"] = schedules
        self.request("PATCH", f"{self.url}?autoscaler={self.name}", {"name": self.name, "autoscalingPolicy": policy})


def run(group, variables: dict, *, cloud: str, region: str, now: datetime, default_offset: timedelta,
        min_size: int, max_size: int) -> list[Action]:
    actions = decide(variables, cloud=cloud, region=region, now=now, default_offset=default_offset,
                     min_size=min_size, max_size=max_size, group=group.state())
    for action in actions:
        group.apply(action)
    return actions


def _from_env() -> dict:
    return {
        "cloud": os.environ["PEGASUS_CLOUD"], "region": os.environ["PEGASUS_REGION"],
        "default_offset": timing.parse_offset(os.environ.get("PEGASUS_START_OFFSET", "0s")),
        "min_size": int(os.environ["PEGASUS_MIN_SIZE"]), "max_size": int(os.environ["PEGASUS_MAX_SIZE"]),
    }


def _summary(actions: list[Action]) -> dict:
    return {"actions": [{"kind": a.kind, "name": a.name, "at": a.at and timing.format_time(a.at), "capacity": a.capacity}
                        for a in actions]}


def aws_handler(event, context):  # pragma: no cover - the Lambda entry point; run() is tested
    import boto3

    env = _from_env()
    group = AwsGroup(boto3.client("autoscaling", region_name=env["region"]), os.environ["PEGASUS_GROUP"])
    variables = read_control_center(json.loads(os.environ["PEGASUS_CC_HOSTS"]))
    summary = _summary(run(group, variables, now=datetime.now(timezone.utc), **env))
    if os.environ.get("PEGASUS_SCHEDULE"):
        schedule = AwsSchedule(boto3.client("scheduler", region_name=env["region"]), os.environ["PEGASUS_SCHEDULE"])
        summary["schedule"] = follow_cadence(schedule, variables, "aws")
    return summary


def _metadata_token() -> str:  # pragma: no cover - only inside Google Cloud
    req = urllib.request.Request("http://metadata.google.internal/computeMetadata/v1/instance/service-accounts/default/token",
                                 headers={"Metadata-Flavor": "Google"})
    with urllib.request.urlopen(req, timeout=5) as r:
        return json.load(r)["access_token"]


def _gcp_request(method: str, url: str, body) -> dict:  # pragma: no cover - only inside Google Cloud
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(url, data=data, method=method, headers={
        "Authorization": f"Bearer {_metadata_token()}", "Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=30) as r:
        return json.load(r)


def gcp_handler(request):  # pragma: no cover - the Cloud Function entry point; run() is tested
    env = _from_env()
    project = os.environ["PEGASUS_GCP_PROJECT"]
    group = GcpGroup(_gcp_request, project, env["region"], os.environ["PEGASUS_GROUP"])
    variables = read_control_center(json.loads(os.environ["PEGASUS_CC_HOSTS"]))
    summary = _summary(run(group, variables, now=datetime.now(timezone.utc), **env))
    if os.environ.get("PEGASUS_SCHEDULE"):
        summary["schedule"] = follow_cadence(GcpJob(_gcp_request, project, env["region"], os.environ["PEGASUS_SCHEDULE"]),
                                             variables, "gcp")
    return json.dumps(summary)
