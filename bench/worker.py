"""One measurement per process, so that peak memory is the measurement's own.

python -m bench.worker program N | floor N | read N LIMIT | blast N [PROVIDER]
Prints one JSON object.
"""

from __future__ import annotations

import json
import os
import resource
import sys
import tempfile
import time

PROJECT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, PROJECT)


def rss_mb() -> float:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


def peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def snapshot(n: int, path: str, offline_every: int = 5, extra: int = 0, offline: tuple = ()) -> str:
    from tools.fakechain import chainlet_record, stack_record

    records = [chainlet_record(i, online=(i % offline_every != 0) and i not in offline) for i in range(n + extra)]
    with open(path, "w") as f:
        json.dump({"height": 1000, "Chainlets": records, "ChainletStacks": [stack_record()]}, f)
    return path


def program(n: int) -> dict:
    from tools.plan.runner import plan_stack

    with tempfile.TemporaryDirectory() as tmp:
        path = snapshot(n, os.path.join(tmp, "chain.json"))
        before = rss_mb()
        start = time.perf_counter()
        plan = plan_stack(PROJECT, "dev", None, [f"chain.snapshot={path}"])
        wall = time.perf_counter() - start
    return {"chainlets": n, "seconds": wall, "resources": len(plan.resources) + 1,  # + the Stack
            "peak_rss_mb": peak_mb(), "rss_before_mb": before}


def floor(count: int, empty: int = 0) -> dict:
    from tools.plan.runner import run_plan
    from tools.plan.stackfile import StackConfig

    cfg = StackConfig("pegasus", "bench", {"bench:count": str(count), "bench:kind": "empty" if empty else "deployment"})
    start = time.perf_counter()
    plan = run_plan(PROJECT, cfg, main=os.path.join("bench", "floor_program.py"))
    wall = time.perf_counter() - start
    return {"resources": len(plan.resources) + 1, "seconds": wall, "peak_rss_mb": peak_mb()}


def replay(n: int) -> dict:
    """Register the objects of the n-chainlet plan again with no program logic in between."""
    from tools.plan.runner import plan_stack, run_plan
    from tools.plan.stackfile import StackConfig

    with tempfile.TemporaryDirectory() as tmp:
        path = snapshot(n, os.path.join(tmp, "chain.json"))
        plan = plan_stack(PROJECT, "dev", None, [f"chain.snapshot={path}"])
        capture = os.path.join(tmp, "capture.json")
        with open(capture, "w") as f:
            json.dump([{"type": r.type, "name": r.name, "custom": r.custom,
                        "inputs": {k: v for k, v in r.raw_inputs.items() if k != "__provider"}}
                       for r in plan.resources if not r.type.startswith(("pulumi:providers:", "pulumi-python:dynamic"))], f)
        cfg = StackConfig("pegasus", "bench", {"bench:capture": capture})
        start = time.perf_counter()
        replayed = run_plan(PROJECT, cfg, main=os.path.join("bench", "replay_program.py"))
        wall = time.perf_counter() - start
    return {"chainlets": n, "resources": len(replayed.resources) + 1, "seconds": wall}


def read(n: int, limit: int) -> dict:
    from pegasus.chain.reader import RestSource, read_rest
    import multiprocessing as mp

    parent, child = mp.Pipe()
    server = mp.get_context("fork").Process(target=_serve, args=(n, child), daemon=True)
    server.start()
    endpoint = parent.recv()
    try:
        before = rss_mb()
        start = time.perf_counter()
        view, stats = read_rest(RestSource(endpoint, page_limit=limit, timeout_seconds=30))
        wall = time.perf_counter() - start
        assert len(view.chainlets) == n
    finally:
        server.terminate()
        server.join(5)
    return {"chainlets": n, "page_limit": limit, "seconds": wall, "requests": stats.requests,
            "peak_rss_mb": peak_mb(), "rss_before_mb": before}


def _serve(n: int, conn) -> None:
    from tools.fakechain import ChainState, FakeChain, chainlet_record

    state = ChainState(chainlets=[chainlet_record(i) for i in range(n)])
    with FakeChain(state, lifetime=600) as chain:
        conn.send(chain.endpoint)
        time.sleep(600)


def blast(n: int, provider: str = "ingress-nginx") -> dict:
    """Which resources change when one chainlet is added, goes offline, or comes back, with
    either p2p data plane (ingress.provider)."""
    from tools.plan.diff import diff, short
    from tools.plan.runner import plan_stack

    target = n // 2  # a chainlet in the middle of a shard
    with tempfile.TemporaryDirectory() as tmp:
        def plan(**kw):
            path = snapshot(n, os.path.join(tmp, f"{len(os.listdir(tmp))}.json"), **kw)
            return plan_stack(PROJECT, "dev", None, [f"chain.snapshot={path}", f"ingress.provider={provider}"])

        base = plan(offline_every=10**9)
        added = plan(offline_every=10**9, extra=1)
        offline = plan(offline_every=10**9, offline=(target,))
    from tools.fakechain import chainlet_record

    def summary(before, after, subject: str) -> dict:
        d = diff(before, after)
        own = lambda u: subject in u  # noqa: E731
        others = [u for u in d.touched if "chainlet-" in short(u) and not own(u)]
        updated = [u for u in d.updated if short(u) != "chain-state"]
        return {
            "updated": sorted(short(u) for u in updated),
            "created": len(d.created),
            "deleted": len(d.deleted),
            "chain_state_updated": any(short(u) == "chain-state" for u in d.updated),
            "other_chainlets_touched": len(others),
        }

    new_id = chainlet_record(n)["chainId"]
    target_id = chainlet_record(target)["chainId"]
    return {
        "chainlets": n,
        "provider": provider,
        "add": summary(base, added, new_id),
        "offline": summary(base, offline, target_id),
        "back_online": summary(offline, base, target_id),
    }


def main() -> None:
    kind, args = sys.argv[1], [int(a) if a.isdigit() else a for a in sys.argv[2:]]
    result = {"program": program, "floor": floor, "replay": replay, "read": read, "blast": blast}[kind](*args)
    print(json.dumps(result))


if __name__ == "__main__":
    main()
