"""python -m bench.state [N ...]: how much the state bucket grows per day under the reconcile loop.

There is no backend here, so this is a lower bound built from the offline plan of the dev stack
with N chainlets (default 100 and 1,000). A checkpoint (compact JSON, as the self-managed backend
writes it) holds every resource with its inputs and outputs. A Kubernetes resource's outputs are
the live object plus a copy of its inputs (`__inputs`, pulumi-kubernetes `checkpointObject`), so
its inputs are counted three times; what only the API server adds (status, managedFields, uid,
resourceVersion) is left out, as are cloud outputs beyond their inputs.

Per update, pulumi/pkg/backend/diy writes `.pulumi/history/<stack>-<ns>.history.json` and a copy
of the checkpoint beside it (`addToHistory`), plus one more copy in `.pulumi/backups/` unless
PULUMI_DIY_BACKEND_DISABLE_CHECKPOINT_BACKUPS is set (`backupStack`); `<stack>.json` and its
`.bak` are overwritten in place. The reconcile ticks 12 times an hour, so at most 288 updates a day.
"""

from __future__ import annotations

import gzip
import json
import os
import sys
import tempfile

from bench.worker import PROJECT, snapshot

UPDATES_PER_DAY = 12 * 24
STAMP = "2030-01-01T00:00:00.000000000Z"


def checkpoint(plan) -> dict:
    resources = []
    for i, r in enumerate(plan.resources):
        outputs = r.inputs
        if r.custom and r.type.startswith("kubernetes:") and not r.type.startswith("pulumi:providers:"):
            outputs = {**r.inputs, "__inputs": r.inputs, "__initialApiVersion": r.inputs.get("apiVersion", ""),
                       "__fieldManager": "pulumi-kubernetes-0123abcd"}
        entry = {"urn": r.urn, "custom": r.custom, "type": r.type, "inputs": r.inputs, "outputs": outputs,
                 "parent": r.parent, "dependencies": r.options.get("dependsOn") or [], "created": STAMP, "modified": STAMP}
        if r.custom:
            entry.update(id=f"id-{i:06d}", provider=r.provider)
        resources.append(entry)
    return {"version": 3, "checkpoint": {"stack": f"organization/{plan.project}/{plan.stack}", "latest": {
        "manifest": {"time": STAMP, "magic": "0" * 64, "version": "v3.274.1"}, "resources": resources}}}


def measure(n: int) -> dict:
    from tools.plan.runner import plan_stack

    with tempfile.TemporaryDirectory() as tmp:
        plan = plan_stack(PROJECT, "dev", None, [f"chain.snapshot={snapshot(n, os.path.join(tmp, 'chain.json'))}"])
    raw = json.dumps(checkpoint(plan), separators=(",", ":")).encode()
    size, gz = len(raw), len(gzip.compress(raw, 6))
    history = 4_000  # the update record: kind, times, message, config, resource change counts
    return {"chainlets": n, "resources": len(plan.resources) + 1, "checkpoint_mb": size / 1e6, "gzip_mb": gz / 1e6,
            "day_gb_with_backups": UPDATES_PER_DAY * (2 * size + history) / 1e9,
            "day_gb_without_backups": UPDATES_PER_DAY * (size + history) / 1e9,
            "day_gb_without_backups_gzip": UPDATES_PER_DAY * (gz + history) / 1e9}


def main(argv: list[str]) -> int:
    sizes = [int(a) for a in argv] or [100, 1000]
    print("| chainlets | resources | checkpoint | gzipped | per day, backups on | backups off | backups off, gzip |")
    print("|---|---|---|---|---|---|---|")
    for n in sizes:
        m = measure(n)
        print(f"| {n:,} | {m['resources']:,} | {m['checkpoint_mb']:.1f} MB | {m['gzip_mb']:.2f} MB | "
              f"{m['day_gb_with_backups']:.2f} GB | {m['day_gb_without_backups']:.2f} GB | {m['day_gb_without_backups_gzip']:.2f} GB |")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
