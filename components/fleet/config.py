"""`pegasus:fleet`: the settings of the fleet blueprint, parsed once into frozen dataclasses.

The fleet reads no other section: no cluster, no SPC, no chain. Every error names its key
(`pegasus:fleet.<field>`) and says what is allowed.
"""

from __future__ import annotations

import ipaddress
import json
import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Mapping, Optional, Union

from pegasus.config.fields import _Section, _describe, _DNS1123
from pegasus.config.keys import KEYS, SECTIONS
from pegasus.errors import ConfigError
from components.fleet import timing

CLOUDS = ("aws", "gcp", "azure", "alibaba")
CAPACITY_OWNERS = ("schedule", "watcher", "agent")
# `shell` is p2p-agent-infra's name (document 004's anchor) for what Pegasus calls `bash`.
AGENT_TYPES = ("ansible", "bash", "shell")
CC_PROVIDERS = ("cloudflare", "cloudfront", "none")
# Clouds whose watcher function Pegasus builds (document 004's table lists Function Compute and
# Azure Functions too; they are not built yet, see docs/blueprints/fleet.md).
WATCHER_CLOUDS = ("aws", "gcp")
OPEN_CIDRS = ("0.0.0.0/0", "::/0")
# The root disk's size, in GiB, one range valid on every cloud, from each provider's own
# documentation of the input (pulumi SDKs in the venv): AWS EBS gp3 1-16384 and at least the AMI
# (8 GiB for Ubuntu); GCP at least the image (10 GB for ubuntu-2404); Azure's osDisk.diskSizeGB
# "cannot be larger than 1023" and Canonical's Ubuntu 24.04 image is 30 GiB (smaller is
# refused); Alibaba's ESSD PL1 system disk 20-2048 and at least the image.
DISK_SIZE_RANGE = (30, 1023)
DEFAULT_DISK_SIZE = 30

# Document 004's control-center variables and how each value is checked.
VARIABLES = {
    "cc-w-scheduler": "cron",
    "cc-w-a-desired-capacity": "capacity",
    "cc-w-a-start": "time",
    "cc-w-a-start-offset": "offset",
    "cc-w-a-stop": "time",
    "cc-a-delay": "delay",
    "cc-a-force-run": "bool",
    "cc-a-main-run": "text",
    "cc-a-pre-run": "text",
    "cc-a-post-run": "text",
    "cc-a-repository": "text",
    "cc-a-type": "type",
    "cc-a-desired-capacity": "capacity",
    "cc-a-start": "time",
    "cc-a-stop": "time",
}

Capacity = Union[int, dict]


class _Sub(_Section):
    """A nested object of pegasus:fleet (fleet.schedule, fleet.agent, ...): its errors list
    its own fields."""

    @staticmethod
    def _known(name: str) -> str:
        return ", ".join(k.path[len(name) + 1:] for k in KEYS if k.path.startswith(name + "."))


@dataclass(frozen=True)
class Schedule:
    start: Union[str, datetime]  # "now", "watcher" or an aware UTC time
    stop: Optional[datetime]
    start_offset: timedelta


@dataclass(frozen=True)
class Agent:
    repository: str
    type: str
    main_run: str
    pre_run: str
    post_run: str
    cron: str
    delay: int
    force_run: bool


@dataclass(frozen=True)
class ControlCenter:
    provider: str
    zone_id: Optional[str]
    hostname: Optional[str]
    hosts: tuple[str, ...]
    variables: tuple[tuple[str, str], ...]  # (header name, header value), in config order
    certificate_arn: Optional[str] = None


@dataclass(frozen=True)
class Region:
    cloud: str
    region: str  # the location on azure
    min_size: int
    max_size: int
    size: str  # instance type, machine type or VM size
    image: Optional[str] = None
    zones: tuple[str, ...] = ()


@dataclass(frozen=True)
class FleetSettings:
    project: str
    stack: str
    name: str
    schedule: Schedule
    desired_capacity: Capacity
    capacity_owner: str
    watcher_expression: timing.Every
    agent: Agent
    control_center: ControlCenter
    regions: tuple[Region, ...]
    gcp_project: Optional[str]
    azure_ssh_public_key: Optional[str]
    open_ports: tuple[tuple[int, int], ...]
    allow_ssh: bool
    ssh_cidrs: tuple[str, ...]
    disk_size_gb: int = DEFAULT_DISK_SIZE
    blueprint: str = "fleet"
    warnings: tuple[str, ...] = field(default=())

    def watcher_follows_control_center(self) -> bool:
        """cc-w-scheduler is served: the watcher sets its own cadence, the stack keeps off it."""
        return self.capacity_owner == "watcher" and any(k == "cc-w-scheduler" for k, _ in self.control_center.variables)

    def watcher_defaults(self) -> dict:
        """fleet.schedule and fleet.desiredCapacity, handed to the watcher (which then owns the
        start and the stop, one writer per group) as the values it takes where the control
        center serves none. The start offset travels as PEGASUS_START_OFFSET."""
        s = self.schedule
        start = timing.format_time(s.start) if isinstance(s.start, datetime) else "now" if s.start == "now" else ""
        value = self.desired_capacity
        return {"PEGASUS_START": start, "PEGASUS_STOP": timing.format_time(s.stop) if s.stop else "",
                "PEGASUS_DESIRED_CAPACITY": json.dumps(value, separators=(", ", ": ")) if isinstance(value, dict) else str(value)}

    def clouds(self) -> tuple[str, ...]:
        return tuple(c for c in CLOUDS if any(r.cloud == c for r in self.regions))


def check_capacity(key: str, value: Any) -> Capacity:
    """An integer, or the JSON form; its text is accepted too (a header value is text)."""
    fix = 'write an integer like 3, or an object like {"all": 3, "aws": {"all": 2, "eu-central-1": 1}}'
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            raise ConfigError(key, f"{value!r} is not a desired capacity; {fix}") from None

    def count(v: Any, where: str) -> None:
        if isinstance(v, bool) or not isinstance(v, int) or v < 0:
            raise ConfigError(key, f"{where} must be a non-negative integer, got {_describe(v)}; {fix}")

    if isinstance(value, dict):
        for k, v in value.items():
            if k == "all":
                count(v, "all")
            elif k in CLOUDS:
                if isinstance(v, dict):
                    for region, n in v.items():
                        count(n, f"{k}.{region}")
                else:
                    count(v, k)
            else:
                raise ConfigError(key, f"unknown entry {k!r}; use all or a cloud ({', '.join(CLOUDS)})")
        return value
    count(value, "the value")
    return value


def _time(key: str, value: Any) -> datetime:
    try:
        return timing.parse_time(value)
    except ValueError as e:
        raise ConfigError(key, str(e)) from None


def _header_value(key: str, kind: str, value: Any) -> str:
    if kind == "time":
        _time(key, value)
        return value
    if kind == "offset":
        try:
            timing.parse_offset(value)
        except ValueError as e:
            raise ConfigError(key, str(e)) from None
        return value
    if kind == "cron":
        try:
            timing.parse_cron(value)
        except ValueError as e:
            raise ConfigError(key, str(e)) from None
        return value
    if kind == "capacity":
        capacity = check_capacity(key, value)
        return json.dumps(capacity, separators=(", ", ": ")) if isinstance(capacity, dict) else str(capacity)
    if kind == "delay":
        if isinstance(value, str) and value.isdigit():
            value = int(value)
        if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 3600:
            raise ConfigError(key, f"must be an integer of seconds between 0 and 3600, got {_describe(value)}")
        return str(value)
    if kind == "bool":
        if isinstance(value, str) and value in ("true", "false"):
            return value
        if not isinstance(value, bool):
            raise ConfigError(key, f"must be true or false, got {_describe(value)}")
        return "true" if value else "false"
    if kind == "type":
        if value not in AGENT_TYPES:
            raise ConfigError(key, f"must be one of {', '.join(AGENT_TYPES)}; got {_describe(value)}")
        return value
    if not isinstance(value, str):
        raise ConfigError(key, f"must be a string, got {_describe(value)}")
    if "\n" in value or "\r" in value:
        raise ConfigError(key, "must be one line: an HTTP header value cannot hold a line break")
    return value


def _schedule(s: _Section) -> Schedule:
    start_raw = s.get("start", str, "now")
    start = start_raw if start_raw in ("now", "watcher") else None
    if start is None:
        try:
            start = timing.parse_time(start_raw)
        except ValueError as e:
            raise ConfigError(s.key("start"), f"{e}, or use now or watcher") from None
    stop_raw = s.get("stop", str)
    stop = _time(s.key("stop"), stop_raw) if stop_raw else None
    try:
        offset = timing.parse_offset(s.get("startOffset", str, "0m"))
    except ValueError as e:
        raise ConfigError(s.key("startOffset"), str(e)) from None
    if isinstance(start, datetime) and stop is not None and stop <= start + offset:
        raise ConfigError(s.key("stop"), f"{stop_raw} is not after the start ({timing.format_time(start + offset)} with startOffset)")
    s.check_unknown()
    return Schedule(start, stop, offset)


def _capacity_owner(s: _Section) -> str:
    raw = s.raw("capacityOwner")
    if raw is None:
        return "schedule"
    owners = raw if isinstance(raw, list) else [o.strip() for o in raw.split(",")] if isinstance(raw, str) else [raw]
    for o in owners:
        if o not in CAPACITY_OWNERS:
            raise ConfigError(s.key("capacityOwner"), f"must be one of {', '.join(CAPACITY_OWNERS)}; got {_describe(o)}")
    if len(set(owners)) != 1:
        raise ConfigError(
            s.key("capacityOwner"),
            f"exactly one writer of desired capacity is allowed, got {' and '.join(dict.fromkeys(owners))}; "
            "two writers undo each other's changes. Pick one of " + ", ".join(CAPACITY_OWNERS),
        )
    return owners[0]


def _agent(s: _Section) -> Agent:
    repository = s.get("repository", str)
    if not repository:
        raise ConfigError(s.key("repository"), "is required: the Git repository the agent pulls, like https://github.com/example/p2p-agent-config")
    cron = s.get("cron", str, "*/15 * * * *")
    try:
        timing.parse_cron(cron)
    except ValueError as e:
        raise ConfigError(s.key("cron"), str(e)) from None
    for f in ("mainRun", "preRun", "postRun"):
        v = s.get(f, str, "")
        if "\n" in v:
            raise ConfigError(s.key(f), "must be one line (it is also a control-center header value)")
    agent = Agent(
        repository=repository,
        type=s.choice("type", AGENT_TYPES, "ansible"),
        main_run=s.get("mainRun", str, "ansible/playbook.yml"),
        pre_run=s.get("preRun", str, ""),
        post_run=s.get("postRun", str, ""),
        cron=cron,
        delay=s.int_range("delay", 60, 0, 3600),
        force_run=s.get("forceRun", bool, False),
    )
    if not agent.main_run:
        raise ConfigError(s.key("mainRun"), "is empty; name the playbook or script in the repository")
    s.check_unknown()
    return agent


def _control_center(s: _Section) -> ControlCenter:
    provider = s.choice("provider", CC_PROVIDERS, "none")
    zone_id = s.get("zoneId", str)
    hostname = s.get("hostname", str)
    if provider == "cloudflare":
        if not zone_id:
            raise ConfigError(s.key("zoneId"), "is required with provider cloudflare: the zone ID of hostname")
        if not hostname:
            raise ConfigError(s.key("hostname"), "is required with provider cloudflare: the proxied hostname that serves the variables")
    certificate_arn = s.get("certificateArn", str)
    if provider == "cloudfront":
        if not hostname:
            raise ConfigError(s.key("hostname"), "is required with provider cloudfront: the alternate domain name of the distribution")
        if not certificate_arn or not re.fullmatch(r"arn:aws[a-z-]*:acm:us-east-1:[0-9]{12}:certificate/.+", certificate_arn):
            raise ConfigError(s.key("certificateArn"), "is required with provider cloudfront: an ACM certificate for hostname in "
                              "us-east-1 (CloudFront takes no other region), like arn:aws:acm:us-east-1:123456789012:certificate/<id>")
    if hostname and not re.fullmatch(r"[a-z0-9]([-a-z0-9.]*[a-z0-9])?", hostname):
        raise ConfigError(s.key("hostname"), f"{hostname!r} is not a hostname; write it like cc.example.org")
    hosts = s.str_list("hosts", [hostname] if hostname else [])
    variables_raw = s.get("variables", dict, {})
    variables = []
    for name, value in variables_raw.items():
        key = f"{s.key('variables')}.{name}"
        if name not in VARIABLES:
            raise ConfigError(key, f"unknown variable; the control-center variables are {', '.join(VARIABLES)}")
        variables.append((name, _header_value(key, VARIABLES[name], value)))
    if variables and provider == "none":
        raise ConfigError(s.key("variables"), "is set but provider is none, so nothing would serve them; set provider cloudflare or cloudfront, or move the values into fleet.agent and fleet.schedule")
    s.check_unknown()
    return ControlCenter(provider, zone_id, hostname, tuple(hosts), tuple(variables), certificate_arn)


_REGION_FIELDS = {
    "aws": ("region", "instanceType", "t3.small", "image", "availabilityZones"),
    "gcp": ("region", "machineType", "e2-small", "image", None),
    "azure": ("location", "vmSize", "Standard_B1s", None, None),
    "alibaba": ("region", "instanceType", "ecs.t6-c1m1.large", "imageNameRegex", "zoneId"),
}
_IMAGE_DEFAULTS = {
    # Ubuntu ships cloud-init, cron, git, python3 and an ansible package on every cloud.
    "aws": "resolve:ssm:/aws/service/canonical/ubuntu/server/24.04/stable/current/amd64/hvm/ebs-gp3/ami-id",
    "gcp": "ubuntu-os-cloud/ubuntu-2404-lts-amd64",
    "alibaba": "^ubuntu_24_04_x64",
}


def _regions(cloud: str, s: _Section) -> list[Region]:
    where, size_field, size_default, image_field, zones_field = _REGION_FIELDS[cloud]
    out = []
    for i, entry in enumerate(s.get("regions", list, [])):
        key = f"{s.key('regions')}[{i}]"
        if not isinstance(entry, dict):
            raise ConfigError(key, f"must be an object with {where} and maxSize, got {_describe(entry)}")
        r = _Section(key, entry)
        r._known = lambda _name, f=(where, "minSize", "maxSize", size_field, image_field, zones_field): ", ".join(x for x in f if x)
        place = r.get(where, str)
        if not place or not re.fullmatch(r"[a-z0-9-]+", place):
            raise ConfigError(r.key(where), f"is required: the {where}, like {'westeurope' if cloud == 'azure' else 'eu-central-1'}")
        if r.raw("maxSize") is None:
            raise ConfigError(r.key("maxSize"), "is required: the most instances the group may run")
        min_size = r.int_range("minSize", 0, 0, 1000)
        max_size = r.int_range("maxSize", 0, max(min_size, 1), 1000, " and at least minSize")
        image = r.get(image_field, str, _IMAGE_DEFAULTS.get(cloud)) if image_field else None
        zones: tuple[str, ...] = ()
        if zones_field == "availabilityZones":
            zones = r.str_list(zones_field, [])
            if len(zones) > 16:
                raise ConfigError(r.key(zones_field), f"lists {len(zones)} zones; the group's VPC has room for 16 subnets")
        elif zones_field == "zoneId":
            # Unset: the region's first zone that offers a vSwitch and the instance type, looked
            # up at plan time (a `<region>a` guess is not a zone ID in every region).
            zone = r.get(zones_field, str)
            if zone is not None and not re.fullmatch(r"[a-z]{2}-[a-z0-9-]+-[a-z0-9]+", zone):
                raise ConfigError(r.key(zones_field), f"{zone!r} is not a zone ID; write it like cn-hangzhou-b or eu-central-1a")
            zones = (zone,) if zone else ()
        if any(x.region == place for x in out):
            raise ConfigError(r.key(where), f"{place} is listed twice; one group per {where}")
        out.append(Region(cloud, place, min_size, max_size, r.get(size_field, str, size_default), image, zones))
        r.check_unknown()
    return out


def _ports(s: _Section) -> tuple[tuple[int, int], ...]:
    out = []
    for item in s.str_list("openPorts", []):
        m = re.fullmatch(r"(\d+)(?:-(\d+))?", item)
        lo, hi = (int(m.group(1)), int(m.group(2) or m.group(1))) if m else (0, 0)
        if not m or not (1 <= lo <= hi <= 65535):
            raise ConfigError(s.key("openPorts"), f"{item!r} is not a port or range; write it like 30303 or 1024-65535")
        if lo <= 22 <= hi:
            raise ConfigError(s.key("openPorts"), f"{item!r} includes 22; SSH is opened only by allowSsh, to sshCidrs")
        out.append((lo, hi))
    return tuple(out)


def parse_fleet(raw: Mapping[str, Any], *, project: str, stack: str, secret_keys: Optional[set[str]] = None) -> FleetSettings:
    """`secret_keys` is taken for the common parser signature: no fleet key is a secret."""
    for other in sorted(set(raw) & set(SECTIONS) - {"fleet"}):
        raise ConfigError(other, "has no effect with blueprint fleet, which reads only pegasus:fleet; remove it from the stack")
    s = _Section("fleet", raw.get("fleet"))
    name = s.get("name", str, "p2p-agent")
    if not _DNS1123.match(name) or len(name) > 20:
        raise ConfigError(s.key("name"), f"{name!r} must be DNS-1123 (lowercase letters, digits, '-') and at most 20 characters")
    schedule = _schedule(_Sub("fleet.schedule", s.get("schedule", dict, {})))
    desired = check_capacity(s.key("desiredCapacity"), s.raw("desiredCapacity") if s.raw("desiredCapacity") is not None else 1)
    owner = _capacity_owner(s)
    watcher = _Sub("fleet.watcher", s.get("watcher", dict, {}))
    expression = watcher.get("expression", str, "rate(15 minutes)")
    try:
        every = timing.parse_every(expression)
    except ValueError as e:
        raise ConfigError(watcher.key("expression"), str(e)) from None
    watcher.check_unknown()
    agent = _agent(_Sub("fleet.agent", s.get("agent", dict, {})))
    cc = _control_center(_Sub("fleet.controlCenter", s.get("controlCenter", dict, {})))
    clouds = _Sub("fleet.clouds", s.get("clouds", dict, {}))
    regions: list[Region] = []
    gcp_project = azure_key = None
    for cloud in CLOUDS:
        c = _Sub(f"fleet.clouds.{cloud}", clouds.get(cloud, dict, {}))
        regions += _regions(cloud, c)
        if cloud == "gcp":
            gcp_project = c.get("project", str)
            if c.value.get("regions") and not gcp_project:
                raise ConfigError(c.key("project"), "is required when gcp has regions: the GCP project ID")
        if cloud == "azure":
            azure_key = c.get("adminSshPublicKey", str)
            if c.value.get("regions") and not (azure_key or "").startswith(("ssh-rsa ", "ssh-ed25519 ")):
                raise ConfigError(c.key("adminSshPublicKey"), "is required when azure has regions: an OpenSSH public key (ssh-rsa or ssh-ed25519); Azure refuses a Linux scale set without one")
        c.check_unknown()
    clouds.check_unknown()
    if not regions:
        raise ConfigError("fleet.clouds", "has no regions; add one, like fleet.clouds.aws.regions: [{region: eu-central-1, maxSize: 3}]")
    gcp_window = any(r.cloud == "gcp" for r in regions) and owner != "watcher"
    if gcp_window and schedule.start == "now" and schedule.stop is not None:
        raise ConfigError("fleet.schedule.start", "is now with a stop, which GCP cannot stop: its stop is the end of a scaling "
                          "schedule that starts at a time; write the start as a time (like 2026-12-10T13:00:00Z)")
    if (gcp_window and isinstance(schedule.start, datetime) and schedule.stop is not None
            and schedule.stop - schedule.start - schedule.start_offset < timedelta(minutes=5)):
        raise ConfigError("fleet.schedule.stop", "is less than 5 minutes after the start; GCP's shortest scaling schedule is 300 seconds")
    unwatched = sorted({r.cloud for r in regions} - set(WATCHER_CLOUDS))
    if schedule.start == "watcher" and unwatched:
        raise ConfigError("fleet.schedule.start", f"is watcher, but no watcher runs on {' and '.join(unwatched)}, so nothing would "
                          "start those groups; write the start as a time or now")
    if schedule.start == "watcher" and owner != "watcher":
        raise ConfigError("fleet.schedule.start", f"is watcher, but capacityOwner is {owner}; the watcher schedules the start only when it owns capacity")
    if owner == "watcher" and not cc.hosts:
        raise ConfigError("fleet.capacityOwner", "is watcher, but the watcher has no control center to read; set fleet.controlCenter.hostname or hosts")
    open_ports = _ports(s)
    disk_size_gb = s.int_range("diskSizeGb", DEFAULT_DISK_SIZE, *DISK_SIZE_RANGE,
                               " GiB (every cloud takes that range: Azure's Ubuntu image is 30 GiB, its OS disk at most 1023)")
    allow_ssh = s.get("allowSsh", bool, False)
    ssh_cidrs = s.str_list("sshCidrs", [])
    for cidr in ssh_cidrs:
        try:
            net = ipaddress.ip_network(cidr, strict=True)
        except ValueError:
            raise ConfigError(s.key("sshCidrs"), f"{cidr!r} is not a CIDR block; write it like 203.0.113.0/24") from None
        if net.prefixlen == 0:
            raise ConfigError(s.key("sshCidrs"), f"{cidr} opens SSH to the whole internet; list the operator CIDRs")
    if allow_ssh and not ssh_cidrs:
        raise ConfigError(s.key("sshCidrs"), "is empty but allowSsh is true; list the operator CIDRs SSH is open to")
    s.check_unknown()
    warnings = []
    if owner == "watcher":
        unwatched = sorted({r.cloud for r in regions} - set(WATCHER_CLOUDS))
        if unwatched:
            warnings.append(
                f"capacityOwner is watcher, but the watcher runs on {' and '.join(WATCHER_CLOUDS)} only: the groups on "
                f"{', '.join(unwatched)} keep their scheduled actions and their initial capacity"
            )
    return FleetSettings(
        project=project, stack=stack, name=name, schedule=schedule, desired_capacity=desired, capacity_owner=owner,
        watcher_expression=every, agent=agent, control_center=cc, regions=tuple(regions), gcp_project=gcp_project,
        azure_ssh_public_key=azure_key, open_ports=open_ports, allow_ssh=allow_ssh, ssh_cidrs=tuple(ssh_cidrs),
        disk_size_gb=disk_size_gb, warnings=tuple(warnings),
    )
