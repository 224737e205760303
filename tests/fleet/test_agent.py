"""The fleet agent for real: bash runs the rendered script against control-center servers on
127.0.0.1, ansible-pull (ansible-core from PyPI) pulls a local git repository whose playbook
writes a marker file, and the capacity writer's CLI is a PATH shim that records its arguments."""

from __future__ import annotations

import http.server
import os
import re
import socket
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from components.fleet import agent_builder as ab
from pegasus import config

VENV_BIN = Path(sys.executable).parent


def settings(hosts, **fleet):
    agent = {"repository": "REPLACED", "delay": 0, **fleet.pop("agent", {})}
    raw = {"blueprint": "fleet", "fleet": {
        "agent": agent,
        "controlCenter": {"hosts": hosts},
        "clouds": {"aws": {"regions": [{"region": "eu-central-1", "maxSize": 30}]}},
        **fleet,
    }}
    return config.parse(raw, project="pegasus", stack="fleet")


class _Server:
    """A control center: answers HEAD with the given headers (cc-a-* variables)."""

    def __init__(self, headers: dict, status: int = 200):
        self.hits = 0
        outer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_HEAD(self):
                outer.hits += 1
                self.send_response(status)
                for k, v in headers.items():
                    self.send_header(k, v)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.httpd.shutdown()
        self.httpd.server_close()
        self.thread.join()


def _closed_port_url() -> str:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"http://127.0.0.1:{port}/"


def _git(repo: Path, *args):
    subprocess.run(["git", "-C", str(repo), *args], check=True, capture_output=True,
                   env={**os.environ, "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@example.org",
                        "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@example.org"})


@pytest.fixture
def world(tmp_path):
    """A repository with a playbook and a script that each write a marker naming themselves,
    a PATH shim for `aws`, and a runner for the rendered agent."""
    repo = tmp_path / "repo"
    (repo / "ansible").mkdir(parents=True)
    marker = tmp_path / "marker"
    (repo / "ansible" / "playbook.yml").write_text(
        "- hosts: localhost\n  connection: local\n  gather_facts: false\n  tasks:\n"
        "    - copy: {dest: \"{{ lookup('env', 'MARKER') }}\", content: \"playbook {{ lookup('env', 'RUN') }}\\n\"}\n"
    )
    (repo / "main.sh").write_text('echo "script $RUN" > "$MARKER"\n')
    subprocess.run(["git", "init", "-q", "-b", "main", str(repo)], check=True)
    _git(repo, "add", ".")
    _git(repo, "commit", "-q", "-m", "config")
    shims = tmp_path / "shims"
    shims.mkdir()
    calls = tmp_path / "aws-calls"
    # Each cloud's CLI records its arguments; aliyun answers DescribeScalingGroups like the API does.
    for cli in ("aws", "gcloud", "az", "aliyun"):
        (shims / cli).write_text(
            f'#!/bin/sh\necho "{cli} $*" >> {calls}\n'
            'case "$*" in *DescribeScalingGroups*) echo \'{"ScalingGroups": {"ScalingGroup": [{"ScalingGroupId": "asg-123"}]}}\' ;; esac\n')
        (shims / cli).chmod(0o755)

    class World:
        def __init__(self):
            self.repo, self.marker, self.calls, self.log = repo, marker, calls, tmp_path / "pre-post"

        def run(self, s, run_id="1", ref=None):
            ref = ref or ab.GroupRef("aws", "eu-central-1", "p2p-agent-aws-eu-central-1")
            script = ab.write_agent(s, ref, str(tmp_path / "agent"))
            env = {
                "PATH": f"{shims}:{VENV_BIN}:/usr/bin:/bin",
                "HOME": str(tmp_path / "home"),
                "PEGASUS_AGENT_DIR": str(tmp_path / "agent"),
                "PEGASUS_AGENT_STATE": str(tmp_path / "state"),
                "MARKER": str(marker),
                "RUN": run_id,
                "ANSIBLE_LOCAL_TEMP": str(tmp_path / "ansible-tmp"),
            }
            return subprocess.run(["bash", script], env=env, capture_output=True, text=True, timeout=240)

    return World()


def test_defaults_from_config_when_no_control_center_answers(world):
    s = settings([_closed_port_url()], agent={"repository": str(world.repo), "type": "bash", "mainRun": "main.sh",
                                             "preRun": f"echo pre >> {world.repo.parent}/pre-post",
                                             "postRun": f"echo post >> {world.repo.parent}/pre-post"})
    r = world.run(s)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "variables from defaults" in r.stdout
    assert world.marker.read_text() == "script 1\n"
    assert world.log.read_text() == "pre\npost\n"


def test_first_host_that_answers_wins_and_empty_values_fall_back(world):
    # The first host is down; the second answers with an empty cc-a-main-run (so the default
    # applies) and a pre-run; the third would say bash and is never asked.
    second = {"cc-a-type": "ansible", "cc-a-main-run": "", "cc-a-pre-run": f"echo second >> {world.log}",
              "cc-a-repository": str(world.repo)}
    third = {"cc-a-type": "bash", "cc-a-main-run": "main.sh"}
    with _Server(second) as b, _Server(third) as c:
        s = settings([_closed_port_url(), b.url, c.url], agent={"repository": "/nonexistent", "type": "bash"})
        r = world.run(s)
        assert r.returncode == 0, r.stdout + r.stderr
        assert (b.hits, c.hits) == (1, 0)
    assert f"variables from {b.url}" in r.stdout
    assert world.marker.read_text() == "playbook 1\n"  # the default mainRun, ansible/playbook.yml
    assert world.log.read_text() == "second\n"


def test_ansible_pull_runs_only_when_changed_unless_forced(world):
    with _Server({"cc-a-repository": str(world.repo)}) as cc:
        s = settings([cc.url])
        assert world.run(s, "1").returncode == 0
        assert world.marker.read_text() == "playbook 1\n"
        r = world.run(s, "2")
        assert r.returncode == 0, r.stdout + r.stderr
        assert world.marker.read_text() == "playbook 1\n"  # unchanged repository: not run
    with _Server({"cc-a-repository": str(world.repo), "cc-a-force-run": "true"}) as cc:
        r = world.run(settings([cc.url]), "3")
        assert r.returncode == 0, r.stdout + r.stderr
        assert world.marker.read_text() == "playbook 3\n"
    (world.repo / "ansible" / "extra.txt").write_text("change\n")
    _git(world.repo, "add", ".")
    _git(world.repo, "commit", "-q", "-m", "change")
    with _Server({"cc-a-repository": str(world.repo)}) as cc:
        assert world.run(settings([cc.url]), "4").returncode == 0
        assert world.marker.read_text() == "playbook 4\n"


def test_capacity_owner_agent_sets_its_own_group_from_the_control_center(world):
    headers = {"cc-a-repository": str(world.repo), "cc-a-type": "bash", "cc-a-main-run": "main.sh",
               "cc-a-desired-capacity": '{"all": 3, "aws": {"all": 2, "eu-central-1": 1}}'}
    with _Server(headers) as cc:
        r = world.run(settings([cc.url], capacityOwner="agent"))
    assert r.returncode == 0, r.stdout + r.stderr
    assert world.calls.read_text() == (
        "aws autoscaling set-desired-capacity --region eu-central-1 --auto-scaling-group-name p2p-agent-aws-eu-central-1 "
        "--desired-capacity 1\n"
    )


@pytest.mark.parametrize("ref, expected", [
    (ab.GroupRef("gcp", "europe-west3", "p2p-agent-gcp-europe-west3", gcp_project="my-proj"),
     "gcloud compute instance-groups managed update-autoscaling p2p-agent-gcp-europe-west3 --project my-proj "
     "--region europe-west3 --min-num-replicas 3 --quiet\n"),
    (ab.GroupRef("gcp", "europe-west3", "p2p-agent-gcp-europe-west3", gcp_project="my-proj", gcp_schedule="p2p-agent-start"),
     "gcloud compute instance-groups managed update-autoscaling p2p-agent-gcp-europe-west3 --project my-proj "
     "--region europe-west3 --update-schedule p2p-agent-start --schedule-min-required-replicas 3 --quiet\n"),
    (ab.GroupRef("azure", "westeurope", "p2p-agent-az-westeurope", azure_resource_group="p2p-agent-az-westeurope",
                 azure_autoscale="p2p-agent-az-westeurope"),
     "az login --identity --output none\n"
     "az monitor autoscale update --resource-group p2p-agent-az-westeurope --name p2p-agent-az-westeurope "
     '--set profiles[name="default"].capacity.minimum="3" --set profiles[name="default"].capacity.maximum="3" '
     '--set profiles[name="default"].capacity.default="3" --output none\n'),
    (ab.GroupRef("alibaba", "eu-central-1", "p2p-agent-ali-eu-central-1", alibaba_role="p2p-agent-ali-eu-central-1"),
     "aliyun --mode EcsRamRole --ram-role-name p2p-agent-ali-eu-central-1 --region eu-central-1 ess DescribeScalingGroups "
     "--RegionId eu-central-1 --ScalingGroupName p2p-agent-ali-eu-central-1\n"
     "aliyun --mode EcsRamRole --ram-role-name p2p-agent-ali-eu-central-1 --region eu-central-1 ess ModifyScalingGroup "
     "--ScalingGroupId asg-123 --MinSize 3 --DesiredCapacity 3\n"),
])
def test_capacity_owner_agent_on_the_other_clouds(world, ref, expected):
    headers = {"cc-a-repository": str(world.repo), "cc-a-type": "bash", "cc-a-main-run": "main.sh",
               "cc-a-desired-capacity": '{"all": 3, "aws": {"all": 2, "eu-central-1": 1}}'}
    with _Server(headers) as cc:
        r = world.run(settings([cc.url], capacityOwner="agent"), ref=ref)
    assert r.returncode == 0, r.stdout + r.stderr
    assert world.calls.read_text() == expected


def test_capacity_left_alone_for_a_malformed_value_and_when_the_agent_does_not_own_it(world):
    headers = {"cc-a-repository": str(world.repo), "cc-a-type": "bash", "cc-a-main-run": "main.sh",
               "cc-a-desired-capacity": "three"}
    with _Server(headers) as cc:
        r = world.run(settings([cc.url], capacityOwner="agent"))
        assert r.returncode == 0, r.stdout + r.stderr
        assert "leaving the group as it is" in r.stdout
        headers["cc-a-desired-capacity"] = "5"
        r = world.run(settings([cc.url], capacityOwner="schedule"))
        assert r.returncode == 0
    assert not world.calls.exists()


def test_unreachable_control_center_and_unreachable_repository_fail_without_touching_capacity(world):
    s = settings([_closed_port_url(), _closed_port_url()], capacityOwner="agent",
                 agent={"repository": str(world.repo.parent / "missing"), "type": "bash", "mainRun": "main.sh"},
                 desiredCapacity=4)
    r = world.run(s)
    assert r.returncode != 0
    assert r.stdout.count("did not answer") == 2
    assert not world.marker.exists()
    # The control center is down: its last answer may have been another capacity, so the agent
    # leaves the group as it is rather than reset it to the config's.
    assert "no control center answered; leaving the group as it is" in r.stdout
    assert not world.calls.exists()


def test_a_static_config_writes_its_own_capacity(world):
    """No control center at all: the config is the only source, and the agent applies it."""
    s = settings([], capacityOwner="agent", agent={"repository": str(world.repo), "type": "bash", "mainRun": "main.sh"},
                 desiredCapacity=4)
    r = world.run(s)
    assert r.returncode == 0, r.stdout + r.stderr
    assert world.calls.read_text().endswith("--desired-capacity 4\n")


def gcloud_update_autoscaling(argv: list[str]) -> tuple[list[tuple[str, str, dict]], set[str]]:
    """The requests `gcloud compute instance-groups managed update-autoscaling` sends for these
    arguments, and the IAM permissions they need, as googlecloudsdk's update_autoscaling.py
    builds them: GET the group manager (GetInstanceGroupManagerOrThrow), list the region's
    autoscalers to find the group's (AutoscalerForMigByRef), then PATCH a body holding the
    autoscaler's name and only the fields given."""
    assert argv[:5] == ["compute", "instance-groups", "managed", "update-autoscaling", argv[4]], argv
    group, rest = argv[4], argv[5:]
    flags = {}
    while rest:
        flag = rest.pop(0)
        flags[flag] = True if flag == "--quiet" else rest.pop(0)
    base = f"https://compute.googleapis.com/compute/v1/projects/{flags['--project']}/regions/{flags['--region']}"
    policy: dict = {}
    if "--min-num-replicas" in flags:
        policy["minNumReplicas"] = int(flags["--min-num-replicas"])
    if "--max-num-replicas" in flags:
        policy["maxNumReplicas"] = int(flags["--max-num-replicas"])
    if "--update-schedule" in flags:
        schedule = {}
        if "--schedule-min-required-replicas" in flags:
            schedule["minRequiredReplicas"] = int(flags["--schedule-min-required-replicas"])
        policy["scalingSchedules"] = {flags["--update-schedule"]: schedule}
    requests = [("GET", f"{base}/instanceGroupManagers/{group}", None), ("GET", f"{base}/autoscalers", None),
                ("PATCH", f"{base}/autoscalers?autoscaler={group}", {"name": group, "autoscalingPolicy": policy})]
    permissions = {"compute.instanceGroupManagers.get", "compute.autoscalers.list", "compute.autoscalers.update"}
    return requests, permissions


@pytest.mark.parametrize("sets, schedule", [([], "p2p-agent-start"), (["fleet.schedule.start=now", "fleet.schedule.stop="], "")])
def test_gcp_agent_writes_what_moves_the_group_in_the_compute_api_and_its_role_allows_gcloud(world, sets, schedule):
    """The agent's gcloud call, turned into the requests gcloud sends: each is a method of the
    Compute API's discovery document with a body that validates; applied to an autoscaler as the
    stack creates it, it moves the group; and the agent's role holds every permission they need."""
    from components.fleet import gcp_builder as gb
    from tests.fleet import compute_discovery as cd
    from tests.fleet.test_config import parse, with_fleet
    from tests.fleet.test_watcher import FakeAutoscalerApi

    raw = with_fleet(capacityOwner="agent")
    for item in sets:
        key, value = item.split("=", 1)
        node = raw["fleet"]
        *parents, last = key.split(".")[1:]
        for part in parents:
            node = node[part]
        if value:
            node[last] = value
        else:
            node.pop(last)
    fleet = parse(raw)
    region = next(r for r in fleet.regions if r.cloud == "gcp")
    ref = ab.GroupRef("gcp", region.region, gb.group_name(fleet, region), gcp_project="proj", gcp_schedule=gb.agent_schedule(fleet))
    assert ref.gcp_schedule == schedule
    headers = {"cc-a-repository": str(world.repo), "cc-a-type": "bash", "cc-a-main-run": "main.sh", "cc-a-desired-capacity": "5"}
    with _Server(headers) as cc:
        r = world.run(settings([cc.url], capacityOwner="agent"), ref=ref)
    assert r.returncode == 0, r.stdout + r.stderr
    (call,) = world.calls.read_text().splitlines()
    requests, permissions = gcloud_update_autoscaling(call.split()[1:])
    assert [cd.check_request(*req) for req in requests] == [
        "compute.regionInstanceGroupManagers.get", "compute.regionAutoscalers.list", "compute.regionAutoscalers.patch"]

    # The autoscaler as the stack creates it (here inside its window: the later case), then
    # the agent's patch applied as the API applies a PATCH.
    args = gb.autoscaler_args(fleet, region, "mig", START_INSIDE)["autoscaling_policy"]
    policy = {"minNumReplicas": args["min_replicas"], "maxNumReplicas": args["max_replicas"]}
    if args.get("scaling_schedules"):
        (sch,) = args["scaling_schedules"]
        policy["scalingSchedules"] = {sch["name"]: {"schedule": sch["schedule"], "timeZone": sch["time_zone"],
                                                    "durationSec": sch["duration_sec"],
                                                    "minRequiredReplicas": sch["min_required_replicas"]}}
    api = FakeAutoscalerApi(ref.group, policy)
    api.resource["autoscalingPolicy"] = cd.merge_patch(api.resource["autoscalingPolicy"], requests[2][2]["autoscalingPolicy"])
    assert api.running(START_INSIDE) == 5
    if schedule:
        assert api.running(STOP_AFTER) == 0  # the window ended: the fleet stops
    role = set(gb.custom_role_args(fleet)["permissions"])
    assert permissions <= role, permissions - role
    condition = gb.capacity_binding_args(fleet, region, "r", "m", gcloud=True)["condition"]["expression"]
    assert f'"projects/{fleet.gcp_project}/regions/{region.region}/instanceGroupManagers/{ref.group}"' in condition


START_INSIDE = __import__("datetime").datetime(2026, 12, 12, tzinfo=__import__("datetime").timezone.utc)
STOP_AFTER = __import__("datetime").datetime(2026, 12, 17, 13, 1, tzinfo=__import__("datetime").timezone.utc)


def ess_request_errors(action: str, params: dict) -> list[str]:
    """The parameters of an ESS call that its request model in the Alibaba Cloud ESS SDK
    (alibabacloud_ess20220222.models.<Action>Request) does not declare, or declares with
    another type: each parameter is read into the model and written back."""
    from alibabacloud_ess20220222 import models

    model = getattr(models, f"{action}Request")()
    model.from_map(params)
    back = model.to_map()
    return [f"{action}: {k}={v!r} is not a parameter of {action}Request" if k not in back else
            f"{action}: {k}={v!r} reads back as {back[k]!r}" for k, v in params.items() if back.get(k) != v]


def aliyun_call(line: str) -> tuple[str, dict]:
    """`aliyun [--mode ..] ess Action --Param value ...` as (Action, {Param: value}); values are
    typed as the CLI sends them to the API (digits as integers)."""
    words = line.split()[1:]
    while words[0].startswith("--"):
        words = words[2:]
    assert words[0] == "ess", line
    action, rest = words[1], words[2:]
    params = {}
    while rest:
        key, value = rest.pop(0), rest.pop(0)
        params[key[2:]] = int(value) if value.isdigit() else value
    return action, params


def test_alibaba_agent_calls_are_ess_requests_the_sdk_declares(world):
    ref = ab.GroupRef("alibaba", "eu-central-1", "p2p-agent-ali-eu-central-1", alibaba_role="p2p-agent-ali-eu-central-1")
    headers = {"cc-a-repository": str(world.repo), "cc-a-type": "bash", "cc-a-main-run": "main.sh", "cc-a-desired-capacity": "4"}
    with _Server(headers) as cc:
        r = world.run(settings([cc.url], capacityOwner="agent"), ref=ref)
    assert r.returncode == 0, r.stdout + r.stderr
    calls = [aliyun_call(line) for line in world.calls.read_text().splitlines()]
    assert [a for a, _ in calls] == ["DescribeScalingGroups", "ModifyScalingGroup"]
    assert [e for a, p in calls for e in ess_request_errors(a, p)] == []
    assert calls[1][1] == {"ScalingGroupId": "asg-123", "MinSize": 4, "DesiredCapacity": 4}
    # The old call carried a parameter ModifyScalingGroup does not take.
    assert ess_request_errors("ModifyScalingGroup", {"RegionId": "eu-central-1", "ScalingGroupId": "asg-123"}) == [
        "ModifyScalingGroup: RegionId='eu-central-1' is not a parameter of ModifyScalingGroupRequest"]


@pytest.mark.parametrize("start, stop", [("2026-12-10T13:00:00Z", "2026-12-17T13:00:00Z"), ("now", "2026-12-17T13:00:00Z"),
                                         ("2026-12-10T13:00:00Z", None)])
def test_azure_agent_writes_the_profile_in_force_and_the_fleet_still_stops(world, start, stop):
    """The agent's `az monitor autoscale update --set` applied to the stack's profiles, built
    through azure-mgmt-monitor's models: inside the window the profile in force moves, and after
    the stop the fleet is back at its minimum."""
    import re
    from datetime import datetime, timezone

    from components.fleet import azure_builder as azb
    from tests.fleet.test_builders import azure_in_force, azure_setting
    from tests.fleet.test_config import parse, with_fleet

    raw = with_fleet(capacityOwner="agent", schedule__start=start, schedule__stop=stop, schedule__startOffset="0m")
    del raw["fleet"]["clouds"]["gcp"]
    fleet = parse(raw)
    region = next(r for r in fleet.regions if r.cloud == "azure")
    ref = ab.GroupRef("azure", region.region, "g", azure_resource_group="rg", azure_autoscale="g", azure_profile=azb.agent_profile(fleet))
    headers = {"cc-a-repository": str(world.repo), "cc-a-type": "bash", "cc-a-main-run": "main.sh", "cc-a-desired-capacity": "5"}
    with _Server(headers) as cc:
        r = world.run(settings([cc.url], capacityOwner="agent"), ref=ref)
    assert r.returncode == 0, r.stdout + r.stderr
    update = world.calls.read_text().splitlines()[1]
    profiles = azb.profiles(fleet, region, datetime(2026, 12, 1, tzinfo=timezone.utc))
    for name, field, value in re.findall(r'--set profiles\[name="([^"]+)"\]\.capacity\.(\w+)="(\d+)"', update):
        (target,) = [p for p in profiles if p["name"] == name]
        target["capacity"][field] = value
    setting = azure_setting(profiles)
    inside = datetime(2026, 12, 12, tzinfo=timezone.utc)
    assert azure_in_force(setting, inside).capacity.default == "5"
    if stop:
        assert azure_in_force(setting, datetime(2026, 12, 18, tzinfo=timezone.utc)).capacity.default == "0"


def test_the_agent_leaves_the_group_to_the_stop(world):
    """At or past the stop (cc-a-stop, or the config's), the agent writes no capacity; `-` is
    document 004's "unset" and falls back to the config."""
    headers = {"cc-a-repository": str(world.repo), "cc-a-type": "bash", "cc-a-main-run": "main.sh", "cc-a-desired-capacity": "5",
               "cc-a-stop": "2020-01-01T00:00:00Z"}
    with _Server(headers) as cc:
        r = world.run(settings([cc.url], capacityOwner="agent"))
    assert r.returncode == 0, r.stdout + r.stderr
    assert "leaving the group to it" in r.stdout and not world.calls.exists()
    headers["cc-a-stop"] = "-"
    with _Server(headers) as cc:
        r = world.run(settings([cc.url], capacityOwner="agent", schedule={"start": "now", "stop": "2020-01-01T00:00:00Z"}))
    assert "leaving the group to it" in r.stdout and not world.calls.exists()
    headers["cc-a-stop"] = "2999-01-01T00:00:00Z"
    with _Server(headers) as cc:
        r = world.run(settings([cc.url], capacityOwner="agent"))
    assert world.calls.read_text().endswith("--desired-capacity 5\n")


def test_the_agent_writes_nothing_before_the_start(world):
    """cc-a-start ("Agent set agent start time", document 004's table and p2p-agent-infra's
    architecture.md; p2p-agent-infra has no code acting on it) bounds the agent's writes as
    cc-a-stop does: before it, the start's own primitive has not raised the group. `-` falls
    back to the config's start (with its offset)."""
    headers = {"cc-a-repository": str(world.repo), "cc-a-type": "bash", "cc-a-main-run": "main.sh", "cc-a-desired-capacity": "5",
               "cc-a-start": "2999-01-01T00:00:00Z"}
    with _Server(headers) as cc:
        r = world.run(settings([cc.url], capacityOwner="agent"))
    assert r.returncode == 0, r.stdout + r.stderr
    assert "the start 2999-01-01T00:00:00Z has not come; leaving the group as it is" in r.stdout and not world.calls.exists()
    headers["cc-a-start"] = "-"
    with _Server(headers) as cc:
        r = world.run(settings([cc.url], capacityOwner="agent",
                               schedule={"start": "2999-01-01T00:00:00Z", "startOffset": "15m", "stop": "2999-02-01T00:00:00Z"}))
    assert "the start 2999-01-01T00:15:00Z has not come" in r.stdout and not world.calls.exists()
    headers["cc-a-start"] = "2020-01-01T00:00:00Z"
    with _Server(headers) as cc:
        r = world.run(settings([cc.url], capacityOwner="agent",
                               schedule={"start": "2999-01-01T00:00:00Z", "stop": "2999-02-01T00:00:00Z"}))
    assert world.calls.read_text().endswith("--desired-capacity 5\n")


def _cron_root(root: Path, cloud: str) -> None:
    """A filesystem root for the agent under cron: the system's own tools at their real places
    (symlinked, per file, so nothing is written outside `root`), the group's cloud CLI where its
    installer puts it (agent_builder.CLI_PATHS), as a shim answering like the other tests'."""
    for d in ("/usr/bin", "/bin", "/usr/sbin", "/sbin"):
        (root / d.lstrip("/")).mkdir(parents=True, exist_ok=True)
        if os.path.islink(d):
            continue
        for name in os.listdir(d):
            target = root / d.lstrip("/") / name
            # Only the system's tools: a cloud CLI this machine happens to have stays out.
            if name not in ("aws", "gcloud", "az", "aliyun") and not target.exists():
                target.symlink_to(os.path.join(d, name))
    cli = root / ab.CLI_PATHS[cloud].lstrip("/")
    cli.parent.mkdir(parents=True, exist_ok=True)
    if cli.is_symlink():
        cli.unlink()
    cli.write_text(f'#!/bin/sh\necho "$(basename "$0") $*" >> "$CALLS"\n'
                   'case "$*" in *DescribeScalingGroups*) echo \'{"ScalingGroups": {"ScalingGroup": [{"ScalingGroupId": "asg-1"}]}}\' ;; esac\n')
    cli.chmod(0o755)


@pytest.mark.parametrize("cloud", ["aws", "gcp", "azure", "alibaba"])
def test_from_cron_the_agent_finds_its_cloud_cli(tmp_path, world, cloud):
    """The rendered agent run by bash as cron runs it: `env -i` with only what cron sets (SHELL,
    HOME, LOGNAME and the cron file's PATH), every directory of that PATH under a root that
    holds the system's tools and the CLI where its installer puts it. The capacity write is
    found and made; with cron's default PATH (the old cron file had none) it is not."""
    import yaml

    refs = {"aws": ab.GroupRef("aws", "eu-central-1", "g"), "gcp": ab.GroupRef("gcp", "europe-west3", "g", gcp_project="p"),
            "azure": ab.GroupRef("azure", "westeurope", "g", azure_resource_group="g", azure_autoscale="g"),
            "alibaba": ab.GroupRef("alibaba", "eu-central-1", "g", alibaba_role="g")}
    headers = {"cc-a-repository": str(world.repo), "cc-a-type": "bash", "cc-a-main-run": "main.sh", "cc-a-desired-capacity": "2"}
    with _Server(headers) as cc:
        s = settings([cc.url], capacityOwner="agent")
        doc = yaml.safe_load(ab.cloud_init(s, refs[cloud]))
        cron = next(f["content"] for f in doc["write_files"] if f["path"] == "/etc/cron.d/pegasus-agent")
        variables = dict(line.split("=", 1) for line in cron.splitlines() if re.match(r"^[A-Z]+=", line))
        assert variables["SHELL"] == "/bin/bash"
        # The installer puts the CLI in a directory of the cron file's PATH.
        assert os.path.dirname(ab.CLI_PATHS[cloud]) in variables["PATH"].split(":")
        if cloud == "alibaba":
            assert "-C /usr/local/bin aliyun" in ab.CLI_INSTALL["alibaba"][0]
        if cloud == "aws":
            assert ab.CLI_INSTALL["aws"] == ["snap install aws-cli --classic"]  # snaps link into /snap/bin
        root = tmp_path / "root"
        _cron_root(root, cloud)
        script = ab.write_agent(s, refs[cloud], str(tmp_path / "agent"))
        calls = tmp_path / f"{cloud}-calls"

        def under_cron(path: str):
            env = {"SHELL": variables["SHELL"], "HOME": str(tmp_path / "home"), "LOGNAME": "root",
                   "PATH": ":".join(str(root) + d for d in path.split(":")), "CALLS": str(calls), "MARKER": str(world.marker),
                   "PEGASUS_AGENT_DIR": str(tmp_path / "agent"), "PEGASUS_AGENT_STATE": str(tmp_path / "state")}
            return subprocess.run(["env", "-i", *(f"{k}={v}" for k, v in env.items()), "/bin/bash", script],
                                  capture_output=True, text=True, timeout=120)

        r = under_cron(variables["PATH"])
        assert r.returncode == 0, r.stdout + r.stderr
        assert "not found" not in r.stderr, r.stderr
        wrote = {"aws": "--desired-capacity 2", "gcp": "--min-num-replicas 2 --quiet",
                 "azure": 'capacity.default="2" --output none', "alibaba": "--DesiredCapacity 2"}[cloud]
        assert calls.read_text().splitlines()[-1].endswith(wrote)
        calls.unlink()
        if cloud != "azure":  # az is in /usr/bin, which cron's default PATH holds
            r = under_cron(ab.CRON_DEFAULT_PATH)
            assert "command not found" in r.stderr and not calls.exists(), r.stderr


def test_shell_is_the_anchors_name_for_bash_and_a_new_repository_gets_its_own_checkout(world, tmp_path):
    other = tmp_path / "other"
    (other).mkdir()
    (other / "main.sh").write_text('echo "other $RUN" > "$MARKER"\n')
    subprocess.run(["git", "init", "-q", "-b", "main", str(other)], check=True)
    _git(other, "add", ".")
    _git(other, "commit", "-q", "-m", "other")
    with _Server({"cc-a-repository": str(world.repo), "cc-a-type": "shell", "cc-a-main-run": "main.sh"}) as cc:
        r = world.run(settings([cc.url]), "1")
    assert r.returncode == 0, r.stdout + r.stderr
    assert world.marker.read_text() == "script 1\n"
    # The control center names another repository: it is cloned and run, not the old origin pulled.
    with _Server({"cc-a-repository": str(other), "cc-a-type": "shell", "cc-a-main-run": "main.sh"}) as cc:
        r = world.run(settings([cc.url]), "2")
    assert r.returncode == 0, r.stdout + r.stderr
    assert world.marker.read_text() == "other 2\n"


def test_the_agent_keeps_capacity_within_the_group_bounds(world):
    ref = ab.GroupRef("aws", "eu-central-1", "g", min_size=1, max_size=4)
    for served, written in (("9", "4"), ("0", "1")):
        headers = {"cc-a-repository": str(world.repo), "cc-a-type": "bash", "cc-a-main-run": "main.sh", "cc-a-desired-capacity": served}
        with _Server(headers) as cc:
            r = world.run(settings([cc.url], capacityOwner="agent"), ref=ref)
        assert r.returncode == 0, r.stdout + r.stderr
        assert world.calls.read_text().splitlines()[-1].endswith(f"--desired-capacity {written}")
