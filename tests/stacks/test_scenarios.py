"""Life of a chainlet, end to end: a `rest` stack planned against a local chain server."""

from __future__ import annotations

import pulumi
import pytest

from tests.conftest import obj, run
from tools.fakechain import ChainState, FakeChain, chainlet_record
from tools.plan.diff import diff, short
from tools.plan.runner import ProgramError


def plan_against(chain, *extra):
    return run("dev", ["chain.source=rest", f"chain.endpoint={chain.endpoint}", "chain.pageLimit=25",
                       "chain.retries=0", *extra])


def chainlet_urns(plan, chain_id):
    return {r.urn for r in plan.resources if f"chainlet-{chain_id}" in r.urn}


def ns(i):
    return f"saga-chainlet{i:05d}-{2700000000000000 + i}-1"


def cid(i):
    return f"chainlet{i:05d}_{2700000000000000 + i}-1"


@pytest.fixture(scope="module")
def chain():
    state = ChainState(chainlets=[chainlet_record(i) for i in range(60)], height=10_000)
    with FakeChain(state) as server:
        yield server


@pytest.fixture(scope="module")
def base(chain):
    return plan_against(chain)


def test_sixty_chainlets_make_three_shards_with_the_right_ports(base):
    shards = sorted(r.inputs["metadata"]["name"] for r in base.resources
                    if r.inputs.get("kind") == "Service" and r.inputs["metadata"]["name"].startswith("ingress-nginx-controller-p2p-"))
    assert shards == ["ingress-nginx-controller-p2p-0", "ingress-nginx-controller-p2p-1", "ingress-nginx-controller-p2p-2"]
    for index, count in ((0, 25), (1, 25), (2, 10)):
        svc = obj(base, "Service", f"ingress-nginx-controller-p2p-{index}", "sagasrv-ingress")
        ports = svc.inputs["spec"]["ports"]
        assert sorted({p["port"] for p in ports}) == list(range(1025, 1025 + count))
        assert sorted({p["targetPort"] for p in ports}) == list(range(20000 + 25 * index, 20000 + 25 * index + count))
        assert {p["protocol"] for p in ports} == {"TCP"}
    tcp = obj(base, "ConfigMap", "pegasus-tcp-services", "sagasrv-ingress").inputs["data"]
    assert len(tcp) == 60 and tcp["20059"] == f"{ns(59)}/chainlet:26656"
    assert base.outputs["chainlets"][cid(30)]["address"] == "ingress-nginx-controller-p2p-1.sagasrv-ingress.lb.pending.invalid:1030"
    assert base.outputs["chainHeight"] == 10_000


def test_going_offline_changes_only_that_chainlet_and_its_routing(chain, base):
    chain.state.chainlets[30]["status"] = "STATUS_OFFLINE"
    chain.state.height += 10
    try:
        offline = plan_against(chain)
    finally:
        chain.state.chainlets[30]["status"] = "STATUS_ONLINE"
    d = diff(base, offline)
    assert d.created == () and d.deleted == ()
    assert sorted(short(u) for u in d.updated) == sorted([
        "chain-state", f"chainlet-{cid(30)}-workload", "ingress-p2p-1", "ingress-tcp-services",
    ])
    assert obj(offline, "StatefulSet", "chainlet", ns(30)).inputs["spec"]["replicas"] == 0
    assert obj(offline, "PersistentVolumeClaim", "chainlet-data", ns(30)).inputs == obj(base, "PersistentVolumeClaim", "chainlet-data", ns(30)).inputs
    ports = {p["port"] for p in obj(offline, "Service", "ingress-nginx-controller-p2p-1", "sagasrv-ingress").inputs["spec"]["ports"]}
    assert 1030 not in ports and len(ports) == 24
    assert "20030" not in obj(offline, "ConfigMap", "pegasus-tcp-services", "sagasrv-ingress").inputs["data"]
    assert offline.outputs["chainlets"][cid(30)]["address"] == base.outputs["chainlets"][cid(30)]["address"]

    back = plan_against(chain)
    for kind, name in (("StatefulSet", "chainlet"), ("PersistentVolumeClaim", "chainlet-data"), ("Service", "chainlet")):
        assert obj(back, kind, name, ns(30)).urn == obj(base, kind, name, ns(30)).urn
        assert obj(back, kind, name, ns(30)).inputs == obj(base, kind, name, ns(30)).inputs
    assert back.outputs["chainlets"][cid(30)] == base.outputs["chainlets"][cid(30)]
    assert [u for u in diff(base, back).updated if short(u) != "chain-state"] == []


def test_a_new_chainlet_touches_no_other_chainlet(chain, base):
    chain.state.chainlets.append(chainlet_record(60))
    try:
        grown = plan_against(chain)
    finally:
        chain.state.chainlets.pop()
    d = diff(base, grown)
    assert d.deleted == ()
    assert set(d.created) == chainlet_urns(grown, cid(60))
    assert len(d.created) == 5  # the component and its four resources
    assert sorted(short(u) for u in d.updated) == sorted([
        "chain-state", "ingress-p2p-2", "ingress-tcp-services", "monitoring-pegasus-p2p-2",
    ])
    assert grown.outputs["chainlets"][cid(60)]["address"] == "ingress-nginx-controller-p2p-2.sagasrv-ingress.lb.pending.invalid:1035"


def test_a_new_shard_starts_when_one_fills(chain, base):
    chain.state.chainlets.extend(chainlet_record(i) for i in range(60, 76))
    try:
        grown = plan_against(chain)
    finally:
        del chain.state.chainlets[60:]
    d = diff(base, grown)
    created = {short(u) for u in d.created}
    assert {"ingress-p2p-3", "monitoring-pegasus-p2p-3"} <= created
    assert grown.outputs["chainlets"][cid(75)]["address"].endswith("p2p-3.sagasrv-ingress.lb.pending.invalid:1025")
    for i in range(60):
        assert grown.outputs["chainlets"][cid(i)] == base.outputs["chainlets"][cid(i)]


@pytest.mark.parametrize("fault", ["fail_5xx", "malformed_json", "omit_height_header"])
def test_a_failed_read_declares_nothing_so_nothing_can_be_deleted(chain, fault):
    """The program stops before its first resource: the engine would see no program that
    finished, so it plans no deletions (a partial list would have deleted chainlets)."""
    setattr(chain.state, fault, -1)
    try:
        with pytest.raises(ProgramError) as e:
            plan_against(chain)
    finally:
        setattr(chain.state, fault, 0)
    assert e.value.registered == 0
    assert isinstance(e.value.cause, pulumi.RunError)
