"""Pure builders for a Mina testnet (design document 001): daemon slots and ports, daemon
flags per role, the peer list, the genesis and peers ConfigMaps, and the network policy. The
stateless Deployments (SNARK workers, test services, the archive) are in stateless_builder.py.

Every daemon of a region takes a slot in the region's p2p shards (components/p2p/p2p_builder.py),
in a fixed order: seeds, block producers, SNARK coordinators. Its public port is the slot's,
and the daemon listens on that same port: Mina advertises `/ip4/<-external-ip>/tcp/<libp2p
port>`, where the libp2p port is the one `-external-port` sets (gossip_net/libp2p.ml builds
both the listen and the external multiaddr from `addrs_and_ports.libp2p_port`), so the port a
peer dials and the port the daemon binds cannot differ. Appending a daemon keeps every other
daemon's port; inserting one before others moves theirs.

The flags are the daemon's own (src/app/cli/src/cli_entrypoint/mina_cli_entrypoint.ml):
`-seed`, `-block-producer-key`, `-run-snark-coordinator`, `-snark-worker-fee`,
`-work-selection`, `-external-ip`, `-external-port`, `-peer`, `-peer-list-url`,
`-libp2p-keypair` (required), `-config-file`, `-client-port`, `-rest-port`,
`-insecure-rest-server` (GraphQL listens on localhost otherwise, and test services reach it
through the internal Service), `-metrics-port`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Optional

from components.p2p import p2p_builder
from components.chain import workload_builder as wb
from components.chain.chain_node_builder import ChainNodeSpec
from pegasus import names
from pegasus import slots as slot_math
from pegasus.errors import ConfigError
from components.testnet.config import Region, SnarkPool, TestnetSettings

COMPONENT = "mina-daemon"
# Mina's defaults (Cli_lib.Flag.Port.Daemon): client 8301, GraphQL 3085. Metrics have no
# default port; 10001 is what O(1) Labs' own charts scrape.
CLIENT = wb.Port("client", 8301)
GRAPHQL = wb.Port("graphql", 3085)
METRICS = wb.Port("metrics", 10001)
DATA_PATH = "/data"
CONFIG_DIR = "/data/.mina-config"
GENESIS_DIR = "/genesis"
GENESIS_FILE = "daemon.json"
KEYS_DIR = "/keys"  # an in-memory volume the init container fills from the key Secrets
GENERATED_LIBP2P_KEY = "/data/libp2p/key"
ROLES = ("seed", "producer", "coordinator")
# The daemon's lock file in its config directory. The image's entrypoint removes a stale one
# only under its WORKDIR /root (dockerfiles/scripts/daemon-entrypoint.sh: `rm -f
# .mina-config/.mina-lock`); ours is on the volume, so the init container removes it, or a
# daemon killed without cleanup (OOM, node loss) may refuse to start on its own volume.
LOCK_FILE = f"{CONFIG_DIR}/.mina-lock"
# Who may use a coordinator's client port: mina_cli_entrypoint.ml reads MINA_CLIENT_TRUSTLIST
# (comma-separated CIDRs) and Mina_run.setup_local_server refuses every other address, so
# without it no SNARK worker in another pod gets work. O(1) Labs' chart sets 10.0.0.0/8
# (helm/snark-worker/templates/snark-coordinator.yaml); pod networks are not always there
# (k3d 10.42/16 is, a VPC may be 172.16/12 or 192.168/16), so every RFC 1918 range. The port
# itself stays closed outside the namespace (network_policy) and has no public Service.
CLIENT_TRUSTLIST = "10.0.0.0/8,172.16.0.0/12,192.168.0.0/16"
# Ready means synced, as O(1) Labs' readiness check asks the daemon
# (helm/common/templates/_healthchecks.tpl: daemonStatus { syncStatus } over GraphQL). Theirs
# compares the literal word `status` with "synced" and so never passes; the GraphQL enum
# value is SYNCED (mina_graphql types.ml, SyncStatus), which is what we match.
SYNC_QUERY = '{"query":"{ daemonStatus { syncStatus } }"}'
SYNCED = "SYNCED"


@dataclass(frozen=True)
class DaemonPlan:
    name: str  # workload, Service and Pulumi name stem, unique in the region
    role: str  # seed | producer | coordinator
    region: str
    address: slot_math.Address
    key_ref: Optional[str] = None  # producer key, or coordinator public key
    libp2p_key_ref: Optional[str] = None
    peer_id: Optional[str] = None
    pool: Optional[SnarkPool] = None
    secret_store: str = "kubernetes"  # the region's
    archive_address: Optional[str] = None  # host:port of the region's archive, for the daemon it serves


def plan_region(region: Region, testnet: TestnetSettings) -> tuple[DaemonPlan, ...]:
    plans: list[DaemonPlan] = []

    def add(**kw):
        slot = len(plans)
        archive = None
        if region.archive is not None and kw["name"] == region.archive.daemon:
            archive = archive_address(testnet)
        plans.append(DaemonPlan(region=region.name, address=slot_math.address(slot, testnet.shard_size, testnet.base_port),
                                secret_store=region.secret_store, archive_address=archive, **kw))

    for seed in region.seeds:
        add(name=f"seed-{seed.index}", role="seed", libp2p_key_ref=seed.libp2p_key_ref, peer_id=seed.peer_id)
    for p in region.block_producers:
        add(name=p.name, role="producer", key_ref=p.key_ref)
    for pool in region.snark_pools:
        add(name=pool.name, role="coordinator", key_ref=pool.coordinator_key_ref, pool=pool)
    return tuple(plans)


ARCHIVE_PORT = 3086  # mina-archive -server-port


def archive_name(testnet: TestnetSettings) -> str:
    return f"{testnet.name}-archive"


def archive_address(testnet: TestnetSettings) -> str:
    return f"{archive_name(testnet)}.{testnet.namespace}.svc.cluster.local:{ARCHIVE_PORT}"


def protocols(testnet: TestnetSettings) -> tuple[str, ...]:
    return ("TCP", "UDP") if testnet.udp else ("TCP",)


def backends(plans: tuple[DaemonPlan, ...], testnet: TestnetSettings) -> tuple[p2p_builder.P2PBackend, ...]:
    return tuple(
        p2p_builder.P2PBackend(p.name, testnet.namespace, p2p_service(p.name), p.address.port, p.address.slot,
                               protocols=protocols(testnet))
        for p in plans
    )


def p2p_service(daemon: str) -> str:
    return f"{daemon}-p2p"


def internal_service(daemon: str) -> str:
    return daemon


def seed_host(index: int, testnet: TestnetSettings) -> Optional[str]:
    return f"seed-{index}.{testnet.name}.{testnet.domain}" if testnet.domain else None


def multiaddr(host: str, port: int, peer_id: str) -> str:
    """A libp2p address Mina's -peer takes: /dns4 for a name, /ip4 for an address."""
    proto = "ip4" if is_ipv4(host) else "dns4"
    return f"/{proto}/{host}/tcp/{port}/p2p/{peer_id}"


def is_ipv4(host: str) -> bool:
    parts = host.split(".")
    return len(parts) == 4 and all(p.isdigit() and 0 <= int(p) <= 255 for p in parts)


def peer_list(seeds: list[tuple[str, int, Optional[str]]]) -> list[str]:
    """The seeds' multiaddrs, one per seed whose peer ID is known, in the order given.
    `seeds`: (host, public port, peer ID or None)."""
    return [multiaddr(host, port, peer) for host, port, peer in seeds if peer]


def render_peers_txt(peers: list[str]) -> str:
    """peers.txt as -peer-list-url and -peer-list-file read it: one multiaddr per line."""
    return "".join(f"{p}\n" for p in peers)


# The controller ConfigMap of the testnet's p2p data plane. ingress-nginx closes a tcp-services
# connection after proxy-stream-timeout without a read or write (default 600s, config.go of
# kubernetes/ingress-nginx, controller 1.15.1 in chart 4.15.1), and libp2p keeps connections
# to peers it is not currently gossiping with open and idle far longer; every cut costs a
# redial and a fresh handshake through the shard.
P2P_CONTROLLER_CONFIG = {"proxy-stream-timeout": "3600s"}

PROOF_LEVELS = ("full", "check", "none")  # Genesis_constants.Proof_level.of_string


def genesis_proof_level(contents: str) -> str:
    """The proof level the genesis file sets (`proof.level` of the daemon's runtime config),
    which SNARK workers must share: a worker proving `full` for a `check` chain wastes its CPU,
    one proving `none` for a `full` chain produces work nobody accepts. Unset, the daemon uses
    its compiled level, `full` in the release images."""
    import json

    try:
        doc = json.loads(contents)
    except ValueError as e:
        raise ConfigError("testnet.genesisFile", f"is not JSON ({e.msg}, line {e.lineno}); give the network's daemon.json") from None
    level = ((doc.get("proof") or {}) if isinstance(doc, dict) else {}).get("level", "full")
    if level not in PROOF_LEVELS:
        raise ConfigError("testnet.genesisFile", f"proof.level {level!r} is not one of {', '.join(PROOF_LEVELS)}")
    return level


def external_ip(value: str, shard: str) -> str:
    """The -external-ip a shard's public address gives. Mina parses the flag with
    Unix.Inet_addr.of_string (mina_cli_entrypoint.ml), so a load balancer that publishes only a
    hostname cannot be advertised: the update stops with this error instead of a daemon that
    crash-loops. A name under the reserved `.invalid` domain (RFC 6761) passes: it is the offline
    planner's stand-in for an address not yet published (tools/plan), never a real host."""
    if not is_ipv4(value) and not value.endswith(".invalid"):
        raise ValueError(f"testnet: the p2p shard {shard} published {value!r}, not an IPv4 address; Mina's "
                         "-external-ip takes an address: give the cluster's LoadBalancer an IP (MetalLB, or a "
                         "static IP on the cloud load balancer)")
    return value


def readiness_probe() -> dict:
    """Ready once the daemon reports SYNCED: a daemon that still bootstraps answers GraphQL,
    so the TCP check it replaces passed too early. curl is in the daemon image
    (dockerfiles/Dockerfile-mina-daemon)."""
    script = (f"curl -sf --max-time 8 -H 'Content-Type: application/json' -d '{SYNC_QUERY}' "
              f"http://127.0.0.1:{GRAPHQL.port}/graphql | grep -Eq '\"syncStatus\": *\"{SYNCED}\"'")
    return {"exec": {"command": ["/bin/sh", "-c", script]}, "periodSeconds": 10, "timeoutSeconds": 10,
            "failureThreshold": 3}


def rayon_threads(cpu: str) -> str:
    """RAYON_NUM_THREADS for the prover's thread pool: the whole CPUs of a limit (O(1) Labs' charts
    pin 8 on workers and 7 on coordinators, helm/snark-worker/templates/), at least one."""
    cores = int(cpu[:-1]) // 1000 if cpu.endswith("m") else int(float(cpu))
    return str(max(1, cores))


def daemon_args(plan: DaemonPlan, testnet: TestnetSettings, external_ip: Any, peers: list[str]) -> list:
    """The daemon's flags; `external_ip` is the shard's public IP (an Output in the program)."""
    libp2p_key = f"{KEYS_DIR}/libp2p/key" if plan.libp2p_key_ref else GENERATED_LIBP2P_KEY
    args: list = [
        "daemon",
        "-config-directory", CONFIG_DIR,
        "-config-file", f"{GENESIS_DIR}/{GENESIS_FILE}",
        "-libp2p-keypair", libp2p_key,
        "-external-ip", external_ip,
        "-external-port", str(plan.address.port),
        "-client-port", str(CLIENT.port),
        "-rest-port", str(GRAPHQL.port),
        "-insecure-rest-server",
        "-metrics-port", str(METRICS.port),
        "-log-json",
        "-log-level", "Info",
    ]
    if plan.role == "seed":
        args.append("-seed")
    elif plan.role == "producer":
        args += ["-block-producer-key", f"{KEYS_DIR}/producer/key"]
    else:
        pool = plan.pool
        assert pool is not None
        # -run-snark-coordinator takes the public key that is paid for the work; Kubernetes
        # expands $(MINA_SNARK_KEY) from the env, which reads it from the coordinator's Secret.
        args += ["-run-snark-coordinator", "$(MINA_SNARK_KEY)", "-snark-worker-fee", pool.fee,
                 "-work-selection", pool.work_selection]
    for peer in peers:
        args += ["-peer", peer]
    # Polled by the daemon: seeds that appear later reach it without a restart.
    args += ["-peer-list-url", peer_list_url(testnet)]
    if plan.archive_address:
        args += ["-archive-address", plan.archive_address]
    return args


def key_secret_name(plan: DaemonPlan, testnet: TestnetSettings) -> Optional[str]:
    """The Kubernetes Secret holding this daemon's key: the existing one keyRef names with
    secretStore kubernetes, otherwise the one External Secrets syncs (components/testnet/secrets_builder.py)."""
    if plan.key_ref is None:
        return None
    return plan.key_ref if plan.secret_store == "kubernetes" else f"{plan.name}-key"


def libp2p_secret_name(plan: DaemonPlan, testnet: TestnetSettings) -> Optional[str]:
    if plan.libp2p_key_ref is None:
        return None
    return plan.libp2p_key_ref if plan.secret_store == "kubernetes" else f"{plan.name}-libp2p"


def _install_keys(plan: DaemonPlan, testnet: TestnetSettings) -> dict:
    """Mina refuses a key file other users may read, or in such a folder (it checks 0600 and
    0700); Secret volumes are read-only and shared by kubelet's own modes. So an init container
    copies the keys into an in-memory volume with those modes, and generates the libp2p
    keypair on the daemon's own volume when none is given (kept there across restarts, so the
    peer ID stays)."""
    steps = ["set -eu", "umask 077", f"rm -f {LOCK_FILE}"]
    mounts = [{"name": "data", "mountPath": DATA_PATH}, {"name": "keys", "mountPath": KEYS_DIR}]
    env: list = []
    if plan.role == "producer":
        steps += [f"mkdir -p {KEYS_DIR}/producer", f"cp /secrets/producer/key {KEYS_DIR}/producer/key",
                  f"chmod 0700 {KEYS_DIR}/producer", f"chmod 0600 {KEYS_DIR}/producer/key"]
        mounts.append({"name": "producer-key", "mountPath": "/secrets/producer", "readOnly": True})
    if plan.libp2p_key_ref:
        steps += [f"mkdir -p {KEYS_DIR}/libp2p", f"cp /secrets/libp2p/key {KEYS_DIR}/libp2p/key",
                  f"chmod 0700 {KEYS_DIR}/libp2p", f"chmod 0600 {KEYS_DIR}/libp2p/key"]
        mounts.append({"name": "libp2p-key", "mountPath": "/secrets/libp2p", "readOnly": True})
    else:
        folder = GENERATED_LIBP2P_KEY.rsplit("/", 1)[0]
        steps += [f"mkdir -p {folder}", f"chmod 0700 {folder}",
                  f"test -f {GENERATED_LIBP2P_KEY} || mina libp2p generate-keypair -privkey-path {GENERATED_LIBP2P_KEY}"]
        env.append({"name": "MINA_LIBP2P_PASS", "value": ""})
    return {
        "name": "install-keys",
        "image": testnet.image,
        "imagePullPolicy": "IfNotPresent",
        "command": ["/bin/sh", "-c", "\n".join(steps)],
        "env": env,
        "volumeMounts": mounts,
        "resources": {"requests": {"cpu": "100m", "memory": "128Mi"}, "limits": {"cpu": "1", "memory": "512Mi"}},
        "securityContext": {"allowPrivilegeEscalation": False, "privileged": False, "capabilities": {"drop": ["ALL"]}},
    }


def daemon_workload(plan: DaemonPlan, testnet: TestnetSettings, external_ip: Any, peers: list[str],
                    storage_class: Optional[str], placement: wb.Placement = wb.Placement()) -> wb.ChainWorkload:
    key_secret = key_secret_name(plan, testnet)
    libp2p_secret = libp2p_secret_name(plan, testnet)
    volumes: list[dict] = [
        {"name": "genesis", "configMap": {"name": genesis_configmap_name(testnet)}},
        {"name": "keys", "emptyDir": {"medium": "Memory", "sizeLimit": "16Mi"}},
    ]
    refs: list[tuple[str, str, str]] = []
    if plan.role == "producer":
        volumes.append({"name": "producer-key", "secret": {"secretName": key_secret, "defaultMode": 0o400,
                                                           "items": [{"key": "key", "path": "key"}]}})
        refs.append(("MINA_PRIVKEY_PASS", key_secret, "password"))
    elif plan.role == "coordinator":
        refs.append(("MINA_SNARK_KEY", key_secret, "publicKey"))
    if libp2p_secret:
        volumes.append({"name": "libp2p-key", "secret": {"secretName": libp2p_secret, "defaultMode": 0o400,
                                                         "items": [{"key": "key", "path": "key"}]}})
        refs.append(("MINA_LIBP2P_PASS", libp2p_secret, "password"))
    env: tuple[tuple[str, str], ...] = () if libp2p_secret else (("MINA_LIBP2P_PASS", ""),)
    if plan.role == "coordinator":
        env += (("MINA_CLIENT_TRUSTLIST", CLIENT_TRUSTLIST),
                ("RAYON_NUM_THREADS", rayon_threads(testnet.resources.cpu_limit)))
    ports = [wb.Port("p2p", plan.address.port)]
    if testnet.udp:
        ports.append(wb.Port("p2p-udp", plan.address.port, "UDP"))
    return wb.ChainWorkload(
        name=plan.name,
        namespace=testnet.namespace,
        component=COMPONENT,
        instance=f"{testnet.name}-{plan.name}",
        image=testnet.image,
        data_path=DATA_PATH,
        storage_size=testnet.storage_size,
        storage_class=storage_class,
        resources=testnet.resources,
        claim_name=names.data_claim_name(plan.name),
        env=env,
        ports=(*ports, GRAPHQL, CLIENT, METRICS),
        # Only a block producer signs; seeds and coordinators hold no stake key.
        signer=plan.role == "producer",
        extra_labels={"pegasus.saga.xyz/testnet": testnet.name, "pegasus.saga.xyz/role": plan.role},
        extra_annotations={KEY_REF_ANNOTATION: plan.key_ref} if plan.role == "producer" and plan.key_ref else {},
        args=tuple(daemon_args(plan, testnet, external_ip, peers)),
        secret_env_refs=tuple(refs),
        init_containers=(_install_keys(plan, testnet),),
        extra_volumes=tuple(volumes),
        extra_mounts=({"name": "genesis", "mountPath": GENESIS_DIR, "readOnly": True},
                      {"name": "keys", "mountPath": KEYS_DIR, "readOnly": True}),
        probe_port=GRAPHQL.name,
        readiness_probe=readiness_probe(),
        placement=placement,
    )


# The secret-manager name of a producer's key, on its pod template: the stack policy
# pegasus-unique-producer-keys compares them across regions, where Secret names cannot tell.
KEY_REF_ANNOTATION = "pegasus.saga.xyz/key-ref"


def daemon_spec(plan: DaemonPlan, testnet: TestnetSettings, external_ip: Any, peers: list[str],
                storage_class: Optional[str], placement: wb.Placement = wb.Placement()) -> ChainNodeSpec:
    w = daemon_workload(plan, testnet, external_ip, peers, storage_class, placement)
    public = tuple(p for p in w.ports if p.name.startswith("p2p"))
    # The public Service is the shards' backend: cluster-internal, reached through the proxy.
    return ChainNodeSpec(
        workload=w,
        public_service=p2p_service(plan.name),
        internal_service=internal_service(plan.name),
        public_ports=public,
        internal_ports=(GRAPHQL, CLIENT, METRICS),
        lb_spec={"type": "ClusterIP"},
        advertise_env=None,
    )


def genesis_configmap_name(testnet: TestnetSettings) -> str:
    return f"{testnet.name}-genesis"


def genesis_configmap(testnet: TestnetSettings, contents: str) -> dict:
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": genesis_configmap_name(testnet), "namespace": testnet.namespace,
                     "labels": names.labels("genesis", testnet.name, name=COMPONENT)},
        "data": {GENESIS_FILE: contents},
    }


PEERS_FILE = "peers.txt"


def peers_name(testnet: TestnetSettings) -> str:
    """The peer list's ConfigMap, and the Deployment and Service that serve it (peers_builder.py)."""
    return f"{testnet.name}-peers"


def peer_list_url(testnet: TestnetSettings) -> str:
    """What daemons poll: testnet.peerListUrl when the user publishes the list, else the
    region's own server of its peers ConfigMap (peers_builder.py)."""
    if testnet.peer_list_url:
        return testnet.peer_list_url
    return f"http://{peers_name(testnet)}.{testnet.namespace}.svc.cluster.local/{PEERS_FILE}"


def peers_configmap(testnet: TestnetSettings, peers: Any) -> dict:
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": peers_name(testnet), "namespace": testnet.namespace,
                     "labels": names.labels("peer-list", testnet.name, name=COMPONENT)},
        "data": {PEERS_FILE: peers},
    }


def namespace(testnet: TestnetSettings) -> dict:
    ns = wb.namespace(testnet.namespace, "testnet", testnet.name)
    ns["metadata"]["labels"]["pegasus.saga.xyz/testnet"] = testnet.name
    return ns


def network_policy(testnet: TestnetSettings, plans: tuple[DaemonPlan, ...]) -> dict:
    """Who may reach a testnet's pods. p2p ports are public (the shards' proxy runs in another
    namespace) and metrics are scraped from wherever Prometheus runs; GraphQL, which can send
    transactions with a producer's key, and the client port stay within the namespace (test
    services, SNARK workers, the archive). Egress stays open: daemons dial peers anywhere."""
    p2p_ports = [{"protocol": proto, "port": p.address.port} for p in plans for proto in protocols(testnet)]
    rules: list[dict] = [{"from": [{"podSelector": {}}]}]
    if p2p_ports:
        rules.append({"from": [{"namespaceSelector": {}}, {"ipBlock": {"cidr": "0.0.0.0/0"}}], "ports": p2p_ports})
    rules.append({"from": [{"namespaceSelector": {}}], "ports": [{"protocol": "TCP", "port": METRICS.port}]})
    return {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "NetworkPolicy",
        "metadata": {"name": f"{testnet.name}-ingress", "namespace": testnet.namespace,
                     "labels": names.labels("network-policy", testnet.name, name=COMPONENT)},
        "spec": {
            "podSelector": {"matchLabels": {"pegasus.saga.xyz/testnet": testnet.name}},
            "policyTypes": ["Ingress"],
            "ingress": rules,
        },
    }
