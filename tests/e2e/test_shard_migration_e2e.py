"""Moving a running fleet from one stack to sharded mode (tools/shards.py) on the real engine:
every cluster object keeps its identity (same UID: nothing replaced, no address moved), the
routing stays what it was, and the first reconcile after the move changes nothing."""

from __future__ import annotations

import pytest

from pegasus import names
from tools.e2e.project import Project, copy_project
from tools.fakechain import ChainState, FakeChain, chainlet_record
from tools.reconcile.runner import Reconciler
from tools.shards import Mover

from tests.e2e.conftest import E2E_CONFIG

pytestmark = pytest.mark.e2e

KINDS = ("statefulsets", "persistentvolumeclaims", "services", "namespaces", "scrapeconfigs.monitoring.coreos.com")


@pytest.fixture(scope="module")
def chain():
    with FakeChain(ChainState(chainlets=[chainlet_record(i, online=i != 1) for i in range(5)]), lifetime=3 * 3600) as fake:
        yield fake


@pytest.fixture(scope="module")
def stack(e2e, chain, tmp_path_factory) -> Project:
    project = Project(copy_project(tmp_path_factory.mktemp("project")), e2e.full_env())
    project.init({**E2E_CONFIG, "chain.source": "rest", "chain.endpoint": chain.endpoint, "chain.retries": "1",
                  "chain.timeoutSeconds": "5", "ingress.shardSize": "2"})
    return project


def identities(e2e) -> dict:
    """kind/namespace/name -> UID of every object Pegasus manages for chainlets and shards."""
    out = {}
    for kind in KINDS:
        for item in e2e.cluster.get(kind, "-A")["items"]:
            meta = item["metadata"]
            ns = meta.get("namespace", "")
            if ns.startswith(names.CHAINLET_NAMESPACE_PREFIX) or meta["name"].startswith(names.CHAINLET_NAMESPACE_PREFIX) \
                    or ns in (names.INGRESS_NAMESPACE, names.METRICS_NAMESPACE):
                out[f"{kind}/{ns}/{meta['name']}"] = meta["uid"]
    return out


def routing(e2e) -> dict:
    return e2e.cluster.get("configmap", "-n", names.INGRESS_NAMESPACE, names.TCP_SERVICES_CONFIGMAP).get("data") or {}


def test_split_keeps_every_object_and_the_next_reconcile_changes_nothing(e2e, stack):
    stack.up()
    before, routes = identities(e2e), routing(e2e)
    assert sum(1 for k in before if k.startswith("statefulsets/")) == 5 and len(routes) == 4

    lines: list[str] = []
    moved = Mover(str(stack.dir), "dev", stack.env, say=lines.append).split()
    assert moved == ["dev-shard-0", "dev-shard-1", "dev-shard-2"], lines
    after = identities(e2e)
    assert {k: v for k, v in after.items() if k in before} == before, "\n".join(lines)
    assert routing(e2e) == routes

    lines.clear()
    result = Reconciler(str(stack.dir), "dev", env=stack.env, parallel=2, say=lines.append).round(run_all=True)
    assert result.ok and result.touched == [], "\n".join(lines)
    assert identities(e2e) == after


def test_join_moves_the_fleet_back_into_one_stack_and_the_next_up_changes_nothing(e2e, stack):
    before, routes = identities(e2e), routing(e2e)
    lines: list[str] = []
    emptied = Mover(str(stack.dir), "dev", stack.env, say=lines.append).join()
    assert emptied == ["dev-shard-0", "dev-shard-1", "dev-shard-2"], lines
    assert identities(e2e) == before, "\n".join(lines)
    assert routing(e2e) == routes
    # The ConfigMap's keys belong to the one stack again, not to the destroyed patches.
    cm = e2e.cluster.get("configmap", "-n", names.INGRESS_NAMESPACE, names.TCP_SERVICES_CONFIGMAP, "--show-managed-fields")
    owners = {m["manager"] for m in cm["metadata"]["managedFields"] if "f:data" in (m.get("fieldsV1") or {})}
    assert len(owners) == 1
    for shard in emptied:
        assert stack.pulumi("stack", "export", "--stack", shard).stdout.count('"urn"') <= 1
    preview = stack.preview_steps("--stack", "dev")
    assert [s for s in preview if not s["urn"].split("::")[-2].startswith("pulumi:")] == []
