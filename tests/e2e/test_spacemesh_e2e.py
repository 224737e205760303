"""`pulumi up` of a small Spacemesh network (blueprint spacemesh) on the kwok cluster: a
bootstrap node, one bootnode, one miner and one PoET, on an existing cluster with GCS, DNS
and every cloud part off. kwok runs no container, so no node syncs; what this checks is the
real engine's view of the objects, their waits (bound claims, LoadBalancer addresses) and a
no-op second `up`. PoETs need no start call (PoET v0.7.0 removed it), so there is no Job.
"""

from __future__ import annotations

import json

import pytest

from tools.e2e.project import Project, copy_project

from tests.e2e.conftest import E2E_CONFIG

pytestmark = pytest.mark.e2e

IDS = {"miner-1": "12D3KooW" + "C" * 44 + "1z", "miner-2": "12D3KooW" + "C" * 44 + "2z"}
NS = "spacemesh-e2e-net"
CONFIG = {
    **E2E_CONFIG,
    "blueprint": "spacemesh",
    "cluster.provider": "existing",
    "spacemesh.network": "e2e-net",
    "spacemesh.image": "spacemeshos/go-spacemesh:v1.7.6",
    "spacemesh.poetImage": "spacemeshos/poet:v0.10.8",
    "spacemesh.genesisTime": "2026-12-15T12:00:00Z",
    # The testnet preset (HRP stest, the coinbase's); without a file a node runs mainnet's.
    # Written into the project copy by the fixture (networks/ is not part of the program).
    "spacemesh.configFile": "networks/e2e-net/config.json",
    "spacemesh.bootnodes": "1",
    "spacemesh.miners": "3",
    "spacemesh.poets": "1",
    "spacemesh.coinbase": "stest1qqqqqqy0dd83jemjmfj3ghjndxm0ndh3sed8cxs9ns2ut",
    "spacemesh.resources.miner.disk": "1Gi",
    "spacemesh.resources.poet.disk": "1Gi",
    **{f"spacemesh.identities.{k}": v for k, v in IDS.items()},
}
SECRETS = {f"spacemeshSecrets.p2pKeys.{k}": json.dumps({"Key": "p2pkeymaterial" + k, "ID": v}) for k, v in IDS.items()}
# A PoET key of the right shape (base64 of seed || public key, the all-zero seed's).
SECRETS["spacemeshSecrets.poetKeys.poet-1"] = "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA7aie8zrakLWKjqNAqbw1zZTIVdx3iQ6Y6wEihi1naKQ=="


@pytest.fixture(scope="module")
def network(e2e, tmp_path_factory) -> Project:
    # Its own stack name: Pulumi.dev.yaml holds the validator's settings.
    root = copy_project(tmp_path_factory.mktemp("project-spacemesh"))
    (root / "networks" / "e2e-net").mkdir(parents=True)
    (root / "networks" / "e2e-net" / "config.json").write_text(json.dumps({"preset": "testnet"}))
    project = Project(root, e2e.full_env(), stack="spacemesh-e2e")
    project.init(CONFIG, SECRETS)
    return project


def test_up_then_a_second_up_changes_nothing(e2e, network):
    network.up()
    sets = {s["metadata"]["name"] for s in e2e.cluster.get("statefulsets", "-n", NS)["items"]}
    assert sets == {"miner-1", "miner-2", "miner-3", "poet-1"}
    claims = e2e.cluster.get("pvc", "-n", NS)["items"]
    assert sorted(c["metadata"]["name"] for c in claims) == sorted(f"{n}-data" for n in ("miner-1", "miner-2", "miner-3", "poet-1"))
    assert e2e.cluster.get("jobs", "-n", NS)["items"] == []
    bootnode = e2e.cluster.get("service", "miner-2-p2p", "-n", NS)
    address = bootnode["status"]["loadBalancer"]["ingress"][0]["ip"]
    sts = e2e.cluster.get("statefulset", "miner-2", "-n", NS)
    args = sts["spec"]["template"]["spec"]["containers"][0]["args"]
    assert f"--advertise-address=/ip4/{address}/tcp/7513" in args
    config = json.loads(e2e.cluster.get("configmap", "config-miner", "-n", NS)["data"]["config.json"])
    assert config["p2p"]["bootnodes"] == [f"/dns4/miner-2-p2p.{NS}.svc.cluster.local/tcp/7513/p2p/{IDS['miner-2']}"]
    # The keys reach the cluster as Secrets and the state only encrypted.
    assert "p2pkeymaterial" not in json.dumps(network.export())

    network.up()
    assert network.preview_steps() == []
    network.preview("--expect-no-changes")
