"""python -m tools.ci.override --stack S 'KEY=VALUE': a one-run config override.

A dispatched reconcile can carry one override, e.g. `chainlets.maxRemovals=3` to let a guard
pass once (see docs/operations.md, "How to override a guard safely"). It is set with
`pulumi config set --path KEY VALUE` in the run's own checkout, so it applies to that run and
is never committed: the next run reads the stack file as it is on `main` again.

pulumi/actions' `config-map` input cannot do this: it sets keys without `--path`, so
`chainlets.maxRemovals` would become a flat key the program refuses.
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys

from pegasus.config.keys import KEYS_BY_PATH
from tools.ci import CIError, fail


def parse(text: str) -> tuple[str, str]:
    key, sep, value = text.strip().partition("=")
    key, value = key.strip(), value.strip()
    if not sep or not key or not value:
        raise CIError(f"the override must look like KEY=VALUE, e.g. chainlets.maxRemovals=3; got {text!r}")
    # `--path` also takes list elements (`cluster.adminRoleArns[0]`): the key is what precedes them.
    known = KEYS_BY_PATH.get(re.sub(r"\[[0-9]+\]$", "", key))
    if known is None:
        raise CIError(f"{key!r} is not a Pegasus config key (see the config reference in docs/config.md)")
    if known.secret:
        raise CIError(f"{key} is a secret, and a workflow input is logged in plain text: set it with "
                      f"`pulumi config set --secret --path {key} ...` and commit the encrypted value instead")
    return key, value


def command(stack: str, key: str, value: str) -> list[str]:
    return ["pulumi", "config", "set", "--path", key, value, "--stack", stack]


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="python -m tools.ci.override", description=__doc__.split("\n\n")[0])
    p.add_argument("--stack", required=True)
    p.add_argument("--dry-run", action="store_true", help="print the command instead of running it")
    p.add_argument("override", help="KEY=VALUE")
    args = p.parse_args(argv)
    try:
        key, value = parse(args.override)
    except CIError as e:
        return fail(str(e))
    cmd = command(args.stack, key, value)
    print(f"one-run override on {args.stack}: {key} = {value}")
    if args.dry_run:
        print(" ".join(cmd))
        return 0
    return subprocess.run(cmd).returncode


if __name__ == "__main__":
    sys.exit(main())
