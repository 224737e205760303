"""`pulumi up` of the dev stack with `ingress.provider: envoy-gateway` on the kwok cluster.

kwok runs no container, so Envoy Gateway's controller never programs the Gateways (no Envoy
Service, no status address): chainlets advertise `p2p-<shard>.<domain>` instead, which is
what this module sets. What it checks is the real engine's view: the release with the chart's
CRDs installs, the Gateway API objects are accepted by the API server's own CRD validation,
and one chainlet's change is exactly the predicted resources.

It gets a cluster of its own (the `e2e` fixture is per module): it deploys the same namespaces
and cluster-scoped objects as test_validator_e2e.py, whose stack stays behind (its chain-data
volumes are protected).
"""

from __future__ import annotations

import pytest

from tools.e2e.project import Project, copy_project
from tools.fakechain import chainlet_record
from tools.plan.diff import diff, short
from tools.plan.runner import plan_stack

from tests.e2e.conftest import E2E_CONFIG

pytestmark = pytest.mark.e2e

ENVOY_CONFIG = {**E2E_CONFIG, "ingress.provider": "envoy-gateway", "ingress.p2pDomain": "p2p.e2e.example"}


@pytest.fixture(scope="module")
def envoy_stack(e2e, chain, tmp_path_factory) -> Project:
    project = Project(copy_project(tmp_path_factory.mktemp("project-envoy")), e2e.full_env())
    project.init({**ENVOY_CONFIG, "chain.source": "rest", "chain.endpoint": chain.endpoint,
                  "chain.retries": "1", "chain.timeoutSeconds": "5"})
    return project


def _plan(project, chain):
    sets = [f"{k}={v}" for k, v in ENVOY_CONFIG.items()] + ["chain.source=rest", f"chain.endpoint={chain.endpoint}", "chain.retries=1"]
    return plan_stack(str(project.dir), "dev", None, sets)


def _real_changes(project) -> dict[str, str]:
    return {short(s["urn"]): s["op"] for s in project.preview_steps() if not s["urn"].split("::")[-2].startswith("pulumi:")}


def _expect(project, chain, mutate) -> dict[str, str]:
    before = _plan(project, chain)
    mutate()
    d = diff(before, _plan(project, chain))
    predicted = {short(u): "update" for u in d.updated} | {short(u): "create" for u in d.created} | {short(u): "delete" for u in d.deleted}
    assert _real_changes(project) == predicted
    project.up()
    return predicted


def test_up_installs_envoy_gateway_and_one_gateway_per_shard(e2e, chain, envoy_stack):
    envoy_stack.up()
    gateways = e2e.cluster.get("gateways.gateway.networking.k8s.io", "-A")["items"]
    assert [g["metadata"]["name"] for g in gateways] == ["pegasus-p2p-0"]
    routes = e2e.cluster.get("tcproutes.gateway.networking.k8s.io", "-A")["items"]
    online = [i for i, c in enumerate(chain.state.chainlets) if c["status"] == "STATUS_ONLINE"]
    assert len(routes) == len(online)
    envoy_stack.up()
    envoy_stack.preview("--expect-no-changes")


def test_offline_back_and_new_change_only_the_route_listener_and_workload(e2e, chain, envoy_stack):
    target = 2

    def offline():
        chain.state.chainlets[target]["status"] = "STATUS_OFFLINE"
    changed = _expect(envoy_stack, chain, offline)
    # Besides the ChainState record: its route, one Gateway listener, its workload.
    changed.pop("chain-state")
    assert sorted(changed.values()) == ["delete", "update", "update"]

    def back():
        chain.state.chainlets[target]["status"] = "STATUS_ONLINE"
    changed = _expect(envoy_stack, chain, back)
    changed.pop("chain-state")
    assert sorted(changed.values()) == ["create", "update", "update"]

    def appear():
        chain.state.chainlets.append(chainlet_record(len(chain.state.chainlets)))
    created = _expect(envoy_stack, chain, appear)
    # component, namespace, PVC, Service, StatefulSet and its TCPRoute
    assert sum(op == "create" for op in created.values()) == 6
    envoy_stack.preview("--expect-no-changes")
