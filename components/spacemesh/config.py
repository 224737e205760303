"""Settings of the spacemesh blueprint (design document 002): `pegasus:spacemesh` and its
secrets, `pegasus:spacemeshSecrets`, parsed once and validated before anything is declared.

The blueprint shares the platform sections (cluster, monitoring, alerting, logging, charts,
storage) with the validator but none of its chain sections: `spc`, `chain`, `chainlets`,
`ingress` and `karpenter` are refused here, so a spacemesh stack never needs validator settings.

Secrets live in their own section because Pulumi marks a structured key secret as a whole:
`pulumi config set --secret --path spacemeshSecrets.slackToken ...` keeps `pegasus:spacemesh`
readable in the stack file while every token and key is encrypted.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any, Mapping, Optional

from pegasus.config.fields import Secret, _Section, _describe, _quantity, _DNS1123
from pegasus.config.keys import SECTIONS
from pegasus.config.platform import ClusterSettings, _cluster
from pegasus.config.validator import (
    AlertingSettings, LoggingSettings, MonitoringSettings, _alerting, _logging, _monitoring, image_reference,
)
from pegasus.config import fields
from components.spacemesh.identity import (
    p2p_key_peer_id, poet_public_keys,
)
from components.spacemesh.maintenance import Maintenance, parse_maintenance
from components.spacemesh.node_lists import parse_deleted_miners, parse_rotate_p2p_keys
from components.spacemesh.poet_settings import PoetOverride, parse_poet_settings
from components.spacemesh.poet_settings import check_memory as check_poet_memory
from pegasus.errors import ConfigError

SECTION = "spacemesh"
SECRETS_SECTION = "spacemeshSecrets"
# Validator-only sections: meaningless for a Spacemesh network, so setting one is a mistake.
VALIDATOR_ONLY = ("spc", "chain", "chainlets", "ingress", "karpenter")
BOOTNODE_ADDRESSING = ("loadBalancer", "hostPort")
MINER_P2P = ("none", "loadBalancer")

# RFC 3339 with an explicit offset: go-spacemesh parses genesis-time with time.RFC3339
# (config/genesis.go), and a time without a zone would silently mean the runner's zone.
_RFC3339 = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$")
# A libp2p multiaddr of a bootnode, with its peer identity (p2p/host.go Bootnodes).
_MULTIADDR = re.compile(r"^/(ip4|ip6|dns4|dns6|dns)/[^/\s]+/tcp/\d{1,5}/p2p/[1-9A-HJ-NP-Za-km-z]{46,}$")
_PEER_ID = re.compile(r"^[1-9A-HJ-NP-Za-km-z]{46,}$")
_CPU = re.compile(r"^([0-9]+(\.[0-9]+)?)(m?)$")
_MEMORY_UNITS = {"": 1, "k": 10**3, "M": 10**6, "G": 10**9, "T": 10**12, "P": 10**15,
                 "Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "Ti": 2**40, "Pi": 2**50}
_MEMORY = re.compile(r"^([0-9]+(\.[0-9]+)?)(k|M|G|T|P|Ki|Mi|Gi|Ti|Pi)?$")


@dataclass(frozen=True)
class PodSize:
    cpu: str
    memory: str
    disk: str
    millicpu: int
    memory_bytes: int


@dataclass(frozen=True)
class Machine:
    type: str
    millicpu: int
    memory_bytes: int


@dataclass(frozen=True)
class Discovery:
    bucket: str
    object: str
    net_id: int  # the entry's netID: go-spacemesh v1 has no p2p.network-id any more, so it is set here
    endpoint: str  # the GCS JSON API base URL; overridable for tests and emulators
    explorer: str
    dash: str
    explorer_version: str
    dash_version: str
    smapp_version: str


@dataclass(frozen=True)
class Dns:
    zone_id: str
    domain: str


@dataclass(frozen=True)
class WebServices:
    enabled: bool
    replicas: int
    dashboard_image: Optional[str]
    explorer_image: Optional[str]
    collector_image: Optional[str]


@dataclass(frozen=True)
class Watch:
    enabled: bool
    slack_channel: Optional[str]
    image: str


@dataclass(frozen=True)
class SpacemeshSecrets:
    slack_token: Optional[Secret]
    tls_cert: Optional[Secret]
    tls_key: Optional[Secret]
    coinbase_keys: Mapping[str, Secret]  # node name -> private key
    p2p_keys: Mapping[str, Secret]  # node name -> go-spacemesh p2p.key contents
    poet_keys: Mapping[str, Secret] = field(default_factory=dict)  # poet-N -> POET_PRIVATE_KEY (base64, 64 bytes)


@dataclass(frozen=True)
class SpacemeshSettings:
    network: str
    image: str
    poet_image: str
    genesis_time: Optional[str]
    genesis_extra_data: Optional[str]  # None: the config file's, else the network's name (bootstrap only)
    config_file: Optional[str]
    bootstrap: bool
    existing_bootnodes: tuple[str, ...]
    bootnodes: int
    miners: int
    poets: int
    poet_pubkeys: tuple[str, ...]
    poet_args: tuple[str, ...]
    miner: PodSize
    poet: PodSize
    machine: Machine
    bootnode_addressing: str
    p2p_port: int
    identities: Mapping[str, str]  # node name -> libp2p peer ID
    coinbase: str
    coinbases: Mapping[str, str]
    bucket: Optional[str]
    discovery: Optional[Discovery]
    dns: Optional[Dns]
    web_services: WebServices
    watch: Watch
    pyroscope_miners: tuple[int, ...]
    pyroscope_image: str
    metrics: bool
    secrets: SpacemeshSecrets
    allow_genesis_change: bool = False  # the genesis guard's override (genesis_guard.py)
    upgrade_image: Optional[str] = None  # staged rollout: this image on the first upgrade_nodes nodes of the upgrade order
    upgrade_nodes: int = 0
    upgrade_wait_minutes: int = 60  # how long the stage's readiness gate waits for its nodes to sync
    maintenance: Optional[Maintenance] = None  # gke: when GKE may upgrade (and so restart) the nodes
    rotate_p2p_keys: frozenset[str] = frozenset()  # bootnodes whose volume key the Secret's may replace
    poet_overrides: Mapping[int, PoetOverride] = field(default_factory=dict)  # spacemesh.poetSettings, by PoET index
    deleted_miners: frozenset[int] = frozenset()  # spacecraft's deleteMiner: numbers left out, never reused
    miner_p2p: str = "none"  # loadBalancer: each miner also reachable from outside on its own address


@dataclass(frozen=True)
class SpacemeshStackSettings:
    """What `stacks/spacemesh.py` receives: the shared platform sections and the network."""

    project: str
    stack: str
    blueprint: str
    cluster: ClusterSettings
    monitoring: MonitoringSettings
    alerting: AlertingSettings
    logging: LoggingSettings
    storage_class: Optional[str]
    charts_dir: Optional[str]
    spacemesh: SpacemeshSettings
    warnings: tuple[str, ...] = field(default=())


def millicpu(key: str, value: Any) -> int:
    value = _quantity(key, value)
    m = _CPU.match(value)
    if not m:
        raise ConfigError(key, f"{value!r} is not a CPU quantity; write it like 500m or 2")
    amount = Decimal(m.group(1))
    return int(amount if m.group(3) else amount * 1000)


def memory_bytes(key: str, value: Any) -> int:
    value = _quantity(key, value)
    m = _MEMORY.match(value)
    if not m:
        raise ConfigError(key, f"{value!r} is not a memory quantity; write it like 512Mi, 8Gi or 64Gi")
    return int(Decimal(m.group(1)) * _MEMORY_UNITS[m.group(3) or ""])


def _pod_size(s: _Section, field_: str, default: Mapping[str, str]) -> PodSize:
    key = s.key(field_)
    raw = s.get(field_, dict, {})
    bad = set(raw) - {"cpu", "memory", "disk"}
    if bad:
        raise ConfigError(f"{key}.{sorted(bad)[0]}", "unknown key; use cpu, memory and disk")
    cpu = str(raw.get("cpu", default["cpu"]))
    memory = str(raw.get("memory", default["memory"]))
    disk = _quantity(f"{key}.disk", raw.get("disk", default["disk"]))
    m = millicpu(f"{key}.cpu", cpu)
    b = memory_bytes(f"{key}.memory", memory)
    if m <= 0 or b <= 0:
        raise ConfigError(f"{key}.{'cpu' if m <= 0 else 'memory'}", "must be more than zero")
    return PodSize(cpu=cpu, memory=memory, disk=disk, millicpu=m, memory_bytes=b)


def _machine(s: _Section) -> Machine:
    raw = s.get("machine", dict, {})
    bad = set(raw) - {"type", "cpu", "memory"}
    if bad:
        raise ConfigError(f"{s.key('machine')}.{sorted(bad)[0]}", "unknown key; use type, cpu and memory")
    mtype = raw.get("type", "e2-standard-16")
    if not isinstance(mtype, str) or not mtype:
        raise ConfigError(s.key("machine.type"), f"must be a machine type like e2-standard-16, got {_describe(mtype)}")
    m = millicpu(s.key("machine.cpu"), raw.get("cpu", 16))
    b = memory_bytes(s.key("machine.memory"), raw.get("memory", "64Gi"))
    if m <= 0 or b <= 0:
        raise ConfigError(s.key(f"machine.{'cpu' if m <= 0 else 'memory'}"), "must be more than zero")
    return Machine(type=mtype, millicpu=m, memory_bytes=b)


def genesis_time(key: str, value: str) -> str:
    if not _RFC3339.match(value):
        raise ConfigError(key, f"{value!r} is not an RFC 3339 time with a zone; write it like 2026-12-15T12:00:00Z")
    try:
        datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise ConfigError(key, f"{value!r} is not a valid date and time; write it like 2026-12-15T12:00:00Z") from None
    return value


def _sub(s: _Section, field_: str, known: tuple[str, ...]) -> Optional[_Section]:
    raw = s.get(field_, dict)
    if raw is None:
        return None
    sub = _Section(s.key(field_), raw)
    bad = sorted(set(raw) - set(known))
    if bad:
        raise ConfigError(f"{s.key(field_)}.{bad[0]}", f"unknown key; use {', '.join(known)}")
    return sub


def _image_or_none(s: _Section, field_: str) -> Optional[str]:
    v = s.get(field_, str)
    return image_reference(s.key(field_), v) if v else None


def _name_map(s: _Section, field_: str, pattern: re.Pattern, what: str) -> dict[str, str]:
    raw = s.get(field_, dict, {})
    for name, value in raw.items():
        if not isinstance(value, str) or not pattern.match(value):
            raise ConfigError(f"{s.key(field_)}.{name}", f"must be {what}, got {_describe(value)}")
    return dict(raw)


def _secret_map(s: _Section, field_: str, secret_keys: set[str]) -> dict[str, Secret]:
    raw = s.get(field_, dict, {})
    if raw and s.name not in secret_keys:
        raise ConfigError(s.key(field_), f"holds secrets but was stored in plain text; set each with "
                                         f"`pulumi config set --secret --path {s.key(field_)}.<node> <value>`")
    out = {}
    for name, value in raw.items():
        if not isinstance(value, str) or not value:
            raise ConfigError(f"{s.key(field_)}.{name}", f"must be a non-empty string, got {_describe(value)}")
        out[name] = Secret(value)
    return out


def node_names(bootstrap: bool, bootnodes: int, miners: int) -> dict[str, tuple[str, ...]]:
    """Spacecraft's numbering (network/create.go): nodes are miner-1..miner-N; with a
    bootstrap node it is miner-1 and the bootnodes follow it, otherwise the bootnodes come first."""
    first = 2 if bootstrap else 1
    return {
        "bootstrap": ("miner-1",) if bootstrap else (),
        "bootnodes": tuple(f"miner-{i}" for i in range(first, first + bootnodes)),
        "miners": tuple(f"miner-{i}" for i in range(first + bootnodes, miners + 1)),
    }


def _spacemesh(s: _Section, secrets: SpacemeshSecrets, provider: str = "existing") -> SpacemeshSettings:
    network = s.get("network", str)
    if not network:
        raise ConfigError(s.key("network"), "is required; set it to the network's name, like devnet-412")
    if not _DNS1123.match(network) or len(network) > 40:
        raise ConfigError(s.key("network"), f"{network!r} must be lowercase letters, digits and '-', at most 40 characters (DNS-1123: it names namespaces and DNS records)")
    image = s.get("image", str)
    if not image:
        raise ConfigError(s.key("image"), "is required; set it to a pinned go-spacemesh image, like spacemeshos/go-spacemesh:v1.7.6")
    image = image_reference(s.key("image"), image)
    poet_image = s.get("poetImage", str)
    if not poet_image:
        raise ConfigError(s.key("poetImage"), "is required; set it to a pinned PoET image, like spacemeshos/poet:v0.10.8")
    poet_image = image_reference(s.key("poetImage"), poet_image)
    bootstrap = s.get("bootstrap", bool, True)
    genesis = s.get("genesisTime", str)
    if genesis is not None:
        genesis = genesis_time(s.key("genesisTime"), genesis)
    elif bootstrap:
        # Spacecraft set genesis-time to time.Now()+delay on every create; a time taken from
        # the clock would change the genesis ID on every run.
        raise ConfigError(s.key("genesisTime"), "is required when bootstrap is true and is never taken from the clock; set it explicitly, like 2026-12-15T12:00:00Z")
    extra_data = s.get("genesisExtraData", str)
    if not bootstrap:
        # A joined network's genesis is its own: the genesis ID (the p2p handshake cookie,
        # go-spacemesh config/genesis.go) must equal it, so it comes from its config file.
        for key, value in (("genesisTime", genesis), ("genesisExtraData", extra_data)):
            if value is not None:
                raise ConfigError(s.key(key), "comes from the joined network's config file (spacemesh.configFile, or its preset) when bootstrap is false; remove it")
    elif extra_data is not None and not 0 < len(extra_data) <= 255:
        raise ConfigError(s.key("genesisExtraData"), "must be 1 to 255 characters (go-spacemesh config/genesis.go Validate)")
    existing = s.str_list("existingBootnodes", [])
    for i, addr in enumerate(existing):
        if not _MULTIADDR.match(addr):
            raise ConfigError(f"{s.key('existingBootnodes')}[{i}]", f"{addr!r} is not a bootnode multiaddr; write it like /dns4/bootnode.example.org/tcp/5000/p2p/12D3KooW...")
    if not bootstrap and not existing:
        raise ConfigError(s.key("existingBootnodes"), "is required when bootstrap is false: list the multiaddrs of the network to join")
    if bootstrap and existing:
        raise ConfigError(s.key("existingBootnodes"), "only applies when bootstrap is false; this stack starts its own network from its bootstrap node")
    bootnodes = s.int_range("bootnodes", 6, 1, 100)
    least = bootnodes + (1 if bootstrap else 0)
    miners = s.int_range("miners", 20, least, 10000, f" (the bootstrap node and the bootnodes are miners too: at least {least})")
    poets = s.int_range("poets", 3, 1, 100)
    if "poetGatewayAmount" in s.value:
        # spacecraft started PoETs with gateways through POST /v1/start; PoET removed both in
        # v0.7.0 (spacemeshos/poet rpc/api/v1/api.proto has no start route at v0.10.8).
        raise ConfigError(s.key("poetGatewayAmount"), "is no longer used: PoET has had no gateways and no start call since v0.7.0; remove it")
    pubkeys = s.str_list("poetPubkeys", [])
    if pubkeys and len(pubkeys) != poets:
        raise ConfigError(s.key("poetPubkeys"), f"lists {len(pubkeys)} keys for {poets} PoETs; give one per PoET, in order, or none")
    derived = poet_public_keys(secrets.poet_keys, poets)
    for i, (given, key) in enumerate(zip(pubkeys, derived)):
        if given != key:
            raise ConfigError(f"{s.key('poetPubkeys')}[{i}]", f"{given} differs from {key}, the public key of {SECRETS_SECTION}.poetKeys.poet-{i + 1}; correct one of them")
    res = s.get("resources", dict, {})
    bad = set(res) - {"miner", "poet"}
    if bad:
        raise ConfigError(f"{s.key('resources')}.{sorted(bad)[0]}", "unknown key; use miner and poet")
    rs = _Section(s.key("resources"), res)
    miner = _pod_size(rs, "miner", {"cpu": "2", "memory": "8Gi", "disk": "100Gi"})
    poet = _pod_size(rs, "poet", {"cpu": "1", "memory": "5Gi", "disk": "10Gi"})
    poet_extra = tuple(s.str_list("poetArgs", []))
    check_poet_memory(s.key("resources.poet.memory"), poet.memory, poet.memory_bytes, s.key("poetArgs"), poet_extra)
    poet_overrides = parse_poet_settings(s, poets, poet, poet_extra, _pod_size)
    machine = _machine(s)
    if miner.millicpu > machine.millicpu or miner.memory_bytes > machine.memory_bytes:
        raise ConfigError(s.key("resources.miner"), "is larger than one machine (machine.cpu, machine.memory); no node could run a miner")
    addressing = s.choice("bootnodeAddressing", BOOTNODE_ADDRESSING, "loadBalancer")
    p2p_port = s.int_range("p2pPort", 7513, 1024, 65535)
    if addressing == "hostPort" and 5000 + miners > 65535:
        raise ConfigError(s.key("miners"), "hostPort addressing binds port 5000+n on the node; that passes 65535")
    names = node_names(bootstrap, bootnodes, miners)
    identities = _name_map(s, "identities", _PEER_ID, "a libp2p peer ID (12D3KooW...)")
    for n in names["bootstrap"] + names["bootnodes"]:
        if n not in identities:
            raise ConfigError(f"{s.key('identities')}.{n}", "is required: the bootnode's peer ID goes into every other node's bootnodes; generate its key with go-spacemesh's gen-p2p-identity and set the key in spacemeshSecrets.p2pKeys")
        if n not in secrets.p2p_keys:
            raise ConfigError(f"{SECRETS_SECTION}.p2pKeys.{n}", f"is required: the p2p.key of {n}, whose peer ID is spacemesh.identities.{n}; set it with --secret")
        peer = p2p_key_peer_id(secrets.p2p_keys[n].value)
        if peer is not None and peer != identities[n]:
            raise ConfigError(f"{SECRETS_SECTION}.p2pKeys.{n}", f"is the key of peer {peer}, but spacemesh.identities.{n} is {identities[n]}; the other nodes would dial a peer that is not there. Correct one of them")
    deleted = parse_deleted_miners(s, names, miners)
    rotate = parse_rotate_p2p_keys(s, names)
    coinbase = s.get("coinbase", str)
    if not coinbase:
        raise ConfigError(s.key("coinbase"), "is required: the account every miner's rewards go to (smeshing-coinbase), unless spacemesh.coinbases names one per miner")
    coinbases = _name_map(s, "coinbases", re.compile(r"^[a-z0-9]+1[02-9ac-hj-np-z]+$"), "a bech32 account address")
    all_names = set(sum(names.values(), ()))
    for key, mapping in (("coinbases", coinbases), ("identities", identities)):
        for n in mapping:
            if n not in all_names:
                raise ConfigError(f"{s.key(key)}.{n}", f"names no node of this network (miner-1..miner-{miners})")
    bucket = s.get("bucket", str)
    disc = _sub(s, "discovery", ("bucket", "object", "netId", "endpoint", "explorer", "dash", "explorerVersion", "dashVersion", "smappVersion"))
    discovery = None
    if disc is not None:
        dbucket = disc.get("bucket", str)
        if not dbucket:
            raise ConfigError(disc.key("bucket"), "is required with discovery; set it to the discovery service's bucket")
        if not bucket:
            raise ConfigError(s.key("bucket"), "is required with discovery: the entry's conf URL points at the config.json in this bucket")
        endpoint = disc.get("endpoint", str, "https://storage.googleapis.com")
        if not re.match(r"^https?://[^/\s]+$", endpoint.rstrip("/")):
            raise ConfigError(disc.key("endpoint"), f"{endpoint!r} must be an http(s) base URL like https://storage.googleapis.com")
        discovery = Discovery(
            bucket=dbucket, object=disc.get("object", str, "networks.json"),
            net_id=disc.int_range("netId", 1, 0, 2**32 - 1), endpoint=endpoint.rstrip("/"),
            explorer=disc.get("explorer", str, "https://explorer.spacemesh.io/"),
            dash=disc.get("dash", str, "https://dash.spacemesh.io/"),
            explorer_version=disc.get("explorerVersion", str, ""), dash_version=disc.get("dashVersion", str, ""),
            smapp_version=disc.get("smappVersion", str, ""),
        )
    d = _sub(s, "dns", ("zoneId", "domain"))
    dns = None
    if d is not None:
        zone, domain = d.get("zoneId", str), d.get("domain", str)
        if not zone or not domain:
            raise ConfigError(d.key("zoneId" if not zone else "domain"), "is required with dns; set dns.zoneId and dns.domain (the root domain, like spacemesh.example.org)")
        if not re.match(r"^([a-z0-9]([-a-z0-9]*[a-z0-9])?\.)+[a-z]{2,}$", domain):
            raise ConfigError(d.key("domain"), f"{domain!r} is not a domain name like spacemesh.example.org")
        dns = Dns(zone_id=zone, domain=domain)
    ws = _sub(s, "webServices", ("enabled", "replicas", "dashboardImage", "explorerImage", "collectorImage")) or _Section(s.key("webServices"), {})
    web = WebServices(
        enabled=ws.get("enabled", bool, False),
        replicas=ws.int_range("replicas", 2, 2, 50, " (a single replica is not highly available)"),
        dashboard_image=_image_or_none(ws, "dashboardImage"), explorer_image=_image_or_none(ws, "explorerImage"),
        collector_image=_image_or_none(ws, "collectorImage"),
    )
    if web.enabled:
        for f in ("dashboardImage", "explorerImage", "collectorImage"):
            if not ws.get(f, str):
                raise ConfigError(ws.key(f), "is required when webServices.enabled is true; set a pinned image")
        if dns is None:
            raise ConfigError(s.key("dns"), "is required when webServices.enabled is true: the APIs are published under dns.domain")
        if secrets.tls_cert is None or secrets.tls_key is None:
            raise ConfigError(f"{SECRETS_SECTION}.{'tlsCert' if secrets.tls_cert is None else 'tlsKey'}", "is required when webServices.enabled is true: the gRPC ingress terminates TLS with it; set it with --secret")
    if addressing == "hostPort":
        if provider == "gke":
            # components/cluster builds gke with enablePrivateNodes: a node has no external
            # address and Cloud NAT only carries outbound traffic, so port 5000+n is unreachable.
            raise ConfigError(s.key("bootnodeAddressing"), "hostPort binds port 5000+n on the Kubernetes node, but this stack's gke nodes are private "
                              "(no external address; Cloud NAT is outbound only), so no one outside could dial a bootnode; use loadBalancer")
        if dns is None:
            raise ConfigError(s.key("dns"), "is required with bootnodeAddressing hostPort: each bootnode advertises and publishes "
                              "/dns4/miner-N.<network>.<dns.domain>/tcp/5000+N, records you point at its Kubernetes node")
    if discovery is not None and not web.enabled:
        # The entry's gRPC, JSON, explorer and dashboard URLs are the web services' names; a
        # shared public list must not get names that point nowhere.
        raise ConfigError(s.key("webServices.enabled"), "must be true with discovery: the entry lists the network's public APIs, which the web services serve under dns.domain")
    w = _sub(s, "watch", ("enabled", "slackChannel", "image")) or _Section(s.key("watch"), {})
    watch = Watch(enabled=w.get("enabled", bool, False), slack_channel=w.get("slackChannel", str),
                  image=image_reference(w.key("image"), w.get("image", str, "spacemeshos/spacemesh-watch:v0.1.0")))
    if watch.enabled and (not watch.slack_channel or secrets.slack_token is None):
        raise ConfigError(w.key("slackChannel") if not watch.slack_channel else f"{SECRETS_SECTION}.slackToken",
                          "is required when watch.enabled is true (the token with --secret)")
    p = _sub(s, "pyroscope", ("miners", "image")) or _Section(s.key("pyroscope"), {})
    pyro = p.get("miners", list, [])
    for i, n in enumerate(pyro):
        if isinstance(n, bool) or not isinstance(n, int) or not 1 <= n <= miners:
            raise ConfigError(f"{p.key('miners')}[{i}]", f"must be a miner number between 1 and {miners}, got {_describe(n)}")
    u = _sub(s, "upgrade", ("image", "nodes", "waitMinutes")) or _Section(s.key("upgrade"), {})
    upgrade_image = u.get("image", str)
    if upgrade_image is not None:
        upgrade_image = image_reference(u.key("image"), upgrade_image)
    upgrade_nodes = u.int_range("nodes", 0, 0, miners, f" (there are {miners} nodes)")
    if upgrade_nodes and upgrade_image is None:
        raise ConfigError(u.key("image"), "is required when upgrade.nodes is set: the image those nodes move to")
    return SpacemeshSettings(
        network=network, image=image, poet_image=poet_image, genesis_time=genesis,
        genesis_extra_data=extra_data,
        config_file=_config_source(s), bootstrap=bootstrap, existing_bootnodes=existing,
        bootnodes=bootnodes, miners=miners, poets=poets, poet_pubkeys=derived,
        poet_args=poet_extra,
        miner=miner, poet=poet, machine=machine, bootnode_addressing=addressing, p2p_port=p2p_port,
        identities=identities, coinbase=coinbase, coinbases=coinbases, bucket=bucket, discovery=discovery, dns=dns,
        web_services=web, watch=watch, pyroscope_miners=tuple(sorted(set(pyro))),
        pyroscope_image=image_reference(p.key("image"), p.get("image", str, "grafana/pyroscope:1.13.4")),
        metrics=s.get("metrics", bool, False), secrets=secrets,
        upgrade_image=upgrade_image, upgrade_nodes=upgrade_nodes,
        upgrade_wait_minutes=u.int_range("waitMinutes", 60, 5, 1440),
        allow_genesis_change=s.get("allowGenesisChange", bool, False),
        maintenance=parse_maintenance(s, provider), rotate_p2p_keys=frozenset(rotate), deleted_miners=frozenset(deleted),
        poet_overrides=poet_overrides, miner_p2p=s.choice("minerP2p", MINER_P2P, "none"),
    )


def _config_source(s: _Section) -> Optional[str]:
    from components.spacemesh.config_source import check_source

    value = s.get("configFile", str)
    return check_source(value) if value else None


def _secrets(s: _Section, secret_keys: set[str]) -> SpacemeshSecrets:
    return SpacemeshSecrets(
        slack_token=s.secret("slackToken", secret_keys),
        tls_cert=s.secret("tlsCert", secret_keys),
        tls_key=s.secret("tlsKey", secret_keys),
        coinbase_keys=_secret_map(s, "coinbaseKeys", secret_keys),
        p2p_keys=_secret_map(s, "p2pKeys", secret_keys),
        poet_keys=_secret_map(s, "poetKeys", secret_keys),
    )


def parse_spacemesh(raw: Mapping[str, Any], *, project: str, stack: str, secret_keys: set[str]) -> SpacemeshStackSettings:
    for name in VALIDATOR_ONLY:
        if raw.get(name) is not None:
            raise ConfigError(name, f"belongs to the validator blueprint and is not used by blueprint spacemesh; remove pegasus:{name} from the stack")
    sections = {name: _Section(name, raw.get(name)) for name in SECTIONS if name not in VALIDATOR_ONLY + (SECTION, SECRETS_SECTION)}
    # Spacecraft built a GKE cluster per network; `existing` runs it on a cluster you have.
    cluster_section = sections["cluster"]
    if cluster_section.value.get("provider") == "eks":
        raise ConfigError("cluster.provider", "must be gke or existing for blueprint spacemesh (its node pool, bucket and discovery object are GCP's)")
    cluster = _cluster(cluster_section, stack, secret_keys, default_provider="gke")
    monitoring = _monitoring(sections["monitoring"], secret_keys)
    alerting = _alerting(sections["alerting"], secret_keys)
    logging_ = _logging(sections["logging"], cluster.provider)
    storage_class = fields.storage_class(sections["storage"])
    charts_dir = fields.charts_dir(sections["charts"])
    sec_section = _Section(SECRETS_SECTION, raw.get(SECRETS_SECTION))
    secrets = _secrets(sec_section, secret_keys)
    sm_section = _Section(SECTION, raw.get(SECTION))
    if raw.get(SECTION) is None:
        raise ConfigError(SECTION, "is required for blueprint spacemesh; set at least spacemesh.network, image, poetImage, genesisTime and coinbase")
    spacemesh = _spacemesh(sm_section, secrets, cluster.provider)
    for section in [*sections.values(), sec_section, sm_section]:
        section.check_unknown()
    for n in list(secrets.p2p_keys) + list(secrets.coinbase_keys):
        if n not in set(sum(node_names(spacemesh.bootstrap, spacemesh.bootnodes, spacemesh.miners).values(), ())):
            raise ConfigError(f"{SECRETS_SECTION}", f"names {n}, which is no node of this network (miner-1..miner-{spacemesh.miners})")
    warnings = []
    if spacemesh.dns is not None and not spacemesh.web_services.enabled:
        warnings.append("spacemesh.dns is set but webServices.enabled is false: the records point at the web ingress, so none is created")
    if spacemesh.config_file is None:
        warnings.append("spacemesh.configFile is unset: the nodes run go-spacemesh's defaults, mainnet's (HRP sm, 240h phase shift, mainnet PoST sizes); set a config file with a preset for anything else")
    if cluster.provider == "gke" and spacemesh.maintenance is None:
        warnings.append("spacemesh.maintenance is unset on gke: GKE upgrades the node pool (restarting its smeshers) whenever it chooses; set a window or an exclusion")
    if cluster.provider == "gke" and (spacemesh.bucket is None or spacemesh.dns is None):
        warnings.append("spacemesh.bucket or spacemesh.dns is unset on gke: the network's config.json is not published and home smeshers cannot find it")
    return SpacemeshStackSettings(
        project=project, stack=stack, blueprint="spacemesh", cluster=cluster, monitoring=monitoring, alerting=alerting,
        logging=logging_, storage_class=storage_class, charts_dir=charts_dir, spacemesh=spacemesh, warnings=tuple(warnings),
    )
