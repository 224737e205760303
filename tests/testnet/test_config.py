"""pegasus:testnet: parsing, defaults and errors by exact message."""

from __future__ import annotations

import copy

import pytest

from pegasus import config
from pegasus.config import ConfigError, parse
from components.testnet.config import Producer, Seed, SnarkPool, StackCluster
from components.testnet.config import TestnetBlueprint as Blueprint

IMAGE = "minaprotocol/mina-daemon:3.1.0"


PEER = "12D3KooWCoGWacXE4FRwAX8VqhnWVKhz5TTEecWEuGmiNrDt2XLf"


def region(name, **extra):
    # An existing cluster in an HA testnet says where it runs (components/testnet/places.py).
    return {"name": name, "cluster": {"provider": "existing", "context": f"kind-{name}"}, "place": f"site-{name}", **extra}


BASE = {
    "name": "qa-7",
    "image": IMAGE,
    "genesisFile": "testnets/qa-7/daemon.json",
    "ha": True,
    "regions": [
        region("use1", seeds=2, blockProducers=[{"name": "whale-1", "keyRef": "whale-1"}],
               snarkPools=[{"name": "pool-a", "coordinatorKeyRef": "snark-a", "workers": 2}]),
        # Two seeds with a given identity, in two regions: what an HA testnet needs at least.
        region("euw1", seeds=[{"libp2pKeyRef": "qa-7-seed-2", "peerId": PEER}],
               blockProducers=[{"name": "whale-2", "keyRef": "whale-2"}]),
        region("apse1", seeds=[{"libp2pKeyRef": "qa-7-seed-3", "peerId": PEER}],
               blockProducers=[{"name": "whale-3", "keyRef": "whale-3"}]),
    ],
}


def tn(**changes) -> dict:
    out = copy.deepcopy(BASE)
    out.update(changes)
    return out


def parsed(t: dict, **raw) -> Blueprint:
    return parse({"blueprint": "testnet", "testnet": t, **raw}, project="pegasus", stack="qa")


def error(t: dict, **raw) -> str:
    with pytest.raises(ConfigError) as e:
        parsed(t, **raw)
    return str(e.value)


def test_a_testnet_needs_no_validator_settings():
    s = parsed(tn())
    assert s.blueprint == "testnet"
    t = s.testnet
    assert (t.name, t.namespace, t.secret_store, t.base_port, t.shard_size, t.udp) == ("qa-7", "testnet-qa-7", "kubernetes", 8302, 25, False)
    use1 = t.regions[0]
    assert use1.seeds == (Seed(0), Seed(1))
    # Numbered across the testnet: one DNS name per seed.
    assert t.regions[1].seeds == (Seed(2, "qa-7-seed-2", PEER),)
    assert use1.block_producers == (Producer("whale-1", "whale-1"),)
    assert use1.snark_pools == (SnarkPool("pool-a", "snark-a", "0.025", "seq", 2, 2),)
    assert use1.cluster.provider == "existing" and use1.cluster.context == "kind-use1"
    # Every region's cluster gets its own default name, so the cloud resources do not collide.
    assert [r.cluster.name for r in t.regions] == ["pegasus-qa-use1", "pegasus-qa-euw1", "pegasus-qa-apse1"]


def test_ha_with_fewer_than_three_distinct_regions():
    t = tn(regions=BASE["regions"][:2])
    assert error(t) == (
        "pegasus:testnet.ha: an HA testnet needs at least 3 distinct regions, got 2 (site-use1, site-euw1); add regions or set ha false"
    )


def test_a_region_listed_twice():
    regions = copy.deepcopy(BASE["regions"])
    regions[2]["name"] = "use1"
    assert error(tn(regions=regions)) == "pegasus:testnet.regions[2].name: region 'use1' is listed twice"


def test_non_ha_runs_in_exactly_one_region():
    assert error(tn(ha=False)) == (
        "pegasus:testnet.ha: is false, so the testnet runs in exactly 1 region, got 3; set ha true for more"
    )
    solo = copy.deepcopy(BASE["regions"][:1])
    solo[0]["seeds"] = [{"libp2pKeyRef": "qa-7-seed-0", "peerId": PEER}, {"libp2pKeyRef": "qa-7-seed-1", "peerId": PEER}]
    assert len(parsed(tn(ha=False, regions=solo)).testnet.regions) == 1


def test_duplicate_key_ref_across_regions():
    regions = copy.deepcopy(BASE["regions"])
    regions[2]["blockProducers"][0]["keyRef"] = "whale-1"
    assert error(tn(regions=regions)) == (
        "pegasus:testnet.regions[2].blockProducers[0].keyRef: 'whale-1' is already the key of block producer use1/whale-1; "
        "every block producer needs its own key"
    )


def test_unknown_work_selection():
    regions = copy.deepcopy(BASE["regions"])
    regions[0]["snarkPools"][0]["workSelection"] = "fifo"
    assert error(tn(regions=regions)) == (
        "pegasus:testnet.regions[0].snarkPools[0].workSelection: must be one of seq, rand, roffset; got 'fifo'"
    )


@pytest.mark.parametrize("name", ["QA-7", "qa_7", "-qa", "a" * 31])
def test_testnet_name_must_be_dns1123(name):
    assert error(tn(name=name)) == (
        f"pegasus:testnet.name: {name!r} must be the testnet name of lowercase letters, digits and '-' (DNS-1123), at most 30 characters"
    )


def test_region_and_daemon_names_must_be_dns1123():
    regions = copy.deepcopy(BASE["regions"])
    regions[1]["blockProducers"][0]["name"] = "Whale 2"
    assert error(tn(regions=regions)) == (
        "pegasus:testnet.regions[1].blockProducers[0].name: 'Whale 2' must be a name of lowercase letters, digits and '-' (DNS-1123), at most 30 characters"
    )


def test_a_kubernetes_key_ref_names_a_secret():
    regions = copy.deepcopy(BASE["regions"])
    regions[0]["blockProducers"][0]["keyRef"] = "qa-7/whale-1"
    assert error(tn(regions=regions)) == (
        "pegasus:testnet.regions[0].blockProducers[0].keyRef: 'qa-7/whale-1' must name an existing Secret in the testnet "
        "namespace (DNS-1123) when testnet.secretStore is kubernetes"
    )
    # A secret-manager path is fine with a cloud store.
    assert parsed(tn(regions=regions, secretStore="aws")).testnet.regions[0].block_producers[0].key_ref == "qa-7/whale-1"


def test_validator_sections_are_refused_on_a_testnet():
    assert error(tn(), cluster={"provider": "eks"}) == (
        "pegasus:cluster: is a setting of the validator blueprint; a testnet sets its clusters per region, in testnet.regions[].cluster"
    )


def test_monitoring_and_alerting_configure_the_testnets_monitoring_stack_with_the_validators_keys():
    b = parsed(tn(), monitoring={"admissionWebhooks": False, "retention": "7d"})
    assert b.testnet.monitoring_settings.admission_webhooks is False
    assert b.testnet.monitoring_settings.retention == "7d"
    assert parsed(tn()).testnet.monitoring_settings.admission_webhooks is True
    assert error(tn(), alerting={"slack": "x"}).startswith("pegasus:alerting.slack: unknown key")


def test_the_testnet_section_is_refused_on_a_validator():
    with pytest.raises(ConfigError) as e:
        parse({"testnet": tn()}, project="pegasus", stack="dev")
    assert str(e.value) == "pegasus:testnet: applies to the testnet blueprint only, and this stack's blueprint is validator; remove it, or set pegasus:blueprint to testnet"


def test_stack_provider_reads_a_shared_clusters_kubeconfig():
    regions = copy.deepcopy(BASE["regions"])
    regions[0]["cluster"] = {"provider": "stack", "stack": "org/pegasus/platform-use1"}
    regions[1]["cluster"] = {"provider": "stack", "stack": "org/pegasus/platform-euw1", "output": "sharedKubeconfig"}
    t = parsed(tn(regions=regions)).testnet
    assert (t.regions[0].stack_cluster, t.regions[0].cluster) == (StackCluster("org/pegasus/platform-use1", "kubeconfig"), None)
    assert t.regions[1].stack_cluster == StackCluster("org/pegasus/platform-euw1", "sharedKubeconfig")
    assert (t.regions[0].provider, t.regions[0].cloud) == ("stack", "existing")
    regions[0]["cluster"] = {"provider": "stack"}
    assert error(tn(regions=regions)) == "pegasus:testnet.regions[0].cluster.stack: is required"
    regions[0]["cluster"] = {"provider": "stack", "stack": "org/pegasus/x", "region": "us-east-1"}
    assert error(tn(regions=regions)) == "pegasus:testnet.regions[0].cluster.region: unknown key; use provider, stack, output"


def test_region_clusters_reuse_the_cluster_parser():
    regions = copy.deepcopy(BASE["regions"])
    regions[0]["cluster"] = {"provider": "eks"}
    assert error(tn(regions=regions)) == (
        "pegasus:testnet.regions[0].cluster.region: is required when cluster.provider is eks; set it, e.g. "
        "pulumi config set --path cluster.region us-east-1"
    )
    regions[0]["cluster"] = {"provider": "existing", "contxt": "kind-use1"}
    assert error(tn(regions=regions)).startswith(
        "pegasus:testnet.regions[0].cluster.contxt: unknown key; use provider stack, or the keys of pegasus:cluster (provider, name, kubeconfig,"
    )


def test_seeds_with_known_peer_ids():
    regions = copy.deepcopy(BASE["regions"])
    peer = "12D3KooWCoGWacXE4FRwAX8VqhnWVKhz5TTEecWEuGmiNrDt2XLf"
    regions[0]["seeds"] = [{"libp2pKeyRef": "qa-7-seed-0", "peerId": peer}]
    assert parsed(tn(regions=regions)).testnet.regions[0].seeds == (Seed(0, "qa-7-seed-0", peer),)
    regions[0]["seeds"] = [{"libp2pKeyRef": "qa-7-seed-0", "peerId": "not-a-peer"}]
    assert error(tn(regions=regions)) == (
        "pegasus:testnet.regions[0].seeds[0].peerId: 'not-a-peer' is not a libp2p peer ID like 12D3KooW... "
        "(`mina libp2p generate-keypair` prints it)"
    )


def test_a_testnet_needs_two_seeds_with_a_known_identity():
    """A seed given as a count generates its libp2p keypair at first start: nobody can be told
    its peer ID, so it cannot be in the peer list. Two known seeds at least, in two regions with ha."""
    regions = copy.deepcopy(BASE["regions"])
    regions[2]["seeds"] = 3
    assert error(tn(regions=regions)) == (
        "pegasus:testnet.regions: needs at least 2 seeds given as {libp2pKeyRef, peerId} in at least 2 distinct "
        "regions (ha is true), got 1 in 1; a seed given as a count generates its identity at first start, so no "
        "daemon can be told its peer ID"
    )
    # Two known seeds in one region are one place: not enough for ha.
    regions[1]["seeds"].append({"libp2pKeyRef": "qa-7-seed-4", "peerId": PEER})
    assert "got 2 in 1;" in error(tn(regions=regions))
    one = [region("use1", seeds=[{"libp2pKeyRef": "qa-7-seed-0", "peerId": PEER}],
                  blockProducers=[{"name": "whale-1", "keyRef": "whale-1"}])]
    assert error(tn(regions=one, ha=False)) == (
        "pegasus:testnet.regions: needs at least 2 seeds given as {libp2pKeyRef, peerId}, got 1; a seed given as a "
        "count generates its identity at first start, so no daemon can be told its peer ID"
    )
    one[0]["seeds"].append({"libp2pKeyRef": "qa-7-seed-1", "peerId": PEER})
    assert len(parsed(tn(regions=one, ha=False)).testnet.regions[0].seeds) == 2


def test_test_services_name_a_daemon_of_their_region():
    regions = copy.deepcopy(BASE["regions"])
    regions[1]["testServices"] = [{"name": "tx-bot", "image": "example/bot:1.0", "daemon": "whale-1"}]
    assert error(tn(regions=regions)) == (
        "pegasus:testnet.regions[1].testServices[0].daemon: 'whale-1' is not a daemon of region euw1; one of seed-2, whale-2"
    )


def test_domain_and_zone_go_together():
    assert error(tn(domain="testnets.example.org")) == (
        "pegasus:testnet.cloudflareZoneId: domain and cloudflareZoneId are set together: the seed records "
        "seed-<n>.<name>.<domain> live in that Cloudflare zone"
    )


def test_pool_scaling_bounds():
    regions = copy.deepcopy(BASE["regions"])
    regions[0]["snarkPools"][0]["maxWorkers"] = 1
    assert error(tn(regions=regions)) == (
        "pegasus:testnet.regions[0].snarkPools[0].maxWorkers: must be between 2 and 500 and at least workers; got 1"
    )


def test_unknown_testnet_key():
    assert error(tn(seedCount=3)) == (
        "pegasus:testnet.seedCount: unknown key; the known keys of pegasus:testnet are "
        + ", ".join(k.path.split(".", 1)[1] for k in config.KEYS if k.path.startswith("testnet."))
    )


def test_every_testnet_key_in_the_reference_is_read_by_the_parser(monkeypatch):
    read: set[str] = set()
    original = config._Section.check_unknown

    def record(self):
        if self.name == "testnet":
            read.update(f"testnet.{f}" for f in self.used)
        return original(self)

    monkeypatch.setattr(config._Section, "check_unknown", record)
    parsed(tn())
    assert read == {k.path for k in config.KEYS if k.path.startswith("testnet.")}


def test_the_example_stacks_parse():
    import yaml

    from tests.conftest import PROJECT

    for stack in ("testnet", "testnet-cloud"):
        doc = yaml.safe_load((PROJECT / f"Pulumi.{stack}.yaml").read_text())
        raw = {k.split(":", 1)[1]: v for k, v in doc["config"].items() if k.startswith("pegasus:")}
        s = parse(raw, project="pegasus", stack=stack)
        assert s.blueprint == "testnet"
    assert [r.cluster.provider for r in s.testnet.regions] == ["eks", "gke", "eks"]


def test_archive_settings():
    regions = copy.deepcopy(BASE["regions"])
    regions[0]["archive"] = {"enabled": True}
    assert error(tn(regions=regions)) == (
        "pegasus:testnet.regions[0].archive.image: is required with archive enabled: the archive process image, "
        "like minaprotocol/mina-archive:<tag>")
    regions[0]["archive"] = {"enabled": True, "image": "minaprotocol/mina-archive:3.1.0"}
    archive = parsed(tn(regions=regions)).testnet.regions[0].archive
    assert (archive.image, archive.daemon, archive.storage_size) == ("minaprotocol/mina-archive:3.1.0", "seed-0", "20Gi")
    regions[0]["archive"]["daemon"] = "whale-9"
    assert error(tn(regions=regions)) == (
        "pegasus:testnet.regions[0].archive.daemon: 'whale-9' is not a daemon of region use1; one of seed-0, seed-1, whale-1, pool-a")
    regions[0]["archive"] = {"enabled": False}
    assert parsed(tn(regions=regions)).testnet.regions[0].archive is None


def test_ha_counts_places_not_names():
    regions = copy.deepcopy(BASE["regions"])
    for r, name in zip(regions, ("use1", "use1b", "euw1")):
        r["cluster"] = {"provider": "eks", "region": "eu-west-1" if name == "euw1" else "us-east-1",
                        "publicAccessCidrs": ["203.0.113.0/24"]}
        r["name"] = name
    assert error(tn(regions=regions)) == (
        "pegasus:testnet.ha: an HA testnet needs at least 3 distinct regions, got 2 (eks us-east-1, eks eu-west-1); "
        "add regions or set ha false"
    )


def test_udp_on_eks_halves_the_shard():
    regions = copy.deepcopy(BASE["regions"])
    regions[0]["cluster"] = {"provider": "eks", "region": "us-east-1", "publicAccessCidrs": ["203.0.113.0/24"]}
    assert error(tn(regions=regions, udp=True, shardSize=40)) == (
        "pegasus:testnet.shardSize: must be at most 25 with testnet.udp and an eks region: each daemon takes a TCP "
        "and a UDP listener, and an NLB has at most 50; got 40"
    )
    assert parsed(tn(regions=regions, udp=True)).testnet.shard_size == 25


def test_warnings_name_what_to_set():
    s = parsed(tn())
    assert s.warnings == (
        "testnet.domain is unset: the seeds of region use1 get no DNS name, and the peer list names their shard "
        "addresses, which change if a shard load balancer is ever recreated",
        "use1/seed-0, use1/seed-1 generate their libp2p keypair on first start, so their peer IDs are "
        "unknown and they are left out of the peer list; give seeds as [{libp2pKeyRef, peerId}] to publish them",
    )


def test_karpenter_applies_to_eks_regions():
    assert parsed(tn()).testnet.karpenter is None
    assert error(tn(karpenter={"cpuLimit": "64"})) == (
        "pegasus:testnet.karpenter: applies to eks regions, and this testnet has none; remove it")
    regions = copy.deepcopy(BASE["regions"])
    regions[0]["cluster"] = {"provider": "eks", "region": "us-east-1", "publicAccessCidrs": ["203.0.113.0/24"]}
    k = parsed(tn(regions=regions, karpenter={"cpuLimit": "64"})).testnet.karpenter
    assert (k.enabled, k.cpu_limit, k.expire_after) == (True, "64", "720h")
    assert parsed(tn(regions=regions, karpenter={"enabled": False})).testnet.karpenter is None
    assert error(tn(regions=regions, karpenter={"cpuLimt": "64"})).startswith(
        "pegasus:testnet.karpenter.cpuLimt: unknown key; use the keys of pegasus:karpenter (enabled, instanceFamilies,")


@pytest.mark.parametrize("image", ["minaprotocol/mina-daemon:3.1.0-ae112d3-bullseye-devnet",
                                   "gcr.io/o1labs-192920/mina-daemon:3.1.0-ae112d3-bullseye-mainnet"])
def test_a_network_image_is_refused_for_a_custom_chain(image):
    """The packaged config_<commit>.json of a network image is read before -config-file and
    fills every field the testnet's genesis leaves out (mina_cli_entrypoint.ml at 3.1.0)."""
    net = image.rsplit("-", 1)[1]
    assert error(tn(image=image)) == (
        f"pegasus:testnet.image: {image!r} is a {net} image: its packaged config_<commit>.json is read before "
        "-config-file and fills every field the testnet's genesis leaves out; use a network-less build of the "
        "same release (no mina-devnet or mina-mainnet package)"
    )


def test_a_network_less_image_is_taken():
    for image in ("registry.example.org/mina-daemon:3.1.0-ae112d3-bullseye", "minaprotocol/mina-daemon:3.1.0",
                  "ghcr.io/example/mina-devnet:3.1.0"):  # a repository name is not the tag
        assert parsed(tn(image=image)).testnet.image == image


GEN = {"timestamp": "2026-12-01T00:00:00Z"}
PK = "B62q" + "a" * 51


def test_the_ledger_is_a_file_or_generated_never_both():
    msg = ("pegasus:testnet.genesisFile: give exactly one of genesisFile (the network's daemon.json, relative to the project) "
           "and genesis (the stack writes it from the producers' publicKey and stake)")
    assert error(tn(genesis=GEN)) == msg
    t = tn()
    del t["genesisFile"]
    assert error(t) == msg


def test_a_generated_ledger_needs_every_producers_key_and_stake():
    t = tn(genesis=GEN)
    del t["genesisFile"]
    assert error(t) == (
        "pegasus:testnet.regions[0].blockProducers[0].publicKey: is required with testnet.genesis: the generated ledger "
        "gives each producer's public key its stake"
    )
    for r in t["regions"]:
        for p in r["blockProducers"]:
            p.update(publicKey=PK, stake="1000")
    s = parsed(t).testnet
    assert s.genesis.timestamp == "2026-12-01T00:00:00Z" and s.genesis_file is None
    assert s.regions[0].block_producers[0].stake == "1000"
    t["regions"][0]["blockProducers"][0]["publicKey"] = "B62qshort"
    assert error(t) == ("pegasus:testnet.regions[0].blockProducers[0].publicKey: 'B62qshort' is not a Mina public key "
                        "like B62q... (55 characters)")


def test_stake_is_read_only_for_a_generated_ledger():
    regions = copy.deepcopy(BASE["regions"])
    regions[0]["blockProducers"][0]["stake"] = "1000"
    assert error(tn(regions=regions)) == (
        "pegasus:testnet.regions[0].blockProducers[0].stake: is read only with testnet.genesis; with testnet.genesisFile "
        "give the balance in its ledger"
    )


def test_ha_on_existing_clusters_needs_a_place_per_region():
    """Three kubeconfig contexts may be three clusters on one machine: with ha, an existing or
    shared cluster says where it runs, and two regions with one place are refused."""
    regions = copy.deepcopy(BASE["regions"])
    del regions[1]["place"]
    assert error(tn(regions=regions)) == (
        "pegasus:testnet.regions[1].place: is required with ha: Pegasus cannot tell where region euw1's cluster "
        "(provider existing) runs, and three contexts may be one machine; name its site, like dc-frankfurt-1"
    )
    # Without ha nothing is asked.
    solo = copy.deepcopy(BASE["regions"][:1])
    del solo[0]["place"]
    solo[0]["seeds"] = [{"libp2pKeyRef": "qa-7-seed-0", "peerId": PEER}, {"libp2pKeyRef": "qa-7-seed-1", "peerId": PEER}]
    assert parsed(tn(ha=False, regions=solo)).testnet.regions[0].place is None
    # Four regions, three places: the two laptop contexts are one place.
    regions = copy.deepcopy(BASE["regions"]) + [region("laptop2", place="site-apse1", seeds=1)]
    assert error(tn(regions=regions)) == (
        "pegasus:testnet.regions[3].place: regions apse1 and laptop2 are both in site-apse1, one place for ha; "
        "put them in distinct places or set ha false"
    )
    regions[3]["place"] = "my laptop!"
    assert error(tn(regions=regions)) == (
        "pegasus:testnet.regions[3].place: 'my laptop!' is not a place label (letters, digits, space . _ / -, at most 63), "
        "like dc-frankfurt-1 or us-east-1"
    )
    # A shared cluster from another stack is located the same way.
    regions = copy.deepcopy(BASE["regions"])
    regions[2]["cluster"] = {"provider": "stack", "stack": "org/pegasus/platform-apse1"}
    del regions[2]["place"]
    assert error(tn(regions=regions)).startswith(
        "pegasus:testnet.regions[2].place: is required with ha: Pegasus cannot tell where region apse1's cluster (provider stack)")


def test_ha_refuses_two_cloud_regions_in_one_place():
    regions = copy.deepcopy(BASE["regions"]) + [region("use1b", seeds=1)]
    for r, where in zip(regions, ("us-east-1", "eu-west-1", "ap-southeast-1", "us-east-1")):
        r["cluster"] = {"provider": "eks", "region": where, "publicAccessCidrs": ["203.0.113.0/24"]}
        del r["place"]
    assert error(tn(regions=regions)) == (
        "pegasus:testnet.ha: regions use1 and use1b are both in eks us-east-1, one place for ha; put them in distinct "
        "places or set ha false"
    )


def test_alert_receivers_need_an_alertmanager_this_stack_installs():
    """Slack and PagerDuty are receivers of the Alertmanager of the monitoring stack this stack
    installs; with none installed (existing clusters, monitoringStack unset) they would go nowhere."""
    alerting = {"slackWebhookUrl": "https://hooks.slack.com/services/T0/B0/X"}
    secret = {"secret_keys": {"alerting"}}
    with pytest.raises(ConfigError) as e:
        parse({"blueprint": "testnet", "testnet": tn(), "alerting": alerting}, project="pegasus", stack="qa", **secret)
    assert str(e.value) == (
        "pegasus:alerting: has receivers but no region installs the monitoring stack, so no Alertmanager would get them; "
        "set testnet.monitoringStack true, or route the testnet's alerts in your own Alertmanager and unset alerting"
    )
    ok = parse({"blueprint": "testnet", "testnet": tn(monitoringStack=True), "alerting": alerting}, project="pegasus", stack="qa", **secret)
    assert ok.testnet.alerting.slack_webhook_url is not None
