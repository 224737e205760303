"""Every start mode on every cloud, with every capacity owner: the fleet starts, it stops (when
there is a stop), and one writer acts on each group; or the config refuses it, in one line.

Each case is played on a model of the cloud's group, built from what the stack declares at
creation (the builders' arguments) and from what the writers send:

- AWS: the group's desired capacity and one-time scheduled actions (each runs once, at its time,
  and is gone); the watcher is watcher.py's own code through an adapter of AwsGroup's calls.
- GCP: the Compute API fake of test_watcher (every request checked against the discovery
  document), running max(minNumReplicas, the active schedules' minRequiredReplicas); the watcher
  is GcpGroup; the agent's gcloud call is turned into the PATCH gcloud sends.
- Azure: the profiles through azure-mgmt-monitor's models, the profile in force deciding.
- Alibaba: the group's bounds and desired capacity, the one-time tasks moving the bounds.

The control center serves desired capacity 2 (the config says 3), so a writer that acts is
seen: the watcher and the agent steer to 2, the schedule alone runs 3.
"""

from __future__ import annotations

import os
import re
from unittest import mock
from datetime import datetime, timedelta, timezone

import pytest

from components.fleet import agent_builder as ab
from components.fleet import alibaba_builder as alib
from components.fleet import aws_builder as awsb
from components.fleet import azure_builder as azb
from components.fleet import gcp_builder as gcpb
from components.fleet import timing
from components.fleet import watcher as w
from components.fleet.capacity import resolve
from pegasus.errors import ConfigError
from tests.fleet import compute_discovery as cd
from tests.fleet.test_agent import gcloud_update_autoscaling
from tests.fleet.test_builders import azure_in_force, azure_setting, rest_autoscaler
from tests.fleet.test_config import parse, with_fleet
from tests.fleet.test_watcher import FakeAutoscalerApi

UTC = timezone.utc
START = datetime(2026, 12, 10, 13, tzinfo=UTC)
STOP = datetime(2026, 12, 17, 13, tzinfo=UTC)
INSIDE = datetime(2026, 12, 12, tzinfo=UTC)
AFTER = datetime(2026, 12, 18, tzinfo=UTC)
SERVED = 2  # what the control center serves; the config says 3

MODES = {
    # name: (schedule.start, schedule.stop, when the group is created)
    "future start and stop": (START, STOP, datetime(2026, 12, 1, tzinfo=UTC)),
    "future start, no stop": (START, None, datetime(2026, 12, 1, tzinfo=UTC)),
    "created inside the window": (START, STOP, datetime(2026, 12, 11, tzinfo=UTC)),
    "now and a stop": ("now", STOP, datetime(2026, 12, 1, tzinfo=UTC)),
    "now, no stop": ("now", None, datetime(2026, 12, 1, tzinfo=UTC)),
    "watcher": ("watcher", STOP, datetime(2026, 12, 1, tzinfo=UTC)),
}
CLOUDS = ("aws", "gcp", "azure", "alibaba")
OWNERS = ("schedule", "watcher", "agent")
# The cases the config refuses, and the start of the one line it says.
REFUSED = {
    ("gcp", "now and a stop", "schedule"): "pegasus:fleet.schedule.start: is now with a stop, which GCP cannot stop",
    ("gcp", "now and a stop", "agent"): "pegasus:fleet.schedule.start: is now with a stop, which GCP cannot stop",
    **{(c, "watcher", o): "pegasus:fleet.schedule.start: is watcher, but no watcher runs on"
       for c in ("azure", "alibaba") for o in OWNERS},
    **{(c, "watcher", o): "pegasus:fleet.schedule.start: is watcher, but capacityOwner is"
       for c in ("aws", "gcp") for o in ("schedule", "agent")},
}


def settings_for(cloud: str, mode: str, owner: str):
    start, stop, _ = MODES[mode]
    raw = with_fleet(capacityOwner=owner, desiredCapacity=3, schedule__startOffset="0m",
                     schedule__start=start if isinstance(start, str) else timing.format_time(start),
                     schedule__stop=stop and timing.format_time(stop))
    for other in CLOUDS:
        if other != cloud:
            del raw["fleet"]["clouds"][other]
    return parse(raw)


def served(s) -> dict:
    """The control center's cc-w-* answer: capacity 2, and a start and stop only for the
    watcher start mode (otherwise the stack's own schedule is the watcher's default)."""
    out = {"cc-w-a-desired-capacity": str(SERVED)}
    if s.schedule.start == "watcher":
        out.update({"cc-w-a-start": timing.format_time(START), "cc-w-a-stop": timing.format_time(STOP)})
    return out


class Sim:
    """One group. `capacity(t)`: what it runs at t. `watcher(t)`, `agent(t, n)`: one run of
    each writer; each returns whether it changed the group."""

    def __init__(self, s, region, created):
        self.s, self.region = s, region
        self.stack_declares = False

    def fire(self, t):
        """The cloud's own primitives that are due by t; returns whether any moved the group."""
        return False


class AwsSim(Sim):
    def __init__(self, s, region, created):
        super().__init__(s, region, created)
        self.desired = awsb.group_args(s, region, "lt", ["a"], created)["desired_capacity"]
        self.min, self.max = region.min_size, region.max_size
        self.actions = {}  # name -> (time, desired, min)
        for name, a in awsb.schedule_args(s, region, created).items():
            self.actions[a["scheduled_action_name"]] = (timing.parse_time(a["start_time"]), a["desired_capacity"], a.get("min_size"))
        self.stack_declares = bool(self.actions)

    def fire(self, t):
        before = self.desired
        for name, (at, desired, min_size) in sorted(self.actions.items(), key=lambda kv: kv[1][0]):
            if at <= t:
                if min_size is not None:
                    self.min = min_size
                self.desired = desired
                del self.actions[name]  # a one-time action is gone once it has run
        return self.desired != before

    def capacity(self, t):
        return self.desired

    # watcher.py's AwsGroup, on this model
    def state(self):
        return w.GroupState(self.desired, {n: (a[0], a[1]) for n, a in self.actions.items()})

    def apply(self, action):
        if action.kind == "capacity":
            self.desired = action.capacity
        else:
            self.actions[action.name] = (action.at, action.capacity, 0 if action.name == w.STOP else None)

    def agent(self, t, n):
        changed = self.desired != n
        self.desired = n  # SetDesiredCapacity
        return changed


class GcpSim(Sim):
    def __init__(self, s, region, created):
        super().__init__(s, region, created)
        body = rest_autoscaler(gcpb.autoscaler_args(s, region, "https://www.googleapis.com/compute/v1/projects/proj/regions/"
                                                    "europe-west3/instanceGroupManagers/g", created))
        assert cd.errors(body, "Autoscaler") == []
        self.api = FakeAutoscalerApi(gcpb.group_name(s, region), body["autoscalingPolicy"])
        self.stack_declares = bool(body["autoscalingPolicy"].get("scalingSchedules"))
        self.now = created

    def capacity(self, t):
        return self.api.running(t)

    def group(self, t):
        return w.GcpGroup(self.api, "proj", "europe-west3", self.api.name, clock=lambda: t)

    def agent(self, t, n):
        schedule = gcpb.agent_schedule(self.s)
        flags = ["--update-schedule", schedule, "--schedule-min-required-replicas", str(n)] if schedule else [
            "--min-num-replicas", str(n)]
        argv = ["compute", "instance-groups", "managed", "update-autoscaling", self.api.name, "--project", "proj",
                "--region", "europe-west3", *flags, "--quiet"]
        requests, _ = gcloud_update_autoscaling(argv)
        for req in requests:
            cd.check_request(*req)
        patch = requests[-1][2]["autoscalingPolicy"]
        if schedule and schedule not in (self.api.resource["autoscalingPolicy"].get("scalingSchedules") or {}):
            return False  # gcloud's update of a schedule that is gone fails: nothing written
        before = self.api.running(t)
        self.api.resource["autoscalingPolicy"] = cd.merge_patch(self.api.resource["autoscalingPolicy"], patch)
        return self.api.running(t) != before


class AzureSim(Sim):
    def __init__(self, s, region, created):
        super().__init__(s, region, created)
        self.profiles = azb.profiles(s, region, created)
        self.stack_declares = True  # the autoscale setting's profiles are the schedule

    def capacity(self, t):
        return int(azure_in_force(azure_setting(self.profiles), t).capacity.default)

    def agent(self, t, n):
        before = self.capacity(t)
        (p,) = [p for p in self.profiles if p["name"] == azb.agent_profile(self.s)]
        p["capacity"] = {"minimum": str(n), "maximum": str(n), "default": str(n)}  # the agent's three --set
        return self.capacity(t) != before


class AlibabaSim(Sim):
    def __init__(self, s, region, created):
        super().__init__(s, region, created)
        group = alib.scaling_group_args(s, region, "vsw", created)
        self.min, self.max = group["min_size"], group["max_size"]
        self.desired = group.get("desired_capacity")
        self.count = self.desired if self.desired is not None else self.min
        self.tasks = {a["scheduled_task_name"]: (datetime.strptime(a["launch_time"], "%Y-%m-%dT%H:%MZ").replace(tzinfo=UTC),
                                                 a["min_value"], a["max_value"])
                      for a in alib.scheduled_task_args(s, region, "asg", created).values()}
        self.stack_declares = bool(self.tasks)

    def _settle(self):
        if self.desired is not None:
            self.desired = min(max(self.desired, self.min), self.max)
            self.count = self.desired
        else:
            self.count = min(max(self.count, self.min), self.max)

    def fire(self, t):
        before = self.count
        for name, (at, lo, hi) in sorted(self.tasks.items(), key=lambda kv: kv[1][0]):
            if at <= t:
                self.min, self.max = lo, hi
                del self.tasks[name]
                self._settle()
        return self.count != before

    def capacity(self, t):
        return self.count

    def agent(self, t, n):
        before = self.count
        if n > self.max:
            return False  # ModifyScalingGroup refuses a minimum above the maximum
        self.min, self.desired = n, n  # MinSize and DesiredCapacity
        self._settle()
        return self.count != before


SIMS = {"aws": AwsSim, "gcp": GcpSim, "azure": AzureSim, "alibaba": AlibabaSim}


def play(cloud, s, created):
    """Runs the group from its creation to AFTER, writer by writer at each tick; returns the
    capacity at INSIDE and AFTER and who moved the group at each tick."""
    region = s.regions[0]
    sim = SIMS[cloud](s, region, created)
    stop = s.schedule.stop
    ticks = sorted({created, *(t for t in (START - timedelta(hours=1), START + timedelta(minutes=1), START + timedelta(minutes=20),
                                           INSIDE, STOP - timedelta(seconds=30), STOP + timedelta(minutes=1),
                                           STOP + timedelta(hours=1), AFTER) if t >= created)})
    # The watcher's defaults as its function reads them from the environment the stack sets.
    with mock.patch.dict(os.environ, s.watcher_defaults()):
        defaults = w.defaults_from_env()
    watched = s.capacity_owner == "watcher" and cloud in ("aws", "gcp")
    moved, seen = [], {}
    for t in ticks:
        acted = set()
        if sim.fire(t):
            acted.add("stack" if sim.stack_declares else "watcher")
        if isinstance(sim, GcpSim) and sim.api.running(t) != sim.api.running(sim.now):
            acted.add("stack" if sim.stack_declares else "watcher")  # a window opened or ended
        if watched:
            group = sim.group(t) if isinstance(sim, GcpSim) else sim
            before = sim.capacity(t)
            actions = w.run(group, w.with_defaults(served(s), defaults), cloud=cloud, region=region.region, now=t,
                            default_offset=s.schedule.start_offset, min_size=region.min_size, max_size=region.max_size)
            if actions and (sim.capacity(t) != before or any(a.kind == "capacity" for a in actions)):
                acted.add("watcher")
        if s.capacity_owner == "agent" and sim.capacity(t) > 0:
            # An agent runs only on a VM; it writes nothing from 60 s before the stop on.
            if stop is None or (stop - t).total_seconds() >= ab.STOP_MARGIN:
                n = resolve(str(SERVED), cloud, region.region)
                if sim.agent(t, n):
                    acted.add("agent")
        if isinstance(sim, GcpSim):
            sim.now = t
        moved.append((t, acted))
        seen[t] = sim.capacity(t)
    return seen, moved


CASES = [(c, m, o) for c in CLOUDS for m in MODES for o in OWNERS]


@pytest.mark.parametrize("cloud, mode, owner", CASES, ids=[f"{c}-{m}-{o}".replace(" ", "_").replace(",", "") for c, m, o in CASES])
def test_the_fleet_starts_stops_and_has_one_writer(cloud, mode, owner):
    try:
        s = settings_for(cloud, mode, owner)
    except ConfigError as e:
        assert (cloud, mode, owner) in REFUSED, f"refused: {e}"
        assert str(e).startswith(REFUSED[cloud, mode, owner]) and "\n" not in str(e)
        return
    assert (cloud, mode, owner) not in REFUSED, "accepted, but should be refused"
    start, stop, created = MODES[mode]
    seen, moved = play(cloud, s, created)
    steered = owner == "agent" or (owner == "watcher" and cloud in ("aws", "gcp"))
    running = SERVED if steered else 3
    # It starts: inside the window the fleet runs what its writer says.
    assert seen[INSIDE] == running, seen
    # It stops at the stop (min size 0), or runs on when there is none.
    assert seen[AFTER] == (0 if stop else running), seen
    if stop and start != "now" and created < START:
        assert seen[START - timedelta(hours=1)] == 0, "started before its start"
    # One writer: the owner (the stack's schedule being the owner's start and stop for the agent).
    writers = set().union(*(acted for _, acted in moved))
    allowed = {"schedule": {"stack"}, "watcher": {"watcher"} if cloud in ("aws", "gcp") else {"stack"},
               "agent": {"stack", "agent"}}[owner]
    assert writers <= allowed, moved
    for t, acted in moved:
        if "agent" in acted and stop:
            assert (stop - t).total_seconds() >= ab.STOP_MARGIN


def test_every_refusal_in_the_table_is_one_the_config_makes():
    for (cloud, mode, owner), message in REFUSED.items():
        with pytest.raises(ConfigError, match=re.escape(message)):
            settings_for(cloud, mode, owner)
