"""python -m tools.reconcile --stack <platform> [--all] [--parallel N] [--preview] [--refresh]
                             [--watch [--interval 5] [--full-every 600]]

One round: `up` on the platform stack (the ledger first), then `up` on only the shard stacks
whose chainlets or config changed (`--all`: every shard), up to --parallel at once. One line
per stack; the exit status is 1 if any stack failed.

--watch polls the chain every --interval seconds (5, as Saga's own controller) and runs a
round only when the chainlets changed; every --full-every seconds it runs a full round with
--refresh, which catches drift. A failed chain read is reported and changes nothing.
"""

from __future__ import annotations

import argparse
import os
import sys
import time

from pegasus.errors import PegasusError
from tools.reconcile import decide
from tools.reconcile.runner import Reconciler


def _args(argv: list[str]) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m tools.reconcile", description=__doc__.split("\n\n")[1])
    p.add_argument("--stack", required=True, help="the platform stack (chainlets.stacks: sharded)")
    p.add_argument("--cwd", default=".", help="the Pegasus project directory (default: here)")
    p.add_argument("--all", action="store_true", help="run every shard stack, changed or not")
    p.add_argument("--parallel", type=int, default=4, help="shard stacks run at once (default 4)")
    p.add_argument("--preview", action="store_true", help="preview instead of up (pull requests)")
    p.add_argument("--refresh", action="store_true", help="refresh every stack it runs first")
    p.add_argument("--policy-pack", action="append", default=None, help="run this policy pack on every stack")
    p.add_argument("--watch", action="store_true", help="keep polling the chain and reconcile on change")
    p.add_argument("--interval", type=float, default=5.0, help="--watch: seconds between chain polls (default 5)")
    p.add_argument("--full-every", type=float, default=600.0,
                   help="--watch: seconds between full rounds with --refresh (default 600; 0: never)")
    p.add_argument("--rounds", type=int, default=0, help=argparse.SUPPRESS)  # tests and benchmarks: stop after N rounds
    return p.parse_args(argv)


def watch(rec: Reconciler, args: argparse.Namespace, clock=time.monotonic, sleep=time.sleep) -> int:
    last_seen, last_full, rounds, status = None, clock(), 0, 0
    settings = rec.settings()  # a `pulumi config` call: once per round, not once per poll
    while True:
        try:
            view = rec.read_chain(settings)
        except PegasusError as e:
            rec.say(f"chain read failed, nothing changed: {e}")
            view = None
        full = args.full_every > 0 and clock() - last_full >= args.full_every
        if view is not None and (full or decide.fingerprint(view) != last_seen):
            result = rec.round(run_all=args.all or full, refresh=args.refresh or full, view=view)
            status = 0 if result.ok else 1
            rounds += 1
            if result.ok:
                # Only a round that went through marks the read as applied; a failed one is retried.
                last_seen = decide.fingerprint(view)
                if full:
                    last_full = clock()
            if args.rounds and rounds >= args.rounds:
                return status
            settings = result.settings  # what the round read: the config as it is now
        sleep(args.interval)


def main(argv: list[str]) -> int:
    args = _args(argv)
    try:
        # Lines flushed as they come: a watch loop's log is read while it runs.
        rec = Reconciler(args.cwd, args.stack, env=dict(os.environ), parallel=args.parallel,
                         policy_packs=args.policy_pack, say=lambda line: print(line, flush=True))
        if args.watch:
            return watch(rec, args)
        result = rec.round(run_all=args.all, refresh=args.refresh, preview=args.preview)
    except PegasusError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    return 0 if result.ok else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
