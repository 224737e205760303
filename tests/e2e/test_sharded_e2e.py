"""Sharded mode on the real engine (pegasus/sharding.py, tools/reconcile): a platform stack and
three shard stacks, reconciled through Pulumi's Automation API against a real API server.

Shard size 2 and five chainlets: shards 0 and 1 full, shard 2 with one free slot, so a new
chainlet lands in an existing shard. The tests run in file order on the same stacks.
"""

from __future__ import annotations

import json

import pytest

from components.p2p import ingress_builder as ib
from components.p2p import p2p_builder as p2p
from pegasus import names, sharding
from pegasus.config import IngressSettings
from tools.e2e.project import Project, copy_project
from tools.fakechain import ChainState, FakeChain, chainlet_record
from tools.reconcile.runner import Reconciler

from tests.e2e.conftest import E2E_CONFIG

pytestmark = pytest.mark.e2e

SHARD_SIZE = 2


@pytest.fixture(scope="module")
def chain():
    with FakeChain(ChainState(chainlets=[chainlet_record(i, online=i != 3) for i in range(5)]), lifetime=3 * 3600) as fake:
        yield fake


@pytest.fixture(scope="module")
def platform(e2e, chain, tmp_path_factory) -> Project:
    project = Project(copy_project(tmp_path_factory.mktemp("project")), e2e.full_env())
    project.init({**E2E_CONFIG, "chain.source": "rest", "chain.endpoint": chain.endpoint, "chain.retries": "1",
                  "chain.timeoutSeconds": "5", "chainlets.stacks": "sharded", "ingress.shardSize": str(SHARD_SIZE)})
    return project


@pytest.fixture(scope="module")
def lines():
    return []


@pytest.fixture(scope="module")
def rec(platform, lines) -> Reconciler:
    return Reconciler(str(platform.dir), "dev", env=platform.env, parallel=2, say=lines.append)


def stack_export(platform: Project, stack: str) -> dict:
    # Secrets in the clear (a throwaway local passphrase): their ciphertext changes on every write.
    run = platform.pulumi("stack", "export", "--stack", stack, "--show-secrets")
    return {r["urn"]: (r.get("inputs"), r.get("outputs")) for r in json.loads(run.stdout)["deployment"]["resources"]
            if not r["type"].startswith("pulumi:providers")}


def all_exports(platform: Project) -> dict:
    return {s: stack_export(platform, s) for s in ["dev", *(sharding.shard_stack_name("dev", i) for i in range(3))]}


def differing(before: dict, after: dict) -> list[str]:
    """URNs whose inputs or outputs differ between two all_exports()."""
    out = []
    for stack in set(before) | set(after):
        b, a = before.get(stack, {}), after.get(stack, {})
        for u in set(b) | set(a):
            if b.get(u) != a.get(u):
                old, new = b.get(u) or (None, None), a.get(u) or (None, None)
                keys = sorted({k for i in (0, 1) for k in set(old[i] or {}) | set(new[i] or {})
                               if (old[i] or {}).get(k) != (new[i] or {}).get(k)})
                out.append(f"{u} {keys}")
    return sorted(out)


def routing(e2e) -> dict:
    cm = e2e.cluster.get("configmap", "-n", names.INGRESS_NAMESPACE, names.TCP_SERVICES_CONFIGMAP)
    return cm.get("data") or {}


def single_stack_routing(chain) -> dict:
    """What one stack would put in tcp-services for the same chain (components/p2p/ingress_builder.py)."""
    settings = IngressSettings(SHARD_SIZE, 1025, 20000, None, 1, "existing")
    backends = tuple(p2p.P2PBackend(c["chainId"], names.chainlet_namespace(c["chainId"]), names.chainlet_workload_name(),
                                    26656, slot, routed=c["status"] == "STATUS_ONLINE")
                     for slot, c in enumerate(chain.state.chainlets))
    return ib.services_configmap_data(p2p.plan_shards(backends, settings))


def test_first_round_creates_the_platform_and_three_shard_stacks(e2e, chain, platform, rec, lines):
    result = rec.round()
    assert result.ok, "\n".join(lines)
    assert [r.stack for r in result.shards] == ["dev-shard-0", "dev-shard-1", "dev-shard-2"]
    # Every chainlet's workload, claim and Service, each from its shard's stack.
    for i, c in enumerate(chain.state.chainlets):
        ns = names.chainlet_namespace(c["chainId"])
        sts = e2e.cluster.get("statefulset", "-n", ns)["items"]
        assert len(sts) == 1 and sts[0]["spec"]["replicas"] == (0 if i == 3 else 1)
    assert {s["metadata"]["name"] for s in e2e.cluster.get("svc", "-n", names.INGRESS_NAMESPACE)["items"]
            if s["spec"]["type"] == "LoadBalancer"} == {names.shard_service_name(i) for i in range(3)}
    # The routing the three shard stacks patched in is exactly what one stack would write, and
    # each shard's keys belong to a field manager of its own (none to the platform's ConfigMap).
    assert routing(e2e) == single_stack_routing(chain)
    cm = e2e.cluster.get("configmap", "-n", names.INGRESS_NAMESPACE, names.TCP_SERVICES_CONFIGMAP, "--show-managed-fields")
    owners = {}
    for entry in cm["metadata"]["managedFields"]:
        for key in (entry.get("fieldsV1") or {}).get("f:data", {}):
            owners.setdefault(entry["manager"], set()).add(key[2:])
    assert len(owners) == 3 and set().union(*owners.values()) == set(routing(e2e))
    # The platform's outputs are the contract the shards read.
    outputs = json.loads(platform.pulumi("stack", "output", "--json", "--stack", "dev").stdout)
    assert outputs[sharding.STACKS_OUTPUT] == ["dev-shard-0", "dev-shard-1", "dev-shard-2"]
    assert {k: sorted(v) for k, v in outputs[sharding.MEMBERS_OUTPUT].items()} == {
        str(s): sorted(c["chainId"] for c in chain.state.chainlets[s * SHARD_SIZE:(s + 1) * SHARD_SIZE]) for s in range(3)}


def test_a_no_op_round_changes_nothing_and_runs_no_shard(platform, rec, lines):
    before = all_exports(platform)
    result = rec.round()
    assert result.ok and result.touched == [] and result.shards == [], "\n".join(lines)
    assert len(result.skipped) == 3
    assert differing(before, all_exports(platform)) == []


def test_a_new_chainlet_touches_only_the_platform_and_its_shard(e2e, chain, platform, rec, lines):
    before = all_exports(platform)
    chain.state.chainlets.append(chainlet_record(5))
    result = rec.round()
    assert result.ok, "\n".join(lines)
    assert result.touched == ["dev", "dev-shard-2"]
    changed = differing(before, all_exports(platform))
    assert changed and all(u.startswith(("urn:pulumi:dev::", "urn:pulumi:dev-shard-2::")) for u in changed), changed
    ns = names.chainlet_namespace(chain.state.chainlets[5]["chainId"])
    assert len(e2e.cluster.get("statefulset", "-n", ns)["items"]) == 1
    assert routing(e2e) == single_stack_routing(chain)


def test_going_offline_and_back_touches_one_shard(e2e, chain, platform, rec, lines):
    chain.state.chainlets[0]["status"] = "STATUS_OFFLINE"
    result = rec.round()
    assert result.ok and result.touched == ["dev", "dev-shard-0"], "\n".join(lines)
    assert routing(e2e) == single_stack_routing(chain)
    chain.state.chainlets[0]["status"] = "STATUS_ONLINE"
    result = rec.round()
    assert result.ok and result.touched == ["dev", "dev-shard-0"], "\n".join(lines)
    assert routing(e2e) == single_stack_routing(chain)


@pytest.mark.parametrize("fault", ["unavailable", "lost chainlets"])
def test_a_failed_or_suspicious_read_changes_nothing_in_any_stack(chain, platform, rec, lines, fault):
    before = all_exports(platform)
    saved = list(chain.state.chainlets)
    try:
        if fault == "unavailable":
            chain.state.fail_5xx = -1
        else:
            chain.state.chainlets = chain.state.chainlets[:2]  # four vanish, chainlets.maxRemovals allows none
        result = rec.round()
    finally:
        chain.state.fail_5xx = 0
        chain.state.chainlets = saved
    assert not result.ok and result.shards == []
    assert "FAILED" in lines[-1] and ("chain" in lines[-1] or "vanished" in lines[-1]), lines[-1]
    assert differing(before, all_exports(platform)) == []


def test_every_shard_stack_is_guarded_by_its_own_record(platform):
    for i in range(3):
        state = stack_export(platform, sharding.shard_stack_name("dev", i))
        records = [v for u, v in state.items() if "pegasus:ShardState" in u]
        assert len(records) == 1
        entries = records[0][1]["chainlets"]
        assert entries and all(int(e["shard"]) == i for e in entries.values())
