"""Settings of the validator blueprint (design document 000): its sections and their parsers."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Mapping, Optional

from pegasus.errors import ConfigError
from pegasus.config.fields import (
    Resources, Secret, _Section, _describe, _duration, _quantity, _resources, _DNS1123, _ENV_NAME, live_or_snapshot,
    log_retention_days,
)
from pegasus.config.keys import (
    DEFAULT_CHAINLET_RESOURCES, DEFAULT_SPC_RESOURCES, GATEWAY_MAX_LISTENERS, INGRESS_PROVIDERS, INGRESS_RESERVED_PORTS,
    SHARD_LIMITS,
)
from pegasus.sharding import MODES as SHARDING_MODES, parse_shard_stack
from pegasus.config.platform import Autoprovisioning, ClusterSettings, KarpenterSettings  # noqa: F401  (re-exported)


@dataclass(frozen=True)
class IngressSettings:
    shard_size: int
    base_port: int
    internal_base_port: int
    p2p_domain: Optional[str]
    controller_replicas: int
    cloud: str  # the cluster provider, which decides LB annotations and limits
    shard_annotations: Mapping[str, str] = field(default_factory=dict)
    allocate_node_ports: bool = True
    provider: str = "ingress-nginx"  # the data plane: ingress-nginx | envoy-gateway
    allow_provider_switch: bool = False


@dataclass(frozen=True)
class MonitoringSettings:
    retention: str
    storage_size: str
    scrape_interval: str
    probe_interval: str
    grafana_admin_password: Optional[Secret]
    external_prober_url: Optional[str] = None
    external_prober_auth_secret: Optional[str] = None
    admission_webhooks: bool = True


@dataclass(frozen=True)
class AlertingSettings:
    slack_webhook_url: Optional[Secret]
    slack_channel: str
    pagerduty_routing_key: Optional[Secret]
    runbook_base_url: Optional[str]


@dataclass(frozen=True)
class LoggingSettings:
    enabled: bool
    retention_days: int


@dataclass(frozen=True)
class SpcSettings:
    enabled: bool
    image: str
    chain_id: str
    moniker: str
    data_path: str
    env: Mapping[str, str]
    key_secret: Optional[str]
    storage_size: str
    resources: Resources


@dataclass(frozen=True)
class ChainSettings:
    source: str
    endpoint: Optional[str]
    api_prefix: str
    page_limit: int
    timeout_seconds: int
    retries: int
    snapshot: Optional[str]
    height: Optional[int] = None


@dataclass(frozen=True)
class ChainletSettings:
    max_removals: int
    allow_slot_changes: bool
    allow_height_regression: bool
    resources: Resources
    storage_size: str
    data_path: str
    log_level: str = "info"
    key_name: str = "chainlet-operator-key"
    stake_owner_address: Optional[str] = None
    snapshot_interval: int = 1000
    snapshot_keep_recent: int = 2
    key_secret: Optional[str] = None
    env: Mapping[str, str] = field(default_factory=dict)
    chain_env: Mapping[str, Mapping[str, str]] = field(default_factory=dict)
    stacks: str = "single"  # single | sharded (pegasus/sharding.py)


@dataclass(frozen=True)
class ShardRole:
    """This stack is shard `index` of the sharded fleet whose platform stack is `platform`."""

    platform: str
    index: int


# Variables Pegasus sets on every chainlet from chain data and config (components/chain/chainlet_builder.py).
CHAINLET_ENV_RESERVED = frozenset({
    "CHAINID", "EXTERNAL_ADDRESS", "MAINTAINERS", "VALIDATOR_ADDRESSES", "VALIDATOR_ADDRESSES_COSMOS",
    "LOGLEVEL", "KEYNAME", "STAKE_OWNER_ADDRESS", "SNAPSHOT_INTERVAL", "SNAPSHOT_KEEP_RECENT",
})


@dataclass(frozen=True)
class Settings:
    project: str
    stack: str
    blueprint: str
    cluster: ClusterSettings
    ingress: IngressSettings
    karpenter: KarpenterSettings
    monitoring: MonitoringSettings
    alerting: AlertingSettings
    logging: LoggingSettings
    storage_class: Optional[str]
    spc: SpcSettings
    chain: ChainSettings
    chainlets: ChainletSettings
    charts_dir: Optional[str] = None  # charts.localDir
    warnings: tuple[str, ...] = field(default=())
    shard: Optional[ShardRole] = None  # a shard stack of sharded mode; None: a single or platform stack
    operator: Any = None  # components.operator.config.OperatorSettings: sharded mode run by PKO


def _ingress(s: _Section, cloud: str) -> IngressSettings:
    limit = SHARD_LIMITS[cloud]
    why = {
        "eks": " on eks: an AWS NLB has at most 50 listeners and each chainlet takes one",
        "gke": " on gke",
        "existing": "",
    }[cloud]
    provider = s.choice("provider", INGRESS_PROVIDERS, "ingress-nginx")
    if provider == "envoy-gateway":
        limit = min(limit, GATEWAY_MAX_LISTENERS)
        why = why or " with envoy-gateway: a Gateway has at most 64 listeners and each chainlet takes one"
    shard_size = s.int_range("shardSize", 25, 1, limit, why)
    base_port = s.int_range("basePort", 1025, 1, 65535)
    if base_port + shard_size - 1 > 65535:
        raise ConfigError(s.key("basePort"), f"basePort + shardSize - 1 = {base_port + shard_size - 1} exceeds 65535")
    internal = s.int_range("internalBasePort", 20000, 1024, 65000)
    clash = sorted(p for p in INGRESS_RESERVED_PORTS if p >= internal)
    if clash and clash[0] <= 65535:
        raise ConfigError(
            s.key("internalBasePort"),
            f"the range from {internal} would reach port {clash[0]}, which the ingress-nginx controller uses itself; "
            f"pick a start above {max(INGRESS_RESERVED_PORTS)}, such as 20000",
        )
    domain = s.get("p2pDomain", str)
    if domain is not None:
        labels = domain.split(".")
        if len(labels) < 2 or not all(_DNS1123.match(lbl) for lbl in labels):
            raise ConfigError(s.key("p2pDomain"), f"{domain!r} is not a DNS domain like p2p.example.com")
    replicas = s.int_range("controllerReplicas", 2, 1, 20)
    extra = s.get("shardAnnotations", dict, {})
    for k, v in extra.items():
        if not isinstance(v, str):
            raise ConfigError(f"{s.key('shardAnnotations')}.{k}", f"annotation values must be strings, got {_describe(v)}")
    # The AWS Load Balancer Controller registers pod IPs (target type ip) and needs no NodePort
    # (it refuses only instance targets without one). GKE's docs say nothing of
    # allocateLoadBalancerNodePorts for its passthrough NLB, so it keeps the default there.
    allocate = s.get("allocateNodePorts", bool, cloud != "eks")
    if cloud == "gke" and not allocate:
        raise ConfigError(s.key("allocateNodePorts"), "GKE does not document LoadBalancer Services without NodePorts; leave it unset on gke")
    return IngressSettings(shard_size, base_port, internal, domain, replicas, cloud, dict(sorted(extra.items())),
                           allocate_node_ports=allocate, provider=provider,
                           allow_provider_switch=s.get("allowProviderSwitch", bool, False))


def _monitoring(s: _Section, secret_keys: set[str]) -> MonitoringSettings:
    return MonitoringSettings(
        retention=_retention(s.key("retention"), s.get("retention", str, "15d")),
        storage_size=_quantity(s.key("storageSize"), s.get("storageSize", str, "50Gi")),
        scrape_interval=_duration(s.key("scrapeInterval"), s.get("scrapeInterval", str, "30s")),
        probe_interval=_duration(s.key("probeInterval"), s.get("probeInterval", str, "60s")),
        grafana_admin_password=s.secret("grafanaAdminPassword", secret_keys),
        admission_webhooks=s.get("admissionWebhooks", bool, True),
        external_prober_url=_prober_url(s.key("externalProberUrl"), s.get("externalProberUrl", str)),
        external_prober_auth_secret=_secret_name(s, "externalProberAuthSecret"),
    )


def _prober_url(key: str, value: Optional[str]) -> Optional[str]:
    if value is not None and not re.match(r"^https?://[A-Za-z0-9.-]+(:[0-9]{1,5})?(/[^\s]*)?$", value):
        raise ConfigError(key, f"{value!r} must be the http(s) URL of a blackbox exporter, like https://prober.example.org:9115")
    return value


def _secret_name(s: _Section, field_: str) -> Optional[str]:
    value = s.get(field_, str)
    if value is not None and not _DNS1123.match(value):
        raise ConfigError(s.key(field_), f"{value!r} is not a valid Secret name")
    return value


def _retention(key: str, value: str) -> str:
    if not re.fullmatch(r"[0-9]+(ms|s|m|h|d|w|y)", value):
        raise ConfigError(key, f"{value!r} is not a Prometheus duration like 15d or 720h")
    return value


def _alerting(s: _Section, secret_keys: set[str]) -> AlertingSettings:
    slack = s.secret("slackWebhookUrl", secret_keys)
    if slack and not slack.value.startswith("https://"):
        raise ConfigError(s.key("slackWebhookUrl"), "must be an https:// Slack incoming webhook URL")
    return AlertingSettings(
        slack_webhook_url=slack,
        slack_channel=s.get("slackChannel", str, "#pegasus-alerts"),
        pagerduty_routing_key=s.secret("pagerdutyRoutingKey", secret_keys),
        runbook_base_url=_absolute_url(s.key("runbookBaseUrl"), s.get("runbookBaseUrl", str)),
    )


def _absolute_url(key: str, value: Optional[str]) -> Optional[str]:
    # Alertmanager, Slack and PagerDuty show the link as it is: a relative one leads nowhere.
    if value is not None and not re.match(r"^https?://[^/\s]+", value):
        raise ConfigError(key, f"{value!r} must be an absolute http(s) URL, like https://github.com/<org>/<repo>/blob/main/docs/runbooks.md")
    return value.rstrip("#") if value else None


def _logging(s: _Section, provider: str) -> LoggingSettings:
    enabled = s.get("enabled", bool, False)
    if enabled and provider == "existing":
        raise ConfigError(s.key("enabled"), "log shipping targets CloudWatch (eks) or Cloud Logging (gke); on an existing cluster leave it false and use your own agent")
    return LoggingSettings(enabled, log_retention_days(s, "retentionDays", 30))


_IMAGE = re.compile(r"^[a-z0-9][a-z0-9._/-]*(:[A-Za-z0-9_][A-Za-z0-9_.-]{0,127})?(@sha256:[a-f0-9]{64})?$")
_SECRETISH_ENV = re.compile(r"(MNEMONIC|PRIV|PRIVATE|SECRET|PASSWORD|PASSWD|TOKEN|_KEY$|^KEY$)", re.I)


def image_reference(key: str, image: str) -> str:
    """An image must be pinned: a tag other than latest, or a digest."""
    if not _IMAGE.match(image):
        raise ConfigError(key, f"{image!r} is not an image reference like sagaxyz/ssc:4.0.0")
    last = image.rsplit("/", 1)[-1]
    if "@sha256:" not in image and (":" not in last or last.endswith(":latest")):
        raise ConfigError(key, f"{image!r} is not pinned; use an explicit version tag (not latest) or a @sha256 digest")
    return image


def _spc(s: _Section, stack: str) -> SpcSettings:
    env_raw = s.get("env", dict, {})
    env = {}
    for name, value in env_raw.items():
        key = f"{s.key('env')}.{name}"
        if not _ENV_NAME.match(name):
            raise ConfigError(key, "is not a valid environment variable name")
        if _SECRETISH_ENV.search(name):
            raise ConfigError(key, "looks like key material; put it in a Kubernetes Secret and name that Secret in spc.keySecret")
        if isinstance(value, (dict, list)) or value is None:
            raise ConfigError(key, f"must be a string, got {_describe(value)}")
        env[name] = str(value).lower() if isinstance(value, bool) else str(value)
    key_secret = s.get("keySecret", str)
    if key_secret is not None and not _DNS1123.match(key_secret):
        raise ConfigError(s.key("keySecret"), f"{key_secret!r} is not a valid Secret name")
    enabled = s.get("enabled", bool, True)
    data_path = s.get("dataPath", str, "/root/.ssc")
    if not data_path.startswith("/"):
        raise ConfigError(s.key("dataPath"), "must be an absolute path")
    return SpcSettings(
        enabled=enabled,
        image=image_reference(s.key("image"), s.get("image", str, "sagaxyz/ssc:4.0.0")),
        chain_id=s.get("chainId", str, "ssc-1"),
        moniker=s.get("moniker", str, f"pegasus-{stack}"),
        data_path=data_path,
        env=dict(sorted(env.items())),
        key_secret=key_secret,
        storage_size=_quantity(s.key("storageSize"), s.get("storageSize", str, "500Gi")),
        resources=_resources(s, "resources", DEFAULT_SPC_RESOURCES),
    )


def require_spc_env(spc: SpcSettings) -> None:
    """The image's start.sh exits unless DENOM and GENESIS are set (sagaxyz/ssc start.sh,
    check_env_vars CHAIN_ID MONIKER DENOM GENESIS): without them the node crash-loops.
    Checked after every other key, so a plainer mistake is reported first."""
    for var in ("DENOM", "GENESIS"):
        if spc.enabled and var not in spc.env and spc.key_secret is None:
            what = "your network's genesis file: its URL or its base64 contents" if var == "GENESIS" else "the chain's staking denom, like usaga"
            raise ConfigError(
                f"spc.env.{var}",
                f"is required by the platform chain image ({what}); set it with `pulumi config set --path spc.env.{var} <value>`, "
                f"or put a {var} key in the Secret named by spc.keySecret",
            )


def _chain(s: _Section) -> ChainSettings:
    source, endpoint, snapshot = live_or_snapshot(
        s, "rest", "endpoint", "the chain's REST API, e.g. https://api.example.org", "chain/snapshot.dev.json")
    height = s.get("height", int)
    if height is not None and height < 1:
        raise ConfigError(s.key("height"), f"must be a block height of at least 1, or unset for the latest; got {height}")
    prefix = s.get("apiPrefix", str, "/ssc/chainlet")
    if not prefix.startswith("/") or prefix.endswith("/"):
        raise ConfigError(s.key("apiPrefix"), f"must start with '/' and not end with '/', like /ssc/chainlet; got {prefix!r}")
    return ChainSettings(
        source=source,
        endpoint=endpoint.rstrip("/") if endpoint else None,
        api_prefix=prefix,
        page_limit=s.int_range("pageLimit", 100, 1, 1000),
        timeout_seconds=s.int_range("timeoutSeconds", 10, 1, 300),
        retries=s.int_range("retries", 3, 0, 10),
        snapshot=snapshot,
        height=height,
    )


def _chainlets(s: _Section) -> ChainletSettings:
    data_path = s.get("dataPath", str, "/root/.sagaosd")
    if not data_path.startswith("/"):
        raise ConfigError(s.key("dataPath"), "must be an absolute path")
    key_secret = _secret_name(s, "keySecret")
    env = _plain_env(s.key("env"), s.get("env", dict, {}), "chainlets.keySecret")
    chain_env_raw = s.get("chainEnv", dict, {})
    chain_env = {}
    for chain_id, values in sorted(chain_env_raw.items()):
        key = f"{s.key('chainEnv')}.{chain_id}"
        if not isinstance(values, dict):
            raise ConfigError(key, f"must be an object of environment variables, got {_describe(values)}")
        chain_env[chain_id] = _plain_env(key, values, "chainlets.keySecret")
    owner = s.get("stakeOwnerAddress", str)
    if owner is not None and not re.fullmatch(r"[a-z]+1[02-9ac-hj-np-z]{38,58}", owner):
        raise ConfigError(s.key("stakeOwnerAddress"), f"{owner!r} is not a bech32 account address like saga1...")
    return ChainletSettings(
        max_removals=s.int_range("maxRemovals", 0, 0, 100000),
        allow_slot_changes=s.get("allowSlotChanges", bool, False),
        allow_height_regression=s.get("allowHeightRegression", bool, False),
        resources=_resources(s, "resources", DEFAULT_CHAINLET_RESOURCES),
        storage_size=_quantity(s.key("storageSize"), s.get("storageSize", str, "50Gi")),
        data_path=data_path,
        log_level=s.choice("logLevel", ("debug", "info", "warn", "error"), "info"),
        key_name=s.get("keyName", str, "chainlet-operator-key"),
        stake_owner_address=owner,
        snapshot_interval=s.int_range("snapshotInterval", 1000, 0, 10_000_000),
        snapshot_keep_recent=s.int_range("snapshotKeepRecent", 2, 1, 1000),
        key_secret=key_secret,
        env=env,
        chain_env=chain_env,
        stacks=s.choice("stacks", SHARDING_MODES, "single"),
    )


def shard_role(chainlets: ChainletSettings, stack: str) -> Optional[ShardRole]:
    """In sharded mode a stack named <platform>-shard-<N> is shard N (pegasus/sharding.py)."""
    parsed = parse_shard_stack(stack)
    if chainlets.stacks != "sharded" or parsed is None:
        return None
    return ShardRole(*parsed)


def _plain_env(key: str, raw: Mapping[str, Any], secret_key: str) -> dict[str, str]:
    out = {}
    for name, value in raw.items():
        k = f"{key}.{name}"
        if not _ENV_NAME.match(name):
            raise ConfigError(k, "is not a valid environment variable name")
        if name in CHAINLET_ENV_RESERVED:
            raise ConfigError(k, "is set by Pegasus from chain data or its own chainlets.* key; set that instead")
        if _SECRETISH_ENV.search(name):
            raise ConfigError(k, f"looks like key material; put it in a Kubernetes Secret and name that Secret in {secret_key}")
        if isinstance(value, (dict, list)) or value is None:
            raise ConfigError(k, f"must be a string, got {_describe(value)}")
        out[name] = str(value).lower() if isinstance(value, bool) else str(value)
    return dict(sorted(out.items()))


