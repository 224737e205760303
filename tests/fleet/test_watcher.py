"""The watcher functions run locally: the AWS adapter against moto's Auto Scaling, the GCP
adapter against a fake autoscaler API, and reading the control center over HTTP on 127.0.0.1."""

from __future__ import annotations

import copy
from datetime import datetime, timedelta, timezone

import boto3
import pytest
from moto import mock_aws

from components.fleet import watcher as w
from tests.fleet import compute_discovery as cd
from tests.fleet.test_agent import _Server, _closed_port_url

NOW = datetime(2026, 12, 10, 13, tzinfo=timezone.utc)
GROUP = "p2p-agent-aws-eu-central-1"


def variables(start=NOW - timedelta(minutes=1), stop=NOW + timedelta(days=7), capacity='{"all": 3, "aws": {"eu-central-1": 2}}',
              offset="15m"):
    out = {"cc-w-a-desired-capacity": capacity, "cc-w-a-start-offset": offset}
    if start:
        out["cc-w-a-start"] = start.strftime("%Y-%m-%dT%H:%M:%SZ")
    if stop:
        out["cc-w-a-stop"] = stop.strftime("%Y-%m-%dT%H:%M:%SZ")
    return out


def decide(vars_, group=None, now=NOW, cloud="aws"):
    return w.decide(vars_, cloud=cloud, region="eu-central-1", now=now, default_offset=timedelta(0), min_size=0,
                    max_size=10, group=group or w.GroupState(0))


def test_start_passed_schedules_start_at_the_offset_and_the_stop():
    stop = NOW + timedelta(days=7)
    assert decide(variables()) == [
        w.Action("schedule", w.START, NOW - timedelta(minutes=1) + timedelta(minutes=15), 2),
        w.Action("schedule", w.STOP, stop, 0),
    ]


def test_nothing_is_written_twice():
    at = NOW - timedelta(minutes=1) + timedelta(minutes=15)
    state = w.GroupState(0, {w.START: (at, 2), w.STOP: (NOW + timedelta(days=7), 0)})
    assert decide(variables(), state) == []


def test_once_the_offset_passed_the_capacity_is_set_directly_and_only_when_it_differs():
    later = NOW + timedelta(hours=1)
    assert decide(variables(), w.GroupState(0), later)[0] == w.Action("capacity", capacity=2)
    assert [a.kind for a in decide(variables(), w.GroupState(2), later)] == ["schedule"]  # only the stop


def test_future_start_malformed_capacity_and_passed_stop_change_nothing():
    assert [a.name for a in decide(variables(start=NOW + timedelta(days=1)))] == [w.STOP]
    assert [a.name for a in decide(variables(capacity="three"))] == [w.STOP]
    assert decide(variables(stop=NOW - timedelta(minutes=1)), w.GroupState(5), NOW + timedelta(hours=1)) == []


def test_capacity_is_kept_within_the_group_bounds():
    assert decide(variables(capacity="50"), now=NOW + timedelta(hours=1))[0] == w.Action("capacity", capacity=10)


@mock_aws
def test_aws_adapter_against_moto():
    client = boto3.client("autoscaling", region_name="eu-central-1")
    client.create_launch_configuration(LaunchConfigurationName="lc", ImageId="ami-12c6146b", InstanceType="t3.small")
    client.create_auto_scaling_group(AutoScalingGroupName=GROUP, LaunchConfigurationName="lc", MinSize=0, MaxSize=10,
                                     DesiredCapacity=0, AvailabilityZones=["eu-central-1a"])
    group = w.AwsGroup(client, GROUP)
    now = datetime.now(timezone.utc).replace(microsecond=0)
    vars_ = variables(start=now - timedelta(minutes=5), stop=now + timedelta(days=2), offset="1 hour")
    kwargs = dict(cloud="aws", region="eu-central-1", default_offset=timedelta(0), min_size=0, max_size=10)
    first = w.run(group, vars_, now=now, **kwargs)
    assert [a.name for a in first] == [w.START, w.STOP]
    actions = {a["ScheduledActionName"]: a for a in client.describe_scheduled_actions(AutoScalingGroupName=GROUP)["ScheduledUpdateGroupActions"]}
    assert actions[w.START]["DesiredCapacity"] == 2
    assert actions[w.START]["StartTime"].astimezone(timezone.utc) == now + timedelta(minutes=55)
    assert (actions[w.STOP]["DesiredCapacity"], actions[w.STOP]["MinSize"]) == (0, 0)
    # The next run finds both in place and writes nothing.
    assert w.run(group, vars_, now=now, **kwargs) == []
    # After the start, the watcher sets the capacity itself.
    assert w.run(group, vars_, now=now + timedelta(hours=2), **kwargs) == [w.Action("capacity", capacity=2)]
    assert client.describe_auto_scaling_groups(AutoScalingGroupNames=[GROUP])["AutoScalingGroups"][0]["DesiredCapacity"] == 2


@mock_aws
def test_aws_watcher_calls_only_what_its_role_allows():
    """Every Auto Scaling operation the watcher makes, recorded at the client against moto,
    is an action of its narrowed policy."""
    import json

    from components.fleet import aws_builder as awsb

    client = boto3.client("autoscaling", region_name="eu-central-1")
    client.create_launch_configuration(LaunchConfigurationName="lc", ImageId="ami-12c6146b", InstanceType="t3.small")
    client.create_auto_scaling_group(AutoScalingGroupName=GROUP, LaunchConfigurationName="lc", MinSize=0, MaxSize=10,
                                     DesiredCapacity=0, AvailabilityZones=["eu-central-1a"])
    made = []
    client.meta.events.register("before-call.autoscaling.*", lambda model, **kw: made.append(model.name))
    group = w.AwsGroup(client, GROUP)
    now = datetime.now(timezone.utc).replace(microsecond=0)
    kwargs = dict(cloud="aws", region="eu-central-1", default_offset=timedelta(0), min_size=0, max_size=10)
    w.run(group, variables(start=now - timedelta(minutes=5), stop=now + timedelta(days=2), offset="1 hour"), now=now, **kwargs)
    w.run(group, variables(start=now - timedelta(minutes=5), stop=now + timedelta(days=2), offset="0m"), now=now, **kwargs)
    allowed = {a.split(":")[1] for st in json.loads(awsb.capacity_policy(GROUP))["Statement"] for a in st["Action"]}
    assert set(made) == {"DescribeAutoScalingGroups", "DescribeScheduledActions", "PutScheduledUpdateGroupAction",
                         "SetDesiredCapacity"}
    assert set(made) <= allowed


class FakeAutoscalerApi:
    """The Compute API's regionAutoscalers get and patch, for one autoscaler. Every request
    is checked against the API's discovery document (tests/fleet/compute_discovery.py), and a
    PATCH is applied as the JSON merge patch the API documents. The resource starts as the
    stack creates it (pulumi-gcp's minReplicas is the REST API's minNumReplicas)."""

    def __init__(self, name, policy=None):
        self.name = name
        self.resource = {"name": name, "autoscalingPolicy": policy or {"minNumReplicas": 0, "maxNumReplicas": 10,
                                                                        "cpuUtilization": {"utilizationTarget": 1.0}}}
        self.patches = []

    def __call__(self, method, url, body):
        mid = cd.check_request(method, url, body)
        base = "https://compute.googleapis.com/compute/v1/projects/proj/regions/europe-west3/autoscalers"
        if method == "GET":
            assert (mid, url) == ("compute.regionAutoscalers.get", f"{base}/{self.name}")
            return copy.deepcopy(self.resource)
        assert (mid, url) == ("compute.regionAutoscalers.patch", f"{base}?autoscaler={self.name}")
        self.patches.append(body)
        self.resource = cd.merge_patch(self.resource, body)
        return {"kind": "compute#operation"}

    def running(self, now):
        """What the autoscaler recommends with no load: the largest of the policy's minimum and
        the minimums of the schedules active at `now`."""
        policy = self.resource["autoscalingPolicy"]
        n = policy.get("minNumReplicas", 0)
        for sch in (policy.get("scalingSchedules") or {}).values():
            begin = _one_shot(sch["schedule"], now)
            if not sch.get("disabled") and begin is not None and begin <= now < begin + timedelta(seconds=sch["durationSec"]):
                n = max(n, sch["minRequiredReplicas"])
        return min(n, policy["maxNumReplicas"])


def _one_shot(cron, now):
    """The start of a schedule's latest interval at or before `now` (minute hour day month *
    [year]); without a year, this year's or last year's."""
    f = cron.split()
    years = [int(f[5])] if len(f) == 6 else [now.year, now.year - 1]
    for year in years:
        at = datetime(year, int(f[3]), int(f[2]), int(f[1]), int(f[0]), tzinfo=timezone.utc)
        if at <= now:
            return at
    return None


def test_the_fake_refuses_terraform_field_names():
    """The old watcher's body: Terraform's names are not the REST API's."""
    api = FakeAutoscalerApi("g")
    with pytest.raises(AssertionError, match=r"autoscalingPolicy.minReplicas: no such field in AutoscalingPolicy"):
        api("PATCH", "https://compute.googleapis.com/compute/v1/projects/proj/regions/europe-west3/autoscalers?autoscaler=g",
            {"name": "g", "autoscalingPolicy": {"minReplicas": 3}})
    assert cd.errors({"autoscalingPolicy": {"scalingSchedules": {"s": {"schedule": "0 1 2 3 *", "durationSec": "300"}}}},
                     "Autoscaler") == ["Autoscaler.autoscalingPolicy.scalingSchedules.s.durationSec: an integer is declared, got '300'"]
    assert cd.errors({"kind": "compute#autoscaler"}, "Autoscaler") == ["Autoscaler.kind: output only, a request may not set it"]
    assert cd.errors({"autoscalingPolicy": {"mode": "SOMETIMES"}}, "Autoscaler") == [
        "Autoscaler.autoscalingPolicy.mode: 'SOMETIMES' is not one of OFF, ON, ONLY_SCALE_OUT, ONLY_UP"]


def gcp_run(api, vars_, now, **kw):
    group = w.GcpGroup(api, "proj", "europe-west3", api.name, clock=lambda: now)
    kwargs = dict(cloud="gcp", region="europe-west3", default_offset=timedelta(0), min_size=0, max_size=10)
    return w.run(group, vars_, now=now, **{**kwargs, **kw})


def test_gcp_watcher_moves_the_group_through_its_window_and_the_group_stops():
    api = FakeAutoscalerApi("p2p-agent-gcp-europe-west3")
    start, stop = NOW - timedelta(minutes=1), NOW + timedelta(days=7)
    vars_ = variables(start=start, stop=stop, capacity='{"gcp": {"all": 4}}', offset="0m")
    assert gcp_run(api, vars_, NOW) == [w.Action("capacity", capacity=4), w.Action("schedule", w.STOP, stop, 0)]
    policy = api.resource["autoscalingPolicy"]
    # The policy minimum stays where the stack set it: the window is what holds the group up.
    assert policy["minNumReplicas"] == 0
    assert policy["scalingSchedules"][w.START]["minRequiredReplicas"] == 4
    assert policy["scalingSchedules"][w.STOP]["description"] == stop.strftime("%Y-%m-%dT%H:%M:%SZ")
    later = NOW + timedelta(minutes=5)
    assert api.running(later) == 4
    assert gcp_run(api, vars_, later) == []  # read before writing: nothing changed, nothing sent
    assert len(api.patches) == 2
    # The control center lowers the capacity inside the window: the window's minimum moves,
    # which is what moves the group (the policy minimum would be held up by the window).
    vars_ = variables(start=start, stop=stop, capacity="2", offset="0m")
    assert gcp_run(api, vars_, later) == [w.Action("capacity", capacity=2)]
    assert api.patches[-1] == {"name": api.name, "autoscalingPolicy": {"scalingSchedules": {
        w.START: {**api.resource["autoscalingPolicy"]["scalingSchedules"][w.START]}}}}
    assert api.running(later) == 2
    # At the stop the window ends and the group goes back to its minimum: the fleet stops.
    assert api.running(stop - timedelta(minutes=1)) == 2
    assert api.running(stop) == 0
    assert gcp_run(api, vars_, stop + timedelta(minutes=1)) == []


def test_gcp_watcher_future_start_becomes_a_window_at_that_minute():
    api = FakeAutoscalerApi("p2p-agent-gcp-europe-west3")
    stop = NOW + timedelta(days=7)
    vars_ = variables(start=NOW - timedelta(minutes=1), stop=stop, capacity="3", offset="1h")
    at = NOW - timedelta(minutes=1) + timedelta(hours=1)
    assert gcp_run(api, vars_, NOW) == [w.Action("schedule", w.START, at, 3), w.Action("schedule", w.STOP, stop, 0)]
    schedules = api.resource["autoscalingPolicy"]["scalingSchedules"]
    assert schedules[w.START]["minRequiredReplicas"] == 3
    assert schedules[w.START]["durationSec"] == int((stop - at).total_seconds())
    # One firing (the cron's year field), not one every year on that date.
    assert schedules[w.START]["schedule"] == f"{at.minute} {at.hour} {at.day} {at.month} * {at.year}"
    assert api.running(at.replace(year=at.year + 1)) == 0
    assert api.running(at - timedelta(minutes=1)) == 0
    assert api.running(at) == 3
    assert api.running(stop) == 0
    assert gcp_run(api, vars_, NOW) == []
    # The start has come: the group runs what the window says, nothing to write.
    assert gcp_run(api, vars_, at + timedelta(minutes=1)) == []


def test_control_center_first_host_that_answers_and_only_watcher_variables():
    with _Server({"cc-w-a-start": "2026-12-10T13:00:00Z", "cc-a-delay": "5"}, status=404) as a, \
            _Server({"cc-w-a-start": "2027-01-01T00:00:00Z"}) as b:
        assert w.read_control_center([_closed_port_url(), a.url, b.url]) == {"cc-w-a-start": "2026-12-10T13:00:00Z"}
        assert b.hits == 0
    with _Server({"cc-w-a-stop": "x"}, status=503) as down:
        assert w.read_control_center([down.url, _closed_port_url()]) is None


def test_defaults_fill_what_the_control_center_leaves_unset_and_an_outage_writes_nothing():
    defaults = {"cc-w-a-start": "2026-12-10T13:00:00Z", "cc-w-a-stop": "2026-12-17T13:00:00Z", "cc-w-a-desired-capacity": "3"}
    served = {"cc-w-a-desired-capacity": "5", "cc-w-a-stop": "-", "cc-w-a-start": ""}
    assert w.with_defaults(served, defaults) == {**defaults, "cc-w-a-desired-capacity": "5"}
    assert w.with_defaults(None, defaults) is None
    group = w.GroupState(4)
    assert w.run(type("G", (), {"state": lambda self: group, "apply": lambda self, a: None})(), None, cloud="aws",
                 region="eu-central-1", now=NOW, default_offset=timedelta(0), min_size=0, max_size=10) == []


@pytest.mark.parametrize("module", ["watcher", "capacity", "timing"])
def test_the_function_archive_modules_import_on_their_own(tmp_path, module):
    """In the archive the modules sit side by side, outside the repository's package."""
    import shutil
    import subprocess
    import sys

    from components.fleet.watcher_code import FLEET_DIR, MODULES

    for m in MODULES:
        shutil.copy(f"{FLEET_DIR}/{m}", tmp_path / m)
    (tmp_path / "main.py").write_text("from watcher import gcp_handler  # noqa: F401\n")
    r = subprocess.run([sys.executable, "-E", "-s", "-c", f"import {module}, main, sys; assert \"pegasus\" not in sys.modules"], cwd=tmp_path, capture_output=True, text=True)
    assert r.returncode == 0, r.stderr


@pytest.mark.parametrize("served, current, cloud, expected", [
    ("*/10 * * * *", "rate(15 minutes)", "aws", "cron(*/10 * * * ? *)"),
    ("*/10 * * * *", "cron(*/10 * * * ? *)", "aws", None),
    ("*/10 * * * *", "*/15 * * * *", "gcp", "*/10 * * * *"),
    ("*/10 * * * *", "*/10 * * * *", "gcp", None),
    ("every ten minutes", "*/15 * * * *", "gcp", None),  # not cron: keep the schedule
    ("", "*/15 * * * *", "gcp", None),
])
def test_cadence_from_cc_w_scheduler(served, current, cloud, expected):
    assert w.decide_cadence({"cc-w-scheduler": served}, current, cloud) == expected


@mock_aws
def test_aws_schedule_follows_cc_w_scheduler_against_moto():
    client = boto3.client("scheduler", region_name="eu-central-1")
    target = {"Arn": "arn:aws:lambda:eu-central-1:123456789012:function:w", "RoleArn": "arn:aws:iam::123456789012:role/s"}
    client.create_schedule(Name="w", ScheduleExpression="rate(15 minutes)", FlexibleTimeWindow={"Mode": "OFF"}, Target=target)
    schedule = w.AwsSchedule(client, "w")
    assert w.follow_cadence(schedule, {"cc-w-scheduler": "*/10 * * * *"}, "aws") == "cron(*/10 * * * ? *)"
    after = client.get_schedule(Name="w")
    assert after["ScheduleExpression"] == "cron(*/10 * * * ? *)"
    assert (after["Target"]["Arn"], after["Target"]["RoleArn"]) == (target["Arn"], target["RoleArn"])
    assert w.follow_cadence(schedule, {"cc-w-scheduler": "*/10 * * * *"}, "aws") is None


def test_gcp_job_follows_cc_w_scheduler_against_a_fake_api():
    calls = []
    job = {"schedule": "*/15 * * * *"}

    def request(method, url, body):
        calls.append((method, url, body))
        if method == "PATCH":
            job.update(body)
        return dict(job)

    schedule = w.GcpJob(request, "proj", "europe-west3", "j")
    assert w.follow_cadence(schedule, {"cc-w-scheduler": "*/10 * * * *"}, "gcp") == "*/10 * * * *"
    base = "https://cloudscheduler.googleapis.com/v1/projects/proj/locations/europe-west3/jobs/j"
    assert calls == [("GET", base, None), ("PATCH", f"{base}?updateMask=schedule", {"schedule": "*/10 * * * *"})]
