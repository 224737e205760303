"""When GKE may upgrade the network's nodes: `spacemesh.maintenance`, a recurring window and
exclusions on the cluster's maintenance policy.

Every GKE node upgrade drains the node and restarts the smeshers on it; in a release channel
auto-upgrade cannot be turned off, so these two knobs are what decides when that happens. The
policy is a cluster setting (it covers every pool), passed to the Cluster component.

Names and values are pulumi-gcp's (container.Cluster maintenance_policy: recurring_window
{start_time, end_time, recurrence}, maintenance_exclusions [{exclusion_name, start_time,
end_time, exclusion_options {scope, end_time_behavior}}], at most 20 exclusions); the scope
and end-time-behaviour values and the RRULE limits are GKE's (container.v1
MaintenanceExclusionOptions, RecurringTimeWindow). A test checks both.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Optional

from pegasus.config.fields import _Section, _describe
from pegasus.errors import ConfigError

# container.v1 MaintenanceExclusionOptions.scope. The default stops what restarts miners:
# node pool upgrades (and minor upgrades); control plane patches still happen.
SCOPES = ("NO_UPGRADES", "NO_MINOR_UPGRADES", "NO_MINOR_OR_NODE_UPGRADES")
DEFAULT_SCOPE = "NO_MINOR_OR_NODE_UPGRADES"
MAX_EXCLUSIONS = 20  # pulumi-gcp ClusterMaintenancePolicy.maintenance_exclusions
# RecurringTimeWindow.recurrence: "The FREQ values of HOURLY, MINUTELY, and SECONDLY are not supported."
_FREQ = re.compile(r"^FREQ=(DAILY|WEEKLY|MONTHLY|YEARLY)(;[A-Z]+=[A-Z0-9,+-]+)*$")
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9 _.-]{0,62}$")


@dataclass(frozen=True)
class Window:
    start: str
    end: str
    recurrence: str


@dataclass(frozen=True)
class Exclusion:
    name: str
    start: str
    end: Optional[str]  # None: until the end of support of the cluster's version
    scope: str


@dataclass(frozen=True)
class Maintenance:
    window: Optional[Window]
    exclusions: tuple[Exclusion, ...]


def _time(key: str, value) -> str:
    from components.spacemesh.node_config import utc

    if not isinstance(value, str):
        raise ConfigError(key, f"must be an RFC 3339 time like 2026-01-03T02:00:00Z, got {_describe(value)}")
    utc(key, value)
    return value


def _before(start_key: str, start: str, end_key: str, end: str) -> None:
    from components.spacemesh.node_config import utc

    if utc(end_key, end) <= utc(start_key, start):
        raise ConfigError(end_key, f"{end} is not after {start_key} {start}; a window ends after it starts")


def parse_maintenance(s: _Section, provider: str) -> Optional[Maintenance]:
    raw = s.get("maintenance", dict)
    if raw is None:
        return None
    key = s.key("maintenance")
    bad = sorted(set(raw) - {"window", "exclusions"})
    if bad:
        raise ConfigError(f"{key}.{bad[0]}", "unknown key; use window and exclusions")
    if provider != "gke":
        raise ConfigError(key, "is a GKE cluster setting; on an existing cluster its upgrades are yours to schedule, remove it")
    window = None
    if raw.get("window") is not None:
        w, wk = raw["window"], f"{key}.window"
        if not isinstance(w, dict) or set(w) != {"start", "end", "recurrence"}:
            raise ConfigError(wk, "must be {start, end, recurrence}: the first window's RFC 3339 start and end and an RRULE, "
                                  "like {start: 2026-01-03T02:00:00Z, end: 2026-01-03T08:00:00Z, recurrence: FREQ=WEEKLY;BYDAY=SA}")
        start, end = _time(f"{wk}.start", w["start"]), _time(f"{wk}.end", w["end"])
        _before(f"{wk}.start", start, f"{wk}.end", end)
        if not isinstance(w["recurrence"], str) or not _FREQ.match(w["recurrence"]):
            raise ConfigError(f"{wk}.recurrence", f"{w['recurrence']!r} is not an RRULE GKE takes; write it like FREQ=WEEKLY;BYDAY=SA "
                                                  "(FREQ DAILY, WEEKLY, MONTHLY or YEARLY)")
        window = Window(start, end, w["recurrence"])
    items = raw.get("exclusions") or []
    if not isinstance(items, list) or len(items) > MAX_EXCLUSIONS:
        raise ConfigError(f"{key}.exclusions", f"must be a list of at most {MAX_EXCLUSIONS} exclusions (GKE's limit)")
    exclusions, seen = [], set()
    for i, e in enumerate(items):
        ek = f"{key}.exclusions[{i}]"
        if not isinstance(e, dict) or set(e) - {"name", "start", "end", "untilEndOfSupport", "scope"}:
            raise ConfigError(ek, "must be {name, start, end or untilEndOfSupport: true, scope}")
        name = e.get("name")
        if not isinstance(name, str) or not _NAME.match(name) or name in seen:
            raise ConfigError(f"{ek}.name", f"must be a unique name of letters, digits, spaces, '_', '.' or '-', got {_describe(name)}")
        seen.add(name)
        start = _time(f"{ek}.start", e.get("start"))
        until_eos = e.get("untilEndOfSupport", False)
        if not isinstance(until_eos, bool) or until_eos == ("end" in e):
            raise ConfigError(ek, "needs exactly one of end and untilEndOfSupport: true (GKE takes one end per exclusion)")
        end = None
        if not until_eos:
            end = _time(f"{ek}.end", e["end"])
            _before(f"{ek}.start", start, f"{ek}.end", end)
        scope = e.get("scope", DEFAULT_SCOPE)
        if scope not in SCOPES:
            raise ConfigError(f"{ek}.scope", f"{scope!r} is not a GKE exclusion scope; use one of {', '.join(SCOPES)}")
        exclusions.append(Exclusion(name, start, end, scope))
    if window is None and not exclusions:
        raise ConfigError(key, "sets neither window nor exclusions; set one, or remove it")
    return Maintenance(window, tuple(exclusions))


def maintenance_policy(m: Optional[Maintenance]) -> Optional[dict]:
    """pulumi-gcp's container.Cluster maintenance_policy (its wire names, as the rest of the
    cluster's arguments are written), or None: GKE's default, any time."""
    if m is None:
        return None
    policy: dict = {}
    if m.window is not None:
        policy["recurringWindow"] = {"startTime": m.window.start, "endTime": m.window.end, "recurrence": m.window.recurrence}
    if m.exclusions:
        policy["maintenanceExclusions"] = [
            {"exclusionName": e.name, "startTime": e.start,
             **({"endTime": e.end} if e.end else {}),
             "exclusionOptions": {"scope": e.scope, **({} if e.end else {"endTimeBehavior": "UNTIL_END_OF_SUPPORT"})}}
            for e in m.exclusions]
    return policy
