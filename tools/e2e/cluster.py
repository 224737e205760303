"""A local Kubernetes cluster for the e2e suite: kwokctl's binary runtime on 127.0.0.1.

etcd, kube-apiserver, kube-controller-manager and kube-scheduler are the real programs; kwok
fakes the kubelets, so pods are scheduled, become Running and Ready, and Jobs complete, but no
container runs. On top of that the cluster gets what a laptop cluster has:
- fake nodes (kwok manages nodes annotated `kwok.x-k8s.io/node: fake`). Node addresses are
  loopback (127.0.1.N), so anything the API server sends a kubelet stays on this machine. Pod
  addresses cannot be loopback (EndpointSlice validation refuses 127.0.0.0/8), so they come
  from 198.18.0.0/15, the range RFC 2544 sets aside for benchmarks, never routed on the
  internet. Nothing may send them traffic: `check_no_pod_callbacks` fails the suite if a
  webhook or an aggregated API (the only ways the API server calls a pod) ever exists;
- a default StorageClass with statically provisioned PersistentVolumes, so claims bind;
- a LoadBalancer status loop (tools/e2e/lb.py), the role MetalLB or cloud-provider-kind plays,
  handing out addresses from 192.0.2.0/24 (TEST-NET-1). No traffic ever goes to them.

Every process is started by us and stopped by PID: `stop()` stops the loop and has kwokctl
stop the components, then checks each recorded PID is gone and kills what is left.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

import yaml

from tools.e2e.toolchain import REPO, Toolchain, versions

STORAGE_CLASS = "pegasus-e2e"
NODE_ANNOTATION = "kwok.x-k8s.io/node"


class ClusterError(RuntimeError):
    pass


def node_manifest(i: int) -> dict:
    name = f"kwok-node-{i}"
    # Room for the benchmarks' largest fleet on three nodes: 2,000 chainlets request 200 CPUs
    # (100m each), which 3 x 64 did not hold (the 2,001st chainlet stayed Pending).
    resources = {"cpu": "128", "memory": "512Gi", "pods": "2000", "ephemeral-storage": "1Ti"}
    return {
        "apiVersion": "v1",
        "kind": "Node",
        "metadata": {
            "name": name,
            "annotations": {NODE_ANNOTATION: "fake", "node.alpha.kubernetes.io/ttl": "0"},
            "labels": {
                "kubernetes.io/hostname": name,
                "kubernetes.io/os": "linux",
                "kubernetes.io/arch": "amd64",
                "topology.kubernetes.io/zone": f"e2e-{'abc'[i % 3]}",
                "type": "kwok",
            },
        },
        "spec": {"podCIDR": f"198.18.{4 * i}.0/22", "podCIDRs": [f"198.18.{4 * i}.0/22"]},
        "status": {
            "allocatable": resources,
            "capacity": resources,
            "addresses": [{"type": "InternalIP", "address": f"127.0.1.{i + 1}"}, {"type": "Hostname", "address": name}],
        },
    }


def storage_class_manifest() -> dict:
    return {
        "apiVersion": "storage.k8s.io/v1",
        "kind": "StorageClass",
        "metadata": {"name": STORAGE_CLASS, "annotations": {"storageclass.kubernetes.io/is-default-class": "true"}},
        # Static provisioning: claims bind to the pre-created volumes below.
        "provisioner": "kubernetes.io/no-provisioner",
        "reclaimPolicy": "Retain",
        "volumeBindingMode": "Immediate",
    }


def pv_manifest(i: int, size: str) -> dict:
    return {
        "apiVersion": "v1",
        "kind": "PersistentVolume",
        "metadata": {"name": f"e2e-pv-{i:04d}", "labels": {"pegasus.e2e/pool": "static"}},
        "spec": {
            "capacity": {"storage": size},
            "accessModes": ["ReadWriteOnce"],
            "persistentVolumeReclaimPolicy": "Retain",
            "storageClassName": STORAGE_CLASS,
            # Nothing mounts it: kwok runs no containers.
            "hostPath": {"path": f"/var/lib/pegasus-e2e/pv-{i:04d}", "type": "DirectoryOrCreate"},
        },
    }


# Apart from the pod range (198.18.0.0/15) and the loopback node addresses.
SERVICE_CIDR = "10.96.0.0/16"


def kwokctl_config(tc: Toolchain) -> dict:
    kube = versions()["KUBE_VERSION"]
    return {
        "apiVersion": "config.kwok.x-k8s.io/v1alpha1",
        "kind": "KwokctlConfiguration",
        "options": {
            "runtime": "binary",
            "bindAddress": "127.0.0.1",
            "kubeVersion": f"v{kube}",
            "kubeApiserverBinary": tc.path("kube-apiserver"),
            "kubeControllerManagerBinary": tc.path("kube-controller-manager"),
            "kubeSchedulerBinary": tc.path("kube-scheduler"),
            "kubectlBinary": tc.path("kubectl"),
            "kwokControllerBinary": tc.path("kwok"),
            "etcdBinary": tc.path("etcd"),
            "disableQPSLimits": True,
        },
        # kwokctl leaves the API server at its default Service range, 10.0.0.0/24: 254 ClusterIPs,
        # which 500 chainlets (a Service each, plus the platform's) run out of ("failed to
        # allocate a serviceIP: range is full", bench.e2e at 500). A /16 holds 65,534.
        "componentsPatches": [
            {"name": "kube-apiserver", "extraArgs": [{"key": "service-cluster-ip-range", "value": SERVICE_CIDR}]},
        ],
    }


@dataclass
class Cluster:
    tc: Toolchain
    name: str
    state_dir: Path
    nodes: int = 3
    volumes: int = 64
    volume_size: str = "100Gi"

    @property
    def kubeconfig(self) -> Path:
        return self.state_dir / "kubeconfig"

    @property
    def _home(self) -> Path:
        # kwokctl keeps its clusters under ~/.kwok and edits ~/.kube/config: give it a home of its own.
        return self.state_dir / "kwok-home"

    @property
    def _state_file(self) -> Path:
        return self.state_dir / "cluster.json"

    def _kwokctl(self, *args: str, check: bool = True, timeout: float = 300) -> subprocess.CompletedProcess:
        env = dict(os.environ, HOME=str(self._home), PATH=f"{self.tc.bin}{os.pathsep}{os.environ.get('PATH', '')}")
        proc = subprocess.run(
            [self.tc.path("kwokctl"), "--name", self.name, *args], env=env, text=True,
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=timeout,
        )
        if check and proc.returncode != 0:
            raise ClusterError(f"kwokctl {' '.join(args)} failed: {proc.stderr.strip()[-2000:]}")
        return proc

    def kubectl(self, *args: str, input: Optional[str] = None, check: bool = True, timeout: float = 120) -> str:
        proc = subprocess.run(
            [self.tc.path("kubectl"), "--kubeconfig", str(self.kubeconfig), *args], input=input, text=True,
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=timeout,
        )
        if check and proc.returncode != 0:
            raise ClusterError(f"kubectl {' '.join(args)} failed: {proc.stderr.strip()[-2000:]}")
        return proc.stdout

    def apply(self, docs: list[dict]) -> None:
        self.kubectl("apply", "--server-side", "--force-conflicts", "-f", "-", input=yaml.safe_dump_all(docs))

    def get(self, *args: str) -> dict:
        return json.loads(self.kubectl("get", *args, "-o", "json"))

    # ---------------------------------------------------------------------------------

    def _component_pids(self) -> dict[str, int]:
        pids = {}
        for f in (self._home / ".kwok" / "clusters" / self.name / "pids").glob("*.pid"):
            try:
                pids[f.stem] = int(f.read_text().strip())
            except ValueError:
                continue
        return pids

    def _record(self, **extra) -> None:
        state = {"name": self.name, "components": self._component_pids(), **extra}
        self._state_file.write_text(json.dumps(state, indent=2))

    def recorded(self) -> dict:
        try:
            return json.loads(self._state_file.read_text())
        except (FileNotFoundError, json.JSONDecodeError):
            return {}

    def start(self, *, wait_seconds: int = 120) -> None:
        self.state_dir.mkdir(parents=True, exist_ok=True)
        self._home.mkdir(parents=True, exist_ok=True)
        config = self.state_dir / "kwokctl.yaml"
        config.write_text(yaml.safe_dump(kwokctl_config(self.tc)))
        try:
            self._kwokctl("--config", str(config), "create", "cluster", "--wait", f"{wait_seconds}s", timeout=wait_seconds + 120)
            self.kubeconfig.write_text(self._kwokctl("get", "kubeconfig").stdout)
            self.kubeconfig.chmod(0o600)
            self._record()
            self.apply([node_manifest(i) for i in range(self.nodes)] + [storage_class_manifest()])
            self.ensure_volumes(self.volumes)
            lb = subprocess.Popen(
                [sys.executable, "-m", "tools.e2e.lb", "--kubeconfig", str(self.kubeconfig),
                 "--kubectl", self.tc.path("kubectl"), "--pid-file", str(self.state_dir / "lb.pid")],
                cwd=REPO, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                stderr=open(self.state_dir / "lb.log", "ab"), start_new_session=True,
            )
            self._record(lb=lb.pid)
            self.wait_nodes_ready()
        except BaseException:
            self.stop()
            raise

    def ensure_volumes(self, count: int) -> None:
        """At least `count` volumes in the pool (the benchmark's 500 chainlets need more)."""
        existing = self.get("pv", "-l", "pegasus.e2e/pool=static")["items"]
        have = {pv["metadata"]["name"] for pv in existing}
        docs = [pv_manifest(i, self.volume_size) for i in range(count) if f"e2e-pv-{i:04d}" not in have]
        if docs:
            self.apply(docs)

    def wait_nodes_ready(self, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            nodes = self.get("nodes")["items"]
            ready = [n for n in nodes if any(c["type"] == "Ready" and c["status"] == "True" for c in n.get("status", {}).get("conditions", []))]
            if len(ready) >= self.nodes:
                return
            time.sleep(0.5)
        raise ClusterError(f"fake nodes not Ready after {timeout:.0f}s")

    def pod_callbacks(self) -> list[str]:
        """Webhooks and aggregated APIs served by a Service: the API server would call a pod
        address for them, and pod addresses here must never receive traffic."""
        found = []
        for kind in ("validatingwebhookconfigurations", "mutatingwebhookconfigurations"):
            for cfg in self.get(kind)["items"]:
                if any((w.get("clientConfig") or {}).get("service") for w in cfg.get("webhooks") or []):
                    found.append(f"{kind}/{cfg['metadata']['name']}")
        for api in self.get("apiservices")["items"]:
            if (api.get("spec") or {}).get("service"):
                found.append(f"apiservices/{api['metadata']['name']}")
        return found

    def stop(self) -> list[str]:
        """Stop everything this cluster started. Returns what was still running and had to be killed."""
        state = self.recorded()
        killed = []
        lb = state.get("lb")
        if lb:
            _terminate(lb)
        if (self._home / ".kwok" / "clusters" / self.name).exists():
            self._kwokctl("delete", "cluster", check=False, timeout=120)
        # kwokctl signals the components and returns; the API server's graceful shutdown
        # can take a while. Whatever is still up after that gets SIGTERM, then SIGKILL.
        components = state.get("components", {})
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and any(_alive(pid) for pid in components.values()):
            time.sleep(0.5)
        for name, pid in components.items():
            if _alive(pid):
                killed.append(name)
                _terminate(pid)
        self._state_file.unlink(missing_ok=True)
        return killed

    def running(self) -> dict[str, bool]:
        state = self.recorded()
        out = {name: _alive(pid) for name, pid in state.get("components", {}).items()}
        if state.get("lb"):
            out["lb-status-loop"] = _alive(state["lb"])
        return out


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # A zombie of ours is not running; reap it if it is our child.
    try:
        done, _ = os.waitpid(pid, os.WNOHANG)
        return done == 0
    except ChildProcessError:
        return Path(f"/proc/{pid}").exists() and "Z" not in _proc_state(pid)


def _proc_state(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return "Z"


def _terminate(pid: int, grace: float = 10) -> None:
    try:
        os.kill(pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    deadline = time.monotonic() + grace
    while time.monotonic() < deadline:
        if not _alive(pid):
            return
        time.sleep(0.1)
    try:
        os.kill(pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
