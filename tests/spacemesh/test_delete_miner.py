"""spacemesh.deletedMiners: spacecraft's deleteMiner (cmd/deleteMiner.go --miner-number,
k8s/sm.go DeleteMiner deletes that miner's Deployment; NextMinerName numbers the next miner
after the highest, so a number is never reused). One chosen miner goes; nothing else moves."""

from __future__ import annotations

import pytest

from components.spacemesh import builder as sb
from tests.conftest import example, run
from tests.spacemesh.test_builders import error, raw, settings


def test_deleting_a_miner_removes_only_its_resources():
    from tools.plan.diff import diff

    before = example("spacemesh")
    after = run("spacemesh", ["spacemesh.deletedMiners=[12]"])
    removed = diff(before, after)
    assert removed.created == ()
    assert {u.rsplit("::", 1)[1] for u in removed.deleted} == {
        "spacemesh-miner-12", "spacemesh-miner-12-data", "spacemesh-miner-12-p2p", "spacemesh-miner-12-internal",
        "spacemesh-miner-12-workload"}
    # spacemesh-watch follows every node, so its list shrinks; no other node's StatefulSet changes.
    assert [u.rsplit("::", 1)[1] for u in removed.updated] == ["spacemesh-tools-spacemesh-watch-deployment"]
    assert "miner-12" not in after.outputs["hosts"] and "miner-13" in after.outputs["hosts"]
    # Its volume is protected as every node's: `up` stops and names it until it is unprotected.
    claim = next(r for r in before.resources if r.name == "spacemesh-miner-12-data")
    assert claim.options["protect"] and claim.options["retainOnDelete"]


def test_the_others_keep_their_poets_and_ports():
    kept = {p.name: p for p in sb.plan_nodes(settings())}
    s = settings(deletedMiners=[4])
    plans = {p.name: p for p in sb.plan_nodes(s)}
    assert set(plans) == set(kept) - {"miner-4"}
    assert all(plans[n] == kept[n] for n in plans)
    assert sb.pool_pods(s) == sb.pool_pods(settings())[1:]


def test_a_new_miner_takes_the_next_number_not_the_gap():
    from tools.plan.diff import diff

    deleted = run("spacemesh", ["spacemesh.deletedMiners=[12]"])
    added = diff(deleted, run("spacemesh", ["spacemesh.deletedMiners=[12]", "spacemesh.miners=21"]))
    assert added.deleted == ()
    assert {u.rsplit("::", 1)[1] for u in added.created if "miner" in u} == {
        "spacemesh-miner-21", "spacemesh-miner-21-data", "spacemesh-miner-21-p2p", "spacemesh-miner-21-internal",
        "spacemesh-miner-21-workload"}


@pytest.mark.parametrize("deleted, message", [
    ([2], "pegasus:spacemesh.deletedMiners[0]: must be the number of a miner that is not a bootnode, 4 to 5, got the number 2; "
          "the bootstrap node and bootnodes are what the others dial"),
    ([6], "pegasus:spacemesh.deletedMiners[0]: must be the number of a miner that is not a bootnode, 4 to 5, got the number 6; "
          "the bootstrap node and bootnodes are what the others dial"),
    ([4, 5], "pegasus:spacemesh.deletedMiners: deletes every miner; lower spacemesh.miners instead"),
])
def test_only_plain_miners_can_be_deleted(deleted, message):
    assert error(raw(deletedMiners=deleted)) == message


def test_settings_that_name_a_deleted_miner_are_refused():
    assert error(raw(deletedMiners=[5], pyroscope={"miners": [5]})) == (
        "pegasus:spacemesh.pyroscope.miners: names miner-5, which spacemesh.deletedMiners deletes; remove it from one of them")
    assert error(raw(deletedMiners=[5], coinbases={"miner-5": "stest1qqqqqqy0dd83jemjmfj3ghjndxm0ndh3sed8cxs9ns2ut"})) == (
        "pegasus:spacemesh.coinbases: names miner-5, which spacemesh.deletedMiners deletes; remove it from one of them")
