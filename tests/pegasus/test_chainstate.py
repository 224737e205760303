"""The ChainState dynamic provider, called directly: check, diff, read and serialization."""

from __future__ import annotations

import base64
import json
import subprocess
import sys
import textwrap

from pulumi.dynamic.dynamic import serialize_provider

from pegasus import chainstate, ledger
from pegasus.chain.model import build_view
from pegasus.chainstate import ChainStateProvider
from pegasus.config import ChainletSettings, ChainSettings, IngressSettings, Resources
from tests.conftest import PROJECT
from tools.fakechain import ChainState, FakeChain, chainlet_record, stack_record


def props(n=4, offline=(), height=100, shard_size=25, base_port=1025, drop=(), prev=None, **flags):
    """The guard inputs of one run; `prev` is the ledger read from the last state (None: none)."""
    recs = [chainlet_record(i, online=i not in offline) for i in range(n) if i not in drop]
    view = build_view(height, "t", recs, [stack_record()])
    slots = ledger.assign(prev, [c.chain_id for c in view.chainlets])
    chain = ChainSettings("rest", "http://127.0.0.1:1", "/ssc/chainlet", 100, 10, 3, None)
    ingress = IngressSettings(shard_size, base_port, 20000, None, 2, "existing")
    chainlets = ChainletSettings(flags.get("max_removals", 0), flags.get("allow_slot_changes", False),
                                 flags.get("allow_height_regression", False), Resources("1", "1Gi", "1", "1Gi"), "1Gi", "/data")
    return chainstate.guard_config(chain, ingress, chainlets, view, slots)


def failures(olds, news):
    return [(f.property, f.reason) for f in ChainStateProvider().check(olds, news).failures]


def test_first_run_has_nothing_to_protect():
    assert failures({}, props()) == []


def test_a_normal_update_passes():
    assert failures(props(height=100), props(n=5, offline={1}, height=120)) == []


def test_height_regression_is_refused_with_the_override_named():
    [(prop, reason)] = failures(props(height=120), props(height=100))
    assert prop == "height"
    assert reason.startswith(
        "the chain was read at height 100, below height 120 applied last time: the node behind http://127.0.0.1:1 is stale or lagging"
    )
    assert "`pulumi config set --path chainlets.allowHeightRegression true`" in reason
    assert failures(props(height=120), props(height=100, allow_height_regression=True)) == []


def test_vanished_chainlets_beyond_max_removals_are_refused():
    old = props(n=4)
    [(prop, reason)] = failures(old, props(n=4, drop={1}, prev=old["slots"]))
    assert prop == "chainlets"
    assert reason.startswith(
        "1 chainlet(s) vanished from the chain's list since the last run (chainlet00001_2700000000000001-1), "
        "more than chainlets.maxRemovals=0 allows."
    )
    assert "`pulumi config set --path chainlets.maxRemovals 1`" in reason
    assert failures(old, props(n=4, drop={1}, max_removals=1, prev=old["slots"])) == []


def test_with_the_ledger_a_vanished_chainlet_moves_no_one_and_keeps_its_slot():
    old = props(n=4)
    new = props(n=5, drop={1}, max_removals=1, prev=old["slots"])
    assert failures(old, new) == []
    assert new["slots"]["chainlet00001_2700000000000001-1"] == 1  # never reused
    assert new["chainlets"]["chainlet00004_2700000000000004-1"]["slot"] == 4


def test_a_ledger_that_starts_afresh_is_refused():
    # As if the program had failed to read the ledger: slots recomputed from chain order.
    old = props(n=4)
    reasons = dict(failures(old, props(n=4, drop={1}, max_removals=1)))
    assert reasons["slots"].startswith(
        "the slot ledger would lose or change 3 entry(ies): chainlet00001_2700000000000001-1 (slot 1 -> gone), "
        "chainlet00002_2700000000000002-1 (slot 2 -> slot 1), chainlet00003_2700000000000003-1 (slot 3 -> slot 2)."
    )
    assert reasons["chainlets"].startswith(
        "2 existing chainlet(s) would change slot or public address: "
        "chainlet00002_2700000000000002-1 (slot 2 shard 0 port 1027 -> slot 1 shard 0 port 1026), "
    )


def test_changing_shard_size_moves_addresses_and_is_refused():
    [(prop, reason)] = failures(props(n=30, shard_size=25), props(n=30, shard_size=20, prev=props(n=30)["slots"]))
    assert prop == "chainlets"
    assert reason.startswith("10 existing chainlet(s) would change slot or public address: ")
    assert "(slot 20 shard 0 port 1045 -> slot 20 shard 1 port 1025)" in reason
    assert "`pulumi config set --path chainlets.allowSlotChanges true`" in reason
    assert failures(props(n=30, shard_size=25), props(n=30, shard_size=20, allow_slot_changes=True)) == []


def test_going_offline_and_back_is_not_a_move():
    assert failures(props(n=4), props(n=4, offline={2})) == []
    assert failures(props(n=4, offline={2}), props(n=4)) == []


def test_long_lists_are_shortened():
    old = props(n=20)
    [(_, reason)] = failures(old, props(n=20, drop=set(range(15)), prev=old["slots"]))
    assert "and 5 more)" in reason


def test_diff_compares_inputs_and_never_replaces():
    p = ChainStateProvider()
    old = {**props(), "chainletCount": 4}
    d = p.diff("chainstate", old, props())
    assert (d.changes, d.replaces, d.delete_before_replace) == (False, [], False)
    d = p.diff("chainstate", old, props(height=101))
    assert (d.changes, d.replaces) == (True, [])


def test_create_and_update_record_the_inputs_and_a_summary():
    result = ChainStateProvider().create(props(n=3, offline={0}))
    assert result.id == "chainstate"
    assert (result.outs["chainletCount"], result.outs["onlineCount"], result.outs["offlineCount"]) == (3, 2, 1)
    assert result.outs["chainlets"] == props(n=3, offline={0})["chainlets"]
    assert ChainStateProvider().update("chainstate", {}, props(n=2)).outs["chainletCount"] == 2


def test_read_rereads_the_chain_so_refresh_shows_drift():
    state = ChainState(chainlets=[chainlet_record(i) for i in range(3)], height=300)
    with FakeChain(state) as chain:
        applied = {**props(n=3, height=200), "endpoint": chain.endpoint}
        state.chainlets.append(chainlet_record(3))
        state.chainlets[0]["status"] = "STATUS_OFFLINE"
        result = ChainStateProvider().read("chainstate", applied)
    assert result.id == "chainstate"
    assert result.outs["height"] == 300
    assert result.outs["chainletCount"] == 4
    assert result.outs["chainlets"]["chainlet00000_2700000000000000-1"]["status"] == "STATUS_OFFLINE"
    assert result.outs["chainlets"]["chainlet00003_2700000000000003-1"] == {"slot": 3, "shard": 0, "port": 1028, "status": "STATUS_ONLINE"}


def test_numbers_from_the_engine_arrive_as_floats():
    old = json.loads(json.dumps(props(height=120)), parse_int=float)
    assert failures(old, props(height=121)) == []
    assert failures(old, props(height=119))[0][0] == "height"


def test_the_provider_serializes_and_runs_in_a_fresh_provider_host_process():
    """Pulumi pickles the provider with dill; the host re-imports pegasus.chainstate from the
    project directory. Unpickle it in a clean interpreter there and run check."""
    blob = serialize_provider(ChainStateProvider())
    olds, news = props(height=120), props(height=100)
    script = textwrap.dedent(f"""
        import base64, json, sys, dill
        provider = dill.loads(base64.b64decode({blob!r}))
        result = provider.check(json.loads({json.dumps(json.dumps(olds))}), json.loads({json.dumps(json.dumps(news))}))
        print(json.dumps([f.property for f in result.failures]))
    """)
    out = subprocess.run([sys.executable, "-c", script], cwd=PROJECT, capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout) == ["height"]
    # Nothing but the class reference travels: no clients, no captured state.
    assert len(base64.b64decode(blob)) < 2000
