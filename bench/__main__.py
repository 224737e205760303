"""python -m bench: every benchmark, side by side in one run, printed as a table and
written to bench/results.json. Each measurement runs in its own process (bench/worker.py).

    python -m bench            # all of them (a few minutes on 2 cores)
    python -m bench --quick    # smaller sizes, for a smoke run (bench/results.quick.json)
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
from datetime import datetime, timezone

from pegasus.config import SHARD_LIMITS

HERE = os.path.dirname(os.path.abspath(__file__))
PROJECT = os.path.dirname(HERE)

# Public list prices used by the cost model (us-east-1, checked for this note; LCU and
# data charges come on top and depend on traffic).
NLB_HOURLY_USD = 0.0225
HOURS_PER_MONTH = 730

TARGETS = {
    "ratio_at_2000": 1.3,
    "read_seconds": 2.0,
    "blast_updated": 4,
}


def measure(*args: object) -> dict:
    out = subprocess.run([sys.executable, "-m", "bench.worker", *map(str, args)], cwd=PROJECT,
                         capture_output=True, text=True, timeout=1800)
    if out.returncode != 0:
        raise RuntimeError(f"bench.worker {' '.join(map(str, args))} failed:\n{out.stderr[-3000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def cost_model(sizes: list[int]) -> list[dict]:
    """Load balancers and listeners per fleet size, with every chainlet online (the maximum)."""
    rows = []
    for n in sizes:
        for cloud in ("eks", "gke"):
            shard = min(25, SHARD_LIMITS[cloud])
            shards = -(-n // shard)
            row = {
                "cloud": cloud, "chainlets": n, "shard_size": shard,
                "load_balancers": shards + 1,  # the shards plus the platform chain's own
                "listeners": n + 1,  # one TCP listener per chainlet, TCP 26656 for the platform chain
                "max_listeners_per_lb": shard,
            }
            if cloud == "eks":
                # The LB controller writes one security group rule per port and source range.
                row["max_sg_rules_per_lb"] = shard
                row["nlb_hours_usd_per_month"] = round(row["load_balancers"] * NLB_HOURLY_USD * HOURS_PER_MONTH, 2)
            else:
                row["forwarding_rules"] = shards + 1  # one protocol: one forwarding rule per LB
            rows.append(row)
    return rows


def linear_fit(points: list[tuple[int, float]]) -> dict:
    xs, ys = [p[0] for p in points], [p[1] for p in points]
    n = len(points)
    mx, my = sum(xs) / n, sum(ys) / n
    slope = sum((x - mx) * (y - my) for x, y in points) / sum((x - mx) ** 2 for x in xs)
    intercept = my - slope * mx
    ss_res = sum((y - (intercept + slope * x)) ** 2 for x, y in points)
    ss_tot = sum((y - my) ** 2 for y in ys)
    return {"seconds_per_chainlet": slope, "intercept": intercept, "r2": 1 - ss_res / ss_tot if ss_tot else 1.0}


def run(quick: bool) -> dict:
    sizes = [20, 100, 200] if quick else [100, 1000, 2000]
    results: dict = {
        "when": datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "machine": {
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "platform": platform.platform(),
            "processor": platform.processor() or platform.machine(),
        },
        "targets": TARGETS,
        "program": [],
    }
    for n in sizes:
        prog = measure("program", n)
        floor = measure("floor", prog["resources"])
        empty = measure("floor", prog["resources"], 1)
        replay = measure("replay", n)
        prog.update({
            "floor_seconds": floor["seconds"],
            "ratio_to_floor": prog["seconds"] / floor["seconds"],
            "empty_floor_seconds": empty["seconds"],
            "ratio_to_empty_floor": prog["seconds"] / empty["seconds"],
            "replay_seconds": replay["seconds"],
            "ratio_to_replay": prog["seconds"] / replay["seconds"],
            "ms_per_resource": 1000 * prog["seconds"] / prog["resources"],
        })
        results["program"].append(prog)
        print(f"  program {n:>5} chainlets: {prog['seconds']:.1f}s", file=sys.stderr)
    results["program_linearity"] = linear_fit([(p["chainlets"], p["seconds"]) for p in results["program"]])
    read_n = 1000 if quick else 10000
    results["chain_read"] = measure("read", read_n, 1000)
    results["blast_radius"] = measure("blast", 60)
    results["blast_radius_envoy_gateway"] = measure("blast", 60, "envoy-gateway")
    results["cost_model"] = cost_model([25, 100, 500, 1000, 2000, 5000])
    return results


def table(results: dict) -> str:
    lines = [f"Pegasus benchmarks, {results['when']} on {results['machine']['cpus']} CPUs, Python {results['machine']['python']}", ""]
    lines.append("Program evaluation (validator stack under Pulumi's mocks)")
    lines.append(f"{'chainlets':>9} {'resources':>9} {'seconds':>8} {'ms/res':>7} {'peak MB':>8} "
                 f"{'floor s':>8} {'ratio':>6} {'empty s':>8} {'ratio':>6} {'replay s':>9} {'ratio':>6}")
    for p in results["program"]:
        lines.append(f"{p['chainlets']:>9} {p['resources']:>9} {p['seconds']:>8.1f} {p['ms_per_resource']:>7.2f} "
                     f"{p['peak_rss_mb']:>8.0f} {p['floor_seconds']:>8.1f} {p['ratio_to_floor']:>6.2f} "
                     f"{p['empty_floor_seconds']:>8.1f} {p['ratio_to_empty_floor']:>6.2f} "
                     f"{p['replay_seconds']:>9.1f} {p['ratio_to_replay']:>6.2f}")
    fit = results["program_linearity"]
    lines.append(f"  linear fit: {fit['seconds_per_chainlet'] * 1000:.1f} ms per chainlet, r2 {fit['r2']:.4f}")
    lines.append("  floor: as many bare resources (minimal typed Deployments, as in PULUMI-OFFLINE.md);"
                 " empty: as many resources with no inputs; replay: the same objects, no program logic")
    lines.append(f"  target: ratio to floor <= {TARGETS['ratio_at_2000']} at the largest size")
    r = results["chain_read"]
    lines.append("")
    lines.append(f"Chain read: {r['chainlets']} chainlets, page limit {r['page_limit']}: {r['seconds']:.2f}s, "
                 f"{r['requests']} requests, peak RSS {r['peak_rss_mb']:.0f} MB (target <= {TARGETS['read_seconds']}s)")
    for key in ("blast_radius", "blast_radius_envoy_gateway"):
        if key not in results:
            continue  # recorded before the envoy-gateway data plane existed
        b = results[key]
        lines.append("")
        lines.append(f"Blast radius, {b.get('provider', 'ingress-nginx')} ({b['chainlets']} chainlets): "
                     "resources whose inputs change, besides the ChainState record")
        for event in ("add", "offline", "back_online"):
            e = b[event]
            lines.append(f"  {event:<12} updated {len(e['updated'])} ({', '.join(e['updated'])}); created {e['created']}, "
                         f"deleted {e['deleted']}, other chainlets touched {e['other_chainlets_touched']}")
    lines.append("")
    lines.append("Cost model (every chainlet online)")
    lines.append(f"{'cloud':>5} {'chainlets':>9} {'LBs':>5} {'listeners':>9} {'max/LB':>6} {'NLB $/month':>11}")
    for c in results["cost_model"]:
        extra = f"{c['nlb_hours_usd_per_month']:>11.2f}" if "nlb_hours_usd_per_month" in c else f"{'-':>11}"
        lines.append(f"{c['cloud']:>5} {c['chainlets']:>9} {c['load_balancers']:>5} {c['listeners']:>9} {c['max_listeners_per_lb']:>6} {extra}")
    return "\n".join(lines)


RECORDED = os.path.join(HERE, "results.json")
QUICK = os.path.join(HERE, "results.quick.json")  # git-ignored


def output_path(quick: bool, output: str | None) -> str:
    """Where a run writes. A quick run never replaces the recorded figures."""
    if not quick:
        return output or RECORDED
    if output and os.path.abspath(output) == os.path.abspath(RECORDED):
        raise ValueError(f"--quick never writes {os.path.relpath(RECORDED, PROJECT)}, which holds the recorded figures; "
                         f"leave --output out (quick runs go to {os.path.relpath(QUICK, PROJECT)}) or name another file")
    return output or QUICK


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench", description=__doc__.split("\n\n")[0])
    p.add_argument("--quick", action="store_true",
                   help=f"small sizes (a smoke run, not the recorded figures), written to {os.path.relpath(QUICK, PROJECT)}")
    p.add_argument("--output", help=f"where to write the results (default: {os.path.relpath(RECORDED, PROJECT)})")
    args = p.parse_args(argv)
    try:
        args.output = output_path(args.quick, args.output)
    except ValueError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    results = run(args.quick)
    print(table(results))
    with open(args.output, "w", encoding="utf-8") as f:
        json.dump(results, f, indent=2)
    print(f"\nwritten to {os.path.relpath(args.output, PROJECT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
