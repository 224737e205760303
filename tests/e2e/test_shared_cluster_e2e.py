"""Two testnet stacks in ONE cluster with the real engine: the self-service mode, where
developers deploy their testnets into a shared regional cluster. Each brings its own
ingress-nginx p2p data plane (names.ingress_names): namespace, Helm release, and the chart's
cluster-scoped ClusterRole, ClusterRoleBinding and IngressClass. Both `up`s must succeed
side by side, and a second `up` of either changes nothing.

Small on purpose: one region, two seeds each (the least a testnet may have), no cloud parts, no PodMonitors (the cluster has
no Prometheus Operator CRDs).
"""

from __future__ import annotations

import shutil

import pytest
import yaml

from tools.e2e.project import Project, copy_project
from tools.e2e.toolchain import REPO

from tests.e2e.conftest import E2E_CONFIG

pytestmark = pytest.mark.e2e

PEER = "12D3KooWCoGWacXE4FRwAX8VqhnWVKhz5TTEecWEuGmiNrDt2XLf"  # a well-formed peer ID; never dialled here

TESTNETS = ("qa-a", "qa-b")


def config(name: str) -> dict:
    return {
        "pegasus:blueprint": "testnet",
        "pegasus:testnet": {
            "name": name, "image": "minaprotocol/mina-daemon:3.1.0", "genesisFile": "testnets/qa-7/daemon.json",
            "ha": False, "monitoring": False,
            # The session's KUBECONFIG and its current context: the same cluster for both.
            # Two seeds with a given identity, the least a testnet may have (the kwok cluster's
            # pods are simulated, so their key Secrets need not exist).
            "regions": [{"name": "local", "cluster": {"provider": "existing"},
                         "seeds": [{"libp2pKeyRef": f"{name}-seed-{i}", "peerId": PEER} for i in range(2)]}],
        },
        "pegasus:charts": {"localDir": E2E_CONFIG["charts.localDir"]},
    }


@pytest.fixture(scope="module")
def testnets(e2e, tmp_path_factory) -> dict[str, Project]:
    """One project copy and one stack per testnet, on the same session (cluster and backend)."""
    out = {}
    for name in TESTNETS:
        root = copy_project(tmp_path_factory.mktemp(f"project-{name}"))
        shutil.copytree(REPO / "testnets", root / "testnets")
        project = Project(root, e2e.full_env(), stack=name)
        project.init({})
        path = root / f"Pulumi.{name}.yaml"
        doc = yaml.safe_load(path.read_text()) or {}
        doc.setdefault("config", {}).update(config(name))
        path.write_text(yaml.safe_dump(doc))
        out[name] = project
    return out


def test_two_testnets_come_up_in_one_cluster(e2e, testnets):
    for name in TESTNETS:
        testnets[name].up()
    classes = {c["metadata"]["name"]: c["spec"]["controller"] for c in e2e.cluster.get("ingressclass")["items"]}
    roles = {r["metadata"]["name"] for r in e2e.cluster.get("clusterrole")["items"]}
    bindings = {r["metadata"]["name"] for r in e2e.cluster.get("clusterrolebinding")["items"]}
    addresses = set()
    for name in TESTNETS:
        ns, release = f"testnet-{name}-ingress", f"testnet-{name}-p2p"
        assert classes[release] == f"pegasus.saga.xyz/{release}"
        assert release in roles and release in bindings
        controller = e2e.cluster.get("deployment", "-n", ns, f"{release}-controller")
        assert controller["status"].get("readyReplicas") == 2
        # The shard selects this testnet's controller pods, not the other's.
        shard = e2e.cluster.get("service", "-n", ns, "ingress-nginx-controller-p2p-0")
        assert shard["spec"]["selector"]["app.kubernetes.io/instance"] == release
        addresses.add(shard["status"]["loadBalancer"]["ingress"][0]["ip"])
        routing = e2e.cluster.get("configmap", "-n", ns, "pegasus-tcp-services")["data"]
        assert routing == {"20000": f"testnet-{name}/seed-0-p2p:8302", "20001": f"testnet-{name}/seed-1-p2p:8303"}
        seed = e2e.cluster.get("statefulset", "-n", f"testnet-{name}", "seed-0")
        assert seed["status"].get("readyReplicas") == 1
        args = seed["spec"]["template"]["spec"]["containers"][0]["args"]
        assert args[args.index("-external-ip") + 1] == shard["status"]["loadBalancer"]["ingress"][0]["ip"]
    assert len(addresses) == 2


@pytest.mark.parametrize("name", TESTNETS)
def test_a_second_up_of_either_changes_nothing(testnets, name):
    assert testnets[name].preview_steps() == []
    assert testnets[name].up("--expect-no-changes").returncode == 0
