"""Helpers the GitHub workflows run (`python3 -m tools.ci.<name>`).

They hold the decisions the workflows make, so that those decisions are tested like any other
code instead of living in shell. Everything here but `freshness` uses the standard library
only: the workflows run it with the runner's python3, before the program's virtualenv exists.
"""

from __future__ import annotations

import os
import sys


class CIError(Exception):
    """A problem the run must stop on; the message says what to fix."""


def fail(message: str) -> int:
    # An `::error::` line becomes an annotation on the run's summary page.
    if os.environ.get("GITHUB_ACTIONS") == "true":
        print(f"::error::{message}")
    print(f"error: {message}", file=sys.stderr)
    return 1


def set_output(name: str, value: str) -> None:
    """A step output (`steps.<id>.outputs.<name>`); printed when not run by GitHub Actions."""
    path = os.environ.get("GITHUB_OUTPUT")
    if path:
        with open(path, "a") as f:
            f.write(f"{name}={value}\n")
    else:
        print(f"{name}={value}")
