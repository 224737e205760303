"""A pinned Helm chart: plain data, so that builders can name their charts, and where a
release finds it: its repository, or a local mirror of packaged charts (`charts.localDir`)."""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Iterable, Optional

from pegasus.errors import ConfigError


@dataclass(frozen=True)
class Chart:
    """A chart at an exact version, and the release name it is installed under."""

    release: str
    chart: str  # a chart name in `repo`, or an oci:// reference
    version: str
    repo: Optional[str] = None

    @property
    def archive(self) -> str:
        """The file `helm pull` writes for this chart: <name>-<version>.tgz."""
        return f"{self.chart.rstrip('/').rsplit('/', 1)[-1]}-{self.version}.tgz"


def release_source(chart: Chart, local_dir: Optional[str]) -> dict:
    """The helm.v3.Release inputs that locate a chart. With a local mirror the release loads
    the archive itself, so no repository or registry is contacted; the version stays in the
    inputs, so a version bump is still a visible diff."""
    if local_dir is None:
        return {"chart": chart.chart, "version": chart.version,
                "repository_opts": {"repo": chart.repo} if chart.repo else None}
    return {"chart": os.path.join(local_dir, chart.archive), "version": chart.version}


def missing_archives(charts: Iterable[Chart], local_dir: str, base_dir: str) -> list[str]:
    """The archives a stack needs that the mirror lacks (checked before anything is declared)."""
    folder = os.path.join(base_dir, local_dir)
    return sorted({c.archive for c in charts if not os.path.isfile(os.path.join(folder, c.archive))})


def check_mirror(charts: Iterable[Chart], local_dir: Optional[str], base_dir: str) -> None:
    """Refuse a `charts.localDir` that lacks an archive the stack installs, before anything is
    declared: a Helm release failing half way through an `up` leaves a partial stack."""
    if local_dir is None:
        return
    missing = missing_archives(charts, local_dir, base_dir)
    if missing:
        raise ConfigError(
            "charts.localDir",
            f"{local_dir} lacks {', '.join(missing)}; put the packaged charts there "
            "(`helm pull <chart> --version <v>` writes <chart>-<v>.tgz) or unset charts.localDir",
        )
