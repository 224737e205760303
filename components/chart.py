"""A pinned Helm chart: plain data, so that builders can name their charts."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional


@dataclass(frozen=True)
class Chart:
    """A chart at an exact version, and the release name it is installed under."""

    release: str
    chart: str  # a chart name in `repo`, or an oci:// reference
    version: str
    repo: Optional[str] = None
