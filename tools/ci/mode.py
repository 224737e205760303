"""python -m tools.ci.mode --stack STACK: is this stack the platform of a sharded fleet?

Reads `pegasus:chainlets` in the stack's file, Pulumi.<stack>.yaml, and sets the step output
`sharded` to true or false. A sharded stack is applied and previewed with
`python -m tools.reconcile` (the platform, then only the shard stacks that change) instead of
one `pulumi up` (docs/sharding.md).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import yaml

from tools.ci import CIError, fail, set_output


def sharded(stack_file: Path) -> bool:
    if not stack_file.exists():
        return False  # a stack without a file in the repository: its config lives in the backend, single mode
    try:
        doc = yaml.safe_load(stack_file.read_text()) or {}
    except yaml.YAMLError as e:
        raise CIError(f"{stack_file} is not valid YAML ({e}); fix the file") from None
    chainlets = ((doc.get("config") or {}) if isinstance(doc, dict) else {}).get("pegasus:chainlets") or {}
    return isinstance(chainlets, dict) and chainlets.get("stacks") == "sharded"


def main(argv: list[str]) -> int:
    p = argparse.ArgumentParser(prog="python -m tools.ci.mode", description=__doc__.split("\n\n")[0])
    p.add_argument("--stack", required=True)
    p.add_argument("--dir", default=".")
    args = p.parse_args(argv)
    try:
        value = sharded(Path(args.dir) / f"Pulumi.{args.stack}.yaml")
    except CIError as e:
        return fail(str(e))
    set_output("sharded", "true" if value else "false")
    print(f"{args.stack}: {'sharded (tools.reconcile)' if value else 'one stack (pulumi up)'}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
