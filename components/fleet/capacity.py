"""Desired-capacity resolution, shared verbatim by the program, the agent and the watcher.

A value is an integer, or an object like {"all": 3, "aws": {"all": 2, "eu-central-1": 1}}:
for one group, the most specific entry present decides (cloud.region, then cloud.all, then
all). Anything that is not a non-negative integer (a string, a float, a boolean, a negative
number, malformed JSON, nothing present) means "leave the capacity as it is": a typo in the
control center must never scale a fleet to zero.

Standard library only. Run as a script: `python3 capacity.py VALUE CLOUD REGION` prints the
resolved integer, or nothing for "leave it", and always exits 0.
"""

from __future__ import annotations

import json
import sys
from typing import Any, Optional

_ABSENT = object()


def _count(value: Any) -> Optional[int]:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        return None
    return value


def resolve(value: Any, cloud: str, region: str) -> Optional[int]:
    """The desired capacity of the group in `cloud`/`region`, or None for "leave it".
    `value` may be the decoded form or its text (a control-center header)."""
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            return None
    if not isinstance(value, dict):
        return _count(value)
    picked = _ABSENT
    entry = value.get(cloud, _ABSENT)
    if isinstance(entry, dict):
        picked = entry.get(region, entry.get("all", _ABSENT))
    elif entry is not _ABSENT:
        # {"aws": 2}: one number for the whole cloud.
        picked = entry
    if picked is _ABSENT:
        picked = value.get("all", _ABSENT)
    return None if picked is _ABSENT else _count(picked)


def main(argv: list[str]) -> int:
    if len(argv) != 3:
        print("usage: capacity.py VALUE CLOUD REGION", file=sys.stderr)
        return 2
    n = resolve(argv[0], argv[1], argv[2])
    if n is not None:
        print(n)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
