"""Pure testnet builders, compared as whole objects: slots and ports, daemon flags per role,
peer lists, SNARK workers, key Secrets, alerts, registries, and UDP in the p2p shards."""

from __future__ import annotations

import json

from components.p2p import ingress_builder, p2p_builder
from components.testnet import registry_builder as rb
from components.testnet import builder as tb, monitoring_builder as mb, secrets_builder as sb, stateless_builder as stb
from components.chain.chain_node_builder import chain_node_manifests
from pegasus import slots
from pegasus.config import IngressSettings, parse
from components.testnet.config import Registry

PEER = "12D3KooWCoGWacXE4FRwAX8VqhnWVKhz5TTEecWEuGmiNrDt2XLf"
# The least a testnet may have: two seeds whose identity (and so peer ID) is given.
KNOWN_SEEDS = [{"libp2pKeyRef": "qa-7-seed-0", "peerId": PEER}, {"libp2pKeyRef": "qa-7-seed-1", "peerId": PEER}]


def settings(**changes):
    t = {
        "name": "qa-7", "image": "minaprotocol/mina-daemon:3.1.0", "genesisFile": "g.json", "ha": False,
        "regions": [{
            "name": "use1",
            "seeds": [{"libp2pKeyRef": "qa-7-seed-0", "peerId": PEER}, {"libp2pKeyRef": "qa-7-seed-1", "peerId": PEER}],
            "blockProducers": [{"name": "whale-1", "keyRef": "qa-7-whale-1"}],
            "snarkPools": [{"name": "pool-a", "coordinatorKeyRef": "qa-7-snark-a", "fee": "0.025", "workSelection": "rand",
                            "workers": 2, "maxWorkers": 4}],
            "testServices": [{"name": "tx-bot", "image": "example/bot:1.0", "args": ["--tps", "1"], "daemon": "whale-1"}],
        }],
        **changes,
    }
    return parse({"blueprint": "testnet", "testnet": t}, project="pegasus", stack="qa").testnet


def test_slots_and_ports_follow_seeds_producers_coordinators():
    t = settings(shardSize=2)
    plans = tb.plan_region(t.regions[0], t)
    assert [(p.name, p.role, p.address) for p in plans] == [
        ("seed-0", "seed", slots.Address(0, 0, 8302)),
        ("seed-1", "seed", slots.Address(1, 0, 8303)),
        ("whale-1", "producer", slots.Address(2, 1, 8302)),
        ("pool-a", "coordinator", slots.Address(3, 1, 8303)),
    ]
    assert plans[2].key_ref == "qa-7-whale-1" and plans[3].pool.work_selection == "rand"


COMMON = [
    "daemon", "-config-directory", "/data/.mina-config", "-config-file", "/genesis/daemon.json",
]


def _tail(port):
    return ["-external-ip", "198.51.100.7", "-external-port", str(port), "-client-port", "8301", "-rest-port", "3085",
            "-insecure-rest-server", "-metrics-port", "10001", "-log-json", "-log-level", "Info"]


def test_daemon_args_per_role():
    t = settings(peerListUrl="https://peers.example.org/qa-7.txt")
    seed, producer, coordinator = (tb.plan_region(t.regions[0], t)[i] for i in (0, 2, 3))
    peers = [f"/dns4/seed-1.qa-7.example.org/tcp/8303/p2p/{PEER}"]
    url = ["-peer-list-url", "https://peers.example.org/qa-7.txt"]
    assert tb.daemon_args(seed, t, "198.51.100.7", peers) == [
        *COMMON, "-libp2p-keypair", "/keys/libp2p/key", *_tail(8302), "-seed", "-peer", peers[0], *url]
    assert tb.daemon_args(producer, t, "198.51.100.7", []) == [
        *COMMON, "-libp2p-keypair", "/data/libp2p/key", *_tail(8304), "-block-producer-key", "/keys/producer/key", *url]
    assert tb.daemon_args(coordinator, t, "198.51.100.7", peers) == [
        *COMMON, "-libp2p-keypair", "/data/libp2p/key", *_tail(8305),
        "-run-snark-coordinator", "$(MINA_SNARK_KEY)", "-snark-worker-fee", "0.025", "-work-selection", "rand",
        "-peer", peers[0], *url]


def test_peer_list_rendering():
    seeds = [("seed-0.qa-7.testnets.example.org", 8302, PEER), ("203.0.113.9", 8303, PEER), ("seed-2.x.org", 8304, None)]
    peers = tb.peer_list(seeds)
    assert peers == [
        f"/dns4/seed-0.qa-7.testnets.example.org/tcp/8302/p2p/{PEER}",
        f"/ip4/203.0.113.9/tcp/8303/p2p/{PEER}",
    ]
    assert tb.render_peers_txt(peers) == peers[0] + "\n" + peers[1] + "\n"
    assert tb.render_peers_txt([]) == ""
    assert tb.seed_host(1, settings(domain="testnets.example.org", cloudflareZoneId="z")) == "seed-1.qa-7.testnets.example.org"
    assert tb.seed_host(1, settings()) is None


def test_producer_workload_reads_its_key_from_its_secret_only():
    t = settings()
    producer = tb.plan_region(t.regions[0], t)[2]
    m = chain_node_manifests(tb.daemon_spec(producer, t, "198.51.100.7", [], "fast"))
    pod = m["workload"]["spec"]["template"]["spec"]
    container = pod["containers"][0]
    assert container["env"] == [
        {"name": "MINA_LIBP2P_PASS", "value": ""},
        {"name": "MINA_PRIVKEY_PASS", "valueFrom": {"secretKeyRef": {"name": "qa-7-whale-1", "key": "password"}}},
    ]
    assert pod["volumes"] == [
        {"name": "data", "persistentVolumeClaim": {"claimName": "whale-1-data"}},
        {"name": "genesis", "configMap": {"name": "qa-7-genesis"}},
        {"name": "keys", "emptyDir": {"medium": "Memory", "sizeLimit": "16Mi"}},
        {"name": "producer-key", "secret": {"secretName": "qa-7-whale-1", "defaultMode": 0o400, "items": [{"key": "key", "path": "key"}]}},
    ]
    assert container["volumeMounts"] == [
        {"name": "data", "mountPath": "/data"},
        {"name": "genesis", "mountPath": "/genesis", "readOnly": True},
        {"name": "keys", "mountPath": "/keys", "readOnly": True},
    ]
    assert pod["initContainers"][0]["command"] == ["/bin/sh", "-c", "\n".join([
        "set -eu", "umask 077", "rm -f /data/.mina-config/.mina-lock",
        "mkdir -p /keys/producer", "cp /secrets/producer/key /keys/producer/key", "chmod 0700 /keys/producer",
        "chmod 0600 /keys/producer/key",
        "mkdir -p /data/libp2p", "chmod 0700 /data/libp2p",
        "test -f /data/libp2p/key || mina libp2p generate-keypair -privkey-path /data/libp2p/key",
    ])]
    # The producer is the one signer: one replica, key annotation for the stack policy.
    assert m["workload"]["metadata"]["labels"]["pegasus.saga.xyz/signer"] == "true"
    assert m["workload"]["spec"]["template"]["metadata"]["annotations"][tb.KEY_REF_ANNOTATION] == "qa-7-whale-1"
    # Ready means synced (asked over GraphQL), not "GraphQL answers": tests/testnet/test_upstream.py
    # checks the query and the enum value against upstream.
    assert container["readinessProbe"] == tb.readiness_probe()
    assert container["startupProbe"]["tcpSocket"] == {"port": "graphql"}
    assert container["livenessProbe"]["tcpSocket"] == {"port": "p2p"}


def test_daemon_services_public_backend_and_internal_graphql():
    t = settings(udp=True)
    seed = tb.plan_region(t.regions[0], t)[0]
    m = chain_node_manifests(tb.daemon_spec(seed, t, "198.51.100.7", [], None))
    assert m["public"]["spec"] == {
        "type": "ClusterIP",
        "selector": {"app.kubernetes.io/name": "seed-0", "app.kubernetes.io/instance": "qa-7-seed-0"},
        "ports": [{"name": "p2p", "port": 8302, "targetPort": "p2p", "protocol": "TCP"},
                  {"name": "p2p-udp", "port": 8302, "targetPort": "p2p-udp", "protocol": "UDP"}],
        "publishNotReadyAddresses": True,
    }
    assert m["public"]["metadata"]["name"] == "seed-0-p2p"
    assert [p["name"] for p in m["internal"]["spec"]["ports"]] == ["graphql", "client", "metrics"]
    assert m["internal"]["metadata"]["name"] == "seed-0" and m["internal"]["spec"]["type"] == "ClusterIP"
    assert "signer" not in json.dumps(m["workload"]["metadata"]["labels"])


def _shard_settings():
    return IngressSettings(shard_size=25, base_port=8302, internal_base_port=20000, p2p_domain=None, controller_replicas=2, cloud="existing")


def test_udp_is_routed_only_to_backends_that_listen_on_it():
    tcp_only = p2p_builder.P2PBackend("whale-1", "testnet-qa-7", "whale-1-p2p", 8303, 1)
    both = p2p_builder.P2PBackend("seed-0", "testnet-qa-7", "seed-0-p2p", 8302, 0, protocols=("TCP", "UDP"))
    shards = p2p_builder.plan_shards([both, tcp_only], _shard_settings())
    assert p2p_builder.shard_service_ports(shards[0]) == [
        {"name": "tcp-8302", "port": 8302, "targetPort": 20000, "protocol": "TCP"},
        {"name": "udp-8302", "port": 8302, "targetPort": 20000, "protocol": "UDP"},
        {"name": "tcp-8303", "port": 8303, "targetPort": 20001, "protocol": "TCP"},
    ]
    assert ingress_builder.services_configmap_data(shards) == {
        "20000": "testnet-qa-7/seed-0-p2p:8302", "20001": "testnet-qa-7/whale-1-p2p:8303"}
    assert ingress_builder.services_configmap_data(shards, "UDP") == {"20000": "testnet-qa-7/seed-0-p2p:8302"}
    assert ingress_builder.has_udp(shards) and not ingress_builder.has_udp(p2p_builder.plan_shards([tcp_only], _shard_settings()))
    values = ingress_builder.controller_values(_shard_settings(), udp=True)["controller"]["extraArgs"]
    assert values == {"tcp-services-configmap": "sagasrv-ingress/pegasus-tcp-services",
                      "udp-services-configmap": "sagasrv-ingress/pegasus-udp-services"}
    assert ingress_builder.controller_values(_shard_settings())["controller"]["extraArgs"] == {
        "tcp-services-configmap": "sagasrv-ingress/pegasus-tcp-services"}


def test_backends_carry_the_testnet_protocols():
    t = settings(udp=True)
    b = tb.backends(tb.plan_region(t.regions[0], t), t)
    assert b[0] == p2p_builder.P2PBackend("seed-0", "testnet-qa-7", "seed-0-p2p", 8302, 0, protocols=("TCP", "UDP"))
    assert {x.protocols for x in tb.backends(tb.plan_region(settings().regions[0], settings()), settings())} == {("TCP",)}


def test_worker_deployment_and_hpa():
    t = settings()
    pool = t.regions[0].snark_pools[0]
    # The proof level is the genesis file's (a `check` chain here), not always `full`.
    d = stb.worker_deployment(pool, t, "check")
    labels = {
        "app.kubernetes.io/name": "snark-worker", "app.kubernetes.io/instance": "qa-7-pool-a",
        "app.kubernetes.io/component": "snark-worker", "app.kubernetes.io/part-of": "pegasus",
        "app.kubernetes.io/managed-by": "pulumi", "pegasus.saga.xyz/testnet": "qa-7", "pegasus.saga.xyz/pool": "pool-a",
    }
    assert d == {
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": "pool-a-workers", "namespace": "testnet-qa-7", "labels": labels,
                     "annotations": {"pulumi.com/skipAwait": "true"}},
        "spec": {
            "replicas": 2,
            "selector": {"matchLabels": {"app.kubernetes.io/name": "snark-worker", "app.kubernetes.io/instance": "qa-7-pool-a"}},
            "template": {"metadata": {"labels": labels}, "spec": {
                "automountServiceAccountToken": False, "enableServiceLinks": False,
                "securityContext": {"seccompProfile": {"type": "RuntimeDefault"}},
                "containers": [{
                    "name": "snark-worker", "image": "minaprotocol/mina-daemon:3.1.0", "imagePullPolicy": "IfNotPresent",
                    "args": ["internal", "snark-worker", "-proof-level", "check", "-shutdown-on-disconnect", "false",
                             "-daemon-address", "pool-a.testnet-qa-7.svc.cluster.local:8301"],
                    "env": [{"name": "RAYON_NUM_THREADS", "value": "4"}],
                    "resources": {"requests": {"cpu": "2", "memory": "4Gi"}, "limits": {"cpu": "4", "memory": "8Gi"}},
                    "securityContext": {"allowPrivilegeEscalation": False, "privileged": False, "capabilities": {"drop": ["ALL"]}},
                }],
            }},
        },
    }
    hpa = stb.worker_hpa(pool, t)
    assert hpa["spec"] == {
        "scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "pool-a-workers"},
        "minReplicas": 2, "maxReplicas": 4,
        "metrics": [{"type": "Resource", "resource": {"name": "cpu", "target": {"type": "Utilization", "averageUtilization": 80}}}],
    }
    fixed = settings(regions=[{**_region(), "snarkPools": [{"name": "pool-a", "coordinatorKeyRef": "k", "workers": 3}]}])
    assert stb.worker_hpa(fixed.regions[0].snark_pools[0], fixed) is None


def _region():
    return {"name": "use1", "seeds": KNOWN_SEEDS}


def test_test_service_gets_the_daemons_graphql_url():
    t = settings()
    d = stb.test_service_deployment(t.regions[0].test_services[0], t)
    c = d["spec"]["template"]["spec"]["containers"][0]
    assert c["env"] == [{"name": "DAEMON_GRAPHQL_URL", "value": "http://whale-1.testnet-qa-7.svc.cluster.local:3085/graphql"}]
    assert c["args"] == ["--tps", "1"]
    assert "initContainers" not in d["spec"]["template"]["spec"]  # no keyRef, no key


def test_a_test_service_gets_its_key_as_files():
    """As O(1)'s block-producer chart gives its bots their keys: an init container copies the
    key Secret into an in-memory volume with the modes Mina's tools insist on."""
    t = settings(regions=[{"name": "use1", "seeds": KNOWN_SEEDS, "blockProducers": [{"name": "whale-1", "keyRef": "k1"}],
                           "testServices": [{"name": "tx-bot", "image": "example/bot:1.0", "daemon": "whale-1",
                                             "keyRef": "qa-7-tx-bot"}]}])
    service = t.regions[0].test_services[0]
    assert service.key_ref == "qa-7-tx-bot"
    pod = stb.test_service_deployment(service, t, "qa-7-tx-bot")["spec"]["template"]["spec"]
    (init,) = pod["initContainers"]
    assert init["command"][-1].splitlines() == [
        "set -eu", "umask 077", "cp /secrets/key /keys/key", "cp /secrets/password /keys/password",
        "chmod 0700 /keys", "chmod 0600 /keys/key /keys/password"]
    assert pod["volumes"][0] == {"name": "key-secret", "secret": {"secretName": "qa-7-tx-bot", "defaultMode": 0o400, "items": [
        {"key": "key", "path": "key"}, {"key": "password", "path": "password"}]}}
    c = pod["containers"][0]
    assert c["volumeMounts"] == [{"name": "keys", "mountPath": "/keys", "readOnly": True}]
    # Paths only: the password never becomes an env value.
    assert [e["name"] for e in c["env"]] == ["DAEMON_GRAPHQL_URL", "SERVICE_KEY_FILE", "SERVICE_KEY_PASSWORD_FILE"]
    assert all("valueFrom" not in e for e in c["env"])
    # With a cloud store, External Secrets writes <service>-key from the remote entry.
    cloud = settings(secretStore="aws", regions=[{"name": "use1", "seeds": KNOWN_SEEDS,
                                                  "blockProducers": [{"name": "whale-1", "keyRef": "k1"}],
                                                  "testServices": [{"name": "tx-bot", "image": "example/bot:1.0",
                                                                    "daemon": "whale-1", "keyRef": "qa-7/tx-bot"}]}])
    r = cloud.regions[0]
    plans = tb.plan_region(r, cloud)
    secrets = sb.external_secrets(plans, cloud, r.test_services)
    assert (secrets[-1]["metadata"]["name"], secrets[-1]["spec"]["dataFrom"]) == ("tx-bot-key", [{"extract": {"key": "qa-7/tx-bot"}}])
    assert sb.remote_keys(plans, r.test_services)[-1] == "qa-7/tx-bot"
    assert sb.service_key_secret_name(r.test_services[0], "aws") == "tx-bot-key"


def test_external_secrets_name_remote_keys_only():
    t = settings(secretStore="aws")
    plans = tb.plan_region(t.regions[0], t)
    secrets = sb.external_secrets(plans, t)
    assert [(s["metadata"]["name"], s["spec"]["dataFrom"]) for s in secrets] == [
        ("seed-0-libp2p", [{"extract": {"key": "qa-7-seed-0"}}]),
        ("seed-1-libp2p", [{"extract": {"key": "qa-7-seed-1"}}]),
        ("whale-1-key", [{"extract": {"key": "qa-7-whale-1"}}]),
        ("pool-a-key", [{"extract": {"key": "qa-7-snark-a"}}]),
    ]
    assert secrets[2]["spec"]["target"] == {"name": "whale-1-key", "creationPolicy": "Owner", "deletionPolicy": "Retain"}
    assert sb.secret_store(t, t.regions[0])["spec"] == {"provider": {"aws": {"service": "SecretsManager", "region": "us-east-1"}}}
    assert sb.external_secrets(tb.plan_region(settings().regions[0], settings()), settings()) == []
    assert json.loads(sb.secrets_manager_policy("us-east-1", "123456789012", "aws", ["qa-7-whale-1"])) == {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Action": ["secretsmanager:GetSecretValue", "secretsmanager:DescribeSecret"],
                       "Resource": ["arn:aws:secretsmanager:us-east-1:123456789012:secret:qa-7-whale-1-??????"]}],
    }


def test_alerts_use_the_daemons_metric_names():
    t = settings()
    r = mb.rules(t, t.regions[0])["spec"]["groups"][0]["rules"]
    assert {x["alert"]: x["expr"] for x in r} == {
        "MinaDaemonDown": '(count(up{namespace="testnet-qa-7", job="testnet-qa-7/qa-7-daemons"} == 1) or vector(0)) < 4',
        "MinaLowPeerCount": 'Mina_Network_peers{namespace="testnet-qa-7"} < 3',
        "MinaChainStalled": 'max(changes(Mina_Transition_frontier_max_blocklength_observed{namespace="testnet-qa-7"}[1h])) == 0',
        "MinaBestTipDiverged": 'scalar(max(Mina_Transition_frontier_max_unvalidated_blocklength_observed{namespace="testnet-qa-7"}))'
                               ' - Mina_Transition_frontier_best_tip_block_height{namespace="testnet-qa-7"} > 10',
        "MinaNetworkNoSnarkWork": 'max(Mina_Snark_work_pending_snark_work{namespace="testnet-qa-7"}) > 0'
                                  ' and max(Mina_Snark_work_snark_pool_size{namespace="testnet-qa-7"}) == 0',
        "MinaProducerMissedSlots": 'increase(Mina_Block_producer_slots_won{namespace="testnet-qa-7", role="producer", daemon="whale-1"}[1h]) > 0'
                                   ' and increase(Mina_Block_producer_blocks_produced{namespace="testnet-qa-7", role="producer", daemon="whale-1"}[1h]) == 0',
        "MinaBlockProductionStopped": 'sum(increase(Mina_Block_producer_blocks_produced{namespace="testnet-qa-7", role="producer"}[1h])) == 0',
        "MinaNoSnarkWork": 'sum by (daemon) (increase(Mina_Snark_work_completed_snark_work_received_rpc{namespace="testnet-qa-7", role="coordinator"}[30m])) == 0',
    }
    seeds_only = settings(regions=[_region()])
    assert [x["alert"] for x in mb.rules(seeds_only, seeds_only.regions[0])["spec"]["groups"][0]["rules"]] == [
        "MinaDaemonDown", "MinaLowPeerCount", "MinaChainStalled", "MinaBestTipDiverged", "MinaNetworkNoSnarkWork"]


def test_registry_rules_keep_the_newest_images():
    assert json.loads(rb.ecr_lifecycle_policy(30)) == {"rules": [{
        "rulePriority": 1, "description": "keep the newest 30 images",
        "selection": {"tagStatus": "any", "countType": "imageCountMoreThan", "countNumber": 30},
        "action": {"type": "expire"}}]}
    gar = rb.gar_repository_args("mina-daemon", Registry("gar", ("mina-daemon",), 10, "us-central1", "p"))
    assert gar["cleanup_policies"] == [
        {"id": "keep-newest", "action": "KEEP", "most_recent_versions": {"keep_count": 10}},
        {"id": "delete-older", "action": "DELETE", "condition": {"tag_state": "ANY"}},
    ]


ARCHIVE_IMAGE = "minaprotocol/mina-archive:3.1.0"


def archived(**archive):
    region = {"name": "use1", "seeds": KNOWN_SEEDS, "blockProducers": [{"name": "whale-1", "keyRef": "k1"}],
              "archive": {"enabled": True, "image": ARCHIVE_IMAGE, **archive}}
    return settings(regions=[region])


def test_archive_goes_beside_the_first_seed_unless_named():
    t = archived()
    plans = tb.plan_region(t.regions[0], t)
    assert [p.archive_address for p in plans] == ["qa-7-archive.testnet-qa-7.svc.cluster.local:3086", None, None]
    args = tb.daemon_args(plans[0], t, "198.51.100.7", [])
    assert args[-2:] == ["-archive-address", "qa-7-archive.testnet-qa-7.svc.cluster.local:3086"]
    t = archived(daemon="whale-1")
    assert [p.name for p in tb.plan_region(t.regions[0], t) if p.archive_address] == ["whale-1"]


def test_archive_database_schema_job_and_process():
    from components.testnet import archive_builder as ab

    t = archived(storageSize="100Gi")
    region = t.regions[0]
    assert ab.db_cluster(t, region)["spec"] == {
        "instances": 1, "storage": {"size": "100Gi"}, "bootstrap": {"initdb": {"database": "archive", "owner": "archive"}}}
    uri = [{"name": "ARCHIVE_DB_URI", "valueFrom": {"secretKeyRef": {"name": "qa-7-archive-db-app", "key": "uri"}}}]
    job = ab.schema_job(t, region)["spec"]["template"]["spec"]
    assert job["initContainers"][0]["image"] == ARCHIVE_IMAGE
    assert job["initContainers"][0]["command"] == ["/bin/sh", "-c", "cp /etc/mina/archive/*.sql /schema/"]
    apply = job["containers"][0]
    assert (apply["image"], apply["env"]) == ("postgres:17.6", uri)
    assert apply["command"] == ["/bin/sh", "-c", "\n".join([
        "set -eu",
        'until pg_isready -q -d "$ARCHIVE_DB_URI"; do sleep 2; done',
        'if psql -tA -d "$ARCHIVE_DB_URI" -c "SELECT to_regclass(\'public.blocks\')" | grep -q blocks; then',
        '  echo "schema present"',
        "else",
        '  cd /schema && psql -v ON_ERROR_STOP=1 -q -d "$ARCHIVE_DB_URI" -f create_schema.sql',
        "fi",
    ])]
    process = ab.archive_deployment(t, region)
    assert process["spec"]["strategy"] == {"type": "Recreate"}
    container = process["spec"]["template"]["spec"]["containers"][0]
    assert container["args"] == ["run", "-postgres-uri", "$(ARCHIVE_DB_URI)", "-server-port", "3086",
                                 "-config-file", "/genesis/daemon.json"]
    assert container["env"] == uri
    svc = ab.archive_service(t)
    assert (svc["metadata"]["name"], svc["spec"]["selector"]) == ("qa-7-archive", process["spec"]["selector"]["matchLabels"])


def test_network_policy_keeps_graphql_in_the_namespace():
    t = settings(udp=True, regions=[{"name": "use1", "seeds": KNOWN_SEEDS, "blockProducers": [{"name": "whale-1", "keyRef": "k1"}]}])
    assert tb.network_policy(t, tb.plan_region(t.regions[0], t)) == {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "NetworkPolicy",
        "metadata": {"name": "qa-7-ingress", "namespace": "testnet-qa-7", "labels": {
            "app.kubernetes.io/name": "mina-daemon", "app.kubernetes.io/instance": "qa-7",
            "app.kubernetes.io/component": "network-policy", "app.kubernetes.io/part-of": "pegasus",
            "app.kubernetes.io/managed-by": "pulumi"}},
        "spec": {
            "podSelector": {"matchLabels": {"pegasus.saga.xyz/testnet": "qa-7"}},
            "policyTypes": ["Ingress"],
            "ingress": [
                {"from": [{"podSelector": {}}]},
                {"from": [{"namespaceSelector": {}}, {"ipBlock": {"cidr": "0.0.0.0/0"}}],
                 "ports": [{"protocol": "TCP", "port": 8302}, {"protocol": "UDP", "port": 8302},
                           {"protocol": "TCP", "port": 8303}, {"protocol": "UDP", "port": 8303},
                           {"protocol": "TCP", "port": 8304}, {"protocol": "UDP", "port": 8304}]},
                {"from": [{"namespaceSelector": {}}], "ports": [{"protocol": "TCP", "port": 10001}]},
            ],
        },
    }
