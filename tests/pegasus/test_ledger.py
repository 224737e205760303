"""The slot ledger: pure assignment, reading it from the stack's last state, and whole runs
under mocks where chainlets whose IDs sort first arrive after the others."""

from __future__ import annotations

import pulumi
import pytest

from components.chain import chain_state
from pegasus import ledger
from pegasus.chainstate import ChainStateProvider
from tests.conftest import run, state_of
from tools.fakechain import ChainState, FakeChain, chainlet_record
from tools.plan.runner import ProgramError

CS = "urn:pulumi:dev::pegasus::pulumi-python:dynamic/pegasus:ChainState::chain-state"
ZERO = "0001-01-01T00:00:00Z"  # what SSC reports for chainlets that are not CCV consumers


def test_a_new_chainlet_takes_the_next_never_used_slot():
    assert ledger.assign(None, ["b", "a"]) == {"b": 0, "a": 1}
    assert ledger.assign({"b": 0, "a": 1}, ["0first", "a", "b"]) == {"b": 0, "a": 1, "0first": 2}
    # A vanished chainlet keeps its slot; the next one never reuses it.
    assert ledger.assign({"b": 0, "a": 1, "c": 2}, ["a", "d"]) == {"b": 0, "a": 1, "c": 2, "d": 3}


def test_a_corrupt_ledger_is_an_error_not_a_fresh_start():
    with pytest.raises(ledger.LedgerError, match="chainlets a and b both hold slot 0"):
        ledger.assign({"a": 0, "b": 0.0}, [])
    with pytest.raises(ledger.LedgerError, match=r"the slot of a is -1, not a slot number"):
        ledger.assign({"a": -1}, [])


def cs_record(**outputs):
    return {CS: {"type": ledger.CHAINSTATE_TYPE, "outputs": outputs}}


def test_reading_the_ledger_from_the_state():
    assert ledger.from_stack_resources({}, "s") is None  # a stack never deployed
    assert ledger.from_stack_resources(cs_record(slots={"a": 1.0, "b": 0.0}), "s") == {"a": 1, "b": 0}
    # Import: a record from before the ledger keeps the slots its chainlet entries hold.
    assert ledger.from_stack_resources(cs_record(chainlets={"a": {"slot": 3.0, "shard": 0}}), "s") == {"a": 3}


def test_an_unusable_state_stops_the_run():
    chainlet = {"urn:pulumi:dev::pegasus::pegasus:chainlet:Chainlet::chainlet-a": {"type": ledger.CHAINLET_TYPE, "outputs": {}}}
    with pytest.raises(ledger.LedgerError, match=r"stack s has 1 chainlet\(s\) but no ChainState record"):
        ledger.from_stack_resources(chainlet, "s")
    with pytest.raises(ledger.LedgerError, match="has no slot for chainlet a"):
        ledger.from_stack_resources(cs_record(chainlets={"a": {"shard": 0}}), "s")
    with pytest.raises(ledger.LedgerError, match="came back as str"):
        ledger.from_stack_resources("garbage", "s")


def test_a_failed_state_read_is_reported_not_taken_for_an_empty_ledger(monkeypatch):
    def broken(*_a, **_k):
        raise RuntimeError("backend unreachable")

    monkeypatch.setattr(pulumi.runtime, "invoke", broken)
    monkeypatch.setattr(chain_state.time, "sleep", lambda s: None)
    with pytest.raises(ledger.LedgerError) as e:
        chain_state.last_state()
    assert "could not read the last state of stack" in str(e.value) and "backend unreachable" in str(e.value)
    assert f"{chain_state.READ_ATTEMPTS} attempts" in str(e.value)


def test_a_checkpoint_read_that_meets_a_rewrite_is_retried(monkeypatch):
    """The diy backend answered "failed to load checkpoint: EOF" once during a real first up."""
    answers = [RuntimeError("failed to load checkpoint: EOF"), {"outputs": {}}]
    calls = []

    class Result:
        def __init__(self, value):
            self.value = value

    def flaky(token, args, *_a, **_k):
        calls.append((token, args))
        answer = answers.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return Result(answer)

    monkeypatch.setattr(pulumi.runtime, "invoke", flaky)
    monkeypatch.setattr(chain_state.time, "sleep", lambda s: None)
    assert chain_state.last_state() == {}
    assert [t for t, _ in calls] == [chain_state.READ_STATE] * 2


# ------------------------------------------------------------------ whole runs under mocks


def record(i, zero_spawn=True, **kw):
    r = chainlet_record(i, **kw)
    if zero_spawn:
        r["spawnTime"] = ZERO
    return r


def plan(chain, state=None):
    return run("dev", ["chain.source=rest", f"chain.endpoint={chain.endpoint}", "chain.retries=0"], state=state)


def guard(p):
    [g] = p.by_type(ledger.CHAINSTATE_TYPE)
    return g.inputs


def test_chainlets_sorting_first_take_new_slots_and_nobody_moves():
    # Chainlets 10..13 run; then 0 and 5, whose IDs sort before them, are launched.
    state = ChainState(chainlets=[record(i) for i in (10, 11, 12, 13)], height=100)
    with FakeChain(state) as chain:
        first = plan(chain)
        state.chainlets += [record(0), record(5)]
        state.height = 110
        second = plan(chain, state_of(first))
        fresh = plan(chain)  # the same read without a ledger: the old behaviour
    ids = {i: chainlet_record(i)["chainId"] for i in (0, 5, 10, 11, 12, 13)}
    for i in (10, 11, 12, 13):
        assert second.outputs["chainlets"][ids[i]] == first.outputs["chainlets"][ids[i]]
    assert (second.outputs["chainlets"][ids[0]]["slot"], second.outputs["chainlets"][ids[5]]["slot"]) == (4, 5)
    assert ChainStateProvider().check(guard(first), guard(second)).failures == []
    # Without the ledger the new IDs would shift every slot, and the guard refuses.
    assert fresh.outputs["chainlets"][ids[0]]["slot"] == 0
    assert {f.property for f in ChainStateProvider().check(guard(first), guard(fresh)).failures} == {"slots", "chainlets"}


def test_the_first_run_with_a_ledger_imports_the_recorded_addresses():
    state = ChainState(chainlets=[record(i) for i in (10, 11)], height=100)
    with FakeChain(state) as chain:
        first = plan(chain)
        before = state_of(first)
        [(urn, rec)] = [(u, r) for u, r in before.items() if r["type"] == ledger.CHAINSTATE_TYPE]
        del rec["outputs"]["slots"]  # a state written before the ledger existed
        state.chainlets.insert(0, record(0))
        second = plan(chain, before)
    assert second.outputs["chainlets"][chainlet_record(10)["chainId"]]["slot"] == 0
    assert second.outputs["chainlets"][chainlet_record(0)["chainId"]]["slot"] == 2


def test_an_unreadable_ledger_declares_nothing():
    state = ChainState(chainlets=[record(10)], height=100)
    with FakeChain(state) as chain:
        first = plan(chain)
        broken = {u: r for u, r in state_of(first).items() if r["type"] != ledger.CHAINSTATE_TYPE}
        with pytest.raises(ProgramError) as e:
            plan(chain, broken)
    assert e.value.registered == 0
    assert "but no ChainState record" in str(e.value.cause)
