"""python -m bench.e2e: the real engine's figures, against the local kwok cluster.

For the dev stack with 25, 100 and 500 chainlets (each size on a fresh cluster):
- wall time and peak RSS (summed over the process tree) of `pulumi preview`, `pulumi up`
  (create) and a no-op `pulumi up --refresh`;
- the time from a new chainlet appearing on the fake chain to its StatefulSet being ready,
  with one `pulumi up`;
- the floor, side by side in the same cluster: `kubectl apply --server-side` of the same
  objects (the offline plan's manifests, without the Helm releases) into a fresh set of
  namespaces, and the time until the control plane has made them ready.
Reports `pulumi up` / floor and no-op `up --refresh` / floor, and merges the figures into
bench/results.json under "e2e" (the mock figures stay beside them).

    venv/bin/python -m bench.e2e                 # 25, 100, 500
    venv/bin/python -m bench.e2e --sizes 25      # one size (written to --output only)
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

import yaml

from tools.e2e import measure
from tools.e2e.project import LOCAL_CLUSTER_CONFIG, Project, copy_project
from tools.e2e.session import Session
from tools.fakechain import ChainState, FakeChain, chainlet_record
from tools.plan.render import kubernetes_object
from tools.plan.runner import plan_stack

HERE = Path(__file__).resolve().parent
E2E_CONFIG = LOCAL_CLUSTER_CONFIG
FLOOR_PREFIX = "floor-"


def _ready(cluster, namespaces: set[str]) -> bool:
    """Every StatefulSet ready, every claim bound, every LoadBalancer addressed, in namespaces."""
    def mine(items):
        return [i for i in items if i["metadata"].get("namespace") in namespaces]
    for sts in mine(cluster.get("statefulsets", "-A")["items"]):
        if sts["status"].get("readyReplicas", 0) != sts["spec"].get("replicas", 1):
            return False
    if any(c["status"].get("phase") != "Bound" for c in mine(cluster.get("pvc", "-A")["items"])):
        return False
    for svc in mine(cluster.get("svc", "-A")["items"]):
        if svc["spec"]["type"] == "LoadBalancer" and not (svc["status"].get("loadBalancer") or {}).get("ingress"):
            return False
    return True


def floor_objects(plan, prefix: str = FLOOR_PREFIX) -> list[dict]:
    """The plan's Kubernetes objects (no Helm releases), moved into a fresh namespace set."""
    out = []
    for r in plan.resources:
        obj = kubernetes_object(r, raw=True)
        if obj is None:
            continue
        obj = json.loads(json.dumps(obj))
        meta = obj.setdefault("metadata", {})
        if obj["kind"] == "Namespace":
            meta["name"] = (prefix + meta["name"])[:63]
        elif meta.get("namespace"):
            meta["namespace"] = (prefix + meta["namespace"])[:63]
        else:
            continue  # cluster-scoped objects exist once
        out.append(obj)
    return out


def measure_floor(session: Session, plan) -> dict:
    objects = floor_objects(plan)
    namespaces = {o["metadata"]["name"] for o in objects if o["kind"] == "Namespace"}
    namespaced = [o for o in objects if o["kind"] != "Namespace"]
    kubectl = [session.tc.path("kubectl"), "--kubeconfig", str(session.cluster.kubeconfig)]
    with tempfile.TemporaryDirectory() as tmp:
        first, rest = Path(tmp, "0-namespaces.yaml"), Path(tmp, "1-objects.yaml")
        first.write_text(yaml.safe_dump_all([o for o in objects if o["kind"] == "Namespace"]))
        rest.write_text(yaml.safe_dump_all(namespaced))
        start = time.monotonic()
        a = measure.run([*kubectl, "apply", "--server-side", "-f", str(first)], cwd=tmp, env=session.full_env())
        b = measure.run([*kubectl, "apply", "--server-side", "-f", str(rest)], cwd=tmp, env=session.full_env())
        applied = time.monotonic() - start
        if a.returncode or b.returncode:
            raise RuntimeError(f"floor apply failed: {a.stderr[-1500:]}{b.stderr[-1500:]}")
        while not _ready(session.cluster, namespaces):
            if time.monotonic() - start > 3600:
                raise RuntimeError("floor objects not ready after an hour")
            time.sleep(0.5)
        return {"objects": len(objects), "apply_seconds": applied, "ready_seconds": time.monotonic() - start,
                "peak_rss_mb": max(a.peak_rss_mb, b.peak_rss_mb)}


def measure_size(n: int, work: Path) -> dict:
    session = Session.create(f"pegasus-bench-{n}", work / f"state-{n}", volumes=2 * n + 40)
    chain = FakeChain(ChainState(chainlets=[chainlet_record(i) for i in range(n)]), lifetime=4 * 3600)
    try:
        session.start()
        chain.start()
        project = Project(copy_project(work / f"project-{n}"), session.full_env())
        project.init({**E2E_CONFIG, "chain.source": "rest", "chain.endpoint": chain.endpoint, "chain.retries": "1"})
        env, cwd = session.full_env(), project.dir

        def timed(*args: str) -> dict:
            m = measure.run(["pulumi", *args, "--non-interactive"], cwd=cwd, env=env)
            if m.returncode:
                raise RuntimeError(f"pulumi {' '.join(args)} failed:\n{m.stdout[-2000:]}{m.stderr[-2000:]}")
            print(f"  {n:>4} chainlets: pulumi {' '.join(args)}: {m.seconds:.1f}s, {m.peak_rss_mb:.0f} MB", file=sys.stderr)
            return {"seconds": m.seconds, "peak_rss_mb": m.peak_rss_mb}

        result = {"chainlets": n}
        result["preview"] = timed("preview")
        result["up"] = timed("up", "--yes", "--skip-preview")
        result["resources"] = len(project.resources())
        result["noop_up_refresh"] = timed("up", "--yes", "--skip-preview", "--refresh")

        chain.state.chainlets.append(chainlet_record(n))
        from pegasus import names
        new_ns = names.chainlet_namespace(chainlet_record(n)["chainId"])
        start = time.monotonic()
        timed("up", "--yes", "--skip-preview")
        while not _ready(session.cluster, {new_ns}):
            time.sleep(0.5)
        result["new_chainlet_ready_seconds"] = time.monotonic() - start

        sets = [f"{k}={v}" for k, v in E2E_CONFIG.items()] + ["chain.source=rest", f"chain.endpoint={chain.endpoint}"]
        plan = plan_stack(str(project.dir), "dev", None, sets)
        result["floor"] = measure_floor(session, plan)
        print(f"  {n:>4} chainlets: floor {result['floor']['ready_seconds']:.1f}s", file=sys.stderr)
        result["up_over_floor"] = result["up"]["seconds"] / result["floor"]["ready_seconds"]
        result["noop_refresh_over_floor"] = result["noop_up_refresh"]["seconds"] / result["floor"]["ready_seconds"]
        return result
    finally:
        chain.stop()
        session.stop()


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench.e2e", description=__doc__.split("\n\n")[0])
    p.add_argument("--sizes", default="25,100,500")
    p.add_argument("--output", default=str(HERE / "results.json"))
    args = p.parse_args(argv)
    sizes = [int(s) for s in args.sizes.split(",")]
    with tempfile.TemporaryDirectory(prefix="pegasus-bench-e2e-") as tmp:
        rows = [measure_size(n, Path(tmp)) for n in sizes]
    out = Path(args.output)
    doc = json.loads(out.read_text()) if out.exists() else {}
    doc["e2e"] = {"when": datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"), "cpus": os.cpu_count(), "sizes": rows}
    out.write_text(json.dumps(doc, indent=2) + "\n")
    print(table(doc["e2e"]))
    return 0


def table(e2e: dict) -> str:
    lines = [f"Real engine, {e2e['when']} on {e2e['cpus']} CPUs (kwok cluster, fake chain)",
             f"{'chainlets':>9} {'resources':>9} {'preview s':>9} {'up s':>7} {'up MB':>6} {'noop s':>7} "
             f"{'new ready s':>11} {'floor s':>8} {'up/floor':>8} {'noop/floor':>10}"]
    for r in e2e["sizes"]:
        lines.append(f"{r['chainlets']:>9} {r['resources']:>9} {r['preview']['seconds']:>9.1f} {r['up']['seconds']:>7.1f} "
                     f"{r['up']['peak_rss_mb']:>6.0f} {r['noop_up_refresh']['seconds']:>7.1f} {r['new_chainlet_ready_seconds']:>11.1f} "
                     f"{r['floor']['ready_seconds']:>8.1f} {r['up_over_floor']:>8.2f} {r['noop_refresh_over_floor']:>10.2f}")
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
