"""The fleet agent, rendered: its shell script with the settings filled in, and the
cloud-init document that installs it with cron on every VM of a group.

The script (components/fleet/data/fleet-agent.sh) is ours, not the original Terraform's: it reads
the control center, falls back to the config's defaults, and runs ansible-pull or bash.
Desired-capacity resolution is not re-implemented in bash: cloud-init writes
components/fleet/capacity.py next to the script and the agent calls `python3 capacity.py`, so
the agent, the watcher and the program share one function.
"""

from __future__ import annotations

import json
import os
import shlex
from dataclasses import dataclass
from datetime import datetime
import yaml

from components.fleet.config import FleetSettings, Region
from components.fleet import timing

DATA = os.path.join(os.path.dirname(__file__), "data")
AGENT_TEMPLATE = os.path.join(DATA, "fleet-agent.sh")
CAPACITY_SOURCE = os.path.join(os.path.dirname(__file__), "capacity.py")
AGENT_DIR = "/opt/pegasus-agent"
STATE_DIR = "/var/lib/pegasus-agent"
CC_TIMEOUT = 5  # seconds per control-center host
# The agent writes no capacity this close to the stop, or after it: the stop's own primitive
# acts then, and a write from a VM still shutting down would start the fleet again.
STOP_MARGIN = 60  # seconds, as p2p-agent-infra's agent-side watcher

# What the agent needs on an Ubuntu 24.04 image, beyond cloud-init itself. The capacity writer's
# CLI is installed only where the agent writes capacity (capacityOwner agent).
BASE_PACKAGES = ("cron", "curl", "git", "python3", "util-linux")
# Where each cloud's CLI lands on Ubuntu 24.04, and so what the agent's PATH must hold: the AWS
# CLI is a snap (/snap/bin), as is the google-cloud-cli that Canonical's GCE images ship; the
# Azure CLI's Debian package installs /usr/bin/az; the aliyun archive is unpacked into
# /usr/local/bin. cron runs its jobs with PATH=/usr/bin:/bin, which holds only az.
CLI_PATHS = {"aws": "/snap/bin/aws", "gcp": "/snap/bin/gcloud", "azure": "/usr/bin/az", "alibaba": "/usr/local/bin/aliyun"}
CRON_DEFAULT_PATH = "/usr/bin:/bin"
AGENT_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin:/snap/bin"
# A run that hangs (a pull that never returns) is killed, so the lock it holds cannot keep every
# later run out: `flock -n` makes the next tick skip while a run is alive, never wait.
RUN_TIMEOUT = 3600  # seconds
CLI_INSTALL = {
    "aws": ["snap install aws-cli --classic"],
    # gcloud ships with Google's Ubuntu images.
    "gcp": [],
    "azure": ["curl -sL https://aka.ms/InstallAzureCLIDeb | bash"],
    "alibaba": ["curl -sL https://aliyuncli.alicdn.com/aliyun-cli-linux-latest-amd64.tgz | tar -xz -C /usr/local/bin aliyun"],
}


@dataclass(frozen=True)
class GroupRef:
    """What the agent on one group's VMs needs to know about the group it belongs to."""

    cloud: str
    region: str
    group: str
    gcp_project: str = ""
    gcp_schedule: str = ""  # the stack's start window on the autoscaler, when it declares one
    azure_resource_group: str = ""
    azure_autoscale: str = ""
    azure_profile: str = "default"  # the autoscale profile the agent writes (the one in force)
    alibaba_role: str = ""
    min_size: int = 0
    max_size: int = 1000


def default_desired_capacity(settings: FleetSettings) -> str:
    value = settings.desired_capacity
    return json.dumps(value, separators=(", ", ": ")) if isinstance(value, dict) else str(value)


def default_start(settings: FleetSettings) -> str:
    """cc-a-start's fallback: the time the stack's start acts (start plus its offset), or none
    for `now` and `watcher` (the group is already started, or the watcher starts it)."""
    s = settings.schedule
    return timing.format_time(s.start + s.start_offset) if isinstance(s.start, datetime) else ""


def settings_block(settings: FleetSettings, ref: GroupRef) -> str:
    """The script's settings as bash assignments, every value shell-quoted."""
    a = settings.agent
    values = [
        ("AGENT_DIR", AGENT_DIR),
        ("STATE_DIR", STATE_DIR),
        ("CC_TIMEOUT", str(CC_TIMEOUT)),
        ("CLOUD", ref.cloud),
        ("REGION", ref.region),
        ("GROUP", ref.group),
        ("CAPACITY_OWNER", settings.capacity_owner),
        ("GCP_PROJECT", ref.gcp_project),
        ("GCP_SCHEDULE", ref.gcp_schedule),
        ("AZURE_RESOURCE_GROUP", ref.azure_resource_group),
        ("AZURE_AUTOSCALE", ref.azure_autoscale),
        ("AZURE_PROFILE", ref.azure_profile),
        ("ALIBABA_ROLE", ref.alibaba_role),
        ("MIN_SIZE", str(ref.min_size)),
        ("MAX_SIZE", str(ref.max_size)),
        ("DEFAULT_REPOSITORY", a.repository),
        ("DEFAULT_TYPE", a.type),
        ("DEFAULT_MAIN_RUN", a.main_run),
        ("DEFAULT_PRE_RUN", a.pre_run),
        ("DEFAULT_POST_RUN", a.post_run),
        ("DEFAULT_DELAY", str(a.delay)),
        ("DEFAULT_FORCE_RUN", "true" if a.force_run else "false"),
        ("DEFAULT_DESIRED_CAPACITY", default_desired_capacity(settings)),
        ("DEFAULT_START", default_start(settings)),
        ("DEFAULT_STOP", timing.format_time(settings.schedule.stop) if settings.schedule.stop else ""),
        ("STOP_MARGIN", str(STOP_MARGIN)),
    ]
    lines = [f"{k}={shlex.quote(v)}" for k, v in values]
    lines.append("CC_HOSTS=(" + " ".join(shlex.quote(h) for h in settings.control_center.hosts) + ")")
    return "\n".join(lines)


def agent_script(settings: FleetSettings, ref: GroupRef) -> str:
    with open(AGENT_TEMPLATE, encoding="utf-8") as f:
        template = f.read()
    return template.replace("# @SETTINGS@", settings_block(settings, ref), 1)


def capacity_source() -> str:
    with open(CAPACITY_SOURCE, encoding="utf-8") as f:
        return f.read()


def run_command() -> str:
    """One run of the agent, as cron and the boot run start it: killed after RUN_TIMEOUT."""
    return f"timeout --kill-after=60 {RUN_TIMEOUT} {AGENT_DIR}/agent.sh >> /var/log/pegasus-agent.log 2>&1"


def cron_file(settings: FleetSettings) -> str:
    """/etc/cron.d/pegasus-agent: an explicit PATH (cron's own, /usr/bin:/bin, misses the snap
    and /usr/local/bin CLIs), then the agent's line."""
    return f"SHELL=/bin/bash\nPATH={AGENT_PATH}\n{settings.agent.cron} root {run_command()}\n"


def packages(settings: FleetSettings) -> list[str]:
    extra = ["ansible"] if settings.agent.type == "ansible" or any(k == "cc-a-type" for k, _ in settings.control_center.variables) else []
    return [*BASE_PACKAGES, *extra]


def cloud_init(settings: FleetSettings, ref: GroupRef) -> str:
    """The #cloud-config user data of one group's VMs: packages, the agent, its cron entry,
    and a first run at boot rather than at the first cron tick."""
    runcmd: list = []
    if settings.capacity_owner == "agent":
        runcmd += [["bash", "-c", c] for c in CLI_INSTALL[ref.cloud]]
    runcmd.append(["bash", "-c", f"PATH={AGENT_PATH} {run_command()} &"])
    doc = {
        "package_update": True,
        "packages": packages(settings),
        "write_files": [
            {"path": f"{AGENT_DIR}/agent.sh", "permissions": "0755", "owner": "root:root", "content": agent_script(settings, ref)},
            {"path": f"{AGENT_DIR}/capacity.py", "permissions": "0644", "owner": "root:root", "content": capacity_source()},
            {"path": "/etc/cron.d/pegasus-agent", "permissions": "0644", "owner": "root:root", "content": cron_file(settings)},
        ],
        "runcmd": runcmd,
    }
    return "#cloud-config\n" + yaml.safe_dump(doc, sort_keys=False, width=1000)


def write_agent(settings: FleetSettings, ref: GroupRef, directory: str) -> str:
    """Write agent.sh and capacity.py into `directory` as cloud-init would, for running the
    agent outside a VM (the tests do). Returns the script's path."""
    os.makedirs(directory, exist_ok=True)
    script = os.path.join(directory, "agent.sh")
    with open(script, "w", encoding="utf-8") as f:
        f.write(agent_script(settings, ref))
    os.chmod(script, 0o755)
    with open(os.path.join(directory, "capacity.py"), "w", encoding="utf-8") as f:
        f.write(capacity_source())
    return script
