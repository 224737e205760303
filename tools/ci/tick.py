"""python -m tools.ci.tick: what one reconcile run does before it touches its stack.

- Skip a stale scheduled tick. Runs on one stack queue behind each other (`queue: max`), and a
  run can take longer than the 5-minute interval, so scheduled ticks pile up behind a long one.
  A tick that waited a whole interval has a newer tick behind it that will apply the same `main`,
  so it steps aside instead of repeating the update. Pushes and dispatched runs never skip, and
  neither does the hourly refresh tick.
- Refresh or not. `pulumi up --refresh` re-reads every resource, so it runs on the hourly tick
  (REFRESH_CRON) unless the repository variable PEGASUS_REFRESH is `every-run`; a dispatched run
  follows its `refresh` input; a deploy on merge does not refresh.

Sets the step outputs `skip` and `refresh` (true/false).
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from dataclasses import dataclass

from tools.ci import CIError, fail, set_output

TICK_CRON = "7-57/5 * * * *"  # with REFRESH_CRON: every 5 minutes, off the top of the hour
REFRESH_CRON = "2 * * * *"
TICK_SECONDS = 300
REFRESH_MODES = ("hourly", "every-run")


@dataclass(frozen=True)
class Tick:
    skip: bool
    refresh: bool
    reason: str


def decide(event: str, schedule: str, queued_at: int, now: int, refresh_mode: str = "", dispatch_refresh: str = "") -> Tick:
    mode = refresh_mode.strip() or "hourly"
    if mode not in REFRESH_MODES:
        raise CIError(f"PEGASUS_REFRESH must be one of {', '.join(REFRESH_MODES)} (unset means hourly); got {refresh_mode!r}")
    if event == "workflow_dispatch":
        refresh = dispatch_refresh.strip().lower() == "true"
        return Tick(False, refresh, f"dispatched by hand, refresh {'on' if refresh else 'off'}")
    if event == "schedule":
        refresh = schedule == REFRESH_CRON or mode == "every-run"
        waited = now - queued_at
        if schedule != REFRESH_CRON and waited >= TICK_SECONDS:
            return Tick(True, refresh, f"this tick waited {waited} s behind another run on the stack; the newer tick queued behind it applies main instead")
        return Tick(False, refresh, f"scheduled tick ({schedule}), refresh {'on' if refresh else 'off'}")
    refresh = mode == "every-run"
    return Tick(False, refresh, f"{event}: apply main, refresh {'on' if refresh else 'off'}")


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="python -m tools.ci.tick", description=__doc__.split("\n\n")[0])
    p.add_argument("--event", required=True, help="github.event_name")
    p.add_argument("--schedule", default="", help="github.event.schedule (the cron that fired)")
    p.add_argument("--queued-at", type=int, required=True, help="epoch seconds when the run was triggered")
    p.add_argument("--dispatch-refresh", default="", help="the dispatched run's refresh input")
    args = p.parse_args(argv)
    try:
        tick = decide(args.event, args.schedule, args.queued_at, int(time.time()),
                      os.environ.get("PEGASUS_REFRESH", ""), args.dispatch_refresh)
    except CIError as e:
        return fail(str(e))
    print(tick.reason)
    set_output("skip", str(tick.skip).lower())
    set_output("refresh", str(tick.refresh).lower())
    return 0


if __name__ == "__main__":
    sys.exit(main())
