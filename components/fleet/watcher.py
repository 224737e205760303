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
# AutoscalingPolicyScalingSchedule.durationSec: at least 300 (the API's minimum), an int32.
GCP_MIN_DURATION = 300
GCP_MAX_DURATION = 2**31 - 1
GCP_NO_STOP = timedelta(days=3650)  # a window with no stop: ten years


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
                        opener: Callable = urllib.request.urlopen) -> Optional[dict[str, str]]:
    """The cc-w-* headers of the first host that answers with a status below 500; None when no
    host answers."""
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
    return None


def with_defaults(variables: Optional[dict], defaults: dict) -> Optional[dict]:
    """The control center's cc-w-* values over the stack's defaults (fleet.schedule and
    fleet.desiredCapacity, which the stack hands the watcher instead of declaring a schedule of
    its own). An empty value or `-` (document 004's "unset") falls back. None, no host answered:
    stays None, and the watcher writes nothing, so an outage never resets a running fleet."""
    if variables is None:
        return None
    served = {k: v for k, v in variables.items() if v not in ("", "-")}
    return {**{k: v for k, v in defaults.items() if v}, **served}


def defaults_from_env() -> dict:
    start = os.environ.get("PEGASUS_START", "")
    return {
        # `now`: started long ago, so the capacity is set at once.
        "cc-w-a-start": "1970-01-01T00:00:00Z" if start == "now" else start,
        "cc-w-a-stop": os.environ.get("PEGASUS_STOP", ""),
        "cc-w-a-desired-capacity": os.environ.get("PEGASUS_DESIRED_CAPACITY", ""),
    }


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
    """One regional autoscaler through the Compute REST API (regionAutoscalers get and patch).
    `request(method, url, body)` returns the decoded JSON; in the function it carries the
    metadata server's token. Field names are the REST API's (AutoscalingPolicy.minNumReplicas,
    scalingSchedules), not Terraform's; tests validate every body against the API's discovery
    document.

    GCP has no one-time scaled action, and a scaling schedule only raises the minimum: while a
    schedule is active, the group runs max(minNumReplicas, the schedule's minRequiredReplicas).
    So the watcher keeps minNumReplicas as the stack set it and moves capacity through its own
    schedule, watcher-start: a window from the start to cc-w-a-stop. Its minRequiredReplicas
    is the desired capacity; when the window ends at the stop, the group falls back to the
    minimum. watcher-stop is a disabled marker that records the stop for the next run.

    Each PATCH carries only the schedules it changes (the method takes a JSON merge patch): the
    autoscaler resource has no fingerprint to make a read-modify-write conditional, so a small
    patch is how two writers are kept from undoing each other's fields."""

    def __init__(self, request: Callable, project: str, region: str, name: str,
                 clock: Callable[[], datetime] = lambda: datetime.now(timezone.utc)):
        self.request = request
        self.url = f"https://compute.googleapis.com/compute/v1/projects/{project}/regions/{region}/autoscalers"
        self.name = name
        self.clock = clock

    def _get(self) -> dict:
        return self.request("GET", f"{self.url}/{self.name}", None)

    @staticmethod
    def _window(schedule: Optional[dict]) -> tuple[Optional[datetime], Optional[datetime]]:
        if not schedule or schedule.get("disabled"):
            return None, None
        begin = _time(schedule.get("description"))
        if begin is None:
            return None, None
        return begin, begin + timedelta(seconds=int(schedule.get("durationSec") or 0))

    def state(self) -> GroupState:
        policy = self._get().get("autoscalingPolicy", {})
        schedules = policy.get("scalingSchedules") or {}
        scheduled = {name: (_time(sch.get("description")), sch.get("minRequiredReplicas"))
                     for name, sch in schedules.items() if name in (START, STOP)}
        begin, end = self._window(schedules.get(START))
        now = self.clock()
        if begin is not None and begin <= now < end:
            # The window holds the group up: its minimum is what the group runs.
            desired = max(schedules[START].get("minRequiredReplicas", 0), policy.get("minNumReplicas", 0))
        else:
            desired = policy.get("minNumReplicas", 0)
        return GroupState(desired, scheduled)

    @staticmethod
    def _schedule(at: datetime, duration: int, replicas: int, disabled: bool = False) -> dict:
        body = {"schedule": timing.one_shot_cron(at), "timeZone": "Etc/UTC",
                "durationSec": max(min(duration, GCP_MAX_DURATION), GCP_MIN_DURATION), "minRequiredReplicas": replicas,
                # the one-time start, as the watcher compares it on its next run
                "description": timing.format_time(at)}
        if disabled:
            body["disabled"] = True
        return body

    def apply(self, action: Action) -> None:
        schedules = self._get().get("autoscalingPolicy", {}).get("scalingSchedules") or {}
        stop = _time((schedules.get(STOP) or {}).get("description"))
        changed = {}

        def window(at: datetime, replicas: int) -> dict:
            end = stop if stop is not None and stop > at else at + GCP_NO_STOP
            return self._schedule(at, int((end - at).total_seconds()), replicas)

        if action.kind == "capacity":
            now = self.clock()
            begin, end = self._window(schedules.get(START))
            if begin is not None and begin <= now < end:
                # The setting that moves the group: the active window's minimum.
                changed[START] = {**schedules[START], "minRequiredReplicas": action.capacity}
            else:
                # No window holds the group: open one now, until the stop.
                at = (now + timedelta(minutes=1)).replace(second=0, microsecond=0)
                changed[START] = window(at, action.capacity)
        elif action.name == START:
            changed[START] = window(action.at, action.capacity)
        else:
            begin, _ = self._window(schedules.get(START))
            if begin is not None:
                changed[START] = {**schedules[START], "durationSec": int((action.at - begin).total_seconds())}
                changed[START]["durationSec"] = max(changed[START]["durationSec"], GCP_MIN_DURATION)
            changed[STOP] = self._schedule(action.at, GCP_MIN_DURATION, 0, disabled=True)
        self.request("PATCH", f"{self.url}?autoscaler={self.name}",
                     {"name": self.name, "autoscalingPolicy": {"scalingSchedules": changed}})


def run(group, variables: Optional[dict], *, cloud: str, region: str, now: datetime, default_offset: timedelta,
        min_size: int, max_size: int) -> list[Action]:
    if variables is None:
        return []  # no control center answered: leave the group as it is
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
    variables = with_defaults(read_control_center(json.loads(os.environ["PEGASUS_CC_HOSTS"])), defaults_from_env())
    summary = _summary(run(group, variables, now=datetime.now(timezone.utc), **env))
    if variables is not None and os.environ.get("PEGASUS_SCHEDULE"):
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
    variables = with_defaults(read_control_center(json.loads(os.environ["PEGASUS_CC_HOSTS"])), defaults_from_env())
    summary = _summary(run(group, variables, now=datetime.now(timezone.utc), **env))
    if variables is not None and os.environ.get("PEGASUS_SCHEDULE"):
        summary["schedule"] = follow_cadence(GcpJob(_gcp_request, project, env["region"], os.environ["PEGASUS_SCHEDULE"]),
                                             variables, "gcp")
    return json.dumps(summary)
