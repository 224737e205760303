"""Sharded mode as whole programs under Pulumi's mocks: the platform stack, and each shard stack
reading the platform's state. The strongest check: together the shard stacks declare exactly the
chainlet objects and routing one stack declares for the same chain."""

from __future__ import annotations

import json

import pytest

from pegasus import sharding
from tests.conftest import k8s, run, state_of
from tools.plan import check
from tools.plan.runner import ProgramError, plan_stack
from tests.conftest import PROJECT

SHARDED = ["chainlets.stacks=sharded", "ingress.shardSize=2"]
_PLANS: dict = {}


def platform(stack="dev", extra=()):
    key = ("platform", stack, tuple(extra))
    if key not in _PLANS:
        _PLANS[key] = run(stack, SHARDED + list(extra))
    return _PLANS[key]


def shard(index: int, stack="dev", extra=(), platform_state=None):
    key = ("shard", stack, index, tuple(extra), id(platform_state))
    if key not in _PLANS:
        state = platform_state if platform_state is not None else state_of(platform(stack, extra))
        _PLANS[key] = plan_stack(str(PROJECT), sharding.shard_stack_name(stack, index), f"Pulumi.{stack}.yaml",
                                 SHARDED + list(extra), other_states={stack: state},
                                 other_outputs={stack: platform(stack, extra).outputs})
    return _PLANS[key]


def single(stack="dev", extra=()):
    key = ("single", stack, tuple(extra))
    if key not in _PLANS:
        _PLANS[key] = run(stack, ["ingress.shardSize=2", *extra])
    return _PLANS[key]


def manifests(plan, kinds) -> dict:
    return {(r.inputs["kind"], (r.inputs.get("metadata") or {}).get("namespace"), r.inputs["metadata"]["name"]): r.inputs
            for r in plan.resources if r.type.startswith("kubernetes:") and r.inputs.get("kind") in kinds}


CHAINLET_KINDS = ("Namespace", "PersistentVolumeClaim", "StatefulSet", "TCPRoute")


def _chainlet_objects(plan) -> dict:
    out = {}
    for key, m in manifests(plan, CHAINLET_KINDS + ("Service",)).items():
        ns = key[1] or (key[2] if key[0] == "Namespace" else "")
        if ns.startswith("saga-"):
            out[key] = m
    return out


@pytest.mark.parametrize("provider", ["ingress-nginx", "envoy-gateway"])
def test_the_shards_together_declare_what_one_stack_declares(provider):
    extra = [f"ingress.provider={provider}"]
    one = single(extra=extra)
    p = platform(extra=extra)
    count = len(p.outputs[sharding.STACKS_OUTPUT])
    assert count == 3  # the dev snapshot's six chainlets, two per shard
    together: dict = {}
    for i in range(count):
        together.update(_chainlet_objects(shard(i, extra=extra)))
    assert together.keys() == _chainlet_objects(one).keys()
    for key, m in _chainlet_objects(one).items():
        assert together[key] == m, key
    if provider == "ingress-nginx":
        data = {}
        for i in range(count):
            (patch,) = [r for r in shard(i, extra=extra).resources if r.type == "kubernetes:core/v1:ConfigMapPatch"]
            assert patch.inputs["metadata"]["annotations"] == {"pulumi.com/patchForce": "true"}
            assert not set(data) & set(patch.inputs.get("data") or {})
            data.update(patch.inputs.get("data") or {})
        (cm,) = [r for r in k8s(one, "ConfigMap") if r.inputs["metadata"]["name"] == "pegasus-tcp-services"]
        assert data == cm.inputs["data"]
        shard_services = {r.inputs["metadata"]["name"]: r.inputs for s in range(count) for r in k8s(shard(s, extra=extra), "Service")
                          if r.inputs["metadata"]["namespace"] == "sagasrv-ingress"}
        one_services = {r.inputs["metadata"]["name"]: r.inputs for r in k8s(one, "Service")
                        if r.inputs["metadata"]["namespace"] == "sagasrv-ingress" and r.inputs["spec"]["type"] == "LoadBalancer"}
        assert shard_services == one_services
    else:
        gateways = {r.inputs["metadata"]["name"]: r.inputs for s in range(count) for r in k8s(shard(s, extra=extra), "Gateway")}
        assert gateways == {r.inputs["metadata"]["name"]: r.inputs for r in k8s(one, "Gateway")}


def test_the_platform_holds_no_chainlet_and_no_routing_key():
    p = platform()
    assert [r for r in p.resources if r.type == "pegasus:chainlet:Chainlet"] == []
    (cm,) = [r for r in k8s(p, "ConfigMap") if r.inputs["metadata"]["name"] == "pegasus-tcp-services"]
    assert "data" not in cm.inputs
    assert [r for r in k8s(p, "Service") if r.inputs["spec"].get("type") == "LoadBalancer" and
            r.inputs["metadata"]["namespace"] == "sagasrv-ingress"] == []
    ledger = p.outputs[sharding.LEDGER_OUTPUT]
    members = p.outputs[sharding.MEMBERS_OUTPUT]
    assert sorted(ledger.values()) == list(range(6))
    assert {c: e["slot"] for m in members.values() for c, e in m.items()} == ledger
    assert all(int(e["shard"]) == int(s) for s, m in members.items() for e in m.values())


@pytest.mark.parametrize("stack", ["dev", "eks", "gke"])
def test_platform_and_shard_plans_pass_every_mandatory_policy(stack):
    for plan in (platform(stack), shard(1, stack)):
        assert [v for v in check.violations(plan) if v.enforcement == "mandatory"] == []


def test_on_gke_the_platform_keeps_the_reserved_addresses_and_the_shard_uses_its_own():
    p = platform("gke")
    addresses = sorted(r.inputs["name"] for r in p.resources if r.type == "gcp:compute/address:Address")
    assert [a for a in addresses if "-p2p-" in a] == [f"{a.rsplit('-', 1)[0]}-{i}" for i, a in enumerate(a for a in addresses if "-p2p-" in a)]
    assert len([a for a in addresses if "-p2p-" in a]) == 3
    assert set(p.outputs["shardReservedAddresses"]) == {"0", "1", "2"}
    s = shard(2, "gke")
    (svc,) = [r for r in k8s(s, "Service") if r.inputs["metadata"]["namespace"] == "sagasrv-ingress"]
    one = [r for r in k8s(single("gke"), "Service") if r.inputs["metadata"]["name"] == svc.inputs["metadata"]["name"]]
    assert svc.inputs == one[0].inputs
    # Chainlets advertise the reserved IP the platform published for their shard.
    assert s.outputs["shardHost"] == p.outputs["shardReservedAddresses"]["2"]
    assert all(c["address"].startswith(s.outputs["shardHost"] + ":") for c in s.outputs["chainlets"].values())
    # A shard stack never builds a cluster: it reaches the platform's through the StackReference.
    assert [r for r in s.resources if r.type.startswith("gcp:container")] == []


def test_on_eks_the_shard_service_carries_the_platforms_address_annotations():
    s = shard(0, "eks")
    (svc,) = [r for r in k8s(s, "Service") if r.inputs["metadata"]["namespace"] == "sagasrv-ingress"]
    (one,) = [r for r in k8s(single("eks"), "Service") if r.inputs["metadata"]["name"] == svc.inputs["metadata"]["name"]]
    assert svc.inputs["spec"] == one.inputs["spec"]
    assert [r for r in s.resources if r.type.startswith(("aws:", "eks:"))] == []


def _refused(index: int, state: dict, extra=()) -> str:
    with pytest.raises(ProgramError) as info:
        plan_stack(str(PROJECT), sharding.shard_stack_name("dev", index), "Pulumi.dev.yaml", SHARDED + list(extra),
                   other_states={"dev": state})
    return str(info.value)


def test_a_shard_refuses_a_platform_in_single_mode():
    message = _refused(0, state_of(single()))
    assert "still declares 6 chainlet(s) itself" in message and "chainlets.stacks" in message


def test_a_shard_refuses_a_platform_that_never_ran():
    assert "has no ChainState record yet" in _refused(0, {})


def test_a_shard_refuses_a_shard_size_the_platform_did_not_apply():
    message = _refused(0, state_of(platform()), ["ingress.shardSize=3"])
    assert "pegasus:ingress.shardSize: is 3 here but 2 in platform stack dev" in message


def test_a_shard_refuses_a_read_that_disagrees_with_the_platforms_record():
    state = json.loads(json.dumps(state_of(platform())))
    record = next(r for r in state.values() if r["type"] == "pulumi-python:dynamic/pegasus:ChainState")
    record["outputs"]["chainlets"]["ghost-1"] = {"slot": 1, "shard": 0, "port": 1026, "status": "STATUS_ONLINE"}
    message = _refused(0, state)
    assert "chainlet ghost-1 of shard 0 is missing in the chain read at height" in message


def test_with_the_operator_the_platform_declares_one_pko_stack_per_stack_and_the_watcher():
    from tools.fakechain import ChainState, FakeChain, chainlet_record

    with FakeChain(ChainState(chainlets=[chainlet_record(i) for i in range(6)]), lifetime=300) as chain:
        extra = ["operator.enabled=true", "operator.repo=https://github.com/example/pegasus-config",
                 "operator.backend=s3://example-state", "chain.source=rest", f"chain.endpoint={chain.endpoint}"]
        p = run("dev", SHARDED + extra)
    stacks = {r.inputs["spec"]["stack"]: r.inputs for r in k8s(p, "Stack")}
    assert sorted(stacks) == ["dev", "dev-shard-0", "dev-shard-1", "dev-shard-2"]
    for name in p.outputs[sharding.STACKS_OUTPUT]:
        assert [x["name"] for x in stacks[name]["spec"]["prerequisites"]] == [stacks["dev"]["metadata"]["name"]]
        assert stacks[name]["spec"]["destroyOnFinalize"] is False
    assert len(k8s(p, "Deployment")) >= 1 and any(r.inputs["metadata"]["name"].endswith("watcher") or "watcher" in
                                                  r.inputs["metadata"]["name"] for r in k8s(p, "Deployment"))


def test_the_operator_needs_sharded_mode():
    with pytest.raises(ProgramError) as info:
        run("dev", ["operator.enabled=true", "operator.repo=https://github.com/example/x", "operator.backend=s3://b"])
    assert "pegasus:operator.enabled: runs the stacks of sharded mode" in str(info.value)
