"""The genesis guard: the engine's check with the last applied inputs and the new ones."""

from __future__ import annotations

from components.spacemesh.genesis_guard import GenesisGuardProvider
from tests.conftest import example, obj

OLD = {"network": "devnet-412", "genesisTime": "2026-12-15T12:00:00Z", "genesisExtraData": "devnet-412", "allowGenesisChange": False}


def failures(olds, news):
    return [(f.property, f.reason) for f in GenesisGuardProvider().check(olds, news).failures]


def test_a_changed_genesis_is_refused_naming_both_and_the_override():
    new = {**OLD, "genesisTime": "2026-12-16T12:00:00Z"}
    assert failures(OLD, new) == [("genesisTime", (
        "network devnet-412: genesis would change from 2026-12-15T12:00:00Z / 'devnet-412' to 2026-12-16T12:00:00Z / 'devnet-412'; "
        "every node would refuse to start at its next restart. Restore spacemesh.genesisTime, genesisExtraData or the config file, "
        "or set spacemesh.allowGenesisChange: true to start a new network (the nodes' data must then be wiped)"))]
    assert failures(OLD, {**OLD, "genesisExtraData": "other"})[0][0] == "genesisExtraData"


def test_the_first_up_the_same_genesis_and_the_override_pass():
    assert failures({}, OLD) == []
    assert failures(OLD, dict(OLD)) == []
    assert failures(OLD, {**OLD, "genesisTime": "2027-01-01T00:00:00Z", "allowGenesisChange": True}) == []


def test_the_provider_never_replaces_and_records_its_inputs():
    p = GenesisGuardProvider()
    assert p.diff("genesis", OLD, {**OLD, "allowGenesisChange": True}).replaces == []
    assert p.create({**OLD, "extra": 1}).outs == OLD


def test_the_nodes_config_waits_for_the_guard():
    plan = example("spacemesh")
    guard = next(r for r in plan.resources if r.type == "pulumi-python:dynamic/pegasus:SpacemeshGenesis")
    assert {k: guard.inputs[k] for k in OLD} == {**OLD, "genesisTime": "2026-12-15T12:00:00Z"}
    for role in ("bootstrap", "bootnode", "miner"):
        assert guard.urn in obj(plan, "ConfigMap", f"config-{role}", "spacemesh-devnet-412").options["dependsOn"]
