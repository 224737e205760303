"""One e2e session: the toolchain, a local cluster, and the environment `pulumi` runs in.

The same code serves `python -m tools.e2e up|down|status` and the pytest fixture.
"""

from __future__ import annotations

import os
import shlex
import shutil
from dataclasses import dataclass
from pathlib import Path

from tools.e2e import toolchain
from tools.e2e.cluster import Cluster

# A local, throwaway stack's passphrase: it guards nothing but test state on this machine.
PASSPHRASE = "pegasus-e2e-local"


def default_state_dir(name: str) -> Path:
    return Path(os.environ.get("PEGASUS_E2E_STATE", toolchain.cache_root() / "state" / name))


@dataclass
class Session:
    tc: toolchain.Toolchain
    cluster: Cluster

    @classmethod
    def create(cls, name: str, state_dir: Path | None = None, *, nodes: int = 3, volumes: int = 64,
               quiet_build: bool = False) -> "Session":
        tc = toolchain.ensure(quiet=quiet_build)
        state_dir = state_dir or default_state_dir(name)
        return cls(tc, Cluster(tc, name, state_dir, nodes=nodes, volumes=volumes))

    @property
    def state_dir(self) -> Path:
        return self.cluster.state_dir

    def env(self) -> dict[str, str]:
        """The variables `pulumi` needs here: our binaries first on PATH, state and plugins
        in the session's folder, and nothing that would try to download."""
        return {
            "PATH": f"{self.tc.bin}{os.pathsep}{os.environ.get('PATH', '')}",
            "PULUMI_HOME": str(self.state_dir / "pulumi-home"),
            "PULUMI_BACKEND_URL": f"file://{self.state_dir / 'backend'}",
            "PULUMI_CONFIG_PASSPHRASE": PASSPHRASE,
            "KUBECONFIG": str(self.cluster.kubeconfig),
            "PULUMI_SKIP_UPDATE_CHECK": "true",
            "PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION": "true",
            # Only the plugins installed in PULUMI_HOME, never a stray binary on PATH.
            "PULUMI_IGNORE_AMBIENT_PLUGINS": "true",
            "PULUMI_DIY_BACKEND_NO_LEGACY_WARNING": "true",
            "PULUMI_SKIP_CONFIRMATIONS": "true",
            "PEGASUS_E2E_CHARTS": str(toolchain.REPO / "charts"),
        }

    def full_env(self) -> dict[str, str]:
        return {**os.environ, **self.env()}

    def start(self) -> None:
        (self.state_dir / "backend").mkdir(parents=True, exist_ok=True)
        (self.state_dir / "pulumi-home").mkdir(parents=True, exist_ok=True)
        self.cluster.start()
        toolchain.install_plugins(self.tc, self.state_dir / "pulumi-home", self.full_env())

    def stop(self, *, forget_state: bool = False) -> list[str]:
        """Stop the cluster. `forget_state` also removes the stack state, which describes a
        cluster that no longer exists (its etcd data goes with it)."""
        killed = self.cluster.stop()
        if forget_state:
            for name in ("backend", "pulumi-home", "kubeconfig", "kwok-home", "kwokctl.yaml", "lb.log"):
                path = self.state_dir / name
                if path.is_dir():
                    shutil.rmtree(path)
                else:
                    path.unlink(missing_ok=True)
        return killed

    def exports(self) -> str:
        return "".join(f"export {k}={shlex.quote(v)}\n" for k, v in self.env().items())
