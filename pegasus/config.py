"""The one place Pegasus reads config.

`load()` reads the `pegasus` namespace once, `parse()` turns it into frozen settings, and
everything else receives those settings. Components never call `pulumi.Config`.

Most keys are structured (`pulumi config set --path cluster.provider eks` stores the object
`pegasus:cluster`), and Pulumi's project schema cannot type objects, so `Pulumi.yaml`
declares only the scalar keys. `KEYS` below is the reference for all of them: the README's
config table and the Pulumi.yaml declarations are checked against it by the tests.
"""

from __future__ import annotations

import ipaddress
import json
import re
from dataclasses import dataclass, field
from typing import Any, Mapping, Optional

from pegasus.errors import ConfigError

NAMESPACE = "pegasus"


# --------------------------------------------------------------------------------------
# The key reference
# --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Key:
    path: str
    type: str  # string | integer | boolean | array | object
    default: Any
    description: str
    secret: bool = False
    # What the offline plan uses for a `secure:` value it cannot decrypt: shaped like the
    # real thing so validation still runs, and reported as a placeholder.
    placeholder: Optional[str] = None


def _k(path, type_, default, description, secret=False, placeholder=None):
    return Key(path, type_, default, description, secret, placeholder)


# Cloud listener budgets. An AWS NLB has at most 50 listeners ("Listeners per Network Load
# Balancer: 50, adjustable: no") and each p2p backend is counted as two (TCP and UDP), so a
# shard carries at most 25 backends there. GKE forwards a contiguous port range once a
# Service has more than 5 ports, so there is no hard cap there; we keep a shard within 50
# backends so its ports stay one short contiguous range and one LB's blast radius stays small.
SHARD_LIMITS = {"eks": 25, "gke": 50, "existing": 1000}

# Ports the ingress-nginx controller binds itself; a tcp/udp-services key on one of them is
# either refused by the controller or breaks its reload.
INGRESS_RESERVED_PORTS = frozenset({80, 442, 443, 8181, 8443, 10245, 10246, 10247, 10254})

DEFAULT_CHAINLET_RESOURCES = {
    "requests": {"cpu": "500m", "memory": "1Gi"},
    "limits": {"cpu": "2", "memory": "4Gi"},
}
DEFAULT_SPC_RESOURCES = {
    "requests": {"cpu": "1", "memory": "4Gi"},
    "limits": {"cpu": "4", "memory": "16Gi"},
}

KEYS: tuple[Key, ...] = (
    _k("blueprint", "string", "validator", "Which composition in stacks/ to deploy. One of: validator."),
    # cluster
    _k("cluster.provider", "string", "existing", "Where the cluster comes from: existing (a kubeconfig), eks or gke."),
    _k("cluster.name", "string", "pegasus-<stack>", "Cluster name (EKS/GKE) and the prefix of cloud resources. DNS-1123, at most 40 characters."),
    _k("cluster.kubeconfig", "string", None, "existing: path to a kubeconfig file, or its contents (set it with --secret then). Default: $KUBECONFIG or ~/.kube/config.",
       secret=True, placeholder="apiVersion: v1\nkind: Config\n# placeholder for a secret kubeconfig\n"),
    _k("cluster.context", "string", None, "existing: kubeconfig context to use. Default: the current context."),
    _k("cluster.region", "string", None, "eks/gke: the AWS or GCP region. Required there."),
    _k("cluster.project", "string", None, "gke: the GCP project ID. Required there."),
    _k("cluster.kubernetesVersion", "string", "1.35", "Kubernetes minor version of EKS/GKE, and the version manifests are validated against."),
    _k("cluster.publicAccessCidrs", "array", [], "eks: CIDRs allowed to reach the public API endpoint (gke: master authorized networks). Empty: private endpoint only."),
    _k("cluster.adminRoleArns", "array", [], "eks: IAM role ARNs that get cluster-admin through EKS access entries."),
    _k("cluster.vpcCidr", "string", "10.40.0.0/16", "eks/gke: CIDR of the network Pegasus creates (unused when subnets are given)."),
    _k("cluster.vpcId", "string", None, "eks: an existing VPC ID. Set it with privateSubnetIds and publicSubnetIds to skip creating a VPC."),
    _k("cluster.privateSubnetIds", "array", [], "eks: existing private subnet IDs (at least 2 AZs) for nodes."),
    _k("cluster.publicSubnetIds", "array", [], "eks: existing public subnet IDs (at least 2 AZs) for the p2p load balancers."),
    _k("cluster.availabilityZones", "array", [], "eks: AZs for the created VPC (at least 2). Default: the region's first 3 available AZs."),
    _k("cluster.systemNodeType", "string", "m7i.large (eks), e2-standard-4 (gke)", "Instance/machine type of the small system node group."),
    _k("cluster.systemNodeCount", "integer", 2, "Nodes in the system group (eks: desired and minimum; gke: per zone is 1 when this is below 3)."),
    _k("cluster.masterCidr", "string", "172.16.0.32/28", "gke: the /28 for the private control plane."),
    _k("cluster.releaseChannel", "string", "REGULAR", "gke: release channel, RAPID | REGULAR | STABLE."),
    _k("cluster.deletionProtection", "boolean", True, "eks/gke: refuse to delete the cluster itself."),
    _k("cluster.autoprovisioning", "object", {"enabled": True, "cpuLimit": 1000, "memoryLimitGb": 4000}, "gke: node auto-provisioning, the GKE counterpart of Karpenter."),
    # ingress
    _k("ingress.shardSize", "integer", 25, "Chainlets per p2p LoadBalancer shard. At most 25 on eks (2 listeners each, 50 per NLB), 50 on gke."),
    _k("ingress.basePort", "integer", 1025, "First public port of every shard; a shard uses basePort..basePort+shardSize-1."),
    _k("ingress.internalBasePort", "integer", 20000, "First listening port inside the controller pods; slot N listens on internalBasePort+N."),
    _k("ingress.p2pDomain", "string", None, "If set, chainlets advertise p2p-<shard>.<domain> (publish it with external-dns) instead of the LB address."),
    _k("ingress.controllerReplicas", "integer", 2, "ingress-nginx controller replicas."),
    _k("ingress.shardAnnotations", "object", {}, "Extra annotations on every shard Service, e.g. a MetalLB address pool on an existing cluster."),
    # karpenter
    _k("karpenter.enabled", "boolean", True, "eks: install Karpenter. Not available elsewhere (gke uses cluster.autoprovisioning)."),
    _k("karpenter.instanceFamilies", "array", ["m7i", "m6i", "c7i", "c6i", "r7i", "r6i"], "EC2 instance families the default NodePool may launch."),
    _k("karpenter.capacityTypes", "array", ["on-demand"], "on-demand | spot | reserved. Validators should stay on-demand."),
    _k("karpenter.architectures", "array", ["amd64"], "amd64 | arm64."),
    _k("karpenter.cpuLimit", "string", "1000", "NodePool limit on total CPU."),
    _k("karpenter.memoryLimit", "string", "4000Gi", "NodePool limit on total memory."),
    _k("karpenter.consolidationPolicy", "string", "WhenEmptyOrUnderutilized", "WhenEmptyOrUnderutilized | WhenEmpty."),
    _k("karpenter.consolidateAfter", "string", "10m", "How long a node must be consolidatable before Karpenter acts."),
    _k("karpenter.expireAfter", "string", "720h", "Maximum node lifetime, or Never."),
    _k("karpenter.disruptionBudgets", "array", [{"nodes": "10%"}], "NodePool disruption budgets: objects with nodes and optional schedule, duration, reasons."),
    _k("karpenter.amiAlias", "string", "al2023@latest", "EC2NodeClass AMI alias. Pin it (al2023@vYYYYMMDD) in production."),
    _k("karpenter.nodeVolumeSize", "string", "100Gi", "Root volume of Karpenter nodes (gp3, encrypted)."),
    # monitoring and alerting
    _k("monitoring.retention", "string", "15d", "Prometheus retention."),
    _k("monitoring.storageSize", "string", "50Gi", "Prometheus volume size."),
    _k("monitoring.scrapeInterval", "string", "30s", "Scrape interval of the chain PodMonitors."),
    _k("monitoring.probeInterval", "string", "60s", "Interval of the blackbox probes of public p2p endpoints."),
    _k("monitoring.grafanaAdminPassword", "string", None, "Grafana admin password (secret). Default: the chart generates one and keeps it.", secret=True,
       placeholder="placeholder-grafana-password"),
    _k("alerting.slackWebhookUrl", "string", None, "Slack incoming webhook for all alerts (secret).", secret=True,
       placeholder="https://hooks.slack.com/services/PLACEHOLDER/PLACEHOLDER/PLACEHOLDER"),
    _k("alerting.slackChannel", "string", "#pegasus-alerts", "Slack channel for alerts."),
    _k("alerting.pagerdutyRoutingKey", "string", None, "PagerDuty Events v2 routing key for critical alerts (secret).", secret=True,
       placeholder="placeholder-pagerduty-routing-key"),
    _k("alerting.runbookBaseUrl", "string", "docs/runbooks.md", "Base of the runbook_url annotation; point it at your copy of docs/runbooks.md."),
    # logging
    _k("logging.enabled", "boolean", False, "Ship container logs with fluent-bit: CloudWatch on eks, Cloud Logging on gke."),
    _k("logging.retentionDays", "integer", 30, "eks: CloudWatch log group retention."),
    # storage
    _k("storage.className", "string", None, "StorageClass for chain data. Default: pegasus-chain-data on eks/gke (created, Retain), the cluster default on existing."),
    # platform chain node
    _k("spc.enabled", "boolean", True, "Run the platform chain node in sagasrv-spc."),
    _k("spc.image", "string", "sagaxyz/ssc:4.0.0", "Platform chain image (tag or digest)."),
    _k("spc.chainId", "string", "ssc-1", "Platform chain ID, passed as CHAIN_ID."),
    _k("spc.moniker", "string", "pegasus-<stack>", "Node moniker, passed as MONIKER."),
    _k("spc.dataPath", "string", "/root/.ssc", "Where the image keeps its chain data; the PVC is mounted here."),
    _k("spc.env", "object", {}, "Extra plain environment variables (no keys or mnemonics: use keySecret)."),
    _k("spc.keySecret", "string", None, "Name of an existing Secret in sagasrv-spc whose keys become env vars (node and validator keys)."),
    _k("spc.storageSize", "string", "500Gi", "Platform chain volume size."),
    _k("spc.resources", "object", DEFAULT_SPC_RESOURCES, "Requests and limits of the platform chain node."),
    # chain state
    _k("chain.source", "string", "rest", "Where chainlets are read from: rest (the chain's REST API) or snapshot (a JSON file)."),
    _k("chain.endpoint", "string", None, "rest: base URL of the chain's REST (grpc-gateway) API. Required for rest."),
    _k("chain.apiPrefix", "string", "/ssc/chainlet", "rest: path prefix of the chainlet module (older SPC nodes serve it elsewhere)."),
    _k("chain.pageLimit", "integer", 100, "rest: pagination.limit per request (1-1000)."),
    _k("chain.timeoutSeconds", "integer", 10, "rest: timeout of one request."),
    _k("chain.retries", "integer", 3, "rest: retries of a failed request (with exponential backoff)."),
    _k("chain.snapshot", "string", None, "snapshot: path of the JSON file, relative to the project. Required for snapshot."),
    _k("chain.height", "integer", None, "Read the chain at this height instead of the latest (the drift check pins it to the last applied height)."),
    # chainlets
    _k("chainlets.maxRemovals", "integer", 0, "How many chainlets may vanish from the chain in one run before the ChainState guard refuses."),
    _k("chainlets.allowSlotChanges", "boolean", False, "Override: let existing chainlets move slots (changes their public address)."),
    _k("chainlets.allowHeightRegression", "boolean", False, "Override: accept a chain read at a lower height than the last one applied."),
    _k("chainlets.resources", "object", DEFAULT_CHAINLET_RESOURCES, "Requests and limits of every chainlet."),
    _k("chainlets.storageSize", "string", "50Gi", "Volume size of every chainlet."),
    _k("chainlets.dataPath", "string", "/root/.sagaosd", "Where the chainlet image keeps its data; the PVC is mounted here."),
)

KEYS_BY_PATH = {k.path: k for k in KEYS}
SECTIONS = ("cluster", "ingress", "karpenter", "monitoring", "alerting", "logging", "storage", "spc", "chain", "chainlets")
TOP_LEVEL_SCALARS = tuple(k.path for k in KEYS if "." not in k.path)
BLUEPRINTS = ("validator",)


# --------------------------------------------------------------------------------------
# Settings
# --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Secret:
    """A config value that must stay secret. Its repr never shows the value."""

    value: str

    def __repr__(self) -> str:
        return "Secret(***)"


@dataclass(frozen=True)
class Resources:
    cpu_request: str
    memory_request: str
    cpu_limit: str
    memory_limit: str

    def as_k8s(self) -> dict:
        return {
            "requests": {"cpu": self.cpu_request, "memory": self.memory_request},
            "limits": {"cpu": self.cpu_limit, "memory": self.memory_limit},
        }


@dataclass(frozen=True)
class Autoprovisioning:
    enabled: bool
    cpu_limit: int
    memory_limit_gb: int


@dataclass(frozen=True)
class ClusterSettings:
    provider: str
    name: str
    kubeconfig: Optional[Secret]
    context: Optional[str]
    region: Optional[str]
    project: Optional[str]
    kubernetes_version: str
    public_access_cidrs: tuple[str, ...]
    admin_role_arns: tuple[str, ...]
    vpc_cidr: str
    vpc_id: Optional[str]
    private_subnet_ids: tuple[str, ...]
    public_subnet_ids: tuple[str, ...]
    availability_zones: tuple[str, ...]
    system_node_type: str
    system_node_count: int
    master_cidr: str
    release_channel: str
    deletion_protection: bool
    autoprovisioning: Autoprovisioning


@dataclass(frozen=True)
class IngressSettings:
    shard_size: int
    base_port: int
    internal_base_port: int
    p2p_domain: Optional[str]
    controller_replicas: int
    cloud: str  # the cluster provider, which decides LB annotations and limits
    shard_annotations: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class KarpenterSettings:
    enabled: bool
    instance_families: tuple[str, ...]
    capacity_types: tuple[str, ...]
    architectures: tuple[str, ...]
    cpu_limit: str
    memory_limit: str
    consolidation_policy: str
    consolidate_after: str
    expire_after: str
    disruption_budgets: tuple[Mapping[str, str], ...]
    ami_alias: str
    node_volume_size: str


@dataclass(frozen=True)
class MonitoringSettings:
    retention: str
    storage_size: str
    scrape_interval: str
    probe_interval: str
    grafana_admin_password: Optional[Secret]


@dataclass(frozen=True)
class AlertingSettings:
    slack_webhook_url: Optional[Secret]
    slack_channel: str
    pagerduty_routing_key: Optional[Secret]
    runbook_base_url: str


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
    warnings: tuple[str, ...] = field(default=())


# --------------------------------------------------------------------------------------
# Parsing
# --------------------------------------------------------------------------------------

_DNS1123 = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
_QUANTITY = re.compile(r"^[0-9]+(\.[0-9]+)?(m|k|Ki|M|Mi|G|Gi|T|Ti|P|Pi|E|Ei)?$")
_DURATION = re.compile(r"^([0-9]+(s|m|h))+$")
_ARN_ROLE = re.compile(r"^arn:aws[a-z-]*:iam::[0-9]{12}:role/.+$")
_ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_TYPE_NAMES = {str: "a string", int: "an integer", bool: "a boolean", list: "a list", dict: "an object"}


class _Section:
    """Reads one structured key (`pegasus:<section>`), remembering which fields were used
    so that a misspelt field is an error rather than silently ignored."""

    def __init__(self, name: str, value: Any):
        if value is None:
            value = {}
        if not isinstance(value, dict):
            raise ConfigError(name, f"must be an object with fields {self._known(name)}, got {_describe(value)}")
        self.name = name
        self.value = value
        self.used: set[str] = set()

    @staticmethod
    def _known(name: str) -> str:
        return ", ".join(k.path.split(".", 1)[1] for k in KEYS if k.path.startswith(name + "."))

    def key(self, field_: str) -> str:
        return f"{self.name}.{field_}"

    def raw(self, field_: str) -> Any:
        self.used.add(field_)
        return self.value.get(field_)

    def get(self, field_: str, typ: type, default: Any = None) -> Any:
        v = self.raw(field_)
        if v is None:
            return default
        # Values set with `pulumi config set --path` without --type arrive as strings.
        if typ is int and isinstance(v, str) and re.fullmatch(r"-?[0-9]+", v.strip()):
            v = int(v)
        if typ is bool and isinstance(v, str) and v.lower() in ("true", "false"):
            v = v.lower() == "true"
        if typ is int and isinstance(v, float) and v.is_integer():
            v = int(v)
        if typ is str and isinstance(v, (int, float)) and not isinstance(v, bool):
            v = str(v)
        if (typ is int and isinstance(v, bool)) or not isinstance(v, typ):
            raise ConfigError(self.key(field_), f"must be {_TYPE_NAMES[typ]}, got {_describe(v)}")
        return v

    def secret(self, field_: str, secret_keys: set[str]) -> Optional[Secret]:
        v = self.get(field_, str)
        if v is None or v == "":
            return None
        if self.name not in secret_keys:
            # A plaintext value would sit unencrypted in the stack file and in the state.
            raise ConfigError(
                self.key(field_),
                f"holds a secret but was stored in plain text; set it with "
                f"`pulumi config set --secret --path {self.key(field_)} <value>`",
            )
        return Secret(v)

    def choice(self, field_: str, allowed: tuple[str, ...], default: str) -> str:
        v = self.get(field_, str, default)
        if v not in allowed:
            raise ConfigError(self.key(field_), f"must be one of {', '.join(allowed)}; got {v!r}")
        return v

    def int_range(self, field_: str, default: int, lo: int, hi: int, why: str = "") -> int:
        v = self.get(field_, int, default)
        if not lo <= v <= hi:
            raise ConfigError(self.key(field_), f"must be between {lo} and {hi}{why}; got {v}")
        return v

    def str_list(self, field_: str, default: list) -> tuple[str, ...]:
        v = self.get(field_, list, default)
        for i, item in enumerate(v):
            if not isinstance(item, str) or not item:
                raise ConfigError(self.key(field_), f"item {i} must be a non-empty string, got {_describe(item)}")
        return tuple(v)

    def check_unknown(self) -> None:
        unknown = sorted(set(self.value) - self.used)
        if unknown:
            raise ConfigError(
                self.key(unknown[0]),
                f"unknown key; the known keys of pegasus:{self.name} are {self._known(self.name)}",
            )


def _describe(v: Any) -> str:
    if isinstance(v, bool):
        return f"the boolean {str(v).lower()}"
    if isinstance(v, str):
        return f"the string {v!r}"
    if isinstance(v, (int, float)):
        return f"the number {v}"
    if isinstance(v, list):
        return "a list"
    if isinstance(v, dict):
        return "an object"
    return repr(v)


def _cidr(key: str, value: str) -> str:
    try:
        return str(ipaddress.ip_network(value, strict=True))
    except ValueError:
        pass
    try:
        network = ipaddress.ip_network(value, strict=False)
    except ValueError:
        raise ConfigError(key, f"{value!r} is not a valid CIDR block; write it like 203.0.113.0/24") from None
    raise ConfigError(key, f"{value!r} has host bits set; write the network address, {network}") from None


def _quantity(key: str, value: Any) -> str:
    value = str(value)
    if not _QUANTITY.match(value):
        raise ConfigError(key, f"{value!r} is not a Kubernetes quantity; write it like 500m, 2, 1Gi or 100Gi")
    return value


def _duration(key: str, value: str, *, allow_never: bool = False) -> str:
    if allow_never and value == "Never":
        return value
    if not _DURATION.match(value):
        extra = " or Never" if allow_never else ""
        raise ConfigError(key, f"{value!r} is not a duration; write it like 30s, 10m or 720h{extra}")
    return value


def _resources(section: _Section, field_: str, default: dict) -> Resources:
    key = section.key(field_)
    raw = section.get(field_, dict, default)
    unknown = set(raw) - {"requests", "limits"}
    if unknown:
        raise ConfigError(f"{key}.{sorted(unknown)[0]}", "unknown key; use requests and limits")
    out = {}
    for kind in ("requests", "limits"):
        part = raw.get(kind, default[kind])
        if not isinstance(part, dict):
            raise ConfigError(f"{key}.{kind}", f"must be an object with cpu and memory, got {_describe(part)}")
        bad = set(part) - {"cpu", "memory"}
        if bad:
            raise ConfigError(f"{key}.{kind}.{sorted(bad)[0]}", "unknown key; use cpu and memory")
        for res in ("cpu", "memory"):
            out[(kind, res)] = _quantity(f"{key}.{kind}.{res}", part.get(res, default[kind][res]))
    return Resources(
        cpu_request=out[("requests", "cpu")],
        memory_request=out[("requests", "memory")],
        cpu_limit=out[("limits", "cpu")],
        memory_limit=out[("limits", "memory")],
    )


def _is_kubeconfig_content(value: str) -> bool:
    return "\n" in value or value.lstrip().startswith(("apiVersion", "{"))


def _cluster(s: _Section, stack: str, secret_keys: set[str]) -> ClusterSettings:
    provider = s.choice("provider", ("existing", "eks", "gke"), "existing")
    name = s.get("name", str, f"pegasus-{stack}".lower())
    if not _DNS1123.match(name) or len(name) > 40:
        raise ConfigError(s.key("name"), f"{name!r} must be lowercase letters, digits and '-', at most 40 characters (a GKE limit)")
    region = s.get("region", str)
    project = s.get("project", str)
    if provider in ("eks", "gke") and not region:
        raise ConfigError(s.key("region"), f"is required when cluster.provider is {provider}; set it, e.g. pulumi config set --path cluster.region {'us-east-1' if provider == 'eks' else 'us-central1'}")
    if provider == "gke" and not project:
        raise ConfigError(s.key("project"), "is required when cluster.provider is gke; set it to your GCP project ID")
    version = s.get("kubernetesVersion", str, "1.35")
    m = re.fullmatch(r"1\.([0-9]+)", version)
    if not m or not 25 <= int(m.group(1)) <= 37:
        raise ConfigError(s.key("kubernetesVersion"), f"must be a minor version between 1.25 and 1.37, like 1.35; got {version!r}")
    if provider == "gke" and int(m.group(1)) < 34:
        raise ConfigError(s.key("kubernetesVersion"), "must be at least 1.34 on gke: one LoadBalancer carrying TCP and UDP on the same port (mixed protocol) needs GKE 1.34.1-gke.2190000 or later")
    cidrs = tuple(_cidr(f"{s.key('publicAccessCidrs')}[{i}]", c) for i, c in enumerate(s.str_list("publicAccessCidrs", [])))
    admins = s.str_list("adminRoleArns", [])
    for i, arn in enumerate(admins):
        if not _ARN_ROLE.match(arn):
            raise ConfigError(f"{s.key('adminRoleArns')}[{i}]", f"{arn!r} is not an IAM role ARN (arn:aws:iam::<account>:role/<name>)")
    vpc_cidr = _cidr(s.key("vpcCidr"), s.get("vpcCidr", str, "10.40.0.0/16"))
    vpc_id = s.get("vpcId", str)
    private_subnets = s.str_list("privateSubnetIds", [])
    public_subnets = s.str_list("publicSubnetIds", [])
    if provider == "eks" and (vpc_id or private_subnets or public_subnets):
        if not (vpc_id and len(private_subnets) >= 2 and len(public_subnets) >= 2):
            raise ConfigError(s.key("vpcId"), "to use an existing network set vpcId, and at least 2 privateSubnetIds and 2 publicSubnetIds (in different AZs); or set none of them to let Pegasus create a VPC")
    azs = s.str_list("availabilityZones", [])
    if azs and len(azs) < 2:
        raise ConfigError(s.key("availabilityZones"), "needs at least 2 availability zones, or leave it empty to use the region's first 3")
    default_type = {"eks": "m7i.large", "gke": "e2-standard-4"}.get(provider, "")
    node_type = s.get("systemNodeType", str, default_type)
    node_count = s.int_range("systemNodeCount", 2, 1, 20)
    master_cidr = _cidr(s.key("masterCidr"), s.get("masterCidr", str, "172.16.0.32/28"))
    if ipaddress.ip_network(master_cidr).prefixlen != 28:
        raise ConfigError(s.key("masterCidr"), f"must be a /28 (a GKE requirement); got {master_cidr}")
    channel = s.choice("releaseChannel", ("RAPID", "REGULAR", "STABLE"), "REGULAR")
    deletion = s.get("deletionProtection", bool, True)
    ap_raw = s.get("autoprovisioning", dict, {})
    bad = set(ap_raw) - {"enabled", "cpuLimit", "memoryLimitGb"}
    if bad:
        raise ConfigError(f"{s.key('autoprovisioning')}.{sorted(bad)[0]}", "unknown key; use enabled, cpuLimit and memoryLimitGb")
    ap_section = _Section(s.key("autoprovisioning"), ap_raw)
    autoprov = Autoprovisioning(
        enabled=ap_section.get("enabled", bool, True),
        cpu_limit=ap_section.int_range("cpuLimit", 1000, 1, 100000),
        memory_limit_gb=ap_section.int_range("memoryLimitGb", 4000, 1, 1000000),
    )
    kubeconfig = s.get("kubeconfig", str)
    context = s.get("context", str)
    if kubeconfig and _is_kubeconfig_content(kubeconfig) and "cluster" not in secret_keys:
        raise ConfigError(s.key("kubeconfig"), "holds kubeconfig contents (credentials) in plain text; set it with `pulumi config set --secret --path cluster.kubeconfig \"$(cat kubeconfig)\"`, or give a file path instead")
    if provider != "existing" and (kubeconfig or context):
        raise ConfigError(s.key("kubeconfig" if kubeconfig else "context"), f"only applies to cluster.provider existing; {provider} builds its own kubeconfig")
    return ClusterSettings(
        provider=provider,
        name=name,
        kubeconfig=Secret(kubeconfig) if kubeconfig else None,
        context=context,
        region=region,
        project=project,
        kubernetes_version=version,
        public_access_cidrs=cidrs,
        admin_role_arns=admins,
        vpc_cidr=vpc_cidr,
        vpc_id=vpc_id,
        private_subnet_ids=private_subnets,
        public_subnet_ids=public_subnets,
        availability_zones=azs,
        system_node_type=node_type,
        system_node_count=node_count,
        master_cidr=master_cidr,
        release_channel=channel,
        deletion_protection=deletion,
        autoprovisioning=autoprov,
    )


def _ingress(s: _Section, cloud: str) -> IngressSettings:
    limit = SHARD_LIMITS[cloud]
    why = {
        "eks": " on eks: an AWS NLB has at most 50 listeners and each chainlet takes 2 (TCP and UDP)",
        "gke": " on gke",
        "existing": "",
    }[cloud]
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
    return IngressSettings(shard_size, base_port, internal, domain, replicas, cloud, dict(sorted(extra.items())))


_INSTANCE_FAMILY = re.compile(r"^[a-z][a-z0-9-]*[0-9][a-z0-9-]*$")


def _karpenter(s: _Section, provider: str) -> KarpenterSettings:
    explicit = s.raw("enabled")
    enabled = s.get("enabled", bool, True)
    if provider != "eks":
        if explicit is not None and enabled:
            raise ConfigError(s.key("enabled"), f"Karpenter runs only on eks; on {provider} leave it unset" + (" and use cluster.autoprovisioning" if provider == "gke" else ""))
        enabled = False
    families = s.str_list("instanceFamilies", ["m7i", "m6i", "c7i", "c6i", "r7i", "r6i"])
    for i, fam in enumerate(families):
        if not _INSTANCE_FAMILY.match(fam):
            raise ConfigError(f"{s.key('instanceFamilies')}[{i}]", f"{fam!r} is not an EC2 instance family like m7i")
    capacity = s.str_list("capacityTypes", ["on-demand"])
    for i, c in enumerate(capacity):
        if c not in ("on-demand", "spot", "reserved"):
            raise ConfigError(f"{s.key('capacityTypes')}[{i}]", f"must be one of on-demand, spot, reserved; got {c!r}")
    archs = s.str_list("architectures", ["amd64"])
    for i, a in enumerate(archs):
        if a not in ("amd64", "arm64"):
            raise ConfigError(f"{s.key('architectures')}[{i}]", f"must be amd64 or arm64; got {a!r}")
    if not families or not capacity or not archs:
        empty = "instanceFamilies" if not families else "capacityTypes" if not capacity else "architectures"
        raise ConfigError(s.key(empty), "must not be empty")
    cpu = _quantity(s.key("cpuLimit"), s.get("cpuLimit", str, "1000"))
    mem = _quantity(s.key("memoryLimit"), s.get("memoryLimit", str, "4000Gi"))
    policy = s.choice("consolidationPolicy", ("WhenEmptyOrUnderutilized", "WhenEmpty"), "WhenEmptyOrUnderutilized")
    after = _duration(s.key("consolidateAfter"), s.get("consolidateAfter", str, "10m"), allow_never=True)
    expire = _duration(s.key("expireAfter"), s.get("expireAfter", str, "720h"), allow_never=True)
    budgets_raw = s.get("disruptionBudgets", list, [{"nodes": "10%"}])
    budgets = []
    for i, b in enumerate(budgets_raw):
        key = f"{s.key('disruptionBudgets')}[{i}]"
        if not isinstance(b, dict):
            raise ConfigError(key, f"must be an object like {{\"nodes\": \"10%\"}}, got {_describe(b)}")
        bad = set(b) - {"nodes", "schedule", "duration", "reasons"}
        if bad:
            raise ConfigError(f"{key}.{sorted(bad)[0]}", "unknown key; use nodes, schedule, duration and reasons")
        nodes = str(b.get("nodes", ""))
        if not re.fullmatch(r"(100|[1-9]?[0-9])%|[0-9]+", nodes):
            raise ConfigError(f"{key}.nodes", f"must be a node count like 1 or a percentage like 10%; got {nodes!r}")
        if ("schedule" in b) != ("duration" in b):
            raise ConfigError(f"{key}.schedule", "schedule and duration must be set together")
        budget: dict = {"nodes": nodes}
        if "schedule" in b:
            budget["schedule"] = str(b["schedule"])
            budget["duration"] = _duration(f"{key}.duration", str(b["duration"]))
        if "reasons" in b:
            reasons = b["reasons"]
            allowed = ("Underutilized", "Empty", "Drifted")
            if not isinstance(reasons, list) or not all(r in allowed for r in reasons):
                raise ConfigError(f"{key}.reasons", f"must be a list of {', '.join(allowed)}")
            budget["reasons"] = list(reasons)
        budgets.append(budget)
    alias = s.get("amiAlias", str, "al2023@latest")
    if not re.fullmatch(r"(al2023|al2|bottlerocket|windows2019|windows2022)@(latest|v[0-9][0-9.]*)", alias):
        raise ConfigError(s.key("amiAlias"), f"{alias!r} is not an AMI alias like al2023@v20251105 or al2023@latest")
    volume = _quantity(s.key("nodeVolumeSize"), s.get("nodeVolumeSize", str, "100Gi"))
    return KarpenterSettings(enabled, families, capacity, archs, cpu, mem, policy, after, expire, tuple(budgets), alias, volume)


def _monitoring(s: _Section, secret_keys: set[str]) -> MonitoringSettings:
    return MonitoringSettings(
        retention=_retention(s.key("retention"), s.get("retention", str, "15d")),
        storage_size=_quantity(s.key("storageSize"), s.get("storageSize", str, "50Gi")),
        scrape_interval=_duration(s.key("scrapeInterval"), s.get("scrapeInterval", str, "30s")),
        probe_interval=_duration(s.key("probeInterval"), s.get("probeInterval", str, "60s")),
        grafana_admin_password=s.secret("grafanaAdminPassword", secret_keys),
    )


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
        runbook_base_url=s.get("runbookBaseUrl", str, "docs/runbooks.md"),
    )


def _logging(s: _Section, provider: str) -> LoggingSettings:
    enabled = s.get("enabled", bool, False)
    if enabled and provider == "existing":
        raise ConfigError(s.key("enabled"), "log shipping targets CloudWatch (eks) or Cloud Logging (gke); on an existing cluster leave it false and use your own agent")
    return LoggingSettings(enabled, s.int_range("retentionDays", 30, 1, 3653))


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
    data_path = s.get("dataPath", str, "/root/.ssc")
    if not data_path.startswith("/"):
        raise ConfigError(s.key("dataPath"), "must be an absolute path")
    return SpcSettings(
        enabled=s.get("enabled", bool, True),
        image=image_reference(s.key("image"), s.get("image", str, "sagaxyz/ssc:4.0.0")),
        chain_id=s.get("chainId", str, "ssc-1"),
        moniker=s.get("moniker", str, f"pegasus-{stack}"),
        data_path=data_path,
        env=dict(sorted(env.items())),
        key_secret=key_secret,
        storage_size=_quantity(s.key("storageSize"), s.get("storageSize", str, "500Gi")),
        resources=_resources(s, "resources", DEFAULT_SPC_RESOURCES),
    )


def _chain(s: _Section) -> ChainSettings:
    source = s.choice("source", ("rest", "snapshot"), "rest")
    endpoint = s.get("endpoint", str)
    snapshot = s.get("snapshot", str)
    if source == "rest":
        if not endpoint:
            raise ConfigError(s.key("endpoint"), "is required when chain.source is rest; set it to the chain's REST API, e.g. https://api.example.org")
        if not re.match(r"^https?://[^/\s]+", endpoint):
            raise ConfigError(s.key("endpoint"), f"{endpoint!r} must be an http:// or https:// URL")
    if source == "snapshot" and not snapshot:
        raise ConfigError(s.key("snapshot"), "is required when chain.source is snapshot; set it to a JSON file such as chain/snapshot.dev.json")
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
    return ChainletSettings(
        max_removals=s.int_range("maxRemovals", 0, 0, 100000),
        allow_slot_changes=s.get("allowSlotChanges", bool, False),
        allow_height_regression=s.get("allowHeightRegression", bool, False),
        resources=_resources(s, "resources", DEFAULT_CHAINLET_RESOURCES),
        storage_size=_quantity(s.key("storageSize"), s.get("storageSize", str, "50Gi")),
        data_path=data_path,
    )


def parse(raw: Mapping[str, Any], *, project: str, stack: str, secret_keys: Optional[set[str]] = None) -> "Settings":
    """Turn the `pegasus` namespace (keys without the `pegasus:` prefix, objects already
    decoded) into Settings, or raise ConfigError naming the first bad key."""
    secret_keys = secret_keys or set()
    known_top = set(SECTIONS) | set(TOP_LEVEL_SCALARS)
    for key in sorted(raw):
        if key not in known_top:
            hint = ""
            if "." in key and key.split(".", 1)[0] in SECTIONS:
                hint = f"; set it as a path with `pulumi config set --path {key} <value>` so it is stored under pegasus:{key.split('.', 1)[0]}"
            raise ConfigError(key, f"unknown key{hint}. Known keys: {', '.join(sorted(known_top))}")
    blueprint = raw.get("blueprint", "validator")
    if blueprint not in BLUEPRINTS:
        raise ConfigError("blueprint", f"must be one of {', '.join(BLUEPRINTS)}; got {blueprint!r}")

    sections = {name: _Section(name, raw.get(name)) for name in SECTIONS}
    cluster = _cluster(sections["cluster"], stack, secret_keys)
    ingress = _ingress(sections["ingress"], cluster.provider)
    karpenter = _karpenter(sections["karpenter"], cluster.provider)
    monitoring = _monitoring(sections["monitoring"], secret_keys)
    alerting = _alerting(sections["alerting"], secret_keys)
    logging_ = _logging(sections["logging"], cluster.provider)
    storage_class = sections["storage"].get("className", str)
    if storage_class is not None and not _DNS1123.match(storage_class):
        raise ConfigError("storage.className", f"{storage_class!r} is not a valid StorageClass name")
    spc = _spc(sections["spc"], stack)
    chain = _chain(sections["chain"])
    chainlets = _chainlets(sections["chainlets"])
    for section in sections.values():
        section.check_unknown()

    warnings = []
    if chain.source == "snapshot" and cluster.provider != "existing":
        warnings.append(
            f"chain.source is snapshot on the {cluster.provider} cluster: chainlets come from {chain.snapshot}, "
            "not from the chain. Switch to chain.source rest before the first real `pulumi up`."
        )
    if karpenter.enabled and karpenter.ami_alias.endswith("@latest"):
        warnings.append(
            "karpenter.amiAlias is @latest: every new AMI release drifts all nodes. Pin it (al2023@vYYYYMMDD) in production."
        )
    return Settings(
        project=project,
        stack=stack,
        blueprint=blueprint,
        cluster=cluster,
        ingress=ingress,
        karpenter=karpenter,
        monitoring=monitoring,
        alerting=alerting,
        logging=logging_,
        storage_class=storage_class,
        spc=spc,
        chain=chain,
        chainlets=chainlets,
        warnings=tuple(warnings),
    )


def decode(key: str, value: Any) -> Any:
    """Config arrives from the engine as strings: JSON text for objects, lists, numbers and
    booleans. Decode a top-level value the way `Config.get_object` would."""
    if not isinstance(value, str):
        return value
    if key in SECTIONS:
        try:
            return json.loads(value)
        except json.JSONDecodeError:
            raise ConfigError(key, "must be an object; set its fields with `pulumi config set --path <key>.<field> <value>`") from None
    return value


def load() -> Settings:
    """Read the `pegasus` namespace from the running Pulumi program and parse it."""
    import pulumi
    from pulumi.runtime import config as runtime_config

    prefix = NAMESPACE + ":"
    keys = set(runtime_config.CONFIG.get()) | set(runtime_config.get_config_env())
    raw = {}
    secret_keys = set()
    for full in sorted(keys):
        if not full.startswith(prefix):
            continue
        key = full[len(prefix):]
        raw[key] = decode(key, runtime_config.get_config(full))
        if runtime_config.is_config_secret(full):
            secret_keys.add(key)
    return parse(raw, project=pulumi.get_project(), stack=pulumi.get_stack(), secret_keys=secret_keys)
