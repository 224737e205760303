"""The whole program under mocks for the testnet blueprint: 1 and 3 regions, a shared cluster
from another stack, and the eks + gke example."""

from __future__ import annotations

import json
import re

import pytest

from tests.conftest import example, k8s, obj, run, write_stack
from tools.plan.schemas import validate_plan

PEER = "12D3KooWCoGWacXE4FRwAX8VqhnWVKhz5TTEecWEuGmiNrDt2XLf"
PEER2 = "12D3KooWBTmThKXvEsXtZCZaGs11QeU5AsqFFm3UpryTgV3NbYm8"


def one_region(**extra) -> dict:
    return {
        "pegasus:blueprint": "testnet",
        "pegasus:testnet": {
            "name": "solo", "image": "minaprotocol/mina-daemon:3.1.0", "genesisFile": "testnets/qa-7/daemon.json",
            "ha": False,
            "regions": [{
                "name": "local", "cluster": {"provider": "existing", "context": "kind-local"},
                "seeds": [{"libp2pKeyRef": "solo-seed-0", "peerId": PEER}, {"libp2pKeyRef": "solo-seed-1", "peerId": PEER2}],
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
    assert sorted(sets) == ["pool-a", "seed-0", "seed-1", "whale-1"]
    seed_args = sets["seed-0"].inputs["spec"]["template"]["spec"]["containers"][0]["args"]
    # Its advertised port is its slot's, and it is the seed.
    assert seed_args[seed_args.index("-external-port") + 1] == "8302" and "-seed" in seed_args
    whale_args = sets["whale-1"].inputs["spec"]["template"]["spec"]["containers"][0]["args"]
    host = "ingress-nginx-controller-p2p-0.testnet-solo-ingress.lb.pending.invalid"
    assert [whale_args[i + 1] for i, a in enumerate(whale_args) if a == "-peer"] == [
        f"/dns4/{host}/tcp/8302/p2p/{PEER}", f"/dns4/{host}/tcp/8303/p2p/{PEER2}"]
    assert whale_args[whale_args.index("-external-port") + 1] == "8304"
    routing = obj(plan, "ConfigMap", "pegasus-tcp-services", "testnet-solo-ingress").inputs["data"]
    assert routing == {"20000": "testnet-solo/seed-0-p2p:8302", "20001": "testnet-solo/seed-1-p2p:8303",
                       "20002": "testnet-solo/whale-1-p2p:8304", "20003": "testnet-solo/pool-a-p2p:8305"}
    shard = obj(plan, "Service", "ingress-nginx-controller-p2p-0", "testnet-solo-ingress")
    assert [p["port"] for p in shard.inputs["spec"]["ports"]] == [8302, 8303, 8304, 8305]
    assert {p["protocol"] for p in shard.inputs["spec"]["ports"]} == {"TCP"}
    # No cloud records without a domain; the peer list names the shard.
    assert not [r for r in plan.resources if r.type.startswith("cloudflare:")]
    assert plan.outputs["peerList"] == [f"/dns4/{host}/tcp/8302/p2p/{PEER}", f"/dns4/{host}/tcp/8303/p2p/{PEER2}"]
    checked, errors = validate_plan(plan, "1.35")
    assert errors == [] and checked > 20


def test_udp_reaches_the_shards_and_the_controller(tmp_path):
    plan = run(config_file=write_stack(tmp_path, one_region(udp=True)))
    shard = obj(plan, "Service", "ingress-nginx-controller-p2p-0", "testnet-solo-ingress")
    assert [(p["port"], p["protocol"]) for p in shard.inputs["spec"]["ports"]] == [
        (8302, "TCP"), (8302, "UDP"), (8303, "TCP"), (8303, "UDP"), (8304, "TCP"), (8304, "UDP"), (8305, "TCP"), (8305, "UDP")]
    assert obj(plan, "ConfigMap", "pegasus-udp-services", "testnet-solo-ingress").inputs["data"] == {
        "20000": "testnet-solo/seed-0-p2p:8302", "20001": "testnet-solo/seed-1-p2p:8303",
        "20002": "testnet-solo/whale-1-p2p:8304", "20003": "testnet-solo/pool-a-p2p:8305"}
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
    example_ids = {"seed-0": PEER, "seed-1": "12D3KooWBTmThKXvEsXtZCZaGs11QeU5AsqFFm3UpryTgV3NbYm8",
                   "seed-2": "12D3KooWiQ2Apu68t2WBcoNSYACj3XxuG5rDEktzjqqzeo58cXcu"}
    # Every seed's identity is given, so every seed is in the list, each at its own region's shard port.
    peers = [f"/dns4/{seed}.qa-7.testnets.example.org/tcp/8302/p2p/{peer}" for seed, peer in example_ids.items()]
    assert three.outputs["peerList"] == peers
    for region in ("use1", "euw1", "apse1"):
        cm = [r for r in k8s(three, "ConfigMap") if r.name == f"{region}-peers"][0]
        assert cm.inputs["data"] == {"peers.txt": "".join(p + "\n" for p in peers)}
    # Every daemon bootstraps from every known seed but itself, across regions.
    for sts in k8s(three, "StatefulSet"):
        args = sts.inputs["spec"]["template"]["spec"]["containers"][0]["args"]
        given = [args[i + 1] for i, a in enumerate(args) if a == "-peer"]
        own = [p for seed, p in zip(example_ids, peers) if sts.name.endswith(f"-{seed}-workload")]
        assert given == [p for p in peers if p not in own], sts.name


def test_the_peer_list_is_reachable_by_every_daemon(three):
    """The URL each daemon polls names a Service of its own namespace and region, which selects
    pods that serve the region's peers ConfigMap: followed through the plan, not assumed."""
    for sts in k8s(three, "StatefulSet"):
        region = sts.name.split("-", 1)[0]
        args = sts.inputs["spec"]["template"]["spec"]["containers"][0]["args"]
        url = args[args.index("-peer-list-url") + 1]
        m = re.fullmatch(r"http://([a-z0-9-]+)\.([a-z0-9-]+)\.svc\.cluster\.local/(.+)", url)
        svc_name, ns, path = m.groups()
        assert ns == sts.inputs["metadata"]["namespace"]
        svc = [r for r in k8s(three, "Service") if r.name.startswith(f"{region}-") and r.inputs["metadata"]["name"] == svc_name
               and r.inputs["metadata"]["namespace"] == ns][0]
        assert [p["port"] for p in svc.inputs["spec"]["ports"]] == [80]
        servers = [r for r in k8s(three, "Deployment") if r.name.startswith(f"{region}-")
                   and svc.inputs["spec"]["selector"].items() <= r.inputs["spec"]["template"]["metadata"]["labels"].items()]
        assert len(servers) == 1, sts.name
        pod = servers[0].inputs["spec"]["template"]["spec"]
        container = pod["containers"][0]
        assert svc.inputs["spec"]["ports"][0]["targetPort"] in [p["name"] for p in container["ports"]]
        root = container["command"][container["command"].index("-h") + 1]
        mount = [m for m in container["volumeMounts"] if m["mountPath"] == root][0]
        cm_name = [v for v in pod["volumes"] if v["name"] == mount["name"]][0]["configMap"]["name"]
        cm = [r for r in k8s(three, "ConfigMap") if r.name == f"{region}-peers"][0]
        assert cm.inputs["metadata"]["name"] == cm_name and path in cm.inputs["data"]
        # The namespace's own pods may reach it (the policy's first rule), and the server is one of them.
        policy = [r for r in k8s(three, "NetworkPolicy") if r.name == f"{region}-network-policy"][0].inputs["spec"]
        assert {"from": [{"podSelector": {}}]} in policy["ingress"]
        assert policy["podSelector"]["matchLabels"].items() <= servers[0].inputs["spec"]["template"]["metadata"]["labels"].items()


def test_three_regions_genesis_workers_and_services(three):
    gen = [r for r in k8s(three, "ConfigMap") if r.inputs["metadata"]["name"] == "qa-7-genesis"]
    assert len(gen) == 3 and json.loads(gen[0].inputs["data"]["daemon.json"])["ledger"]["name"] == "qa-7"
    workers = {r.inputs["metadata"]["name"]: r.inputs["spec"]["replicas"] for r in k8s(three, "Deployment") if r.inputs["metadata"]["name"].endswith("-workers")}
    assert workers == {"pool-a-workers": 2, "pool-b-workers": 1}
    assert [r.inputs["spec"]["maxReplicas"] for r in k8s(three, "HorizontalPodAutoscaler")] == [6]
    bot = obj(three, "Deployment", "tx-bot", "testnet-qa-7")
    assert bot.inputs["spec"]["template"]["spec"]["containers"][0]["env"] == [
        {"name": "DAEMON_GRAPHQL_URL", "value": "http://whale-1.testnet-qa-7.svc.cluster.local:3085/graphql"},
        {"name": "SERVICE_KEY_FILE", "value": "/keys/key"}, {"name": "SERVICE_KEY_PASSWORD_FILE", "value": "/keys/password"}]
    # Its key is the existing Secret its keyRef names (kubernetes store), copied in by an init container.
    assert bot.inputs["spec"]["template"]["spec"]["volumes"][0]["secret"]["secretName"] == "qa-7-tx-bot"
    # Keys stay out of the program: kubernetes store, existing Secrets referenced by name.
    assert not [r for r in three.resources if "external-secrets" in r.type]
    whale = [r for r in k8s(three, "StatefulSet") if r.name == "use1-whale-1-workload"][0]
    volumes = whale.inputs["spec"]["template"]["spec"]["volumes"]
    assert {"name": "producer-key", "secret": {"secretName": "qa-7-whale-1", "defaultMode": 256, "items": [{"key": "key", "path": "key"}]}} in volumes


def test_three_regions_validate_and_pass_the_pack(three):
    from tools.plan.check import violations

    checked, errors = validate_plan(three, "1.35")
    assert errors == [] and checked == 69  # + the peer list server (Deployment, Service) of each region
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


@pytest.fixture(scope="module")
def cloud():
    return example("testnet-cloud")


def test_monitoring_installs_the_operator_before_its_custom_resources(cloud):
    """Every region the cloud example builds gets kube-prometheus-stack (the shared Monitoring
    component), and its PodMonitor and PrometheusRule wait for that release, which installs the
    CRDs they are instances of; so a fresh eks or gke region completes `up` with monitoring on."""
    releases = {r.name.split("-", 1)[0]: r for r in cloud.resources
                if r.type == "kubernetes:helm.sh/v3:Release" and r.name.endswith("-monitoring-stack-kps")}
    assert sorted(releases) == ["apse1", "euw1", "use1"]
    for kind in ("PodMonitor", "PrometheusRule"):
        mine = [r for r in k8s(cloud, kind) if r.inputs["metadata"]["namespace"] == "testnet-devnet-3"]
        assert len(mine) == 3
        for r in mine:
            region = r.name.split("-", 1)[0]
            assert releases[region].urn in r.options["dependsOn"], r.name
            assert r.provider.split("::")[:-1] == releases[region].provider.split("::")[:-1], r.name


def test_monitoring_stack_on_an_existing_cluster_is_asked_for(three, tmp_path):
    # The three-context example runs on existing clusters, which may already run the operator.
    assert not [r for r in three.resources if r.type == "pegasus:monitoring:Monitoring"]
    plan = run(config_file=write_stack(tmp_path, one_region(monitoringStack=True)))
    release = [r for r in plan.resources if r.type == "kubernetes:helm.sh/v3:Release" and r.name == "local-monitoring-stack-kps"][0]
    assert all(release.urn in r.options["dependsOn"] for kind in ("PodMonitor", "PrometheusRule") for r in k8s(plan, kind))
    off = run(config_file=write_stack(tmp_path, one_region(monitoring=False, monitoringStack=True)))
    assert not [r for r in off.resources if r.type == "pegasus:monitoring:Monitoring"]


SLACK = "https://hooks.slack.com/services/T000/B000/TESTNETSLACK1"
PAGERDUTY = "TESTNETPAGERDUTY2"


def _matches(matchers: list, labels: dict) -> bool:
    ops = {"=": lambda v, x: v == x, "!=": lambda v, x: v != x,
           "=~": lambda v, x: re.fullmatch(x, v) is not None, "!~": lambda v, x: re.fullmatch(x, v) is None}
    return all(ops[m.get("matchType", "=")](labels.get(m["name"], ""), m["value"]) for m in matchers)


def test_alerting_gives_each_regions_alertmanager_the_receivers(tmp_path):
    """pegasus:alerting on a testnet: every region's Alertmanager (the shared Monitoring component)
    gets Slack and PagerDuty from a Secret, the values never shown in the plan, and each testnet
    alert reaches a receiver by the routes the AlertmanagerConfig (checked against its CRD) sets,
    walked as Alertmanager does (the first matching child, and the next while `continue`; the
    root's receiver when none matches): critical ones page, the others go to Slack, none is
    silenced by the Watchdog route."""
    config_file = write_stack(tmp_path, one_region(monitoringStack=True))
    plan = run(config_file=config_file, sets=[f"alerting.slackWebhookUrl={SLACK}", f"alerting.pagerdutyRoutingKey={PAGERDUTY}"])
    secret = obj(plan, "Secret", "pegasus-alerting")
    assert secret.inputs["stringData"] == "[secret]"
    raw = json.dumps([r.raw_inputs for r in plan.resources])
    assert SLACK in raw and PAGERDUTY in raw  # reached the Secret ...
    shown = json.dumps([r.inputs for r in plan.resources])
    assert "TESTNETSLACK1" not in shown and "TESTNETPAGERDUTY2" not in shown  # ... and is shown nowhere
    [am] = k8s(plan, "AlertmanagerConfig")
    spec = am.inputs["spec"]
    receivers = {r["name"]: r for r in spec["receivers"]}
    assert receivers["slack"]["slackConfigs"][0]["apiURL"] == {"name": "pegasus-alerting", "key": "slack-webhook-url"}
    assert receivers["pagerduty"]["pagerdutyConfigs"][0]["routingKey"] == {"name": "pegasus-alerting", "key": "pagerduty-routing-key"}
    [rules] = [r for r in k8s(plan, "PrometheusRule") if r.inputs["metadata"]["namespace"] == "testnet-solo"]
    testnet_rules = rules.inputs["spec"]["groups"][0]["rules"]
    assert {r["labels"]["severity"] for r in testnet_rules} == {"critical", "warning"}

    def route(labels: dict) -> list:
        out = []
        for child in spec["route"]["routes"]:
            if _matches(child["matchers"], labels):
                out.append(child["receiver"])
                if not child.get("continue"):
                    break
        return out or [spec["route"]["receiver"]]

    for rule in testnet_rules:
        got = route({"alertname": rule["alert"], "namespace": "testnet-solo", **rule["labels"]})
        assert got == (["pagerduty"] if rule["labels"]["severity"] == "critical" else ["slack"]), rule["alert"]
    assert route({"alertname": "Watchdog"}) == ["null"]
    checked, errors = validate_plan(plan, "1.35")
    assert errors == [] and checked > 20
