"""python -m tools.chainheight --stack NAME: print the chain's latest block height, read
through the stack's own chain settings (Pulumi.NAME.yaml).

The freshness check (`tools.ci.freshness`, run by the drift workflow) compares it with the
height the last reconcile applied, to tell whether the control loop is still running.
"""

from __future__ import annotations

import argparse
import os
import sys

PROJECT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def latest_height(stack: str | None, config_file: str | None = None, sets: list[str] | None = None) -> int:
    sys.path.insert(0, PROJECT)
    from pegasus.chain import reader
    from tools.plan.stackfile import assemble

    cfg = assemble(PROJECT, stack, config_file, sets or [])
    chain = cfg.settings().chain
    if chain.source == "snapshot":
        return reader.read_snapshot(chain.snapshot, PROJECT).height
    source = reader.RestSource(chain.endpoint, chain.api_prefix, 1, chain.timeout_seconds, chain.retries)
    return reader.RestReader(source).latest_height()


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="python -m tools.chainheight", description=__doc__.split("\n\n")[0])
    p.add_argument("--stack", help="read Pulumi.STACK.yaml (default: dev, or the name in --config-file)")
    p.add_argument("--config-file", help="read this stack file instead")
    p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                   help="override config as tools.plan does, e.g. --set chain.endpoint=https://api.example.org")
    args = p.parse_args(argv)
    from pegasus.errors import PegasusError
    from tools.plan.stackfile import UsageError

    try:
        print(latest_height(args.stack, args.config_file, args.set))
    except UsageError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    except PegasusError as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
