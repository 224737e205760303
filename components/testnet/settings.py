"""The testnet blueprint's settings types (design document 001): what components/testnet/config.py
parses `pegasus:testnet` into, frozen, and what every builder and component of the blueprint takes.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

from pegasus.config.fields import Resources
from pegasus.config.platform import ClusterSettings, KarpenterSettings
from pegasus.config.validator import AlertingSettings, MonitoringSettings


@dataclass(frozen=True)
class StackCluster:
    """cluster.provider stack: the kubeconfig is another Pegasus stack's output."""

    stack: str
    output: str = "kubeconfig"


@dataclass(frozen=True)
class Seed:
    index: int
    libp2p_key_ref: Optional[str] = None  # a Secret (store) entry with the libp2p keypair
    peer_id: Optional[str] = None  # known only with a given keypair


@dataclass(frozen=True)
class Producer:
    name: str
    key_ref: str
    public_key: Optional[str] = None  # B62...: checked for stake in the ledger the stack uses
    stake: Optional[str] = None  # MINA, its balance in a generated ledger (testnet.genesis)


@dataclass(frozen=True)
class Genesis:
    """testnet.genesis: the stack writes daemon.json from the producers' keys and stake."""

    timestamp: str  # genesis_state_timestamp, fixed in config so the file is stable
    proof_level: str = "full"
    accounts: tuple[tuple[str, str], ...] = ()  # extra (public key, balance) accounts


@dataclass(frozen=True)
class SnarkPool:
    name: str
    coordinator_key_ref: str
    fee: str
    work_selection: str
    workers: int
    max_workers: int


@dataclass(frozen=True)
class TestService:
    name: str
    image: str
    args: tuple[str, ...]
    daemon: str
    key_ref: Optional[str] = None  # a key it signs with (a transaction bot), stored like a producer's


@dataclass(frozen=True)
class ArchiveBackup:
    """archive.backup: CloudNativePG's scheduled base backups and WAL archive to object storage."""

    destination: str  # s3://bucket/path or gs://bucket/path (barmanObjectStore.destinationPath)
    schedule: str  # six fields, seconds first (ScheduledBackup.spec.schedule)
    retention: str  # like 30d (backup.retentionPolicy)
    credentials_secret: str  # a Secret in the testnet namespace, made by the operator


@dataclass(frozen=True)
class Archive:
    """The archive process beside one daemon, with its Postgres (CloudNativePG)."""

    image: str  # minaprotocol/mina-archive:<tag>
    daemon: str  # the daemon that sends it blocks (-archive-address)
    storage_size: str = "20Gi"
    backup: Optional[ArchiveBackup] = None


@dataclass(frozen=True)
class Region:
    name: str
    cluster: Optional[ClusterSettings]
    stack_cluster: Optional[StackCluster]
    seeds: tuple[Seed, ...]
    block_producers: tuple[Producer, ...]
    snark_pools: tuple[SnarkPool, ...]
    archive: Optional[Archive]
    test_services: tuple[TestService, ...]
    secret_store: str = "kubernetes"  # testnet.secretStore unless the region sets its own
    place: Optional[str] = None  # where an existing or shared cluster runs (components/testnet/places.py)

    @property
    def provider(self) -> str:
        return "stack" if self.stack_cluster else self.cluster.provider  # type: ignore[union-attr]

    @property
    def cloud(self) -> str:
        """What decides load-balancer annotations: a shared cluster is treated like an existing one."""
        return "existing" if self.stack_cluster else self.cluster.provider  # type: ignore[union-attr]


@dataclass(frozen=True)
class Registry:
    provider: str
    repositories: tuple[str, ...]
    keep_last: int
    region: Optional[str] = None  # ecr: AWS region; gar: GCP region
    project: Optional[str] = None  # gar


@dataclass(frozen=True)
class TestnetSettings:
    name: str
    image: str
    genesis_file: Optional[str]
    ha: bool
    domain: Optional[str]
    cloudflare_zone_id: Optional[str]
    secret_store: str
    regions: tuple[Region, ...]
    base_port: int = 8302
    shard_size: int = 25
    internal_base_port: int = 20000
    peer_list_url: Optional[str] = None
    udp: bool = False
    storage_size: str = "50Gi"
    resources: Resources = Resources("2", "8Gi", "4", "16Gi")
    worker_resources: Resources = Resources("2", "4Gi", "4", "8Gi")
    registry: Optional[Registry] = None
    monitoring: bool = True
    # Install kube-prometheus-stack (the shared Monitoring component) before the PodMonitor and
    # rules: None decides per region, yes where this stack builds the cluster (eks, gke).
    monitoring_stack: Optional[bool] = None
    # The installed stack's settings: the validator's defaults (pegasus:monitoring and
    # pegasus:alerting are not testnet sections yet), so no receiver unless one is added there.
    monitoring_settings: Optional[MonitoringSettings] = None
    alerting: Optional[AlertingSettings] = None
    karpenter: Optional[KarpenterSettings] = None  # for the eks regions; None without one
    logging: bool = False
    log_retention_days: int = 30
    genesis: Optional[Genesis] = None  # set instead of genesis_file

    @property
    def namespace(self) -> str:
        return f"testnet-{self.name}"


def installs_monitoring(testnet: TestnetSettings, region: Region) -> bool:
    """Whether a region gets the Prometheus Operator stack from this stack: its CRDs must exist
    before the PodMonitor and PrometheusRule. A cluster this stack builds has none; an existing or
    shared cluster may already run one (a validator stack's, an operator's), and a second
    release of the stack in sagasrv-metrics would collide with it, so there it is asked for
    (testnet.monitoringStack: true)."""
    if not testnet.monitoring:
        return False
    if testnet.monitoring_stack is not None:
        return testnet.monitoring_stack
    return region.provider in ("eks", "gke")


@dataclass(frozen=True)
class TestnetBlueprint:
    """What `parse` returns for `pegasus:blueprint: testnet`."""

    project: str
    stack: str
    blueprint: str
    testnet: TestnetSettings
    charts_dir: Optional[str] = None
    warnings: tuple[str, ...] = ()


def daemon_names(region: Region) -> list[str]:
    """Every daemon of a region in slot order: seeds, then producers, then SNARK coordinators."""
    return ([f"seed-{s.index}" for s in region.seeds] + [p.name for p in region.block_producers]
            + [p.name for p in region.snark_pools])
