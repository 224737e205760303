"""python -m tools.ci.freshness --stack S --applied-height H [--max-lag-blocks N]: is the control
loop alive?

Every reconcile run applies the chain at its latest height and records it in the stack output
`chainHeight`. A loop that stopped (a disabled schedule, dropped runs, a pause left on, a run
that fails every time) stops moving that output while the chain goes on, so the chain head minus
the last applied height grows. The drift check cannot see this: it pins the chain read to the
last applied height. This check fails when the lag exceeds the limit, and the failure alerts.
"""

from __future__ import annotations

import argparse
import sys

from tools.ci import CIError, fail

DEFAULT_MAX_LAG_BLOCKS = 1000


def verdict(stack: str, head: int, applied: str, max_lag: int) -> tuple[int, str]:
    if not applied.strip().isdigit():
        raise CIError(f"{stack} has no chainHeight output ({applied.strip() or 'empty'}): no reconcile has applied it "
                      "yet, or the backend cannot be read; run the reconcile workflow for it")
    lag = head - int(applied)
    if lag > max_lag:
        return 1, (f"{stack}: the chain is at height {head} but the last applied run read height {applied}, "
                   f"{lag} blocks behind (limit {max_lag}, PEGASUS_MAX_LAG_BLOCKS): the reconcile loop has stopped "
                   "applying. Check the reconcile runs of this stack, PEGASUS_PAUSED, and that the schedule is enabled.")
    return 0, f"{stack}: last applied height {applied}, chain head {head}, {lag} blocks behind (limit {max_lag})"


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="python -m tools.ci.freshness", description=__doc__.split("\n\n")[0])
    p.add_argument("--stack", required=True)
    p.add_argument("--config-file", help="read this stack file instead of Pulumi.<stack>.yaml")
    p.add_argument("--applied-height", required=True, help="`pulumi stack output chainHeight` (may be empty)")
    p.add_argument("--max-lag-blocks", default="", help=f"default {DEFAULT_MAX_LAG_BLOCKS}")
    args = p.parse_args(argv)
    from pegasus.errors import PegasusError
    from tools import chainheight
    from tools.plan.stackfile import UsageError

    limit = args.max_lag_blocks.strip() or str(DEFAULT_MAX_LAG_BLOCKS)
    if not limit.isdigit():
        return fail(f"PEGASUS_MAX_LAG_BLOCKS must be a whole number of blocks; got {args.max_lag_blocks!r}")
    try:
        head = chainheight.latest_height(args.stack, args.config_file)
        code, message = verdict(args.stack, head, args.applied_height, int(limit))
    except (CIError, PegasusError, UsageError) as e:
        return fail(str(e))
    if code:
        return fail(message)
    print(message)
    return 0


if __name__ == "__main__":
    sys.exit(main())
