"""The `provider` blueprint's settings (design document 003): `pegasus:provider`, plus the
platform sections it shares with the validator (cluster, monitoring, alerting, charts, storage).

The validator's chain, chainlet, ingress and platform-chain sections mean nothing here, and
setting one is an error rather than silently ignored. Pod manifests are read by
components/provider/manifests.py, the payment chain by components/provider/payments.py.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Mapping, Optional, Union

from pegasus.config.fields import Secret, _Section, _describe, _DNS1123
from pegasus.config.platform import ClusterSettings, _cluster
from pegasus.config.validator import AlertingSettings, MonitoringSettings, _alerting, _monitoring
from pegasus.config import fields
from pegasus.errors import ConfigError

# Sections a provider stack reads. `providerSecrets` is separate from `provider` because a
# secret is stored per top-level key: the whole section is encrypted or none of it.
PROVIDER_SECTIONS = ("cluster", "monitoring", "alerting", "charts", "storage", "provider", "providerSecrets")
VALIDATOR_ONLY_SECTIONS = ("ingress", "karpenter", "logging", "spc", "chain", "chainlets")

_ADDRESS = re.compile(r"^0x[0-9a-fA-F]{40}$")
_PRICE = re.compile(r"^[0-9]+(\.[0-9]+)?$")
# Blocks below the head that a `latest` read is pinned to: a few blocks survive the ordinary
# reorganisations of proof-of-stake chains and their rollups, and a few minutes' delay in taking
# an exhausted pod down costs less than removing a funded one on a block that goes away.
DEFAULT_CONFIRMATIONS = 3
PRICED = ("cpuSecond", "memoryByteSecond", "cpuReservedSecond", "memoryReservedByteSecond")


@dataclass(frozen=True)
class PaymentsSettings:
    source: str  # evm | snapshot
    rpc_url: Optional[Secret]  # often carries an API key: never in state, logs or errors
    chain_id: int
    contract: str
    provider_address: str
    block_tag: Union[str, int]  # "latest" or a block number
    snapshot: Optional[str]
    timeout_seconds: int = 10
    confirmations: int = 0  # blocks below the head a `latest` read is pinned to
    billed: Optional[str] = None  # the settler's record (payments.read_billed), relative to the project


@dataclass(frozen=True)
class SettlementSettings:
    """The in-cluster settler (components/provider/settler.py). Its key and RPC URL are in a
    Secret the operator creates (`key_secret`), never in config or state."""

    enabled: bool = False
    key_secret: str = "provider-settlement"
    interval_seconds: int = 300
    tolerance: int = 0  # wei: smaller withdrawals wait (gas), unless they empty the channel
    transfer_to: Optional[str] = None  # default: the provider address itself


@dataclass(frozen=True)
class TenantNodesSettings:
    """A node pool for tenant pods alone (components/provider/tenant_nodes.py), so that tenants
    neither share nodes with Prometheus, the ingress and the interceptor, nor starve them.
    eks: a managed node group of `count` nodes (no autoscaler runs in a provider stack).
    gke: a node pool GKE's autoscaler sizes between 1 and `count` nodes per zone."""

    enabled: bool = False
    instance_type: str = "m7i.large"
    count: int = 2


@dataclass(frozen=True)
class Pricing:
    """Price per unit in the currency named, as decimal strings (no float rounding)."""

    currency: str
    prices: Mapping[str, str]


@dataclass(frozen=True)
class ProviderSettings:
    manifests: str
    http_host_suffix: str
    payments: PaymentsSettings
    # None: the guard's default, paymentstate.default_max_removals (a tenth of the pods funded
    # last run, at least one); an integer (0 included) overrides it.
    max_removals: Optional[int]
    allow_block_regression: bool
    pricing: Pricing
    interceptor_replicas: int = 3
    keda_webhooks: bool = True
    # Pods whose namespaces enforce the restricted Pod Security level (the rest: baseline). The
    # operator's opt-in per pod: the upstream manifest has no field for it, and restricted
    # refuses to start any image whose user is root.
    restricted_pods: tuple[str, ...] = ()
    tenant_nodes: TenantNodesSettings = field(default_factory=TenantNodesSettings)
    secrets: Mapping[str, Secret] = field(default_factory=dict)  # "<pod>/<volume>" -> contents
    settlement: SettlementSettings = field(default_factory=SettlementSettings)


@dataclass(frozen=True)
class ProviderStackSettings:
    """Everything a provider stack needs; `blueprint` selects stacks/provider.py."""

    project: str
    stack: str
    blueprint: str
    cluster: ClusterSettings
    monitoring: MonitoringSettings
    alerting: AlertingSettings
    storage_class: Optional[str]
    provider: ProviderSettings
    charts_dir: Optional[str] = None
    warnings: tuple[str, ...] = ()


def _address(s: _Section, key: str, value: Optional[str]) -> str:
    if not value:
        raise ConfigError(s.key(key), "is required; set it to a 0x-prefixed 20-byte hex address")
    if not _ADDRESS.match(value):
        raise ConfigError(s.key(key), f"{value!r} is not a 0x-prefixed 20-byte hex address")
    return value.lower()


def _rpc_url(s: _Section, url: Optional[str], secret_keys: set[str]) -> Optional[Secret]:
    """The RPC URL is a secret (providers put API keys in it) and https unless allowInsecure:
    over plain http anyone on the path can answer `available()` and decide which pods run."""
    insecure = s.get("allowInsecure", bool, False)
    if not url:
        return None
    if "provider" not in secret_keys:
        raise ConfigError(s.key("rpcUrl"), "holds a secret (RPC URLs carry API keys) but was stored in plain text; set it with "
                          "`pulumi config set --secret --path provider.payments.rpcUrl <url>`")
    if not url.startswith("https://") and not insecure:
        raise ConfigError(s.key("rpcUrl"), "is not an https:// URL; use https, or set provider.payments.allowInsecure true "
                          "for a node you reach over a trusted network (a local chain)")
    return Secret(url.rstrip("/"))


def _billed(s: _Section) -> Optional[str]:
    path = s.get("billed", str)
    if path is not None and not path.strip():
        raise ConfigError(s.key("billed"), "is empty; set it to the file holding the settler's record, or remove it")
    return path


def _payments(parent: _Section, secret_keys: set[str]) -> PaymentsSettings:
    s = _Section("provider.payments", parent.get("payments", dict, {}))
    source, rpc_url, snapshot = fields.live_or_snapshot(
        s, "evm", "rpcUrl", "the chain's JSON-RPC URL, e.g. https://rpc.example.org", "chain/payments.dev.json")
    rpc_secret = _rpc_url(s, rpc_url if source == "evm" else None, secret_keys)
    chain_id = s.get("chainId", int)
    if chain_id is None:
        raise ConfigError(s.key("chainId"), "is required: the EVM chain ID the payment contract lives on (1 for Ethereum mainnet)")
    if chain_id < 1:
        raise ConfigError(s.key("chainId"), f"must be a chain ID of at least 1; got {chain_id}")
    tag = s.raw("blockTag")
    if tag is None or tag == "latest":
        block_tag: Union[str, int] = "latest"
    elif isinstance(tag, int) and not isinstance(tag, bool) and tag >= 0:
        block_tag = tag
    elif isinstance(tag, str) and tag.isdigit():
        block_tag = int(tag)
    else:
        raise ConfigError(s.key("blockTag"), f"must be latest or a block number; got {_describe(tag)}")
    out = PaymentsSettings(
        source=source,
        rpc_url=rpc_secret,
        chain_id=chain_id,
        contract=_address(s, "contract", s.get("contract", str)),
        provider_address=_address(s, "providerAddress", s.get("providerAddress", str)),
        block_tag=block_tag,
        snapshot=snapshot,
        timeout_seconds=s.int_range("timeoutSeconds", 10, 1, 300),
        confirmations=s.int_range("confirmations", DEFAULT_CONFIRMATIONS, 0, 1000),
        billed=_billed(s),
    )
    s.check_unknown()
    return out


def _pricing(parent: _Section) -> Pricing:
    s = _Section("provider.pricing", parent.get("pricing", dict, {}))
    currency = s.get("currency", str, "wei")
    prices = {}
    for name in PRICED:
        value = s.get(name, str, "0")
        if not _PRICE.match(value):
            raise ConfigError(s.key(name), f"{value!r} must be a non-negative decimal number, like 0.000002")
        prices[name] = value
    s.check_unknown()
    return Pricing(currency, prices)


def _settlement(parent: _Section) -> SettlementSettings:
    s = _Section("provider.settlement", parent.get("settlement", dict, {}))
    key_secret = s.get("keySecret", str, "provider-settlement")
    if not _DNS1123.match(key_secret):
        raise ConfigError(s.key("keySecret"), f"{key_secret!r} is not a Secret name (lowercase letters, digits and '-')")
    tolerance = s.get("tolerance", str, "0")
    if not tolerance.isdigit():
        raise ConfigError(s.key("tolerance"), f"{tolerance!r} must be a whole number of wei, like 1000000000000000")
    transfer_to = s.get("transferTo", str)
    out = SettlementSettings(
        enabled=s.get("enabled", bool, False),
        key_secret=key_secret,
        interval_seconds=s.int_range("intervalSeconds", 300, 60, 86400),
        tolerance=int(tolerance),
        transfer_to=_address(s, "transferTo", transfer_to) if transfer_to else None,
    )
    s.check_unknown()
    return out


def _secrets(raw: Any, secret_keys: set[str]) -> dict[str, Secret]:
    s = _Section("providerSecrets", raw)
    out = {}
    for key in sorted(s.value):
        value = s.get(key, str)
        parts = key.split("/")
        if len(parts) != 2 or not all(_DNS1123.match(p) for p in parts):
            raise ConfigError(s.key(key), "must be named <pod>/<volume>: the manifest's file name without extension and its secret volume")
        if "providerSecrets" not in secret_keys:
            raise ConfigError(
                s.key(key),
                f"holds a secret but was stored in plain text; set it with `pulumi config set --secret --path 'providerSecrets[\"{key}\"]' <value>`",
            )
        out[key] = Secret(value or "")
    return out


TENANT_NODE_TYPES = {"eks": ("m7i.large", re.compile(r"^[a-z][a-z0-9-]*\.[a-z0-9]+$"), "an EC2 instance type like m7i.large"),
                     "gke": ("e2-standard-4", re.compile(r"^[a-z][a-z0-9]*(-[a-z0-9]+)+$"), "a machine type like e2-standard-4")}


def _tenant_nodes(parent: _Section, cloud: str) -> TenantNodesSettings:
    raw = parent.get("tenantNodes", dict, None)
    if cloud not in TENANT_NODE_TYPES:
        if raw is not None:
            raise ConfigError(parent.key("tenantNodes"), f"applies to cluster.provider eks and gke only (this stack's is {cloud}); remove it")
        return TenantNodesSettings(enabled=False)
    default_type, pattern, what = TENANT_NODE_TYPES[cloud]
    s = _Section(parent.key("tenantNodes"), raw or {})
    instance_type = s.get("instanceType", str, default_type)
    if not pattern.match(instance_type):
        raise ConfigError(s.key("instanceType"), f"{instance_type!r} is not {what}")
    out = TenantNodesSettings(enabled=s.get("enabled", bool, True), instance_type=instance_type,
                              count=s.int_range("count", 2, 1, 100))
    s.check_unknown()
    return out


def _restricted_pods(s: _Section) -> tuple[str, ...]:
    names = s.get("restrictedPods", list, [])
    for i, name in enumerate(names):
        if not isinstance(name, str) or not _DNS1123.match(name):
            raise ConfigError(f"{s.key('restrictedPods')}[{i}]", f"{_describe(name)} is not a pod name (a manifest's file name without extension)")
    return tuple(sorted(set(names)))


def _provider(s: _Section, secrets_raw: Any, secret_keys: set[str], cloud: str = "existing") -> ProviderSettings:
    suffix = s.get("httpHostSuffix", str)
    if not suffix:
        raise ConfigError(s.key("httpHostSuffix"), "is required: the DNS suffix pod hosts answer under, like pods.example.org")
    labels = suffix.split(".")
    if len(labels) < 2 or not all(_DNS1123.match(label) for label in labels):
        raise ConfigError(s.key("httpHostSuffix"), f"{suffix!r} is not a DNS domain like pods.example.org")
    manifests = s.get("manifests", str, "pods/")
    if not manifests.strip():
        raise ConfigError(s.key("manifests"), "is empty; set it to the folder of pod manifests, like pods/")
    return ProviderSettings(
        manifests=manifests,
        http_host_suffix=suffix,
        payments=_payments(s, secret_keys),
        max_removals=None if s.raw("maxRemovals") is None else s.int_range("maxRemovals", 0, 0, 100000),
        allow_block_regression=s.get("allowBlockRegression", bool, False),
        pricing=_pricing(s),
        interceptor_replicas=s.int_range("interceptorReplicas", 3, 1, 50),
        keda_webhooks=s.get("kedaWebhooks", bool, True),
        restricted_pods=_restricted_pods(s),
        tenant_nodes=_tenant_nodes(s, cloud),
        secrets=_secrets(secrets_raw, secret_keys),
        settlement=_settlement(s),
    )


def parse_provider(raw: Mapping[str, Any], *, project: str, stack: str, secret_keys: set[str]) -> ProviderStackSettings:
    """The provider blueprint's half of `pegasus.config.parse`: `raw` has passed the top-level
    key check already."""
    for name in VALIDATOR_ONLY_SECTIONS:
        if name in raw:
            raise ConfigError(name, "applies to the validator blueprint only; remove it from this provider stack")
    sections = {name: _Section(name, raw.get(name)) for name in PROVIDER_SECTIONS if name != "providerSecrets"}
    cluster = _cluster(sections["cluster"], stack, secret_keys)
    monitoring = _monitoring(sections["monitoring"], secret_keys)
    alerting = _alerting(sections["alerting"], secret_keys)
    storage_class = fields.storage_class(sections["storage"])
    charts_dir = fields.charts_dir(sections["charts"])
    provider = _provider(sections["provider"], raw.get("providerSecrets"), secret_keys, cluster.provider)
    for section in sections.values():
        section.check_unknown()
    warnings = []
    if provider.payments.source == "snapshot" and cluster.provider != "existing":
        warnings.append(
            f"provider.payments.source is snapshot on the {cluster.provider} cluster: payment channels come from "
            f"{provider.payments.snapshot}, not from the chain. Switch to provider.payments.source evm before the first real `pulumi up`."
        )
    return ProviderStackSettings(
        project=project, stack=stack, blueprint="provider", cluster=cluster, monitoring=monitoring,
        alerting=alerting, storage_class=storage_class, provider=provider, charts_dir=charts_dir,
        warnings=tuple(warnings),
    )
