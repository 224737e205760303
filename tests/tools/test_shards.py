"""tools.shards split: which resources of a single stack move into which shard stack. The move
itself, on the real engine, is tests/e2e/test_shard_migration_e2e.py."""

from __future__ import annotations

import pytest

from pegasus import names
from tests.conftest import run, state_of
from tools.shards import MoveError, split_plan


def resources(plan) -> list[dict]:
    state = state_of(plan)
    return [{"urn": u, "type": r["type"], "outputs": r["outputs"]} for u, r in state.items()]


@pytest.mark.parametrize("provider, lb", [("ingress-nginx", "ingress-p2p-{i}"), ("envoy-gateway", "ingress-p2p-{i}")])
def test_each_shard_gets_its_chainlets_load_balancer_and_probes(provider, lb):
    plan = run("dev", ["ingress.shardSize=2", f"ingress.provider={provider}"])
    moves = split_plan(resources(plan))
    slots = next(r.inputs["slots"] for r in plan.resources if r.type.endswith("pegasus:ChainState"))
    assert sorted(moves) == [0, 1, 2]
    for i, urns in moves.items():
        members = {names.chainlet_resource_name(c) for c, s in slots.items() if int(s) // 2 == i}
        moved = {u.split("::")[-1] for u in urns}
        assert moved == members | {lb.format(i=i), f"monitoring-pegasus-p2p-{i}"}
    # Children follow their component: only top-level chainlet URNs are named.
    assert all("$" not in u.split("::")[2] or "Chainlet" not in u for us in moves.values() for u in us)


def test_a_stack_without_a_chainstate_record_is_refused():
    plan = run("dev", ["ingress.shardSize=2"])
    without = [r for r in resources(plan) if not r["type"].endswith("pegasus:ChainState")]
    with pytest.raises(MoveError) as info:
        split_plan(without)
    assert "no ChainState record" in str(info.value)


def test_join_takes_back_chainlets_load_balancer_and_probes_but_not_the_guard_patch_or_provider():
    from pegasus import sharding
    from tests.stacks.test_sharded_program import shard
    from tools.shards import join_plan

    plan = shard(1)
    state = [{"urn": r.urn, "type": r.type} for r in plan.resources]
    moved = {u.split("::")[-1] for u in join_plan(state, 1)}
    chainlets = {n.split("::")[-1] for n in (r.urn for r in plan.resources if r.type == "pegasus:chainlet:Chainlet")}
    assert moved == chainlets | {"shard-1-service", "shard-1-pegasus-p2p-1"}
    assert sharding.parse_shard_stack(plan.stack) == ("dev", 1)
