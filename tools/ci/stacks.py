"""python -m tools.ci.stacks [--skip-paused] [--only STACK]: the stacks one workflow run works on.

Reads the repository variables PEGASUS_STACKS (a JSON list, required: there is no fallback to an
example stack) and PEGASUS_PAUSED (a JSON list of stacks the loop leaves alone), prints the
selection as a JSON list and sets the step output `list`. A paused stack is skipped by the
scheduled reconcile and the deploy on merge; a run dispatched for that one stack still applies it.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys

from tools.ci import CIError, fail, set_output

# Stack names end up in concurrency groups, environment names and URNs.
STACK_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,99}$")
EXAMPLE = '["prod-use1", "prod-euw1"]'


def parse_list(value: str | None, variable: str, *, required: bool) -> list[str]:
    if not (value or "").strip():
        if required:
            raise CIError(
                f"{variable} is not set: set the repository variable {variable} to a JSON list of the stacks this "
                f"repository deploys, e.g. {EXAMPLE} (Settings > Secrets and variables > Actions > Variables)"
            )
        return []
    try:
        names = json.loads(value)
    except json.JSONDecodeError:
        names = None
    if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
        raise CIError(f"{variable} must be a JSON list of stack names, e.g. {EXAMPLE}; got {value!r}")
    for name in names:
        if not STACK_NAME.match(name):
            raise CIError(f"{variable}: {name!r} is not a stack name (letters, digits, '-', '_' and '.')")
    if required and not names:
        raise CIError(f"{variable} is an empty list: name at least one stack, e.g. {EXAMPLE}")
    return list(dict.fromkeys(names))


def select(stacks: str | None, paused: str | None = None, *, only: str = "", skip_paused: bool = False) -> list[str]:
    listed = parse_list(stacks, "PEGASUS_STACKS", required=True)
    if only:
        if only not in listed:
            raise CIError(f"stack {only!r} (the run's stack input) is not in PEGASUS_STACKS {json.dumps(listed)}")
        return [only]
    if not skip_paused:
        return listed
    held = set(parse_list(paused, "PEGASUS_PAUSED", required=False))
    return [s for s in listed if s not in held]


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="python -m tools.ci.stacks", description=__doc__.split("\n\n")[0])
    p.add_argument("--skip-paused", action="store_true", help="leave out the stacks in PEGASUS_PAUSED")
    p.add_argument("--only", default="", help="one stack (a dispatched run's input); empty: all")
    args = p.parse_args(argv)
    try:
        chosen = select(os.environ.get("PEGASUS_STACKS"), os.environ.get("PEGASUS_PAUSED"),
                        only=args.only.strip(), skip_paused=args.skip_paused)
    except CIError as e:
        return fail(str(e))
    held = sorted(set(parse_list(os.environ.get("PEGASUS_STACKS"), "PEGASUS_STACKS", required=True)) - set(chosen))
    if args.skip_paused and held and not args.only:
        print(f"paused, left alone: {', '.join(held)}", file=sys.stderr)
    set_output("list", json.dumps(chosen))
    print(json.dumps(chosen))
    return 0


if __name__ == "__main__":
    sys.exit(main())
