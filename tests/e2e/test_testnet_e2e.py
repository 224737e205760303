"""`pulumi up` of one region of the testnet example with the real engine on the kwok cluster,
then a second `up` that must change nothing.

The region is the example's first (seeds, a block producer, a SNARK pool, a test service) on
the local cluster; cloud parts are off: no Cloudflare domain, keys from the kubernetes store.
Monitoring is on: the stack installs the Prometheus Operator stack first (testnet.monitoringStack),
since the cluster has no CRDs of its own.
"""

from __future__ import annotations

import json
import shutil

import pytest
import yaml

from tools.e2e.project import Project, copy_project
from tools.e2e.toolchain import REPO

from tests.e2e.conftest import E2E_CONFIG

pytestmark = pytest.mark.e2e

STACK = "testnet"


def one_region_config() -> dict:
    example = yaml.safe_load((REPO / "Pulumi.testnet.yaml").read_text())["config"]["pegasus:testnet"]
    region = dict(example["regions"][0])
    # A testnet needs two seeds with a given identity: the first region's and the second's.
    region["seeds"] = [*example["regions"][0]["seeds"], *example["regions"][1]["seeds"]]
    region["cluster"] = {"provider": "existing"}  # the session's KUBECONFIG, its current context
    testnet = {k: v for k, v in example.items() if k not in ("domain", "cloudflareZoneId", "regions")}
    # Monitoring stays on: the region installs kube-prometheus-stack (an existing cluster asks for
    # it) before its PodMonitor and rules, so the CRDs exist when they are created.
    testnet.update(ha=False, monitoring=True, monitoringStack=True, regions=[region])
    return {
        "pegasus:blueprint": STACK,
        "pegasus:testnet": testnet,
        "pegasus:charts": {"localDir": E2E_CONFIG["charts.localDir"]},
        # kwok's pods serve no webhooks: the same setting the validator's e2e stack uses.
        "pegasus:monitoring": {"admissionWebhooks": E2E_CONFIG["monitoring.admissionWebhooks"] == "true"},
    }


@pytest.fixture(scope="module")
def testnet(e2e, tmp_path_factory) -> Project:
    root = copy_project(tmp_path_factory.mktemp("project-testnet"))
    shutil.copytree(REPO / "testnets", root / "testnets")
    project = Project(root, e2e.full_env(), stack=STACK)
    project.init({})
    path = root / f"Pulumi.{STACK}.yaml"
    doc = yaml.safe_load(path.read_text()) or {}
    doc.setdefault("config", {}).update(one_region_config())
    path.write_text(yaml.safe_dump(doc))
    return project


def test_up_creates_the_region(e2e, testnet):
    testnet.up()
    sets = e2e.cluster.get("statefulset", "-n", "testnet-qa-7")["items"]
    assert sorted(s["metadata"]["name"] for s in sets) == ["pool-a", "seed-0", "seed-1", "whale-1"]
    for s in sets:
        assert s["status"].get("readyReplicas", 0) == 1, s["metadata"]["name"]
    # The shard's real address (the local LB loop's) is what every daemon advertises.
    shard = e2e.cluster.get("service", "-n", "testnet-qa-7-ingress", "ingress-nginx-controller-p2p-0")
    ip = shard["status"]["loadBalancer"]["ingress"][0]["ip"]
    ports = {s["metadata"]["name"]: s["spec"]["template"]["spec"]["containers"][0]["args"] for s in sets}
    for name, args in ports.items():
        assert args[args.index("-external-ip") + 1] == ip, name
    assert sorted(p["port"] for p in shard["spec"]["ports"]) == [8302, 8303, 8304, 8305]
    routing = e2e.cluster.get("configmap", "-n", "testnet-qa-7-ingress", "pegasus-tcp-services")["data"]
    assert routing == {"20000": "testnet-qa-7/seed-0-p2p:8302", "20001": "testnet-qa-7/seed-1-p2p:8303",
                       "20002": "testnet-qa-7/whale-1-p2p:8304", "20003": "testnet-qa-7/pool-a-p2p:8305"}
    peers = e2e.cluster.get("configmap", "-n", "testnet-qa-7", "qa-7-peers")["data"]["peers.txt"]
    assert peers == (f"/ip4/{ip}/tcp/8302/p2p/12D3KooWCoGWacXE4FRwAX8VqhnWVKhz5TTEecWEuGmiNrDt2XLf\n"
                     f"/ip4/{ip}/tcp/8303/p2p/12D3KooWBTmThKXvEsXtZCZaGs11QeU5AsqFFm3UpryTgV3NbYm8\n")
    # The daemons poll it from the region's own server.
    server = e2e.cluster.get("service", "-n", "testnet-qa-7", "qa-7-peers")
    assert server["spec"]["ports"][0]["port"] == 80
    for name, args in ports.items():
        assert args[args.index("-peer-list-url") + 1] == "http://qa-7-peers.testnet-qa-7.svc.cluster.local/peers.txt", name
    claims = e2e.cluster.get("pvc", "-n", "testnet-qa-7")["items"]
    assert sorted(c["metadata"]["name"] for c in claims) == ["pool-a-data", "seed-0-data", "seed-1-data", "whale-1-data"]
    workers = e2e.cluster.get("deployment", "-n", "testnet-qa-7", "pool-a-workers")
    assert workers["status"].get("readyReplicas") == 2
    # The operator's CRDs came first, then the region's own monitors.
    assert e2e.cluster.get("podmonitor", "-n", "testnet-qa-7")["items"]
    assert e2e.cluster.get("prometheusrule", "-n", "testnet-qa-7")["items"]
    outputs = json.loads(testnet.pulumi("stack", "output", "--json").stdout)
    assert outputs["peersTxt"] == peers


def test_second_up_changes_nothing(testnet):
    assert testnet.preview_steps() == []
    run = testnet.up("--expect-no-changes")
    assert run.returncode == 0
