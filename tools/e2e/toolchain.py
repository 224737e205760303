"""Finding, or building, the e2e toolchain (e2e/toolchain/build.sh) and installing its plugins.

The build caches binaries outside the repository, keyed by version; a warm cache answers in
well under a second and builds nothing.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
BUILD_SH = REPO / "e2e" / "toolchain" / "build.sh"

BINARIES = (
    "pulumi", "pulumi-language-python", "pulumi-language-python-exec", "pulumi-resource-pulumi-python",
    "pulumi-resource-kubernetes", "etcd", "kube-apiserver", "kube-controller-manager", "kube-scheduler",
    "kubectl", "kwok", "kwokctl",
)


class ToolchainError(RuntimeError):
    pass


@dataclass(frozen=True)
class Toolchain:
    bin: Path

    def path(self, name: str) -> str:
        return str(self.bin / name)

    @property
    def versions(self) -> dict:
        return versions()


def versions() -> dict:
    """The versions build.sh builds, read from the script itself (one source of truth)."""
    text = BUILD_SH.read_text()
    return dict(re.findall(r"^([A-Z0-9_]+_VERSION)=(\S+)$", text, re.M))


def cache_root() -> Path:
    return Path(os.environ.get("PEGASUS_E2E_CACHE", Path.home() / ".cache" / "pegasus-e2e"))


def ensure(*, quiet: bool = False) -> Toolchain:
    """Build what is missing (nothing, on a warm cache) and return the bin directory.
    The build's progress goes to stderr, so `eval "$(python -m tools.e2e up)"` stays clean."""
    proc = subprocess.run(
        ["bash", str(BUILD_SH)], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL if quiet else None, text=True,
    )
    if proc.returncode != 0:
        raise ToolchainError(f"e2e/toolchain/build.sh failed with exit code {proc.returncode}; its log names the step")
    bin_dir = Path(proc.stdout.strip().splitlines()[-1])
    missing = [b for b in BINARIES if not (bin_dir / b).exists()]
    if missing:
        raise ToolchainError(f"toolchain at {bin_dir} lacks {', '.join(missing)}")
    return Toolchain(bin_dir)


def install_plugins(tc: Toolchain, pulumi_home: Path, env: dict) -> None:
    """Install the kubernetes provider into PULUMI_HOME from the cache, the way
    `pulumi plugin install --file` does for an air-gapped machine."""
    version = versions()["K8S_PROVIDER_VERSION"]
    target = pulumi_home / "plugins" / f"resource-kubernetes-v{version}" / "pulumi-resource-kubernetes"
    if target.exists():
        return
    subprocess.run(
        [tc.path("pulumi"), "plugin", "install", "resource", "kubernetes", version, "--file", tc.path("pulumi-resource-kubernetes")],
        env=env, check=True, stdout=subprocess.DEVNULL, stderr=sys.stderr,
    )
