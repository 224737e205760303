"""python -m bench.sharded: sharded mode on the real engine (pegasus/sharding.py, tools/reconcile).

For each size (a fresh kwok cluster each), with the fake chain over HTTP:
- full create: one reconcile round (the platform, then every shard stack, --parallel at once);
- a no-op reconcile round (the platform runs, no shard stack does);
- two new chainlets on chain -> each one's StatefulSet ready, with `python -m tools.reconcile
  --watch` running (polling every --interval seconds): the first opens a new shard stack when
  the size is a multiple of the shard size, the second joins an existing shard;
- the stacks one chainlet's arrival touched;
- the peak memory of any one `pulumi` run (the CLI and everything it starts: language host,
  program, plugins), sampled from /proc;
- the floor: `kubectl apply --server-side` of the same objects (bench/e2e.py), in the same run, in
  a fresh cluster of its own (beside a 2,000-chainlet fleet, its load balancers do not fit the
  NodePort range).

    venv/bin/python -m bench.sharded --sizes 100,500 [--parallel 2]

Merges the figures into bench/results.json under "sharded". Benchmarks are not tests: nothing
here asserts a target; docs/benchmarks.md compares the figures with them.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
from datetime import datetime, timezone
from pathlib import Path

from bench.e2e import E2E_CONFIG, _ready, measure_floor
from pegasus import names
from tools.e2e.measure import tree_rss_kb
from tools.e2e.project import Project, copy_project
from tools.e2e.session import Session
from tools.fakechain import ChainState, FakeChain, chainlet_record
from tools.plan.runner import plan_stack
from tools.reconcile.runner import Reconciler

HERE = Path(__file__).resolve().parent


class PulumiPeaks:
    """Peak RSS of each `pulumi` process tree started below this process (by the Automation API)."""

    def __init__(self, interval: float = 0.25):
        self.interval = interval
        self.peaks: dict[int, int] = {}
        self.cpu: dict[int, tuple[str, float]] = {}  # pid -> (what, CPU seconds at its last sample)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _pulumi_roots(self) -> list[int]:
        out, stack = [], [os.getpid()]
        from tools.e2e.measure import _children

        while stack:
            pid = stack.pop()
            for child in _children(pid):
                try:
                    exe = Path(f"/proc/{child}/cmdline").read_bytes().split(b"\0")[0]
                except OSError:
                    continue
                if exe.endswith(b"pulumi"):
                    out.append(child)  # its tree counts as one run
                else:
                    stack.append(child)
        return out

    def _run(self) -> None:
        while not self._stop.is_set():
            for pid in self._pulumi_roots():
                self.peaks[pid] = max(self.peaks.get(pid, 0), tree_rss_kb(pid))
                self._sample_cpu(pid)
            self._stop.wait(self.interval)

    def _sample_cpu(self, root: int) -> None:
        from tools.e2e.measure import _children

        stack, tick = [root], os.sysconf("SC_CLK_TCK")
        while stack:
            pid = stack.pop()
            try:
                stat = Path(f"/proc/{pid}/stat").read_text()
                argv = [a.decode(errors="replace") for a in Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0") if a]
            except OSError:
                continue
            fields = stat[stat.rindex(")") + 2:].split()
            seconds = (int(fields[11]) + int(fields[12])) / tick  # utime + stime
            self.cpu[pid] = (_what(argv), seconds)
            stack += _children(pid)

    def take_cpu(self) -> dict[str, float]:
        """CPU seconds by kind of process since the last take (processes seen by the sampler)."""
        out: dict[str, float] = {}
        for what, seconds in self.cpu.values():
            out[what] = out.get(what, 0.0) + seconds
        self.cpu.clear()
        return {k: round(v, 1) for k, v in sorted(out.items(), key=lambda kv: -kv[1])}

    def __enter__(self) -> "PulumiPeaks":
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()

    def take_mb(self) -> float:
        peak = max(self.peaks.values(), default=0) / 1024
        self.peaks.clear()
        return peak


def _what(argv: list[str]) -> str:
    """The part of a `pulumi up` a process is: the engine (CLI), the language host, the program,
    a provider plugin, the dynamic-provider host."""
    if not argv:
        return "?"
    exe = Path(argv[0]).name
    args = [a for a in argv[1:] if not a.startswith("-")]
    if exe.startswith("python") and args:
        script = Path(args[0]).name
        if "dynamic" in " ".join(argv) or script.startswith("pulumi-resource-pulumi-python"):
            return "dynamic provider (python)"
        return f"program (python {script})"
    if exe == "pulumi":
        return "engine (pulumi CLI)"
    return exe


def measure_size(n: int, work: Path, parallel: int) -> dict:
    session = Session.create(f"pegasus-bench-sharded-{n}", work / f"state-{n}", volumes=2 * n + 40)
    chain = FakeChain(ChainState(chainlets=[chainlet_record(i) for i in range(n)]), lifetime=6 * 3600)
    watcher, stopped = None, False
    try:
        session.start()
        chain.start()
        project = Project(copy_project(work / f"project-{n}"), session.full_env())
        config = {**E2E_CONFIG, "chain.source": "rest", "chain.endpoint": chain.endpoint, "chain.retries": "1"}
        project.init({**config, "chainlets.stacks": "sharded"})
        lines: list[str] = []
        rec = Reconciler(str(project.dir), "dev", env=project.env, parallel=parallel, say=lines.append)
        result: dict = {"chainlets": n, "parallel": parallel}
        with PulumiPeaks() as peaks:
            start = time.monotonic()
            first = rec.round()
            result["create_seconds"] = time.monotonic() - start
            if not first.ok:
                raise RuntimeError("\n".join(lines[-20:]))
            result["shard_stacks"] = len(first.shards)
            # The platform's first run installs the Helm releases, which the floor leaves out.
            result["create_platform_seconds"] = first.platform.seconds
            result["create_shards_seconds"] = result["create_seconds"] - first.platform.seconds
            result["create_peak_rss_mb"] = peaks.take_mb()
            result["create_cpu_seconds"] = peaks.take_cpu()
            print(f"  {n:>4} chainlets: CPU by process kind {result['create_cpu_seconds']}", file=sys.stderr)
            print(f"  {n:>4} chainlets: create {result['create_seconds']:.1f}s over {len(first.shards)} shard stacks, "
                  f"peak {result['create_peak_rss_mb']:.0f} MB per run", file=sys.stderr)
            start = time.monotonic()
            noop = rec.round()
            result["noop_seconds"] = time.monotonic() - start
            result["noop_touched"] = noop.touched
            result["noop_peak_rss_mb"] = peaks.take_mb()
            result["noop_cpu_seconds"] = peaks.take_cpu()
            print(f"  {n:>4} chainlets: no-op round {result['noop_seconds']:.1f}s, touched {noop.touched}", file=sys.stderr)

        # A new chainlet with the watch loop running, as an operator runs it.
        log = open(work / f"watch-{n}.log", "w")
        watcher = subprocess.Popen([sys.executable, "-m", "tools.reconcile", "--stack", "dev", "--watch", "--interval", "5",
                                    "--full-every", "0", "--cwd", str(project.dir)], cwd=str(project.dir), env=project.env,
                                   stdout=log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 1800
        while "round done" not in (work / f"watch-{n}.log").read_text():  # its first round is done
            if watcher.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("the watch loop stopped: " + (work / f"watch-{n}.log").read_text()[-2000:])
            time.sleep(1)
        # The first new chainlet opens a shard stack when n is a multiple of the shard size (the
        # rarer case: one arrival in 25); the second joins that shard, as most arrivals do.
        for key, index in (("new_chainlet", n), ("next_chainlet", n + 1)):
            seconds, lines_seen = _new_chainlet(session, chain, work / f"watch-{n}.log", index)
            result[f"{key}_ready_seconds"], result[f"{key}_lines"] = seconds, lines_seen
            print(f"  {n:>4} chainlets: chainlet {index} ready in {seconds:.1f}s: {lines_seen}", file=sys.stderr)
        watcher.send_signal(signal.SIGTERM)
        watcher.wait(timeout=120)
        watcher = None

        # The floor applies what one stack would declare for the same chain (every chainlet object)
        # in a fresh cluster of its own: beside the fleet, 2,000 chainlets' load balancers twice
        # do not fit the API server's NodePort range.
        sets = [f"{k}={v}" for k, v in config.items()] + ["chainlets.stacks=single"]
        plan = plan_stack(str(project.dir), "dev", None, sets)
        chain.stop()
        session.stop()
        stopped = True
        result["floor"] = _floor_in_fresh_cluster(n, work, plan)
        floor = result["floor"]["ready_seconds"]
        result["create_over_floor"] = result["create_seconds"] / floor
        result["shards_over_floor"] = result["create_shards_seconds"] / floor
        result["noop_over_floor"] = result["noop_seconds"] / floor
        print(f"  {n:>4} chainlets: floor {floor:.1f}s", file=sys.stderr)
        return result
    finally:
        if watcher is not None:
            watcher.kill()
        if not stopped:
            chain.stop()
            session.stop()


def _floor_in_fresh_cluster(n: int, work: Path, plan) -> dict:
    session = Session.create(f"pegasus-bench-floor-{n}", work / f"floor-{n}", volumes=2 * n + 40)
    try:
        session.start()
        # The CRDs the platform's charts would have installed (ScrapeConfig and the rest), untimed.
        crds = Path(__file__).resolve().parent.parent / "schemas" / "crds"
        session.cluster.kubectl("apply", "--server-side", "-f", str(crds))
        return measure_floor(session, plan)
    finally:
        session.stop()


def _new_chainlet(session: Session, chain: FakeChain, log: Path, index: int) -> tuple[float, list[str]]:
    """Seconds from chainlet `index` appearing on chain to its StatefulSet ready, and the watch
    loop's lines for that round."""
    before = len(log.read_text())
    record = chainlet_record(index)
    chain.state.chainlets.append(record)
    start = time.monotonic()
    ns = names.chainlet_namespace(record["chainId"])
    while not (session.cluster.get("statefulset", "-n", ns)["items"] and _ready(session.cluster, {ns})):
        if time.monotonic() - start > 1800:
            raise RuntimeError(f"chainlet {index} was not ready after 30 minutes")
        time.sleep(0.5)
    seconds = time.monotonic() - start
    deadline = time.monotonic() + 600
    while "round done" not in log.read_text()[before:] and time.monotonic() < deadline:
        time.sleep(0.5)
    return seconds, [ln for ln in log.read_text()[before:].splitlines() if ln.strip()]


def table(doc: dict) -> str:
    lines = [f"Sharded mode, real engine, {doc['when']} on {doc['cpus']} CPUs (kwok cluster, fake chain)",
             f"{'chainlets':>9} {'stacks':>6} {'create s':>9} {'platform s':>10} {'peak MB':>8} {'noop s':>7} "
             f"{'new ready s':>11} {'next ready s':>12} {'floor s':>8} {'create/floor':>12} {'shards/floor':>12} {'noop/floor':>10}"]
    for r in doc["sizes"]:
        lines.append(f"{r['chainlets']:>9} {r['shard_stacks'] + 1:>6} {r['create_seconds']:>9.1f} "
                     f"{r['create_platform_seconds']:>10.1f} {max(r['create_peak_rss_mb'], r['noop_peak_rss_mb']):>8.0f} "
                     f"{r['noop_seconds']:>7.1f} {r['new_chainlet_ready_seconds']:>11.1f} "
                     f"{r.get('next_chainlet_ready_seconds', float('nan')):>12.1f} {r['floor']['ready_seconds']:>8.1f} "
                     f"{r['create_over_floor']:>12.2f} {r['shards_over_floor']:>12.2f} {r['noop_over_floor']:>10.2f}")
    return "\n".join(lines)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench.sharded", description=__doc__.split("\n\n")[0])
    p.add_argument("--sizes", default="100,500")
    p.add_argument("--parallel", type=int, default=2)
    p.add_argument("--output", default=str(HERE / "results.json"))
    args = p.parse_args(argv)
    rows = []
    with tempfile.TemporaryDirectory(prefix="pegasus-bench-sharded-") as tmp:
        for n in (int(s) for s in args.sizes.split(",")):
            rows.append(measure_size(n, Path(tmp), args.parallel))
    out = Path(args.output)
    doc = json.loads(out.read_text()) if out.exists() else {}
    sharded = doc.get("sharded") or {"sizes": []}
    kept = [r for r in sharded.get("sizes", []) if r["chainlets"] not in {r2["chainlets"] for r2 in rows}]
    doc["sharded"] = {"when": datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"), "cpus": os.cpu_count(),
                      "sizes": sorted(kept + rows, key=lambda r: r["chainlets"])}
    out.write_text(json.dumps(doc, indent=2) + "\n")
    print(table(doc["sharded"]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
