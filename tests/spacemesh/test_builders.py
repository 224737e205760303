"""Pure builders and config of the spacemesh blueprint: whole values, exact messages."""

from __future__ import annotations

import base64
import json

import pytest

from components.spacemesh import builder as sb
from components.spacemesh import publish_builder as pb
from components.spacemesh import workload_builder as swb
from pegasus.config import parse
from components.spacemesh.config import Machine, memory_bytes, millicpu
from pegasus.errors import ConfigError

IDS = {f"miner-{i}": f"12D3KooW{'A' * 44}{i}z" for i in range(1, 8)}


def poet_key(n: int) -> tuple[str, str]:
    """(POET_PRIVATE_KEY, public key) as Go's crypto/ed25519 lays them out, made by an
    independent ed25519 implementation: seed || public key, base64."""
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    seed = bytes([n]) * 32
    pub = Ed25519PrivateKey.from_private_bytes(seed).public_key().public_bytes_raw()
    return base64.b64encode(seed + pub).decode(), base64.b64encode(pub).decode()


POET_KEYS = {f"poet-{n}": poet_key(n)[0] for n in (1, 2, 3)}


def raw(**spacemesh):
    base = {
        "network": "devnet-412", "image": "spacemeshos/go-spacemesh:v1.7.6", "poetImage": "spacemeshos/poet:v0.10.8",
        "genesisTime": "2026-12-15T12:00:00Z", "coinbase": "stest1qqqqqqy0dd83jemjmfj3ghjndxm0ndh3sed8cxs9ns2ut",
        "bootnodes": 2, "miners": 5, "poets": 2,
        "identities": {k: v for k, v in IDS.items() if k in ("miner-1", "miner-2", "miner-3")},
    }
    base.update(spacemesh)
    keys = {n: "key-" + n for n in base["identities"]}
    return {"blueprint": "spacemesh", "cluster": {"provider": "existing"}, "spacemesh": base,
            "spacemeshSecrets": {"p2pKeys": keys, "poetKeys": {f"poet-{n}": POET_KEYS[f"poet-{n}"] for n in range(1, base["poets"] + 1)}}}


def settings(**kw):
    return parse(raw(**kw), project="pegasus", stack="t", secret_keys={"spacemeshSecrets"}).spacemesh


def error(r, secret_keys=frozenset({"spacemeshSecrets"})) -> str:
    with pytest.raises(ConfigError) as e:
        parse(r, project="pegasus", stack="t", secret_keys=set(secret_keys))
    return str(e.value)


def test_node_pool_size_is_the_larger_ceiling_and_never_clamped_at_127():
    machine = Machine("e2-standard-16", 16000, 64 * 2**30)
    # 20 miners of 2 CPU/8Gi and 3 PoETs of 1 CPU/2Gi: 43 CPU -> 3 nodes, 166Gi -> 3 nodes.
    pods = [(2000, 8 * 2**30)] * 20 + [(1000, 2 * 2**30)] * 3
    assert sb.node_pool_size(pods, machine) == 3
    # Memory-bound: 10 pods of 1 CPU and 20Gi need 4 nodes by memory, 1 by CPU.
    assert sb.node_pool_size([(1000, 20 * 2**30)] * 10, machine) == 4
    # Spacecraft's int8 parse clamped totals at 127; 300 miners of 2 CPU need 38 nodes.
    assert sb.node_pool_size([(2000, 2**30)] * 300, machine) == 38
    assert sb.node_pool_size([(64000, 2**30)] * 1, machine) == 4
    assert sb.node_pool_size([], machine) == 1


def test_quantities():
    assert millicpu("k", "2") == 2000 and millicpu("k", "500m") == 500 and millicpu("k", 16) == 16000
    assert memory_bytes("k", "8Gi") == 8 * 2**30 and memory_bytes("k", "2G") == 2 * 10**9
    with pytest.raises(ConfigError) as e:
        memory_bytes("spacemesh.machine.memory", "64Gb")
    assert str(e.value) == "pegasus:spacemesh.machine.memory: '64Gb' is not a Kubernetes quantity; write it like 500m, 2, 1Gi or 100Gi"


def test_round_robin_over_every_node_in_order():
    assert sb.round_robin(7, 3) == [0, 1, 2, 0, 1, 2, 0]
    plans = sb.plan_nodes(settings())
    assert [(p.name, p.role, p.poet) for p in plans] == [
        ("miner-1", "bootstrap", 0), ("miner-2", "bootnode", 1), ("miner-3", "bootnode", 0),
        ("miner-4", "miner", 1), ("miner-5", "miner", 0),
    ]


def test_bootnode_selection_without_bootstrap_starts_at_miner_1():
    s = settings(bootstrap=False, genesisTime=None, identities={"miner-1": IDS["miner-1"], "miner-2": IDS["miner-2"]},
                 existingBootnodes=[f"/dns4/boot.example.org/tcp/5000/p2p/{IDS['miner-7']}"])
    plans = sb.plan_nodes(s)
    assert [(p.name, p.role) for p in plans] == [("miner-1", "bootnode"), ("miner-2", "bootnode"),
                                                 ("miner-3", "miner"), ("miner-4", "miner"), ("miner-5", "miner")]
    ns = sb.namespace(s.network)
    assert sb.bootnodes_for(s, plans, "bootnode", ns) == [f"/dns4/boot.example.org/tcp/5000/p2p/{IDS['miner-7']}"]
    assert sb.bootnodes_for(s, plans, "miner", ns) == [
        f"/dns4/miner-1-p2p.spacemesh-devnet-412.svc.cluster.local/tcp/7513/p2p/{IDS['miner-1']}",
        f"/dns4/miner-2-p2p.spacemesh-devnet-412.svc.cluster.local/tcp/7513/p2p/{IDS['miner-2']}",
    ]


DNS = {"zoneId": "z", "domain": "spacemesh.example.org"}


def test_ports_loadbalancer_and_hostport():
    assert [p.p2p_port for p in sb.plan_nodes(settings())] == [7513] * 5
    assert [p.p2p_port for p in sb.plan_nodes(settings(bootnodeAddressing="hostPort", dns=DNS))] == [5001, 5002, 5003, 5004, 5005]
    s = settings(bootnodeAddressing="hostPort", dns=DNS)
    spec = swb.node_spec(s, sb.plan_nodes(s)[1], "ns", "existing", "c", None)
    assert spec.with_public_service is False
    assert spec.workload.host_ports == {"p2p": 5002}
    miner = swb.node_spec(s, sb.plan_nodes(s)[3], "ns", "existing", "c", None)
    assert miner.lb_spec == {"type": "NodePort"} and [p.port for p in miner.public_ports] == [6000, 7000]
    assert miner.workload.host_ports == {} and miner.workload.affinity is None
    # Each bootnode advertises the name it is published under, not its pod address.
    advertised = {p.name: [a for a in sb.node_args(s, p, "ns") if a.startswith("--advertise-address")] for p in sb.plan_nodes(s)}
    assert advertised == {
        "miner-1": ["--advertise-address=/dns4/miner-1.devnet-412.spacemesh.example.org/tcp/5001"],
        "miner-2": ["--advertise-address=/dns4/miner-2.devnet-412.spacemesh.example.org/tcp/5002"],
        "miner-3": ["--advertise-address=/dns4/miner-3.devnet-412.spacemesh.example.org/tcp/5003"],
        "miner-4": [], "miner-5": []}


def test_hostport_is_refused_on_private_gke_nodes_and_without_dns():
    r = raw(bootnodeAddressing="hostPort", dns=DNS)
    r["cluster"] = {"provider": "gke", "name": "sm-t", "region": "us-central1", "project": "p"}
    assert error(r) == ("pegasus:spacemesh.bootnodeAddressing: hostPort binds port 5000+n on the Kubernetes node, but this stack's gke "
                        "nodes are private (no external address; Cloud NAT is outbound only), so no one outside could dial a bootnode; "
                        "use loadBalancer")
    # The refusal rests on what components/cluster builds: gke nodes without external addresses.
    from tests.conftest import example

    cluster = next(r for r in example("spacemesh").resources if r.type == "gcp:container/cluster:Cluster")
    assert cluster.inputs["privateClusterConfig"]["enablePrivateNodes"] is True
    assert error(raw(bootnodeAddressing="hostPort")) == (
        "pegasus:spacemesh.dns: is required with bootnodeAddressing hostPort: each bootnode advertises and publishes "
        "/dns4/miner-N.<network>.<dns.domain>/tcp/5000+N, records you point at its Kubernetes node")


def test_config_rendering_merges_genesis_bootnodes_and_poets_into_the_users_file():
    s = settings()
    base = {"preset": "testnet", "main": {"layer-duration": "5m"}, "p2p": {"min-peers": 10}}
    plans = sb.plan_nodes(s)
    configs = sb.role_configs(sb.node_config(base, s), s, plans, "spacemesh-devnet-412")
    # The public key is the one an independent ed25519 implementation derives from the key.
    poet = {"address": "http://poet-1.spacemesh-devnet-412.svc.cluster.local:5000", "pubkey": poet_key(1)[1]}
    assert configs["bootnode"] == {
        "preset": "testnet",
        "main": {"layer-duration": "5m", "poet-servers": [poet], "metrics-port": 1010},
        "p2p": {"min-peers": 10, "bootnodes": [f"/dns4/miner-1-p2p.spacemesh-devnet-412.svc.cluster.local/tcp/7513/p2p/{IDS['miner-1']}"]},
        "genesis": {"genesis-extra-data": "devnet-412", "genesis-time": "2026-12-15T12:00:00Z"},
        "api": {"grpc-public-listener": "0.0.0.0:6000", "grpc-json-listener": "0.0.0.0:7000"},
    }
    assert configs["bootstrap"]["p2p"]["bootnodes"] == []
    assert len(configs["miner"]["p2p"]["bootnodes"]) == 2
    assert "network-id" not in json.dumps(configs)  # go-spacemesh v1 rejects unknown keys (ErrorUnused)


def test_node_args_carry_each_nodes_own_poet_and_coinbase():
    s = settings(coinbases={"miner-4": "stest1qqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqq"}, metrics=True)
    p = sb.plan_nodes(s)[3]
    assert sb.node_args(s, p, "ns") == (
        "--config=/etc/spacemesh/config.json", "--data-folder=/data/node", "--listen=/ip4/0.0.0.0/tcp/7513",
        "--smeshing-coinbase=stest1qqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqq", "--smeshing-start=true",
        "--smeshing-opts-datadir=/data/post", "--log-encoder=json",
        # Its own PoET in the round robin, then the next: go-spacemesh uses the best proof.
        f'--poet-servers=[{{"address":"http://poet-2.ns.svc.cluster.local:5000","pubkey":"{poet_key(2)[1]}"}},'
        f'{{"address":"http://poet-1.ns.svc.cluster.local:5000","pubkey":"{poet_key(1)[1]}"}}]',
        "--metrics", "--metrics-port=1010",
    )


WEB = {"enabled": True, "dashboardImage": "d:1", "explorerImage": "e:1", "collectorImage": "c:1"}


def with_tls(r: dict) -> dict:
    r["spacemeshSecrets"].update(tlsCert="cert", tlsKey="key")
    return r


def test_discovery_entry_has_spacecrafts_fields():
    s = parse(with_tls(raw(bucket="sm-networks", discovery={"bucket": "sm-discovery", "netId": 412}, webServices=WEB,
                           dns={"zoneId": "z", "domain": "spacemesh.example.org"})),
              project="pegasus", stack="t", secret_keys={"spacemeshSecrets"}).spacemesh
    e = pb.discovery_entry(s)
    assert list(e) == ["netName", "netID", "conf", "grpcAPI", "jsonAPI", "explorer", "explorerAPI", "explorerVersion",
                       "explorerConf", "dash", "dashAPI", "dashVersion", "repository", "minNodeVersion", "maxNodeVersion",
                       "minSmappRelease", "latestSmappRelease", "smappBaseDownloadUrl", "nodeBaseDownloadUrl"]
    assert e["conf"] == "https://storage.googleapis.com/sm-networks/devnet-412/config.json"
    assert e["grpcAPI"] == "https://api-devnet-412.spacemesh.example.org/"
    assert e["dashAPI"] == "wss://dash-api-devnet-412.spacemesh.example.org/ws"
    assert (e["repository"], e["minNodeVersion"]) == ("spacemeshos/go-spacemesh", "v1.7.6")
    assert [(r.name, r.proxied) for r in pb.dns_records(s)] == [
        ("api-devnet-412.spacemesh.example.org", False), ("api-json-devnet-412.spacemesh.example.org", True),
        ("explorer-api-devnet-412.spacemesh.example.org", True), ("dash-api-devnet-412.spacemesh.example.org", True)]


@pytest.mark.parametrize("change, message", [
    ({"network": "Devnet_412"}, "pegasus:spacemesh.network: 'Devnet_412' must be lowercase letters, digits and '-', at most 40 characters (DNS-1123: it names namespaces and DNS records)"),
    ({"genesisTime": None}, "pegasus:spacemesh.genesisTime: is required when bootstrap is true and is never taken from the clock; set it explicitly, like 2026-12-15T12:00:00Z"),
    ({"genesisTime": "2026-12-15 12:00:00"}, "pegasus:spacemesh.genesisTime: '2026-12-15 12:00:00' is not an RFC 3339 time with a zone; write it like 2026-12-15T12:00:00Z"),
    ({"genesisTime": "2026-13-15T12:00:00Z"}, "pegasus:spacemesh.genesisTime: '2026-13-15T12:00:00Z' is not a valid date and time; write it like 2026-12-15T12:00:00Z"),
    ({"bootstrap": False, "genesisTime": None}, "pegasus:spacemesh.existingBootnodes: is required when bootstrap is false: list the multiaddrs of the network to join"),
    ({"bootstrap": False}, "pegasus:spacemesh.genesisTime: comes from the joined network's config file (spacemesh.configFile, or its preset) when bootstrap is false; remove it"),
    ({"miners": 2}, "pegasus:spacemesh.miners: must be between 3 and 10000 (the bootstrap node and the bootnodes are miners too: at least 3); got 2"),
    ({"resources": {"miner": {"memory": "lots"}}}, "pegasus:spacemesh.resources.miner.memory: 'lots' is not a Kubernetes quantity; write it like 500m, 2, 1Gi or 100Gi"),
    ({"bucket": "b", "discovery": {"bucket": "d"}}, "pegasus:spacemesh.webServices.enabled: must be true with discovery: the entry lists the network's public APIs, which the web services serve under dns.domain"),
    ({"poetGatewayAmount": 4}, "pegasus:spacemesh.poetGatewayAmount: is no longer used: PoET has had no gateways and no start call since v0.7.0; remove it"),
    ({"identities": {}}, "pegasus:spacemesh.identities.miner-1: is required: the bootnode's peer ID goes into every other node's bootnodes; generate its key with go-spacemesh's gen-p2p-identity and set the key in spacemeshSecrets.p2pKeys"),
])
def test_config_errors(change, message):
    r = raw()
    for k, v in change.items():
        if v is None:
            r["spacemesh"].pop(k)
        else:
            r["spacemesh"][k] = v
    assert error(r) == message


def test_spacemesh_needs_no_validator_sections_and_refuses_them():
    s = parse(raw(), project="pegasus", stack="t", secret_keys={"spacemeshSecrets"})
    assert s.blueprint == "spacemesh" and not hasattr(s, "spc")
    r = raw()
    r["spc"] = {"image": "x"}
    assert error(r) == "pegasus:spc: belongs to the validator blueprint and is not used by blueprint spacemesh; remove pegasus:spc from the stack"


def test_cluster_defaults_to_gke():
    r = raw()
    r["cluster"] = {"region": "us-central1", "project": "p"}
    assert parse(r, project="pegasus", stack="t", secret_keys={"spacemeshSecrets"}).cluster.provider == "gke"


def test_secrets_in_plain_text_are_refused():
    assert error(raw(), secret_keys=frozenset()) == (
        "pegasus:spacemeshSecrets.p2pKeys: holds secrets but was stored in plain text; set each with "
        "`pulumi config set --secret --path spacemeshSecrets.p2pKeys.<node> <value>`")


def test_every_spacemesh_key_in_the_reference_is_read_by_its_parser(monkeypatch):
    from pegasus import config

    read: set[str] = set()
    original = config._Section.check_unknown

    def record(self):
        read.update(f"{self.name}.{f}" for f in self.used)
        return original(self)

    monkeypatch.setattr(config._Section, "check_unknown", record)
    parse(raw(), project="pegasus", stack="t", secret_keys={"spacemeshSecrets"})
    documented = {k.path for k in config.KEYS if k.path.startswith(("spacemesh.", "spacemeshSecrets."))}
    assert {k for k in read if k.startswith(("spacemesh.", "spacemeshSecrets."))} == documented


def test_a_staged_upgrade_moves_miners_first_and_the_bootstrap_node_last():
    s = settings(upgrade={"image": "spacemeshos/go-spacemesh:v1.7.7", "nodes": 3})
    plans = sb.plan_nodes(s)
    assert sb.upgrade_order(plans) == ["miner-5", "miner-4", "miner-3", "miner-2", "miner-1"]
    assert sb.node_images(s, plans) == {
        "miner-1": "spacemeshos/go-spacemesh:v1.7.6", "miner-2": "spacemeshos/go-spacemesh:v1.7.6",
        "miner-3": "spacemeshos/go-spacemesh:v1.7.7", "miner-4": "spacemeshos/go-spacemesh:v1.7.7",
        "miner-5": "spacemeshos/go-spacemesh:v1.7.7"}
    assert error(raw(upgrade={"nodes": 1})) == "pegasus:spacemesh.upgrade.image: is required when upgrade.nodes is set: the image those nodes move to"


def test_a_schedule_or_genesis_that_disagrees_with_the_nodes_is_refused_naming_both():
    s = settings(poetArgs=["--phase-shift=1h", "--memory=24"])
    with pytest.raises(ConfigError) as e:
        sb.node_config({"preset": "testnet"}, s, "networks/x.json")
    assert str(e.value) == ("pegasus:spacemesh.poetArgs: --phase-shift=1h differs from the nodes' 43200s (networks/x.json); "
                            "remove it, the PoETs' schedule is derived from the nodes' config")
    same = sb.node_config({"preset": "testnet"}, settings(poetArgs=["--phase-shift=12h", "--memory=24"]))
    assert sb.poet_args(same)[-1] == "--memory=24" and sum(a.startswith("--phase-shift") for a in sb.poet_args(same)) == 1
    with pytest.raises(ConfigError) as e:
        sb.node_config({"preset": "testnet", "genesis": {"genesis-time": "2026-12-16T12:00:00Z"}}, settings(), "networks/x.json")
    assert str(e.value) == ("pegasus:spacemesh.genesisTime: 2026-12-15T12:00:00Z differs from genesis.genesis-time "
                            "2026-12-16T12:00:00Z in networks/x.json; make them equal or remove one")
    with pytest.raises(ConfigError) as e:
        sb.node_config({}, settings(), "networks/x.json")
    assert str(e.value) == ("pegasus:spacemesh.coinbase: stest1qqqqqqy0dd83jemjmfj3ghjndxm0ndh3sed8cxs9ns2ut has HRP 'stest' "
                            "but the nodes' main.network-hrp is 'sm' (networks/x.json); use an address of this network")


def test_poet_keys_are_required_well_formed_and_agree_with_poet_pubkeys():
    r = raw()
    del r["spacemeshSecrets"]["poetKeys"]["poet-2"]
    assert error(r) == ("pegasus:spacemeshSecrets.poetKeys.poet-2: is required: the PoET's ed25519 key (base64 of 64 bytes: seed, then "
                        "public key; PoET's POET_PRIVATE_KEY), so its public key is in the nodes' poet-servers before up; set it with --secret")
    r = raw()
    r["spacemeshSecrets"]["poetKeys"]["poet-1"] = base64.b64encode(bytes(32)).decode()
    assert error(r) == ("pegasus:spacemeshSecrets.poetKeys.poet-1: is not base64 of a 64-byte ed25519 private key (seed, then public key), "
                        "which is what PoET's POET_PRIVATE_KEY reads")
    assert settings(poetPubkeys=[poet_key(1)[1], poet_key(2)[1]]).poet_pubkeys == (poet_key(1)[1], poet_key(2)[1])
    assert error(raw(poetPubkeys=[poet_key(2)[1], poet_key(2)[1]])) == (
        f"pegasus:spacemesh.poetPubkeys[0]: {poet_key(2)[1]} differs from {poet_key(1)[1]}, the public key of "
        "spacemeshSecrets.poetKeys.poet-1; correct one of them")


def test_a_poet_gets_the_memory_its_merkle_cache_needs():
    # PoET's default --memory=26 keeps 2^27 - 1 nodes of 32 bytes in memory (service/config.go).
    assert error(raw(resources={"poet": {"memory": "2Gi"}})) == (
        "pegasus:spacemesh.resources.poet.memory: 2Gi is below what PoET holds in memory with --memory=26 (4.0Gi of "
        "Merkle-tree cache, spacemeshos/poet service/config.go) plus headroom; set at least 5Gi, or a lower --memory in poetArgs")
    assert settings().poet.memory == "5Gi"
    assert settings(resources={"poet": {"memory": "2Gi"}}, poetArgs=["--memory=24"]).poet.memory == "2Gi"


def p2p_key_file(private_key_hex: str, listed_id: str = "ignored") -> str:
    return json.dumps({"Key": base64.b64encode(bytes.fromhex(private_key_hex)).decode(), "ID": listed_id})


def test_a_bootnodes_p2p_key_must_be_the_peer_its_identity_names():
    from components.spacemesh.identity import p2p_key_peer_id
    from tests.spacemesh.test_upstream import fixture

    vectors = fixture("libp2p-peer-id.json")["vectors"]
    for v in vectors:
        assert p2p_key_peer_id(p2p_key_file(v["privateKeyHex"])) == v["peerId"]
    assert p2p_key_peer_id("not json") is None
    r = raw(identities={"miner-1": vectors[0]["peerId"], "miner-2": IDS["miner-2"], "miner-3": IDS["miner-3"]})
    r["spacemeshSecrets"]["p2pKeys"]["miner-1"] = p2p_key_file(vectors[0]["privateKeyHex"])
    parse(r, project="pegasus", stack="t", secret_keys={"spacemeshSecrets"})
    r["spacemeshSecrets"]["p2pKeys"]["miner-1"] = p2p_key_file(vectors[1]["privateKeyHex"])
    assert error(r) == (f"pegasus:spacemeshSecrets.p2pKeys.miner-1: is the key of peer {vectors[1]['peerId']}, but spacemesh.identities.miner-1 "
                        f"is {vectors[0]['peerId']}; the other nodes would dial a peer that is not there. Correct one of them")


def test_no_config_file_is_a_warning_that_names_mainnet():
    assert parse(raw(coinbase="sm1qqqqqqy0dd83jemjmfj3ghjndxm0ndh3sed8cxs9ns2ut"), project="pegasus", stack="t",
                 secret_keys={"spacemeshSecrets"}).warnings == (
        "spacemesh.configFile is unset: the nodes run go-spacemesh's defaults, mainnet's (HRP sm, 240h phase shift, "
        "mainnet PoST sizes); set a config file with a preset for anything else",)
    assert parse(raw(configFile="networks/devnet-412/config.json"), project="pegasus", stack="t",
                 secret_keys={"spacemeshSecrets"}).warnings == ()
