"""python -m tools.e2e up | down | status

  eval "$(venv/bin/python -m tools.e2e up)"   # build or find the toolchain, start the cluster, print exports
  pulumi stack init dev && pulumi up          # the real path (docs/blueprints/validator.md), against the local cluster
  venv/bin/python -m tools.e2e down           # stop every process `up` started
"""

from __future__ import annotations

import argparse
import sys

from tools.e2e.cluster import ClusterError
from tools.e2e.session import Session
from tools.e2e.toolchain import ToolchainError


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m tools.e2e", description=__doc__.split("\n\n")[0],
                                epilog=__doc__.split("\n\n", 1)[1], formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("command", choices=("up", "down", "status", "env"))
    p.add_argument("--name", default="pegasus-e2e", help="cluster name (default: %(default)s)")
    p.add_argument("--nodes", type=int, default=3, help="fake nodes (default: %(default)s)")
    p.add_argument("--volumes", type=int, default=64, help="statically provisioned volumes (default: %(default)s)")
    args = p.parse_args(argv)
    try:
        session = Session.create(args.name, nodes=args.nodes, volumes=args.volumes)
        if args.command == "up":
            if any(session.cluster.running().values()):
                print(f"cluster {args.name} is already running; `python -m tools.e2e down` stops it", file=sys.stderr)
            else:
                session.start()
            sys.stdout.write(session.exports())
            print(f"# cluster {args.name} is up; `python -m tools.e2e down` stops it", file=sys.stderr)
        elif args.command == "env":
            sys.stdout.write(session.exports())
        elif args.command == "down":
            killed = session.stop(forget_state=True)
            print(f"cluster {args.name} stopped and its stack state removed" + (f"; had to kill {', '.join(killed)}" if killed else ""))
        else:
            running = session.cluster.running()
            if not running:
                print(f"cluster {args.name}: not running")
            for name, alive in sorted(running.items()):
                print(f"{name}: {'running' if alive else 'stopped'}")
    except (ToolchainError, ClusterError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
