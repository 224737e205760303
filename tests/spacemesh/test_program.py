"""The whole spacemesh program under Pulumi's mocks: the example stack (gke, bootstrap) and an
existing-cluster network that joins another one (bootstrap false)."""

from __future__ import annotations

import json

from tests.conftest import example, k8s, obj, run, write_stack

BOOT = "/dns4/boot.example.org/tcp/5000/p2p/12D3KooWAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA7z"


def test_example_plans_every_node_as_a_chain_node_with_a_protected_volume():
    plan = example("spacemesh")
    nodes = [r for r in plan.resources if r.type == "pegasus:chain:ChainNode"]
    assert sorted(r.name for r in nodes) == sorted([f"spacemesh-miner-{i}" for i in range(1, 21)] + [f"spacemesh-poet-{i}" for i in range(1, 4)]
                                                   + ["spacemesh-web-public-api-1", "spacemesh-web-public-api-2"])
    claims = k8s(plan, "PersistentVolumeClaim")
    assert len(claims) == 25 and all(c.options["protect"] and c.options["retainOnDelete"] for c in claims)
    assert len(k8s(plan, "StatefulSet")) == 25
    pool = next(r for r in plan.resources if r.type == "gcp:container/nodePool:NodePool" and r.name == "spacemesh-pool-pool")
    # 3 nodes in all: one per zone to start, and the autoscaler's bounds count the whole pool.
    assert pool.inputs["initialNodeCount"] == 1 and pool.inputs["nodeConfig"]["machineType"] == "e2-standard-16"
    assert pool.inputs["autoscaling"] == {"totalMinNodeCount": 3, "totalMaxNodeCount": 10, "locationPolicy": "BALANCED"}
    assert plan.outputs["nodePoolSize"] == 3


def test_bootnodes_are_spread_budgeted_and_advertise_their_load_balancer():
    plan = example("spacemesh")
    for i in range(1, 8):
        sts = obj(plan, "StatefulSet", f"miner-{i}", "spacemesh-devnet-412")
        pod = sts.inputs["spec"]["template"]["spec"]
        assert pod["affinity"]["podAntiAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"][0]["topologyKey"] == "kubernetes.io/hostname"
        args = pod["containers"][0]["args"]
        assert "--p2p-bootnode" in args
        assert f"--advertise-address=/dns4/miner-{i}-p2p.spacemesh-devnet-412.lb.pending.invalid/tcp/7513" in args
        assert obj(plan, "Service", f"miner-{i}-p2p", "spacemesh-devnet-412").inputs["spec"]["type"] == "LoadBalancer"
    pdb = obj(plan, "PodDisruptionBudget", "bootnodes", "spacemesh-devnet-412")
    assert pdb.inputs["spec"]["maxUnavailable"] == 1
    miners = obj(plan, "PodDisruptionBudget", "miners", "spacemesh-devnet-412").inputs["spec"]
    assert miners == {"maxUnavailable": 1, "selector": {"matchLabels": {"pegasus.spacemesh.io/role": "miner"}}}
    labels = obj(plan, "StatefulSet", "miner-8", "spacemesh-devnet-412").inputs["spec"]["template"]["metadata"]["labels"]
    assert labels["pegasus.spacemesh.io/role"] == "miner"
    miner = obj(plan, "Service", "miner-8-api", "spacemesh-devnet-412")
    assert miner.inputs["spec"]["type"] == "NodePort" and [p["port"] for p in miner.inputs["spec"]["ports"]] == [6000, 7000]


def test_no_poet_is_started_by_a_job():
    # PoET v0.7.0 removed POST /v1/start and gateways (spacemeshos/poet rpc/api/v1/api.proto
    # at v0.10.8 routes only pow_params, submit, info and proofs): a PoET runs on its schedule.
    plan = example("spacemesh")
    assert k8s(plan, "Job") == []
    assert "/v1/start" not in json.dumps([r.inputs for r in plan.resources])


def test_each_poet_keeps_its_state_on_its_volume_with_its_key_from_a_secret():
    plan = example("spacemesh")
    for i in (1, 2, 3):
        pod = obj(plan, "StatefulSet", f"poet-{i}", "spacemesh-devnet-412").inputs["spec"]["template"]["spec"]
        c = pod["containers"][0]
        assert "--poetdir=/data/poet" in c["args"]
        assert {"name": "data", "mountPath": "/data"} in [{k: m[k] for k in ("name", "mountPath")} for m in c["volumeMounts"]]
        assert c["env"] == [{"name": "POET_PRIVATE_KEY", "valueFrom": {"secretKeyRef": {"name": f"poet-{i}-key", "key": "POET_PRIVATE_KEY"}}}]
        secret = obj(plan, "Secret", f"poet-{i}-key", "spacemesh-devnet-412")
        assert secret is not None and secret.inputs["stringData"] == "[secret]"  # the key stays encrypted
    # The public key is known before up: every node's poet-servers carries it.
    node = json.loads(obj(plan, "ConfigMap", "config-miner", "spacemesh-devnet-412").inputs["data"]["config.json"])
    assert node["main"]["poet-servers"][0]["pubkey"] == "O2onvM62pC1io6jQKm8Nc2UyFXcd4kOmOsBIoYtZ2ik="


def test_public_config_object_and_discovery_entry():
    plan = example("spacemesh")
    obj_ = next(r for r in plan.resources if r.type == "gcp:storage/bucketObject:BucketObject")
    assert obj_.inputs["bucket"] == "sm-networks" and obj_.inputs["name"] == "devnet-412/config.json"
    assert obj_.inputs["content"] == "[secret]"  # pulumi-gcp marks BucketObject.content sensitive
    config = plan.outputs["publicConfig"]
    assert config["genesis"]["genesis-time"] == "2026-12-15T12:00:00Z"
    assert len(config["p2p"]["bootnodes"]) == 6
    assert config["main"]["poet-servers"][0]["address"].startswith("http://poet-1-public.")
    entry = next(r for r in plan.resources if r.type == "pulumi-python:dynamic/pegasus:NetworkEntry")
    assert entry.inputs["entry"]["netName"] == "devnet-412" and entry.inputs["bucket"] == "sm-discovery"
    # Published after what it points at: the config object and every DNS name.
    assert set(entry.options["dependsOn"]) == {obj_.urn, *(r.urn for r in plan.resources if r.type == "cloudflare:index/dnsRecord:DnsRecord")}
    assert ".invalid" not in json.dumps(entry.inputs["entry"])
    records = [r for r in plan.resources if r.type == "cloudflare:index/dnsRecord:DnsRecord"]
    assert sorted(r.inputs["name"] for r in records) == sorted(
        f"{p}-devnet-412.spacemesh.example.org" for p in ("api", "api-json", "explorer-api", "dash-api"))


def test_watch_token_comes_from_a_secret():
    plan = example("spacemesh")
    watch = obj(plan, "Deployment", "spacemesh-watch", "spacemesh-devnet-412")
    c = watch.inputs["spec"]["template"]["spec"]["containers"][0]
    assert "--slack-api-token=$(SLACK_TOKEN)" in c["args"]
    assert c["env"][0]["valueFrom"]["secretKeyRef"]["name"] == "spacemesh-watch-slack"
    profiled = [a for a in obj(plan, "StatefulSet", "miner-10", "spacemesh-devnet-412").inputs["spec"]["template"]["spec"]["containers"][0]["args"] if a.startswith("--profiler-name")]
    assert profiled == ["--profiler-name=miner-10"]


MAINNET_COINBASE = "sm1qqqqqqy0dd83jemjmfj3ghjndxm0ndh3sed8cxs9ns2ut"


def join_stack(tmp_path, joined_config: dict, coinbase: str = MAINNET_COINBASE, disk: str = "100Gi"):
    ids = {f"miner-{i}": f"12D3KooW{'B' * 44}{i}z" for i in (1, 2)}
    config_file = tmp_path / "joined.json"
    config_file.write_text(json.dumps(joined_config))
    return write_stack(tmp_path, {
        "pegasus:blueprint": "spacemesh",
        "pegasus:cluster": {"provider": "existing"},
        "pegasus:spacemesh": {"network": "join-1", "image": "spacemeshos/go-spacemesh:v1.7.6", "poetImage": "spacemeshos/poet:v0.10.8",
                              "bootstrap": False, "existingBootnodes": [BOOT], "bootnodes": 2, "miners": 3, "poets": 1,
                              "configFile": str(config_file), "identities": ids, "coinbase": coinbase,
                              "resources": {"miner": {"disk": disk}}},
        "pegasus:spacemeshSecrets": {"p2pKeys": {k: {"secure": "x"} for k in ids}, "poetKeys": {"poet-1": {"secure": "x"}}},
    })


def rendered_genesis_id(plan, role: str) -> str:
    """The genesis ID a node with this ConfigMap computes: go-spacemesh loads the preset the
    file names (mainnet without one, node/node.go), then the file (fixture facts only)."""
    from components.spacemesh.node_config import genesis_id
    from tests.spacemesh.test_upstream import GS

    config = json.loads(obj(plan, "ConfigMap", f"config-{role}", "spacemesh-join-1").inputs["data"]["config.json"])
    genesis = {**{k: v for k, v in GS["presets"][config.get("preset", "mainnet")].items() if k.startswith("genesis-")},
               **config.get("genesis", {})}
    return genesis_id(genesis["genesis-time"], genesis["genesis-extra-data"])


def test_joining_mainnet_renders_mainnets_genesis_id(tmp_path):
    # Joining takes genesis from the joined network's file (here mainnet's defaults: no
    # preset), never from this stack's name; the ID is mainnet's published one.
    # Mainnet's minimum PoST, 4 units of 64 GiB, on a volume that holds it.
    joined = {"p2p": {"min-peers": 5}, "smeshing": {"smeshing-opts": {"smeshing-opts-numunits": 4}}}
    plan = run("test", config_file=join_stack(tmp_path, joined, disk="300Gi"))
    from tests.spacemesh.test_upstream import GS

    for role in ("bootnode", "miner"):
        config = json.loads(obj(plan, "ConfigMap", f"config-{role}", "spacemesh-join-1").inputs["data"]["config.json"])
        assert "genesis" not in config  # no genesis-extra-data from this stack's name
        assert rendered_genesis_id(plan, role) == GS["knownGenesisIds"]["mainnet"]
    config = json.loads(obj(plan, "ConfigMap", "config-bootnode", "spacemesh-join-1").inputs["data"]["config.json"])
    assert config["p2p"]["bootnodes"] == [BOOT]
    assert not [r for r in plan.resources if r.type.startswith("gcp:")]
    assert len(k8s(plan, "StatefulSet")) == 4
    sts = obj(plan, "StatefulSet", "miner-1", "spacemesh-join-1")
    assert "nodeSelector" not in sts.inputs["spec"]["template"]["spec"]
    assert set(plan.outputs["hosts"]) == {"miner-1", "miner-2", "miner-3"}


def test_joining_a_devnet_keeps_its_genesis_and_its_poet_schedule(tmp_path):
    from components.spacemesh.node_config import genesis_id

    joined = {"preset": "testnet", "genesis": {"genesis-time": "2026-11-01T10:00:00Z", "genesis-extra-data": "devnet-7"},
              "poet": {"phase-shift": "6h"}}
    plan = run("test", config_file=join_stack(tmp_path, joined, "stest1qqqqqqy0dd83jemjmfj3ghjndxm0ndh3sed8cxs9ns2ut"))
    assert rendered_genesis_id(plan, "miner") == genesis_id("2026-11-01T10:00:00Z", "devnet-7")
    poet = obj(plan, "StatefulSet", "poet-1", "spacemesh-join-1").inputs["spec"]["template"]["spec"]["containers"][0]["args"]
    # testnet: 5m layers * 288 = 86400 s epochs, 2h cycle gap; the file's own phase shift.
    assert [a for a in poet if a.split("=")[0] in ("--genesis-time", "--epoch-duration", "--phase-shift", "--cycle-gap")] == [
        "--genesis-time=2026-11-01T10:00:00Z", "--epoch-duration=86400s", "--phase-shift=21600s", "--cycle-gap=7200s"]


def test_web_services_run_twice_behind_their_own_ingress_and_dns_points_there():
    plan = example("spacemesh")
    for name in ("dashboard-backend", "explorer-backend", "explorer-collector"):
        assert obj(plan, "Deployment", name, "spacemesh-devnet-412").inputs["spec"]["replicas"] == 2
    # The public API: two non-smeshing nodes, each with its own protected volume, behind one Service.
    service = obj(plan, "Service", "public-api", "spacemesh-devnet-412").inputs["spec"]
    for i in (1, 2):
        pod = obj(plan, "StatefulSet", f"public-api-{i}", "spacemesh-devnet-412").inputs["spec"]["template"]
        assert set(service["selector"].items()) <= set(pod["metadata"]["labels"].items())
        assert "--smeshing-start=false" in pod["spec"]["containers"][0]["args"]
        assert {"name": "data", "persistentVolumeClaim": {"claimName": f"public-api-{i}-data"}} in pod["spec"]["volumes"]
        claim = obj(plan, "PersistentVolumeClaim", f"public-api-{i}-data", "spacemesh-devnet-412")
        assert claim.options["protect"] and claim.options["retainOnDelete"]
    miner = obj(plan, "StatefulSet", "miner-8", "spacemesh-devnet-412").inputs["spec"]["template"]["metadata"]["labels"]
    assert not set(service["selector"].items()) <= set(miner.items())
    grpc = obj(plan, "Ingress", "grpc", "spacemesh-devnet-412").inputs["spec"]
    assert grpc["ingressClassName"] == "sm-devnet-412-web"
    assert grpc["tls"] == [{"hosts": ["api-devnet-412.spacemesh.example.org"], "secretName": "grpc-tls"}]
    release = next(r for r in plan.resources if r.type == "kubernetes:helm.sh/v3:Release" and r.inputs["name"] == "sm-devnet-412-web")
    assert (release.inputs["name"], release.inputs["version"]) == ("sm-devnet-412-web", "4.15.1")
    lb = obj(plan, "Service", "web-ingress", "spacemesh-devnet-412")
    records = [r for r in plan.resources if r.type == "cloudflare:index/dnsRecord:DnsRecord"]
    assert {r.inputs["content"] for r in records} == {"web-ingress.spacemesh-devnet-412.lb.pending.invalid"}
    assert lb.inputs["spec"]["type"] == "LoadBalancer"
    pool = next(r for r in plan.resources if r.type == "gcp:container/nodePool:NodePool" and r.name == "spacemesh-pool-pool")
    assert pool.inputs["nodeConfig"]["serviceAccount"].endswith(".iam.gserviceaccount.com")


def test_adding_a_miner_creates_only_that_miner_and_an_upgrade_touches_only_the_nodes():
    from tools.plan.diff import diff

    before = example("spacemesh")
    added = diff(before, run("spacemesh", ["spacemesh.miners=21"]))
    # spacemesh-watch follows every node, so its list grows; nothing else changes.
    assert [u.rsplit("::", 1)[1] for u in added.updated] == ["spacemesh-tools-spacemesh-watch-deployment"]
    assert added.deleted == ()
    assert {u.rsplit("::", 1)[1] for u in added.created} == {
        "spacemesh-miner-21", "spacemesh-miner-21-data", "spacemesh-miner-21-p2p", "spacemesh-miner-21-internal",
        "spacemesh-miner-21-workload"}
    upgraded = diff(before, run("spacemesh", ["spacemesh.image=spacemeshos/go-spacemesh:v1.7.7"]))
    names = {u.rsplit("::", 1)[1] for u in upgraded.updated}
    assert upgraded.created == () and upgraded.deleted == ()
    # Each node's own StatefulSet (a restart per node, never one set), the public API, the
    # init containers' image, and the discovery entry's node versions.
    assert {n for n in names if n.endswith("-workload")} == {f"spacemesh-miner-{i}-workload" for i in range(1, 21)} | {
        "spacemesh-web-public-api-1-workload", "spacemesh-web-public-api-2-workload"}
    assert names - {n for n in names if n.endswith("-workload")} == {"spacemesh-publish-discovery"}


def test_a_staged_upgrade_restarts_only_the_nodes_it_names():
    from tools.plan.diff import diff

    staged = diff(example("spacemesh"), run("spacemesh", ["spacemesh.upgrade.image=spacemeshos/go-spacemesh:v1.7.7",
                                                          "spacemesh.upgrade.nodes=2"]))
    assert [u.rsplit("::", 1)[1] for u in staged.updated] == ["spacemesh-miner-19-workload", "spacemesh-miner-20-workload"]


def test_the_example_passes_every_policy_and_its_manifests_validate(capsys):
    from tools.plan import check
    from tools.plan.__main__ import main
    from tools.plan.schemas import validate_plan

    assert check.violations(example("spacemesh")) == []
    checked, errors = validate_plan(example("spacemesh"), "1.35")
    assert errors == [] and checked >= 130
    assert main(["--stack", "spacemesh", "--check", "--quiet"]) == 0
    assert "Policy check: no violations" in capsys.readouterr().out


def test_removing_a_miner_deletes_only_its_resources_and_its_volume_is_protected():
    from tools.plan.diff import diff

    before = example("spacemesh")
    removed = diff(before, run("spacemesh", ["spacemesh.miners=19", "spacemesh.pyroscope.miners=[10]"]))
    assert removed.created == ()
    assert {u.rsplit("::", 1)[1] for u in removed.deleted} == {
        "spacemesh-miner-20", "spacemesh-miner-20-data", "spacemesh-miner-20-p2p", "spacemesh-miner-20-internal",
        "spacemesh-miner-20-workload"}
    claim = next(r for r in before.resources if r.name == "spacemesh-miner-20-data")
    # `pulumi up` refuses to delete it until unprotected, and then leaves it in the cluster.
    assert claim.options["protect"] and claim.options["retainOnDelete"]


def test_the_node_pool_speaks_container_v1():
    """Every field of the pool's autoscaling, management and upgrade settings is one the GKE
    API has (google-api-python-client's container.v1.json), and the totals are not mixed with
    the per-zone counts, which the API refuses."""
    import os

    import googleapiclient

    doc = json.load(open(os.path.join(os.path.dirname(googleapiclient.__file__), "discovery_cache", "documents", "container.v1.json")))
    schemas = doc["schemas"]
    pool = next(r for r in example("spacemesh").resources if r.type == "gcp:container/nodePool:NodePool" and r.name == "spacemesh-pool-pool")
    for field, schema in (("autoscaling", "NodePoolAutoscaling"), ("management", "NodeManagement"), ("upgradeSettings", "UpgradeSettings")):
        assert set(pool.inputs[field]) <= set(schemas[schema]["properties"]), field
    assert not {"minNodeCount", "maxNodeCount"} & set(pool.inputs["autoscaling"])
    assert pool.inputs["autoscaling"]["locationPolicy"] in schemas["NodePoolAutoscaling"]["properties"]["locationPolicy"]["enum"]


def test_every_api_address_names_a_service_that_carries_the_port():
    """`hosts` and spacemesh-watch dial <service>.<ns>.svc.cluster.local:<port>; each must be a
    planned Service with that port (a miner's internal Service has only p2p and metrics)."""
    plan = example("spacemesh")

    def carried(address: str) -> bool:
        host, port = address.rsplit(":", 1)
        name, ns = host.split(".")[:2]
        return int(port) in [p["port"] for p in obj(plan, "Service", name, ns).inputs["spec"]["ports"]]

    for node, entry in plan.outputs["hosts"].items():
        assert carried(entry["grpc"]) and carried(entry["json"]), node
    args = obj(plan, "Deployment", "spacemesh-watch", "spacemesh-devnet-412").inputs["spec"]["template"]["spec"]["containers"][0]["args"]
    watched = next(a for a in args if a.startswith("--nodes=")).split("=", 1)[1].split(",")
    assert len(watched) == 20 and all(carried(w.rsplit("/", 1)[0]) for w in watched)
