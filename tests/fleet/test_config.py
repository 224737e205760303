"""pegasus:fleet: parsed once, every bad value one exact error naming its key."""

from __future__ import annotations

import copy
from datetime import datetime, timedelta, timezone

import pytest
import yaml

from pegasus import config
from components.fleet.config import FleetSettings
from pegasus.errors import ConfigError
from tests.conftest import PROJECT


def example_raw() -> dict:
    doc = yaml.safe_load((PROJECT / "Pulumi.fleet.yaml").read_text())
    return {k.split(":", 1)[1]: v for k, v in doc["config"].items()}


def parse(raw):
    return config.parse(raw, project="pegasus", stack="fleet")


def with_fleet(**changes) -> dict:
    raw = example_raw()
    fleet = copy.deepcopy(raw["fleet"])
    for path, value in changes.items():
        node = fleet
        *parents, last = path.split("__")
        for p in parents:
            node = node.setdefault(p, {})
        if value is None:
            node.pop(last, None)
        else:
            node[last] = value
    raw["fleet"] = fleet
    return raw


def error(raw) -> str:
    with pytest.raises(ConfigError) as e:
        parse(raw)
    return str(e.value)


def test_example_stack_parses_without_cluster_spc_or_chain():
    s = parse(example_raw())
    assert isinstance(s, FleetSettings)
    assert s.blueprint == "fleet"
    assert s.clouds() == ("aws", "gcp", "azure", "alibaba")
    assert s.schedule.start == datetime(2026, 12, 10, 13, tzinfo=timezone.utc)
    assert s.schedule.start_offset == timedelta(minutes=15)
    assert s.capacity_owner == "watcher"
    assert s.control_center.hosts == ("cc.example.org",)
    assert dict(s.control_center.variables)["cc-a-desired-capacity"] == '{"all": 3, "aws": {"all": 2, "eu-central-1": 1}}'
    assert dict(s.control_center.variables)["cc-a-force-run"] == "false"
    assert [(r.cloud, r.region, r.size) for r in s.regions] == [
        ("aws", "eu-central-1", "t3.small"), ("gcp", "europe-west3", "e2-small"),
        ("azure", "westeurope", "Standard_B1s"), ("alibaba", "eu-central-1", "ecs.t6-c1m1.large")]


def test_minimal_fleet_needs_only_a_repository_and_a_region():
    s = parse({"blueprint": "fleet", "fleet": {"agent": {"repository": "https://example.org/r.git"},
                                               "clouds": {"aws": {"regions": [{"region": "us-east-1", "maxSize": 2}]}}}})
    assert (s.schedule.start, s.capacity_owner, s.desired_capacity, s.control_center.provider) == ("now", "schedule", 1, "none")
    assert s.warnings == ()


@pytest.mark.parametrize("changes, message", [
    ({"schedule__start": "2026-12-10 13:00"},
     "pegasus:fleet.schedule.start: '2026-12-10 13:00' is not an RFC 3339 time; write it like 2026-12-10T13:00:00Z, or use now or watcher"),
    ({"schedule__stop": "2026-12-17"}, "pegasus:fleet.schedule.stop: '2026-12-17' is not an RFC 3339 time; write it like 2026-12-10T13:00:00Z"),
    ({"schedule__stop": "2026-12-10T13:10:00Z"},
     "pegasus:fleet.schedule.stop: 2026-12-10T13:10:00Z is not after the start (2026-12-10T13:15:00Z with startOffset)"),
    ({"schedule__startOffset": "soon"},
     "pegasus:fleet.schedule.startOffset: 'soon' is not a duration; write it like 90s, 15m, 1h30m or `3 minutes`"),
    ({"schedule__begin": "now"}, "pegasus:fleet.schedule.begin: unknown key; the known keys of pegasus:fleet.schedule are start, stop, startOffset"),
    ({"capacityOwner": ["watcher", "agent"]},
     "pegasus:fleet.capacityOwner: exactly one writer of desired capacity is allowed, got watcher and agent; two writers undo "
     "each other's changes. Pick one of schedule, watcher, agent"),
    ({"capacityOwner": "watcher,schedule"},
     "pegasus:fleet.capacityOwner: exactly one writer of desired capacity is allowed, got watcher and schedule; two writers undo "
     "each other's changes. Pick one of schedule, watcher, agent"),
    ({"capacityOwner": "cloud"}, "pegasus:fleet.capacityOwner: must be one of schedule, watcher, agent; got the string 'cloud'"),
    ({"desiredCapacity": -1},
     'pegasus:fleet.desiredCapacity: the value must be a non-negative integer, got the number -1; write an integer like 3, or an '
     'object like {"all": 3, "aws": {"all": 2, "eu-central-1": 1}}'),
    ({"desiredCapacity": {"aws": {"eu-central-1": "2"}}},
     "pegasus:fleet.desiredCapacity: aws.eu-central-1 must be a non-negative integer, got the string '2'; write an integer like 3, "
     'or an object like {"all": 3, "aws": {"all": 2, "eu-central-1": 1}}'),
    ({"desiredCapacity": {"oci": 2}}, "pegasus:fleet.desiredCapacity: unknown entry 'oci'; use all or a cloud (aws, gcp, azure, alibaba)"),
    ({"watcher__expression": "every 5 minutes"},
     "pegasus:fleet.watcher.expression: 'every 5 minutes' is not a cron expression: it needs 5 fields (minute hour day-of-month "
     "month day-of-week)"),
    ({"agent__cron": "*/61 * * * *"}, "pegasus:fleet.agent.cron: '*/61 * * * *': the minute field '*/61' is not valid cron (0-59)"),
    ({"agent__cron": "0 25 * * *"}, "pegasus:fleet.agent.cron: '0 25 * * *': the hour field '25' is not valid cron (0-23)"),
    ({"agent__repository": None},
     "pegasus:fleet.agent.repository: is required: the Git repository the agent pulls, like https://github.com/example/p2p-agent-config"),
    ({"agent__type": "salt"}, "pegasus:fleet.agent.type: must be one of ansible, bash, shell; got 'salt'"),
    ({"agent__delay": 7200}, "pegasus:fleet.agent.delay: must be between 0 and 3600; got 7200"),
    ({"controlCenter__zoneId": None}, "pegasus:fleet.controlCenter.zoneId: is required with provider cloudflare: the zone ID of hostname"),
    ({"controlCenter__variables": {"cc-w-a-start": "tomorrow"}},
     "pegasus:fleet.controlCenter.variables.cc-w-a-start: 'tomorrow' is not an RFC 3339 time; write it like 2026-12-10T13:00:00Z"),
    ({"controlCenter__variables": {"cc-w-scheduler": "*/10 * * *"}},
     "pegasus:fleet.controlCenter.variables.cc-w-scheduler: '*/10 * * *' is not a cron expression: it needs 5 fields (minute hour "
     "day-of-month month day-of-week)"),
    ({"controlCenter__variables": {"cc-a-desired-capacity": "lots"}},
     "pegasus:fleet.controlCenter.variables.cc-a-desired-capacity: 'lots' is not a desired capacity; write an integer like 3, or "
     'an object like {"all": 3, "aws": {"all": 2, "eu-central-1": 1}}'),
    ({"controlCenter__variables": {"cc-a-colour": "red"}},
     "pegasus:fleet.controlCenter.variables.cc-a-colour: unknown variable; the control-center variables are cc-w-scheduler, "
     "cc-w-a-desired-capacity, cc-w-a-start, cc-w-a-start-offset, cc-w-a-stop, cc-a-delay, cc-a-force-run, cc-a-main-run, "
     "cc-a-pre-run, cc-a-post-run, cc-a-repository, cc-a-type, cc-a-desired-capacity, cc-a-start, cc-a-stop"),
    ({"controlCenter__variables": {"cc-a-pre-run": "echo a\necho b"}},
     "pegasus:fleet.controlCenter.variables.cc-a-pre-run: must be one line: an HTTP header value cannot hold a line break"),
    ({"clouds__gcp__project": None}, "pegasus:fleet.clouds.gcp.project: is required when gcp has regions: the GCP project ID"),
    ({"clouds__aws__regions": [{"region": "eu-central-1"}]},
     "pegasus:fleet.clouds.aws.regions[0].maxSize: is required: the most instances the group may run"),
    ({"clouds__aws__regions": [{"region": "eu-central-1", "maxSize": 2, "minSize": 3}]},
     "pegasus:fleet.clouds.aws.regions[0].maxSize: must be between 3 and 1000 and at least minSize; got 2"),
    ({"clouds__aws__regions": [{"region": "eu-central-1", "maxSize": 2, "size": "big"}]},
     "pegasus:fleet.clouds.aws.regions[0].size: unknown key; the known keys of pegasus:fleet.clouds.aws.regions[0] are region, "
     "minSize, maxSize, instanceType, image, availabilityZones"),
    ({"clouds__azure__adminSshPublicKey": None},
     "pegasus:fleet.clouds.azure.adminSshPublicKey: is required when azure has regions: an OpenSSH public key (ssh-rsa or "
     "ssh-ed25519); Azure refuses a Linux scale set without one"),
    ({"openPorts": ["1-1024"]}, "pegasus:fleet.openPorts: '1-1024' includes 22; SSH is opened only by allowSsh, to sshCidrs"),
    ({"openPorts": ["70000"]}, "pegasus:fleet.openPorts: '70000' is not a port or range; write it like 30303 or 1024-65535"),
    ({"allowSsh": True}, "pegasus:fleet.sshCidrs: is empty but allowSsh is true; list the operator CIDRs SSH is open to"),
    ({"allowSsh": True, "sshCidrs": ["0.0.0.0/0"]}, "pegasus:fleet.sshCidrs: 0.0.0.0/0 opens SSH to the whole internet; list the operator CIDRs"),
    ({"name": "P2P"}, "pegasus:fleet.name: 'P2P' must be DNS-1123 (lowercase letters, digits, '-') and at most 20 characters"),
])
def test_bad_values_are_one_exact_error(changes, message):
    assert error(with_fleet(**changes)) == message


def test_start_watcher_needs_the_watcher_to_own_capacity():
    raw = with_fleet(schedule__start="watcher", capacityOwner="agent")
    for cloud in ("azure", "alibaba"):
        del raw["fleet"]["clouds"][cloud]
    assert error(raw) == (
        "pegasus:fleet.schedule.start: is watcher, but capacityOwner is agent; the watcher schedules the start only when it owns capacity")


def test_start_watcher_is_refused_where_no_watcher_runs():
    assert error(with_fleet(schedule__start="watcher")) == (
        "pegasus:fleet.schedule.start: is watcher, but no watcher runs on alibaba and azure, so nothing would start those "
        "groups; write the start as a time or now")


def test_a_watcher_needs_a_control_center():
    raw = with_fleet(controlCenter={"provider": "none"})
    assert error(raw) == (
        "pegasus:fleet.capacityOwner: is watcher, but the watcher has no control center to read; set "
        "fleet.controlCenter.hostname or hosts")


def test_variables_without_a_provider_are_refused():
    raw = with_fleet(capacityOwner="agent", controlCenter={"provider": "none", "variables": {"cc-a-delay": 5}})
    assert error(raw) == (
        "pegasus:fleet.controlCenter.variables: is set but provider is none, so nothing would serve them; set provider "
        "cloudflare or cloudfront, or move the values into fleet.agent and fleet.schedule")


def test_fleet_refuses_validator_sections_and_the_validator_refuses_fleet():
    raw = example_raw()
    raw["cluster"] = {"provider": "eks"}
    assert error(raw) == "pegasus:cluster: has no effect with blueprint fleet, which reads only pegasus:fleet; remove it from the stack"
    dev = yaml.safe_load((PROJECT / "Pulumi.dev.yaml").read_text())
    raw = {k.split(":", 1)[1]: v for k, v in dev["config"].items()}
    raw["fleet"] = {"name": "x"}
    assert error(raw) == "pegasus:fleet: applies to the fleet blueprint only, and this stack's blueprint is validator; remove it, or set pegasus:blueprint to fleet"


def test_values_set_as_strings_like_pulumi_config_set_path_does():
    raw = with_fleet(agent__delay="30", agent__forceRun="true", desiredCapacity='{"all": 2}',
                     clouds__aws__regions=[{"region": "eu-central-1", "maxSize": "5", "minSize": "1"}])
    s = parse(raw)
    assert (s.agent.delay, s.agent.force_run, s.desired_capacity) == (30, True, {"all": 2})
    assert (s.regions[0].min_size, s.regions[0].max_size) == (1, 5)


def test_every_fleet_key_in_the_reference_is_read_by_the_parser(monkeypatch):
    from pegasus.config import fields

    read: set[str] = set()
    original = fields._Section.check_unknown

    def record(self):
        read.update(f"{self.name}.{f}" for f in self.used)
        return original(self)

    monkeypatch.setattr(fields._Section, "check_unknown", record)
    parse(with_fleet(allowSsh=True, sshCidrs=["203.0.113.0/24"], controlCenter__hosts=["cc.example.org"]))
    documented = {k.path for k in config.KEYS if k.path.startswith("fleet.")}
    # Objects whose fields are read by a nested section, and the fields of region entries
    # (documented in the description of fleet.clouds.<cloud>.regions).
    containers = {"fleet.schedule", "fleet.watcher", "fleet.agent", "fleet.controlCenter", "fleet.clouds",
                  "fleet.clouds.aws", "fleet.clouds.gcp", "fleet.clouds.azure", "fleet.clouds.alibaba"}
    assert {k for k in read if "[" not in k} - containers == documented


def test_cloudfront_needs_a_hostname_and_a_us_east_1_certificate():
    raw = with_fleet(controlCenter__provider="cloudfront", controlCenter__certificateArn="arn:aws:acm:eu-central-1:123456789012:certificate/x")
    assert error(raw) == (
        "pegasus:fleet.controlCenter.certificateArn: is required with provider cloudfront: an ACM certificate for hostname in "
        "us-east-1 (CloudFront takes no other region), like arn:aws:acm:us-east-1:123456789012:certificate/<id>")
    raw = with_fleet(controlCenter__provider="cloudfront", controlCenter__hostname=None)
    assert error(raw) == "pegasus:fleet.controlCenter.hostname: is required with provider cloudfront: the alternate domain name of the distribution"
