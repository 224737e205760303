"""Times, offsets, cron and rate expressions, and the schedule a fleet gets: pure functions
with the clock passed in, so "a time already past is not scheduled again" is testable."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Optional, Union

_RFC3339 = re.compile(
    r"^(\d{4})-(\d{2})-(\d{2})[Tt](\d{2}):(\d{2}):(\d{2})(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$"
)


def parse_time(text: str) -> datetime:
    """An RFC 3339 time (2026-12-10T13:00:00Z, or with an offset), as an aware UTC datetime.
    Raises ValueError for anything else, a date alone or a time without a zone included."""
    if not isinstance(text, str) or not _RFC3339.match(text):
        raise ValueError(f"{text!r} is not an RFC 3339 time; write it like 2026-12-10T13:00:00Z")
    try:
        value = datetime.fromisoformat(text.upper().replace("Z", "+00:00"))
    except ValueError:
        raise ValueError(f"{text!r} is not a valid date and time; write it like 2026-12-10T13:00:00Z") from None
    return value.astimezone(timezone.utc)


def format_time(value: datetime) -> str:
    return value.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


_UNITS = {"s": 1, "sec": 1, "second": 1, "m": 60, "min": 60, "minute": 60, "h": 3600, "hour": 3600}
_COMPACT = re.compile(r"^(?:\d+[smh])+$")
_PART = re.compile(r"(\d+)([smh])")
_WORDS = re.compile(r"^(\d+)\s+(sec|second|min|minute|hour)s?$")


def parse_offset(text: str) -> timedelta:
    """`15m`, `1h30m`, `90s` (the config form) or `3 minutes` (document 004's control-center form)."""
    t = text.strip().lower() if isinstance(text, str) else ""
    if _COMPACT.match(t):
        return timedelta(seconds=sum(int(n) * _UNITS[u] for n, u in _PART.findall(t)))
    m = _WORDS.match(t)
    if m:
        return timedelta(seconds=int(m.group(1)) * _UNITS[m.group(2)])
    raise ValueError(f"{text!r} is not a duration; write it like 90s, 15m, 1h30m or `3 minutes`")


# field: (lowest, highest, names)
_CRON_FIELDS = (
    ("minute", 0, 59, ()),
    ("hour", 0, 23, ()),
    ("day of month", 1, 31, ()),
    ("month", 1, 12, ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec")),
    ("day of week", 0, 7, ("sun", "mon", "tue", "wed", "thu", "fri", "sat")),
)


def _cron_value(token: str, lo: int, names: tuple) -> int:
    if token.isdigit():
        return int(token)
    if token.lower() in names:
        return names.index(token.lower()) + lo
    raise ValueError(token)


def parse_cron(text: str) -> tuple[str, ...]:
    """A 5-field cron expression (minute hour day-of-month month day-of-week; `*`, lists,
    ranges, steps, month and weekday names), returned as its fields. Raises ValueError naming
    the bad field."""
    fields = text.split() if isinstance(text, str) else []
    if len(fields) != 5:
        raise ValueError(f"{text!r} is not a cron expression: it needs 5 fields (minute hour day-of-month month day-of-week)")
    for value, (label, lo, hi, names) in zip(fields, _CRON_FIELDS):
        for item in value.split(","):
            base, _, step = item.partition("/")
            try:
                if step and (not step.isdigit() or not 1 <= int(step) <= hi):
                    raise ValueError(step)
                if base != "*":
                    first, _, last = base.partition("-")
                    a = _cron_value(first, lo, names)
                    b = _cron_value(last, lo, names) if last else a
                    if not (lo <= a <= hi and lo <= b <= hi and a <= b):
                        raise ValueError(base)
            except ValueError:
                raise ValueError(f"{text!r}: the {label} field {value!r} is not valid cron ({lo}-{hi})") from None
    return tuple(fields)


_RATE = re.compile(r"^rate\((\d+) (minute|minutes|hour|hours|day|days)\)$")


@dataclass(frozen=True)
class Every:
    """How often the watcher runs, as AWS EventBridge Scheduler and GCP Cloud Scheduler want it."""

    aws: str  # rate(...) or cron(...) with 6 fields
    cron: str  # unix-cron, 5 fields (Cloud Scheduler)


def parse_every(text: str) -> Every:
    m = _RATE.match(text.strip()) if isinstance(text, str) else None
    if m:
        n, unit = int(m.group(1)), m.group(2).rstrip("s")
        if n == 0:
            raise ValueError(f"{text!r}: the rate must be at least 1")
        singular = f"rate({n} {unit}{'s' if n != 1 else ''})"
        if unit == "minute" and 60 % n == 0:
            return Every(singular, f"*/{n} * * * *" if n > 1 else "* * * * *")
        if unit == "hour" and 24 % n == 0:
            return Every(singular, f"0 */{n} * * *" if n > 1 else "0 * * * *")
        if unit == "day" and n == 1:
            return Every(singular, "0 0 * * *")
        raise ValueError(f"{text!r} has no cron equivalent for Cloud Scheduler; use minutes dividing 60 or hours dividing 24")
    minute, hour, dom, month, dow = parse_cron(text)
    # EventBridge cron has a year field and wants `?` in one of the two day fields.
    if dow == "*":
        dow = "?"
    elif dom == "*":
        dom = "?"
        dow = eventbridge_days(dow)
    else:
        raise ValueError(f"{text!r}: EventBridge cron cannot set both day-of-month and day-of-week")
    return Every(f"cron({minute} {hour} {dom} {month} {dow} *)", text.strip())


def unix_days(field: str) -> list[int]:
    """A Unix cron day-of-week field (0-7, 0 and 7 Sunday, names, ranges, steps) as the days it
    selects, 0 = Sunday to 6 = Saturday."""
    _, lo, hi, names = _CRON_FIELDS[4]
    days = set()
    for item in field.split(","):
        base, _, step = item.partition("/")
        if base == "*":
            first, last = lo, hi
        else:
            a, _, b = base.partition("-")
            first = _cron_value(a, lo, names)
            last = _cron_value(b, lo, names) if b else (hi if step else first)
        days.update(d % 7 for d in range(first, last + 1, int(step) if step else 1))
    return sorted(days)


def eventbridge_days(field: str) -> str:
    """The same days in EventBridge's numbering, 1 = Sunday to 7 = Saturday (AWS's cron
    reference: day-of-week `1-7 or SUN-SAT`), where Unix cron's 1 is Monday."""
    return ",".join(str(d + 1) for d in unix_days(field))


@dataclass(frozen=True)
class ScheduledChange:
    """A one-time change of every group's capacity. capacity None: each group's resolved
    desired capacity."""

    name: str  # start | stop
    at: datetime
    capacity: Optional[int]


Start = Union[str, datetime]  # "now", "watcher" or a time


def fleet_schedule(start: Start, stop: Optional[datetime], offset: timedelta, now: datetime) -> tuple[ScheduledChange, ...]:
    """The scheduled actions to declare now. A time that has passed is left out: the cloud
    ran it already (AWS deletes a one-time action once it ran), and declaring it again would
    either be refused or scale a running fleet back."""
    out = []
    if isinstance(start, datetime) and start + offset > now:
        out.append(ScheduledChange("start", start + offset, None))
    if stop is not None and stop > now:
        out.append(ScheduledChange("stop", stop, 0))
    return tuple(out)


def one_shot_cron(at: datetime) -> str:
    """GCP's extended cron with the optional sixth field, the year: the scaling schedule fires
    once, at `at` (UTC minute), and never again (AutoscalingPolicyScalingSchedule.schedule in
    the Compute API: "can describe a single timestamp if the optional year is set")."""
    at = at.astimezone(timezone.utc)
    return f"{at.minute} {at.hour} {at.day} {at.month} * {at.year}"


def initial_capacity(start: Start, stop: Optional[datetime], offset: timedelta, desired: Optional[int], min_size: int,
                     max_size: int, now: datetime) -> int:
    """A new group's capacity. Only a group's creation uses it: desired capacity carries
    ignoreChanges, so an update never resets a running fleet (to zero or to anything)."""
    if stop is not None and stop <= now:
        return min_size
    running = start == "now" or (isinstance(start, datetime) and start + offset <= now)
    if not running or desired is None:
        return min_size
    return min(max(desired, min_size), max_size)
