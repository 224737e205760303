"""tools.reconcile: which shard stacks a round runs, and the watch loop's timing of rounds.
The Automation API runs themselves are proven on the real engine (tests/e2e/test_sharded_e2e.py)."""

from __future__ import annotations

import argparse
import dataclasses

import pytest

from pegasus import sharding
from pegasus.chain import reader
from pegasus.chain.model import OFFLINE
from pegasus.errors import ChainReadError
from tools.reconcile import decide
from tools.reconcile.__main__ import watch

VIEW = reader.read("snapshot", snapshot="chain/snapshot.dev.json")
IDS = [c.chain_id for c in VIEW.chainlets]


def platform_outputs(view=VIEW, size=2):
    members = {}
    for slot, c in enumerate(view.chainlets):
        members.setdefault(str(slot // size), {})[c.chain_id] = {"slot": slot, "shard": slot // size}
    return {sharding.STACKS_OUTPUT: [sharding.shard_stack_name("dev", int(i)) for i in sorted(members, key=int)],
            sharding.MEMBERS_OUTPUT: members}


def applied(view=VIEW, size=2, config="cfg"):
    """Each shard stack's outputs after it applied `view`."""
    out = {}
    for i, members in platform_outputs(view, size)[sharding.MEMBERS_OUTPUT].items():
        out[sharding.shard_stack_name("dev", int(i))] = {
            sharding.DIGESTS_OUTPUT: decide.expected_digests(view, members), sharding.CONFIG_DIGEST_OUTPUT: config}
    return out


def reasons(decisions):
    return {d.stack: d.reason for d in decisions if d.reason}


def test_nothing_changed_runs_no_shard():
    assert reasons(decide.decide(platform_outputs(), VIEW, "cfg", applied())) == {}


def test_a_changed_chainlet_runs_only_its_shard():
    changed = dataclasses.replace(VIEW, chainlets=tuple(
        dataclasses.replace(c, status=OFFLINE) if c.chain_id == IDS[3] else c for c in VIEW.chainlets))
    got = reasons(decide.decide(platform_outputs(), changed, "cfg", applied()))
    assert got == {"dev-shard-1": f"1 chainlet(s) changed: {IDS[3]}"}


def test_a_new_image_is_a_change_of_that_chainlet():
    changed = dataclasses.replace(VIEW, images={**VIEW.images, IDS[5]: VIEW.images[IDS[5]] + "-rc"})
    assert set(reasons(decide.decide(platform_outputs(), changed, "cfg", applied()))) == {"dev-shard-2"}


def test_a_new_chainlet_in_the_ledger_runs_its_shard_and_a_new_shard_is_created():
    grown = dataclasses.replace(VIEW, chainlets=VIEW.chainlets + (dataclasses.replace(VIEW.chainlets[0], chain_id="new_1-1"),),
                                images={**VIEW.images, "new_1-1": VIEW.images[IDS[0]]})
    got = reasons(decide.decide(platform_outputs(grown), grown, "cfg", {**applied(), "dev-shard-3": None}))
    assert got == {"dev-shard-3": "new shard stack"}


def test_config_changes_run_every_shard_and_all_runs_every_shard():
    assert set(reasons(decide.decide(platform_outputs(), VIEW, "other", applied()))) == {"dev-shard-0", "dev-shard-1", "dev-shard-2"}
    assert set(reasons(decide.decide(platform_outputs(), VIEW, "cfg", applied(), run_all=True))) == {
        "dev-shard-0", "dev-shard-1", "dev-shard-2"}


def test_the_fingerprint_ignores_the_height_and_sees_the_chainlets():
    assert decide.fingerprint(VIEW) == decide.fingerprint(dataclasses.replace(VIEW, height=VIEW.height + 7))
    assert decide.fingerprint(VIEW) != decide.fingerprint(dataclasses.replace(VIEW, chainlets=VIEW.chainlets[:-1]))


def test_change_lines():
    assert decide.change_line("dev-shard-2", {"same": 9, "create": 4, "update": 1}, 12.34) == "dev-shard-2: 4 create, 1 update (12.3 s)"
    assert decide.change_line("dev", {"same": 28}, 6.9, "platform") == "dev: no changes (6.9 s) [platform]"
    # A shard stack reads its StackReference on every run: that is no change.
    assert decide.change_line("dev-shard-0", {"same": 13, "read": 1}, 5.5) == "dev-shard-0: no changes (5.5 s)"


# -- the watch loop, with a stand-in for the Automation API runs (they are e2e-tested)

class Rounds:
    def __init__(self, reads):
        self.reads = list(reads)
        self.calls = []
        self.lines = []

    def say(self, line):
        self.lines.append(line)

    def settings(self):
        return None

    def read_chain(self, _settings):
        item = self.reads.pop(0)
        if isinstance(item, Exception):
            raise item
        return item

    def round(self, *, run_all, refresh, view):
        self.calls.append((view.height, run_all, refresh))

        class Result:
            ok = True
            settings = None
        return Result()


class Clock:
    def __init__(self):
        self.now = 0.0

    def __call__(self):
        return self.now

    def sleep(self, seconds):
        self.now += seconds


def _args(**kw):
    return argparse.Namespace(**{"all": False, "refresh": False, "interval": 5.0, "full_every": 600.0, **kw})


def test_watch_runs_a_round_only_when_the_chainlets_change_and_never_on_a_failed_read():
    later = dataclasses.replace(VIEW, height=VIEW.height + 1)
    changed = dataclasses.replace(VIEW, height=VIEW.height + 2, chainlets=VIEW.chainlets[:-1])
    rec, clock = Rounds([VIEW, later, ChainReadError("down"), changed]), Clock()
    assert watch(rec, _args(rounds=2), clock=clock, sleep=clock.sleep) == 0
    assert rec.calls == [(VIEW.height, False, False), (changed.height, False, False)]
    assert rec.lines == ["chain read failed, nothing changed: down"]


def test_watch_runs_a_full_refresh_round_when_it_is_due():
    rec, clock = Rounds([VIEW] * 4), Clock()
    assert watch(rec, _args(rounds=2, full_every=12.0), clock=clock, sleep=clock.sleep) == 0
    assert rec.calls == [(VIEW.height, False, False), (VIEW.height, True, True)]
    assert clock.now == pytest.approx(15.0)


def test_a_failed_stack_is_reported_by_the_programs_own_error_line():
    from pulumi.automation._cmd import CommandResult
    from pulumi.automation.errors import CommandError

    from tools.reconcile.runner import _error_line

    out = ("Updating (dev):\n    pulumi:pulumi:Stack pegasus-dev running error: pegasus:chain.endpoint: answered 503\n"
           "Diagnostics:\n  pulumi:pulumi:Stack (pegasus-dev):\n    error: pegasus:chain.endpoint: answered 503\n"
           "    error: an unhandled error occurred: program exited with non-zero exit code: 1\n")
    assert _error_line(CommandError(CommandResult(stdout=out, stderr="error: update failed", code=255))) == \
        "error: pegasus:chain.endpoint: answered 503"
    # A program that stops while registrations are in flight makes the engine say so first.
    stopped = ("    error: Resource monitor has terminated, shutting down\n" + out)
    assert _error_line(CommandError(CommandResult(stdout=stopped, stderr="", code=255))) == \
        "error: pegasus:chain.endpoint: answered 503"


# -- shard outputs are read again only for stacks updated since their last read

class Backend:
    """`stack ls` and `stack output` of a backend whose stacks the test updates."""

    def __init__(self, stacks):
        self.stacks = dict(stacks)  # name -> (last update, outputs)
        self.reads = []

    def keys(self):
        return {n: (t, len(o or {})) if t else None for n, (t, o) in self.stacks.items()}

    def read(self, name):
        self.reads.append(name)
        return self.stacks[name][1]

    def update(self, name, t, outputs):
        self.stacks[name] = (t, outputs)


def test_shard_outputs_are_read_once_and_again_only_after_an_update():
    from tools.reconcile.runner import ShardOutputs

    backend = Backend({"dev": ("t0", {"ledger": 1}), "dev-shard-0": ("t1", {"a": 1}), "dev-shard-1": ("t1", {"b": 1}),
                       "dev-shard-2": (None, None), "other-shard-0": ("t1", {"c": 1})})
    cache = ShardOutputs(backend.keys, backend.read, parallel=2)
    is_shard = lambda name: name.startswith("dev-shard-")  # noqa: E731
    assert cache.get(is_shard) == {"dev-shard-0": {"a": 1}, "dev-shard-1": {"b": 1}, "dev-shard-2": None}
    assert sorted(backend.reads) == ["dev-shard-0", "dev-shard-1", "dev-shard-2"]

    backend.reads.clear()
    backend.update("dev-shard-1", "t2", {"b": 2})
    assert cache.get(is_shard) == {"dev-shard-0": {"a": 1}, "dev-shard-1": {"b": 2}, "dev-shard-2": None}
    # A stack that never ran has no last update: it is read every time, as it may have run since.
    assert sorted(backend.reads) == ["dev-shard-1", "dev-shard-2"]

    backend.reads.clear()
    del backend.stacks["dev-shard-0"]
    assert cache.get(is_shard) == {"dev-shard-1": {"b": 2}, "dev-shard-2": None}
    assert backend.reads == ["dev-shard-2"]
