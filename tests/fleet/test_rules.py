"""The pure rules the program, the agent and the watcher share: desired-capacity resolution
(table-driven and property-based), times, offsets, cron, and the schedule with a frozen clock."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import datetime, timedelta, timezone

import pytest
from hypothesis import given, strategies as st

from components.fleet import capacity, timing
from components.fleet.capacity import resolve

DOC = {"all": 3, "aws": {"all": 2, "eu-central-1": 1}}
T = datetime(2026, 12, 10, 13, tzinfo=timezone.utc)


@pytest.mark.parametrize("value, cloud, region, expected", [
    (3, "aws", "eu-central-1", 3),
    ("3", "gcp", "europe-west3", 3),
    (0, "aws", "x", 0),
    (DOC, "aws", "eu-central-1", 1),           # cloud.region
    (DOC, "aws", "us-east-1", 2),              # cloud.all
    (DOC, "gcp", "europe-west3", 3),           # all
    (json.dumps(DOC), "aws", "eu-central-1", 1),
    ({"aws": 4}, "aws", "us-east-1", 4),       # one number for the whole cloud
    ({"aws": {"eu-central-1": 1}}, "aws", "us-east-1", None),  # nothing applies: leave it
    ({"all": 3, "aws": {"eu-central-1": "x"}}, "aws", "eu-central-1", None),  # the most specific decides, and it is bad
    (-1, "aws", "r", None),
    (2.0, "aws", "r", None),
    ("2.5", "aws", "r", None),
    (True, "aws", "r", None),
    ("true", "aws", "r", None),
    ("", "aws", "r", None),
    ("{not json", "aws", "r", None),
    (None, "aws", "r", None),
    ([3], "aws", "r", None),
    ({"all": None}, "aws", "r", None),
])
def test_resolution_table(value, cloud, region, expected):
    assert resolve(value, cloud, region) == expected


json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-5, 50) | st.floats(allow_nan=False) | st.text(max_size=5),
    lambda children: st.lists(children, max_size=3) | st.dictionaries(
        st.sampled_from(["all", "aws", "gcp", "eu-central-1", "x"]), children, max_size=4),
    max_leaves=10)


@given(json_values, st.sampled_from(["aws", "gcp"]), st.sampled_from(["eu-central-1", "x"]))
def test_resolution_is_a_non_negative_integer_or_leave_it(value, cloud, region):
    n = resolve(value, cloud, region)
    assert n is None or (type(n) is int and n >= 0)
    # The header text of a value resolves as the value does (a string is header text already:
    # "0" is 0, its JSON text '"0"' is a string, not a count).
    if not isinstance(value, str):
        assert resolve(json.dumps(value), cloud, region) == n


@given(st.integers(0, 1000), st.integers(0, 1000), st.integers(0, 1000))
def test_specificity_order(region_n, cloud_n, all_n):
    doc = {"all": all_n, "aws": {"all": cloud_n, "eu-central-1": region_n}}
    assert resolve(doc, "aws", "eu-central-1") == region_n
    assert resolve(doc, "aws", "elsewhere") == cloud_n
    assert resolve(doc, "gcp", "eu-central-1") == all_n


def test_the_script_form_the_agent_calls():
    run = lambda *args: subprocess.run([sys.executable, capacity.__file__, *args], capture_output=True, text=True)
    assert run(json.dumps(DOC), "aws", "eu-central-1").stdout == "1\n"
    leave = run("three", "aws", "eu-central-1")
    assert (leave.returncode, leave.stdout) == (0, "")
    assert run("1").returncode == 2


@pytest.mark.parametrize("text, expected", [
    ("2026-12-10T13:00:00Z", T),
    ("2026-12-10T15:00:00+02:00", T),
    ("2026-12-10t13:00:00.5z", T + timedelta(milliseconds=500)),
])
def test_rfc3339(text, expected):
    assert timing.parse_time(text) == expected


@pytest.mark.parametrize("text", ["2026-12-10", "2026-12-10T13:00:00", "2026-12-10 13:00:00Z", "2026-13-10T13:00:00Z", "now", ""])
def test_not_rfc3339(text):
    with pytest.raises(ValueError):
        timing.parse_time(text)


@pytest.mark.parametrize("text, seconds", [("15m", 900), ("1h30m", 5400), ("90s", 90), ("0m", 0), ("3 minutes", 180),
                                           ("1 hour", 3600), ("10 sec", 10)])
def test_offsets(text, seconds):
    assert timing.parse_offset(text) == timedelta(seconds=seconds)


@pytest.mark.parametrize("text", ["15", "m", "3 weeks", "-5m", "1.5h"])
def test_bad_offsets(text):
    with pytest.raises(ValueError):
        timing.parse_offset(text)


@pytest.mark.parametrize("text", ["*/15 * * * *", "0 13 10 12 *", "0-30/5 1,2,3 * jan-mar mon-fri", "0 0 * * 7"])
def test_cron_valid(text):
    assert len(timing.parse_cron(text)) == 5


@pytest.mark.parametrize("text", ["* * * *", "60 * * * *", "* * 0 * *", "*/0 * * * *", "5-1 * * * *", "* * * foo *"])
def test_cron_invalid(text):
    with pytest.raises(ValueError):
        timing.parse_cron(text)


@pytest.mark.parametrize("text, aws, cron", [
    ("rate(15 minutes)", "rate(15 minutes)", "*/15 * * * *"),
    ("rate(1 minute)", "rate(1 minute)", "* * * * *"),
    ("rate(2 hours)", "rate(2 hours)", "0 */2 * * *"),
    ("*/10 * * * *", "cron(*/10 * * * ? *)", "*/10 * * * *"),
    # EventBridge counts days of the week from 1 = Sunday; Unix cron's 1 is Monday, 0 and 7 Sunday.
    ("0 6 * * mon", "cron(0 6 ? * 2 *)", "0 6 * * mon"),
    ("0 6 * * 1-5", "cron(0 6 ? * 2,3,4,5,6 *)", "0 6 * * 1-5"),
    ("0 6 * * 0", "cron(0 6 ? * 1 *)", "0 6 * * 0"),
    ("0 6 * * 5-7", "cron(0 6 ? * 1,6,7 *)", "0 6 * * 5-7"),
    ("0 6 * * sat,sun", "cron(0 6 ? * 1,7 *)", "0 6 * * sat,sun"),
    ("0 6 * * */2", "cron(0 6 ? * 1,3,5,7 *)", "0 6 * * */2"),
])
def test_watcher_expression_for_both_schedulers(text, aws, cron):
    assert timing.parse_every(text) == timing.Every(aws, cron)


def test_schedule_with_a_frozen_clock():
    stop = T + timedelta(days=7)
    offset = timedelta(minutes=15)
    before = T - timedelta(days=1)
    assert timing.fleet_schedule(T, stop, offset, before) == (
        timing.ScheduledChange("start", T + offset, None), timing.ScheduledChange("stop", stop, 0))
    # The start has passed (offset included): it is not declared again; the stop still is.
    assert timing.fleet_schedule(T, stop, offset, T + offset) == (timing.ScheduledChange("stop", stop, 0),)
    assert timing.fleet_schedule(T, stop, offset, T + timedelta(minutes=10)) == (
        timing.ScheduledChange("start", T + offset, None), timing.ScheduledChange("stop", stop, 0))
    assert timing.fleet_schedule(T, stop, offset, stop) == ()
    assert timing.fleet_schedule("now", stop, offset, before) == (timing.ScheduledChange("stop", stop, 0),)
    assert timing.fleet_schedule("watcher", None, offset, before) == ()


@pytest.mark.parametrize("start, now, desired, expected", [
    ("now", T, 3, 3),
    ("now", T, None, 1),          # leave it: the group's minimum
    ("now", T, 50, 10),           # within maxSize
    ("watcher", T, 3, 1),
    (T, T - timedelta(hours=1), 3, 1),   # starts later: scheduled, the group waits at its minimum
    (T, T + timedelta(hours=1), 3, 3),   # started already
    (T, T + timedelta(days=8), 3, 1),    # stopped already
])
def test_initial_capacity(start, now, desired, expected):
    assert timing.initial_capacity(start, T + timedelta(days=7), timedelta(0), desired, 1, 10, now) == expected


@given(st.sets(st.integers(0, 7), min_size=1))
def test_eventbridge_days_name_the_same_weekdays(days):
    """Each Unix day (0 or 7 Sunday) maps to the EventBridge number of the same weekday name."""
    names = ["SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"]
    field = ",".join(str(d) for d in sorted(days))
    eventbridge = [int(x) for x in timing.eventbridge_days(field).split(",")]
    assert sorted({names[d % 7] for d in days}) == sorted(names[n - 1] for n in eventbridge)
