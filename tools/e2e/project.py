"""A throwaway copy of the Pegasus project, and the `pulumi` commands run in it.

Tests and benchmarks work on a copy so that stack files (Pulumi.<stack>.yaml) and state never
land in the repository. The copy shares the repository's virtualenv through a symlink.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional

from tools.e2e.toolchain import REPO

# The pinned chart archives live in the repository (charts/README.md): a fresh clone is self-contained.
CHARTS = REPO / "charts"

# The stack config the local cluster needs, beside the stack's own. Fake pods run no containers,
# so a webhook served by a chart's pods could never answer: these are values a user with the
# same constraint sets too (docs/e2e.md, "Charts offline").
LOCAL_CLUSTER_CONFIG = {
    "charts.localDir": str(CHARTS),
    "monitoring.admissionWebhooks": "false",
}

# What `pulumi up` needs of the repository: the program, its data, and the policy pack.
PROGRAM = ("Pulumi.yaml", "Pulumi.dev.yaml", "__main__.py", "requirements.txt", "components", "stacks", "pegasus", "chain", "policy", "tools")


class PulumiError(RuntimeError):
    def __init__(self, args: list[str], proc: subprocess.CompletedProcess):
        self.proc = proc
        tail = (proc.stdout[-3000:] + "\n" + proc.stderr[-3000:]).strip()
        super().__init__(f"pulumi {' '.join(args)} exited {proc.returncode}:\n{tail}")


def copy_project(dest: Path) -> Path:
    dest.mkdir(parents=True, exist_ok=True)
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
    for name in PROGRAM:
        src = REPO / name
        if src.is_dir():
            shutil.copytree(src, dest / name, ignore=ignore, dirs_exist_ok=True)
        else:
            shutil.copy2(src, dest / name)
    # The program and the policy pack run in the repository's virtualenv, which has both
    # requirement sets (pulumi-policy is in requirements.txt).
    for venv in (dest / "venv", dest / "policy" / "venv"):
        if not venv.exists():
            venv.symlink_to(REPO / "venv")
    return dest


@dataclass
class Run:
    args: list[str]
    returncode: int
    stdout: str
    stderr: str
    seconds: float

    @property
    def output(self) -> str:
        return self.stdout + self.stderr


@dataclass
class Project:
    dir: Path
    env: dict[str, str]
    stack: str = "dev"
    history: list[Run] = field(default_factory=list)

    def pulumi(self, *args: str, check: bool = True, timeout: float = 1800, input: Optional[str] = None) -> Run:
        """Run `pulumi ARGS` in the project (tools/e2e/measure.py times and weighs a run)."""
        argv = ["pulumi", *args]
        start = time.monotonic()
        proc = subprocess.run(
            argv, cwd=self.dir, env=self.env, text=True, input=input,
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=timeout,
        )
        run = Run(list(args), proc.returncode, proc.stdout, proc.stderr, time.monotonic() - start)
        self.history.append(run)
        if check and proc.returncode != 0:
            raise PulumiError(list(args), proc)  # type: ignore[arg-type]
        return run

    def init(self, config: dict[str, str], secrets: Optional[dict[str, str]] = None) -> None:
        self.pulumi("stack", "init", self.stack, "--secrets-provider", "passphrase")
        for key, value in config.items():
            self.pulumi("config", "set", "--path", key, value)
        for key, value in (secrets or {}).items():
            self.pulumi("config", "set", "--secret", "--path", key, value)

    def set(self, key: str, value: str) -> None:
        self.pulumi("config", "set", "--path", key, value)

    def up(self, *extra: str, check: bool = True) -> Run:
        return self.pulumi("up", "--yes", "--skip-preview", "--non-interactive", *extra, check=check)

    def preview(self, *extra: str, check: bool = True) -> Run:
        return self.pulumi("preview", "--non-interactive", *extra, check=check)

    def preview_steps(self, *extra: str) -> list[dict]:
        """The steps `pulumi preview --json` plans, without the ones that change nothing."""
        run = self.pulumi("preview", "--json", "--non-interactive", *extra)
        doc = json.loads(run.stdout)
        return [s for s in doc.get("steps", []) if s.get("op") != "same"]

    def export(self) -> dict:
        return json.loads(self.pulumi("stack", "export", "--show-secrets=false").stdout)

    def resources(self) -> dict[str, dict]:
        """URN -> resource of the checkpoint, without the stack and providers."""
        deployment = self.export().get("deployment", {})
        return {r["urn"]: r for r in deployment.get("resources", []) if not r["type"].startswith("pulumi:")}

    def backend_dir(self) -> Path:
        return Path(self.env["PULUMI_BACKEND_URL"][len("file://"):])
