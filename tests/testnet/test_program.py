"""The whole program under mocks for the testnet blueprint: 1 and 3 regions, a shared cluster
from another stack, and the eks + gke example."""

from __future__ import annotations

import json

import pytest

from tests.conftest import example, k8s, obj, run, write_stack
from tools.plan.schemas import validate_plan

PEER = "12D3KooWCoGWacXE4FRwAX8VqhnWVKhz5TTEecWEuGmiNrDt2XLf"


def one_region(**extra) -> dict:
    return {
        "pegasus:blueprint": "testnet",
        "pegasus:testnet": {
            "name": "solo", "image": "minaprotocol/mina-daemon:3.1.0", "genesisFile": "testnets/qa-7/daemon.json",
            "ha": False,
            "regions": [{
                "name": "local", "cluster": {"provider": "existing", "context": "kind-local"},
                "seeds": [{"libp2pKeyRef": "solo-seed-0", "peerId": PEER}],
                "blockProducers": [{"name": "whale-1", "keyRef": "solo-whale-1"}],
                "snarkPools": [{"name": "pool-a", "coordinatorKeyRef": "solo-snark-a", "workers": 1}],
            }],
            **extra,
        },
    }


@pytest.fixture(scope="module")
def three():
    return example("testnet")


def provider_of(plan, r) -> str:
    return (r.provider or "").split("::")[-1].split("::")[0]


def test_one_region(tmp_path):
    plan = run(config_file=write_stack(tmp_path, one_region()))
    sets = {r.inputs["metadata"]["name"]: r for r in k8s(plan, "StatefulSet")}
    assert sorted(sets) == ["pool-a", "seed-0", "whale-1"]
    seed_args = sets["seed-0"].inputs["spec"]["template"]["spec"]["containers"][0]["args"]
    # Its advertised port is its slot's, and it is the seed.
    assert seed_args[seed_args.index("-external-port") + 1] == "8302" and "-seed" in seed_args
    whale_args = sets["whale-1"].inputs["spec"]["template"]["spec"]["containers"][0]["args"]
    assert whale_args[whale_args.index("-peer") + 1] == f"/dns4/ingress-nginx-controller-p2p-0.testnet-solo-ingress.lb.pending.invalid/tcp/8302/p2p/{PEER}"
    assert whale_args[whale_args.index("-external-port") + 1] == "8303"
    routing = obj(plan, "ConfigMap", "pegasus-tcp-services", "testnet-solo-ingress").inputs["data"]
    assert routing == {"20000": "testnet-solo/seed-0-p2p:8302", "20001": "testnet-solo/whale-1-p2p:8303",
                       "20002": "testnet-solo/pool-a-p2p:8304"}
    shard = obj(plan, "Service", "ingress-nginx-controller-p2p-0", "testnet-solo-ingress")
    assert [p["port"] for p in shard.inputs["spec"]["ports"]] == [8302, 8303, 8304]
    assert {p["protocol"] for p in shard.inputs["spec"]["ports"]} == {"TCP"}
    # No cloud records without a domain; the peer list names the shard.
    assert not [r for r in plan.resources if r.type.startswith("cloudflare:")]
    assert plan.outputs["peerList"] == [f"/dns4/ingress-nginx-controller-p2p-0.testnet-solo-ingress.lb.pending.invalid/tcp/8302/p2p/{PEER}"]
    checked, errors = validate_plan(plan, "1.35")
    assert errors == [] and checked > 20


def test_udp_reaches_the_shards_and_the_controller(tmp_path):
    plan = run(config_file=write_stack(tmp_path, one_region(udp=True)))
    shard = obj(plan, "Service", "ingress-nginx-controller-p2p-0", "testnet-solo-ingress")
    assert [(p["port"], p["protocol"]) for p in shard.inputs["spec"]["ports"]] == [
        (8302, "TCP"), (8302, "UDP"), (8303, "TCP"), (8303, "UDP"), (8304, "TCP"), (8304, "UDP")]
    assert obj(plan, "ConfigMap", "pegasus-udp-services", "testnet-solo-ingress").inputs["data"] == {
        "20000": "testnet-solo/seed-0-p2p:8302", "20001": "testnet-solo/whale-1-p2p:8303", "20002": "testnet-solo/pool-a-p2p:8304"}
    release = [r for r in plan.resources if r.type == "kubernetes:helm.sh/v3:Release"][0]
    assert release.inputs["values"]["controller"]["extraArgs"]["udp-services-configmap"] == "testnet-solo-ingress/pegasus-udp-services"


def test_three_regions_each_on_its_own_provider(three):
    regions = ("use1", "euw1", "apse1")
    providers = {r.name: r.urn for r in three.resources if r.type == "pulumi:providers:kubernetes"}
    assert sorted(providers) == sorted(f"{g}-cluster-k8s" for g in regions)
    for r in three.resources:
        if r.type.startswith("kubernetes:") and r.custom:
            region = r.name.split("-", 1)[0]
            assert r.provider.startswith(providers[f"{region}-cluster-k8s"] + "::"), r.name
    namespaces = [r for r in k8s(three, "Namespace") if r.inputs["metadata"]["name"] == "testnet-qa-7"]
    assert sorted(r.name for r in namespaces) == sorted(f"{g}-namespace" for g in regions)
    assert all(r.options["retainOnDelete"] for r in namespaces)
    claims = k8s(three, "PersistentVolumeClaim")
    assert len(claims) == 8 and all(r.options["protect"] and r.options["retainOnDelete"] for r in claims)


def test_three_regions_seed_records_and_peer_list(three):
    records = sorted((r.inputs["name"], r.inputs["ttl"]) for r in three.resources if r.type == "cloudflare:index/dnsRecord:DnsRecord")
    assert records == [("seed-0.qa-7.testnets.example.org", 300), ("seed-1.qa-7.testnets.example.org", 300),
                       ("seed-2.qa-7.testnets.example.org", 300)]
    # A load balancer that publishes a name gets a CNAME.
    assert {r.inputs["type"] for r in three.resources if r.type.startswith("cloudflare:")} == {"CNAME"}
    peers = f"/dns4/seed-0.qa-7.testnets.example.org/tcp/8302/p2p/{PEER}"
    assert three.outputs["peerList"] == [peers]
    for region in ("use1", "euw1", "apse1"):
        cm = [r for r in k8s(three, "ConfigMap") if r.name == f"{region}-peers"][0]
        assert cm.inputs["data"] == {"peers.txt": peers + "\n"}
    # Every daemon but the known seed itself bootstraps from it, across regions.
    for sts in k8s(three, "StatefulSet"):
        args = sts.inputs["spec"]["template"]["spec"]["containers"][0]["args"]
        has_seed = "-peer" in args and args[args.index("-peer") + 1] == peers
        assert has_seed == (sts.name != "use1-seed-0-workload"), sts.name


def test_three_regions_genesis_workers_and_services(three):
    gen = [r for r in k8s(three, "ConfigMap") if r.inputs["metadata"]["name"] == "qa-7-genesis"]
    assert len(gen) == 3 and json.loads(gen[0].inputs["data"]["daemon.json"])["ledger"]["name"] == "qa-7"
    workers = {r.inputs["metadata"]["name"]: r.inputs["spec"]["replicas"] for r in k8s(three, "Deployment") if r.inputs["metadata"]["name"].endswith("-workers")}
    assert workers == {"pool-a-workers": 2, "pool-b-workers": 1}
    assert [r.inputs["spec"]["maxReplicas"] for r in k8s(three, "HorizontalPodAutoscaler")] == [6]
    bot = obj(three, "Deployment", "tx-bot", "testnet-qa-7")
    assert bot.inputs["spec"]["template"]["spec"]["containers"][0]["env"] == [
        {"name": "DAEMON_GRAPHQL_URL", "value": "http://whale-1.testnet-qa-7.svc.cluster.local:3085/graphql"}]
    # Keys stay out of the program: kubernetes store, existing Secrets referenced by name.
    assert not [r for r in three.resources if "external-secrets" in r.type]
    whale = [r for r in k8s(three, "StatefulSet") if r.name == "use1-whale-1-workload"][0]
    volumes = whale.inputs["spec"]["template"]["spec"]["volumes"]
    assert {"name": "producer-key", "secret": {"secretName": "qa-7-whale-1", "defaultMode": 256, "items": [{"key": "key", "path": "key"}]}} in volumes


def test_three_regions_validate_and_pass_the_pack(three):
    from tools.plan.check import violations

    checked, errors = validate_plan(three, "1.35")
    assert errors == [] and checked == 63
    assert violations(three) == []


def test_a_shared_cluster_from_another_stack(tmp_path):
    config = one_region()
    config["pegasus:testnet"]["regions"][0]["cluster"] = {"provider": "stack", "stack": "org/pegasus/platform-use1"}
    plan = run(config_file=write_stack(tmp_path, config))
    # The StackReference is a read, not a registration: what shows is the provider built from
    # the other stack's kubeconfig output (here the mocks' placeholder), kept secret.
    provider = [r for r in plan.resources if r.type == "pulumi:providers:kubernetes"]
    assert [r.name for r in provider] == ["local-k8s"]
    assert provider[0].inputs["kubeconfig"] == "[secret]"
    assert "local-cluster-ref.stack.pending.invalid" in provider[0].raw_inputs["kubeconfig"]
    assert not [r for r in plan.resources if r.type == "pegasus:cluster:Cluster"]


def test_cloud_example_eks_and_gke():
    plan = example("testnet-cloud")
    kinds = {r.type for r in plan.resources}
    assert {"eks:index:Cluster", "gcp:container/cluster:Cluster", "aws:ecr/repository:Repository",
            "aws:ecr/lifecyclePolicy:LifecyclePolicy", "gcp:secretmanager/secretIamMember:SecretIamMember"} <= kinds
    # The archive's database is protected and retained; the process waits for it.
    db = [r for r in plan.resources if r.type == "kubernetes:postgresql.cnpg.io/v1:Cluster"]
    assert [r.name for r in db] == ["use1-archive-db"] and db[0].options["protect"] and db[0].options["retainOnDelete"]
    seed = [r for r in k8s(plan, "StatefulSet") if r.name == "use1-seed-0-workload"][0]
    seed_args = seed.inputs["spec"]["template"]["spec"]["containers"][0]["args"]
    assert seed_args[seed_args.index("-archive-address") + 1] == "devnet-3-archive.testnet-devnet-3.svc.cluster.local:3086"
    # Karpenter in the eks regions; their daemons run on its signers pool, gke's anywhere.
    assert sorted(r.name for r in plan.resources if r.type == "pegasus:karpenter:Karpenter") == ["apse1-karpenter", "use1-karpenter"]
    selectors = {r.name: r.inputs["spec"]["template"]["spec"].get("nodeSelector") for r in k8s(plan, "StatefulSet")}
    assert selectors["use1-whale-1-workload"] == {"pegasus.saga.xyz/pool": "signers"}
    assert selectors["euw1-whale-2-workload"] is None
    # Log shipping in every region: all three are eks or gke.
    assert len([r for r in plan.resources if r.type == "pegasus:logging:Logging"]) == 3
    stores = {r.name: r.inputs["spec"]["provider"] for r in plan.resources if r.type.endswith(":SecretStore")}
    assert stores == {
        "use1-keys-store": {"aws": {"service": "SecretsManager", "region": "us-east-1"}},
        "euw1-keys-store": {"gcpsm": {"projectID": "example-project"}},
        "apse1-keys-store": {"aws": {"service": "SecretsManager", "region": "ap-southeast-1"}},
    }
    # On eks the daemons advertise their shard's first Elastic IP, on gke the reserved address.
    args = {r.name: r.inputs["spec"]["template"]["spec"]["containers"][0]["args"] for r in k8s(plan, "StatefulSet")}
    ip = lambda name: args[name][args[name].index("-external-ip") + 1]  # noqa: E731
    eips = {r.name: r for r in plan.resources if r.type == "aws:ec2/eip:Eip"}
    assert ip("use1-whale-1-workload") == eips["use1-p2p-addresses-0-az0"].placeholders["publicIp"]
    address = [r for r in plan.resources if r.type == "gcp:compute/address:Address"][0]
    assert ip("euw1-whale-2-workload") == address.placeholders["address"]
    # Seed records point at the addresses the seeds advertise: A records.
    records = {r.name: (r.inputs["type"], r.inputs["content"]) for r in plan.resources if r.type.startswith("cloudflare:")}
    assert records["use1-seed-0-dns"] == ("A", ip("use1-seed-0-workload"))
    assert records["euw1-seed-1-dns"] == ("A", address.placeholders["address"])
    # The ESO role reads exactly the region's keys.
    policy = [r for r in plan.resources if r.type == "aws:iam/rolePolicy:RolePolicy" and r.name == "use1-keys-eso-read"][0]
    assert json.loads(policy.inputs["policy"])["Statement"][0]["Resource"] == [
        "arn:aws:secretsmanager:us-east-1:123456789012:secret:devnet-3/seed-0-??????",
        "arn:aws:secretsmanager:us-east-1:123456789012:secret:devnet-3/whale-1-??????",
        "arn:aws:secretsmanager:us-east-1:123456789012:secret:devnet-3/snark-a-??????",
    ]


def test_manifests_of_several_clusters_go_under_their_provider(three, tmp_path):
    from tools.plan.render import write_manifests

    written = write_manifests(three, str(tmp_path / "out"))
    genesis = sorted(w for w in written if w.endswith("ConfigMap-qa-7-genesis.yaml"))
    assert genesis == [f"{g}-cluster-k8s/testnet-qa-7/ConfigMap-qa-7-genesis.yaml" for g in ("apse1", "euw1", "use1")]
    assert "use1-cluster-k8s/helm/testnet-qa-7-p2p.values.yaml" in written
