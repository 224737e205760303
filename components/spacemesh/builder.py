"""Pure builders of a Spacemesh network (design document 002): which node is what, which
PoET each node uses, how big the node pool is, and the go-spacemesh config and flags.

Sources, read upstream rather than guessed:
- spacecraft (spacemeshos/go-spacecraft network/create.go, k8s/sm.go, gcp/gke.go): the node
  numbering, the round robin over PoETs, the bootnode chain (bootstrap -> bootnodes -> miners),
  the pool size from pod resources and the hostPort 5000+n. Spacecraft also started each PoET
  with `POST /v1/start` and gateways; PoET removed that route and gateways in v0.7.0 (commit
  d24ba7d), and at the pinned tag rpc/api/v1/api.proto routes only pow_params, submit, info
  and proofs: a PoET runs its rounds on its own schedule, so nothing starts it.
- go-spacemesh (cmd/root.go, config/config.go, config/genesis.go, p2p/host.go,
  api/grpcserver/config.go): `genesis.genesis-time`, `genesis.genesis-extra-data`,
  `p2p.bootnodes`, `main.poet-servers` ([{address, pubkey}]; `main.poet-server` is deprecated),
  `api.grpc-public-listener`, `api.grpc-json-listener`, and the flags --listen,
  --advertise-address, --p2p-bootnode, --smeshing-*, --poet-servers, --metrics-port. go-spacemesh
  decodes its config with ErrorUnused (node/node.go), so an unknown key such as spacecraft's
  `p2p.network-id` would stop the node: the renderer writes only keys that exist.
"""

from __future__ import annotations

import json
import dataclasses
from dataclasses import dataclass
from typing import Any, Iterable, Mapping, Optional, Sequence

from components.chain import workload_builder as wb
from components.spacemesh import node_config as nc
from components.spacemesh.config import Machine, SpacemeshSettings, memory_bytes, node_names
from components.spacemesh.node_config import deep_merge
from pegasus.errors import ConfigError

COMPONENT = "spacemesh-node"
POET_COMPONENT = "poet"
ROLE_LABEL = "pegasus.spacemesh.io/role"
POOL = "spacemesh"
GRPC = wb.Port("grpc", 6000)
JSON_API = wb.Port("json", 7000)
METRICS = wb.Port("metrics", 1010)
POET_REST = wb.Port("rest", 5000)
HOST_PORT_BASE = 5000
CONFIG_DIR = "/etc/spacemesh"
DATA_DIR = "/data"
# PoET keeps its rounds, proofs and state.bin (its key) under --poetdir (data/, db/, logs/;
# spacemeshos/poet server/config.go SetupConfig); the default is the user's cache dir, which
# is not the volume. On the volume, a restart keeps rounds, proofs and the key.
POET_DIR = f"{DATA_DIR}/poet"
POET_KEY_ENV = "POET_PRIVATE_KEY"  # spacemeshos/poet server/state.go KeyEnvVar


@dataclass(frozen=True)
class NodePlan:
    name: str  # miner-N, as spacecraft numbers them
    number: int
    role: str  # bootstrap | bootnode | miner
    poet: int  # index into the PoETs
    coinbase: str
    p2p_port: int


def namespace(network: str) -> str:
    return f"spacemesh-{network}"  # network is DNS-1123 and at most 40 characters (config)


def poet_name(index: int) -> str:
    return f"poet-{index + 1}"


def round_robin(count: int, poets: int) -> list[int]:
    """Spacecraft's nextPoet: one counter over the bootstrap node, the bootnodes and then the
    miners, wrapping at the number of PoETs."""
    return [i % poets for i in range(count)]


def plan_nodes(s: SpacemeshSettings) -> tuple[NodePlan, ...]:
    groups = node_names(s.bootstrap, s.bootnodes, s.miners)
    ordered = [(n, "bootstrap") for n in groups["bootstrap"]] + [(n, "bootnode") for n in groups["bootnodes"]] + \
        [(n, "miner") for n in groups["miners"]]
    poets = round_robin(len(ordered), s.poets)
    out = []
    for (name, role), poet in zip(ordered, poets):
        number = int(name.split("-")[1])
        if number in s.deleted_miners:
            # Left out after the round robin: every other node keeps its PoET and so its flags.
            continue
        port = HOST_PORT_BASE + number if s.bootnode_addressing == "hostPort" else s.p2p_port
        out.append(NodePlan(name, number, role, poet, s.coinbases.get(name, s.coinbase), port))
    return tuple(out)


def node_pool_size(pods: Iterable[tuple[int, int]], machine: Machine) -> int:
    """max(ceil(sum CPU / machine CPU), ceil(sum RAM / machine RAM)), at least 1: spacecraft's
    formula (gcp/gke.go) in exact integers. Spacecraft parsed quantities with
    strconv.ParseInt(x, 10, 8), an int8, so any total above 127 was clamped; nothing here is."""
    cpu = mem = 0
    for c, m in pods:
        cpu += c
        mem += m
    by_cpu = -(-cpu // machine.millicpu)
    by_mem = -(-mem // machine.memory_bytes)
    return max(by_cpu, by_mem, 1)


def upgrade_order(plans: Sequence[NodePlan]) -> list[str]:
    """Who moves first in a staged upgrade: miners from the highest number down, then the
    bootnodes, the bootstrap node last, so the nodes others dial move after everything else."""
    rank = {"miner": 0, "bootnode": 1, "bootstrap": 2}
    return [p.name for p in sorted(plans, key=lambda p: (rank[p.role], -p.number))]


def node_images(s: SpacemeshSettings, plans: Sequence[NodePlan]) -> dict[str, str]:
    moved = set(upgrade_order(plans)[: s.upgrade_nodes]) if s.upgrade_image else set()
    return {p.name: (s.upgrade_image if p.name in moved else s.image) for p in plans}


def pool_pods(s: SpacemeshSettings) -> list[tuple[int, int]]:
    """The pods the pool is sized for: every node and every PoET (both are pinned to it)."""
    nodes = s.miners - len(s.deleted_miners)
    poets = [poet_size(s, i) for i in range(s.poets)]
    return [(s.miner.millicpu, s.miner.memory_bytes)] * nodes + [(p.millicpu, p.memory_bytes) for p in poets]


def poet_size(s: SpacemeshSettings, index: int):
    """A PoET's requests and volume: its poetSettings entry's, else resources.poet."""
    o = s.poet_overrides.get(index)
    return o.size if o is not None else s.poet


def pinned_to_distinct_nodes(s: SpacemeshSettings) -> int:
    return s.bootnodes + (1 if s.bootstrap else 0)


# GKE's default node locations for a regional cluster: three zones of the region. The
# autoscaler's bounds below are totals, so this only spreads the first nodes.
GKE_DEFAULT_ZONES = 3


def pool_autoscaling(s: SpacemeshSettings) -> dict:
    """Start at the computed size; let the autoscaler add what anti-affinity needs (every
    bootnode on its own node) and what the sum misses (bin packing is never perfect). On a
    regional cluster minNodeCount and maxNodeCount count per zone, three times what was meant;
    totalMinNodeCount and totalMaxNodeCount count the whole pool (container.v1
    NodePoolAutoscaling; the two pairs are mutually exclusive)."""
    size = node_pool_size(pool_pods(s), s.machine)
    return {"totalMinNodeCount": size, "totalMaxNodeCount": max(size, pinned_to_distinct_nodes(s)) + size,
            "locationPolicy": "BALANCED"}


def pool_initial_per_zone(s: SpacemeshSettings) -> int:
    """initialNodeCount is per zone (container.v1 NodePool): the size spread over the zones."""
    return -(-node_pool_size(pool_pods(s), s.machine) // GKE_DEFAULT_ZONES)


def service_host(name: str, ns: str) -> str:
    return f"{name}.{ns}.svc.cluster.local"


def internal_service(node: str) -> str:
    return f"{node}-internal"


def public_service(node: str) -> str:
    return f"{node}-p2p"


def api_service(p: NodePlan) -> str:
    """The Service that carries a node's gRPC and JSON API: a miner's NodePort Service
    `<node>-api` (a ClusterIP Service too, so its cluster DNS name works), every other node's
    internal Service. A miner's internal Service carries only p2p and metrics."""
    return f"{p.name}-api" if p.role == "miner" else internal_service(p.name)


def has_public_p2p(s: SpacemeshSettings, p: NodePlan) -> bool:
    return s.bootnode_addressing == "loadBalancer" and p.role in ("bootstrap", "bootnode")


def p2p_service(s: SpacemeshSettings, p: NodePlan) -> str:
    """The Service that carries a node's p2p port: its LoadBalancer (whose cluster DNS name
    works inside the cluster too) for LB-addressed bootnodes, its internal Service otherwise."""
    return public_service(p.name) if has_public_p2p(s, p) else internal_service(p.name)


def poet_address(index: int, ns: str) -> str:
    return f"http://{service_host(poet_name(index), ns)}:{POET_REST.port}"


def poet_servers(indexes: Sequence[int], ns: str, pubkeys: Sequence[str]) -> list[dict]:
    return [{"address": poet_address(i, ns), "pubkey": pubkeys[i] if pubkeys else ""} for i in indexes]


def host_port_address(s: SpacemeshSettings, p: NodePlan) -> str:
    """A hostPort bootnode's public address: <node>.<network>.<dns.domain> (config requires
    dns with hostPort), port 5000+n on its Kubernetes node."""
    return f"/dns4/{p.name}.{s.network}.{s.dns.domain}/tcp/{p.p2p_port}"


def bootnode_multiaddr(host: str, port: int, peer_id: str) -> str:
    return f"/dns4/{host}/tcp/{port}/p2p/{peer_id}"


def internal_bootnode_addresses(s: SpacemeshSettings, plans: Sequence[NodePlan], role: str, ns: str) -> list[str]:
    return [bootnode_multiaddr(service_host(p2p_service(s, p), ns), p.p2p_port, s.identities[p.name])
            for p in plans if p.role == role]


def bootnodes_for(s: SpacemeshSettings, plans: Sequence[NodePlan], role: str, ns: str) -> list[str]:
    """The bootnode chain of spacecraft: the bootstrap node knows none, the bootnodes know the
    bootstrap node (or the network they join), the miners know the bootnodes."""
    if role == "bootstrap":
        return []
    if role == "bootnode":
        return internal_bootnode_addresses(s, plans, "bootstrap", ns) if s.bootstrap else list(s.existing_bootnodes)
    return internal_bootnode_addresses(s, plans, "bootnode", ns)


@dataclass(frozen=True)
class NodeConfig:
    """The user's file, the genesis Pegasus writes over it and the schedule of the result:
    computed once (node_config) and handed to everything that renders or must agree."""

    base: Mapping[str, Any]
    genesis: Mapping[str, str]  # the genesis overlay; empty when joining (the file's own stands)
    schedule: nc.Schedule
    poet_args: tuple[str, ...]  # the user's extra PoET flags, schedule flags checked and removed
    poet_own_args: Mapping[int, tuple[str, ...]] = dataclasses.field(default_factory=dict)  # poetSettings.poet-N.args, checked


def genesis_overlay(base: Mapping[str, Any], s: SpacemeshSettings, where: str) -> dict:
    """A new network's genesis (bootstrap: true): spacemesh.genesisTime and genesisExtraData
    (else the file's extra data, else the network's name). A file that says otherwise is a
    mismatch. Joining (bootstrap: false) writes nothing: the joined network's file decides."""
    if not s.bootstrap:
        return {}
    file_genesis = base.get("genesis") or {}
    file_time, file_extra = file_genesis.get("genesis-time"), file_genesis.get("genesis-extra-data")
    if file_time is not None and nc.utc("genesis.genesis-time", file_time) != nc.utc("spacemesh.genesisTime", s.genesis_time):
        raise ConfigError("spacemesh.genesisTime", f"{s.genesis_time} differs from genesis.genesis-time {file_time} in {where}; make them equal or remove one")
    if s.genesis_extra_data is not None and file_extra is not None and file_extra != s.genesis_extra_data:
        raise ConfigError("spacemesh.genesisExtraData", f"{s.genesis_extra_data!r} differs from genesis.genesis-extra-data {file_extra!r} in {where}; make them equal or remove one")
    return {"genesis-time": s.genesis_time, "genesis-extra-data": s.genesis_extra_data or file_extra or s.network}


def _hrp(address: str) -> str:
    return address.rsplit("1", 1)[0]


def node_config(base: Mapping[str, Any], s: SpacemeshSettings, where: str = "the config file") -> NodeConfig:
    """Preset + the user's file + our genesis: the schedule every PoET runs and the HRP every
    coinbase needs, refused on any mismatch with one line that names both values."""
    genesis = genesis_overlay(base, s, where)
    sched = nc.schedule(deep_merge(base, {"genesis": genesis}), where)
    for key, address in [("coinbase", s.coinbase), *((f"coinbases.{n}", a) for n, a in sorted(s.coinbases.items()))]:
        if sched.hrp and _hrp(address) != sched.hrp:
            raise ConfigError(f"spacemesh.{key}", f"{address} has HRP {_hrp(address)!r} but the nodes' main.network-hrp is {sched.hrp!r} ({where}); use an address of this network")
    check_post_fits(deep_merge(base, {"genesis": genesis}), s, where)
    own = {i: nc.check_poet_args(o.args, sched, where, f"spacemesh.poetSettings.poet-{i + 1}.args")
           for i, o in sorted(s.poet_overrides.items())}
    return NodeConfig(base=base, genesis=genesis, schedule=sched, poet_args=nc.check_poet_args(s.poet_args, sched, where),
                      poet_own_args=own)


def check_post_fits(config: Mapping[str, Any], s: SpacemeshSettings, where: str) -> None:
    """Every node smeshes, with its PoST on its own volume (--smeshing-opts-datadir under
    DATA_DIR, beside the node's state): a PoST larger than the volume fails days into its
    initialisation, so it is refused before anything exists."""
    post = nc.post_size(config, where)
    disk = memory_bytes("spacemesh.resources.miner.disk", s.miner.disk)
    if post.bytes >= disk:
        raise ConfigError("spacemesh.resources.miner.disk", f"{s.miner.disk} cannot hold the PoST the nodes initialise: {post.num_units} units "
                          f"of {post.labels_per_unit} labels of {nc.POST_LABEL_BYTES} bytes is {_gib(post.bytes)} ({where}), and the node's "
                          f"own state shares the volume; raise the disk or lower smeshing.smeshing-opts.smeshing-opts-numunits")


def _gib(n: int) -> str:
    return f"{n / 2**30:.1f}Gi" if n >= 2**30 else f"{n}B"


def genesis_record(cfg: NodeConfig, s: SpacemeshSettings) -> dict:
    """The genesis guard's inputs: the effective genesis (ours, or the joined file's)."""
    return {"network": s.network, "genesisTime": cfg.schedule.genesis_time,
            "genesisExtraData": cfg.schedule.genesis_extra_data, "allowGenesisChange": s.allow_genesis_change}


def render_config(cfg: NodeConfig, *, bootnodes: Sequence[str], poets: Sequence[Mapping[str, str]]) -> dict:
    """go-spacemesh's config.json: the user's file with the keys Pegasus owns merged in."""
    overlay: dict = {
        "p2p": {"bootnodes": list(bootnodes)},
        "main": {"poet-servers": [dict(p) for p in poets], "metrics-port": METRICS.port},
        "api": {"grpc-public-listener": f"0.0.0.0:{GRPC.port}", "grpc-json-listener": f"0.0.0.0:{JSON_API.port}"},
    }
    if cfg.genesis:
        overlay["genesis"] = dict(cfg.genesis)
    return deep_merge(cfg.base, overlay)


def config_map_name(role: str) -> str:
    return f"config-{role}"


def role_configs(cfg: NodeConfig, s: SpacemeshSettings, plans: Sequence[NodePlan], ns: str) -> dict[str, dict]:
    """One config per role; the first PoET in each, as in the public config (each node's own
    PoET comes by flag). Roles without nodes are left out."""
    first = poet_servers([0], ns, s.poet_pubkeys)
    return {role: render_config(cfg, bootnodes=bootnodes_for(s, plans, role, ns), poets=first)
            for role in ("bootstrap", "bootnode", "miner") if any(p.role == role for p in plans)}


def public_config(cfg: NodeConfig, s: SpacemeshSettings, public_bootnodes: Sequence[str],
                  first_poet: str) -> dict:
    """The config.json home smeshers download: public bootnode addresses and the first PoET."""
    return render_config(cfg, bootnodes=public_bootnodes,
                         poets=[{"address": first_poet, "pubkey": s.poet_pubkeys[0] if s.poet_pubkeys else ""}])


def node_poets(s: SpacemeshSettings, p: NodePlan) -> list[int]:
    """The node's own PoET in spacecraft's round robin and, where the network has two or more,
    the next one too: go-spacemesh registers with every PoET in poet-servers and uses the
    best proof (activation/nipost.go), so one PoET down costs no epoch."""
    return [p.poet] if s.poets < 2 else [p.poet, (p.poet + 1) % s.poets]


def node_args(s: SpacemeshSettings, p: NodePlan, ns: str, pyroscope_url: Optional[str] = None) -> tuple[str, ...]:
    args = [
        f"--config={CONFIG_DIR}/config.json",
        f"--data-folder={DATA_DIR}/node",
        f"--listen=/ip4/0.0.0.0/tcp/{p.p2p_port}",
        f"--smeshing-coinbase={p.coinbase}",
        "--smeshing-start=true",
        f"--smeshing-opts-datadir={DATA_DIR}/post",
        "--log-encoder=json",
        f"--poet-servers={json.dumps(poet_servers(node_poets(s, p), ns, s.poet_pubkeys), separators=(',', ':'))}",
    ]
    if p.role in ("bootstrap", "bootnode"):
        args.append("--p2p-bootnode")
        if s.bootnode_addressing == "hostPort":
            # go-spacemesh advertises exactly these addresses (p2p/host.go AddrsFactory), not
            # the pod's; the LoadBalancer variant gets its address from the Service instead.
            args.append(f"--advertise-address={host_port_address(s, p)}")
    if s.metrics:
        args += ["--metrics", f"--metrics-port={METRICS.port}"]
    if pyroscope_url and p.number in s.pyroscope_miners:
        args += ["--pprof-server", f"--profiler-url={pyroscope_url}", f"--profiler-name={p.name}"]
    return tuple(args)


def grpc_url(host: str, port: Any) -> str:
    return f"{host}:{port}"


def poet_args(cfg: NodeConfig, index: Optional[int] = None) -> tuple[str, ...]:
    """spacecraft's PoET flags (k8s/sm.go DeployPoet), the nodes' round schedule (PoET's
    defaults are a 30 s epoch from its own start, server/config.go), then the stack's own, then
    this PoET's own (poetSettings; go-flags lets a later flag win)."""
    own = cfg.poet_own_args.get(index, ()) if index is not None else ()
    return (f"--restlisten=0.0.0.0:{POET_REST.port}", "--jsonlog", f"--poetdir={POET_DIR}",
            *cfg.schedule.poet_args(), *cfg.poet_args, *own)
