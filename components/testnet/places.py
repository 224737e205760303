"""Checks across a testnet's regions that config.py runs once every region is parsed: where
each region is (for `ha` and for the seeds), and whether configured alert receivers reach an
Alertmanager this stack installs.

A region's place: an eks or gke cluster this stack builds is where its cloud region says. An
`existing` or `stack` cluster is known to Pegasus only by a kubeconfig context or another
stack's output, and three contexts can be three kind clusters on one laptop. The kubeconfig is
never read at plan time (the kubernetes provider reads it), so with `ha` such a region must say
where it is (`testnet.regions[].place`, any label: a cloud region, a data centre, a site), and
two regions with one place are one place.
"""

from __future__ import annotations

import re
from typing import Any, Optional

from pegasus.config.validator import AlertingSettings
from pegasus.errors import ConfigError
from components.testnet.settings import Region, TestnetSettings, installs_monitoring

_PLACE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9 ._/-]{0,62}$")
# Cluster providers whose location Pegasus cannot read from config.
UNLOCATED = ("existing", "stack")


def parse_place(key: str, raw: Any) -> Optional[str]:
    if raw is None:
        return None
    if not isinstance(raw, str) or not _PLACE.match(raw):
        raise ConfigError(key, f"{raw!r} is not a place label (letters, digits, space . _ / -, at most 63), like dc-frankfurt-1 or us-east-1")
    return raw


def place(region: Region) -> str:
    c = region.cluster
    if region.provider not in UNLOCATED and c is not None and c.region:
        return f"{c.provider} {c.region}"
    return region.place or region.name


def check_places(key: str, regions: tuple[Region, ...], ha: bool) -> None:
    """With ha, every existing or shared-cluster region names its place, and no two regions
    share one: distinct places, not distinct names or contexts."""
    if not ha:
        return
    for i, r in enumerate(regions):
        if r.provider in UNLOCATED and r.place is None:
            raise ConfigError(f"testnet.regions[{i}].place", f"is required with ha: Pegasus cannot tell where region {r.name}'s cluster "
                              f"(provider {r.provider}) runs, and three contexts may be one machine; name its site, like dc-frankfurt-1")
    seen: dict[str, str] = {}
    for i, r in enumerate(regions):
        p = place(r)
        if p in seen:
            raise ConfigError(f"testnet.regions[{i}].place" if r.provider in UNLOCATED else key,
                              f"regions {seen[p]} and {r.name} are both in {p}, one place for ha; put them in distinct places or set ha false")
        seen[p] = r.name


def check_alert_receivers(testnet: TestnetSettings, alerting: AlertingSettings) -> None:
    """Receivers (Slack, PagerDuty) are configured on the Alertmanager of the kube-prometheus-stack
    this stack installs; set where no region installs one, they would reach no Alertmanager."""
    if not (alerting.slack_webhook_url or alerting.pagerduty_routing_key):
        return
    if not any(installs_monitoring(testnet, r) for r in testnet.regions):
        raise ConfigError("alerting", "has receivers but no region installs the monitoring stack, so no Alertmanager would get them; "
                          "set testnet.monitoringStack true, or route the testnet's alerts in your own Alertmanager and unset alerting")
