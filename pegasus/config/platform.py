"""The platform sections of the validator blueprint: the cluster and Karpenter.

Karpenter values are checked against the NodePool CRD of Karpenter 1.14.1
(schemas/crds/karpenter.sh_nodepools.yaml) so that a bad value fails at preview, not when
the API server rejects the NodePool half way through an update.
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass
from typing import Mapping, Optional

from pegasus.config.fields import (
    Secret, _Section, _cidr, _describe, _duration, _quantity, is_kubeconfig_content, _DNS1123, _ARN_ROLE,
    log_retention_days,
)
from pegasus.errors import ConfigError


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
    support_type: str = "STANDARD"
    log_retention_days: int = 90


@dataclass(frozen=True)
class KarpenterSettings:
    enabled: bool
    instance_families: tuple[str, ...]
    capacity_types: tuple[str, ...]
    architectures: tuple[str, ...]
    cpu_limit: str  # the signers NodePool
    memory_limit: str
    consolidation_policy: str  # the general NodePool; signers consolidate only empty nodes
    consolidate_after: str
    expire_after: str  # the general NodePool; signer nodes never expire
    disruption_budgets: tuple[Mapping[str, str], ...]
    ami_alias: str
    node_volume_size: str
    general_cpu_limit: str = "64"
    general_memory_limit: str = "256Gi"


def _cluster(s: _Section, stack: str, secret_keys: set[str], *, default_provider: str = "existing") -> ClusterSettings:
    provider = s.choice("provider", ("existing", "eks", "gke"), default_provider)
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
        raise ConfigError(s.key("kubernetesVersion"), "must be at least 1.34 on gke: the p2p LoadBalancers use spec.loadBalancerClass networking.gke.io/l4-regional-external, which needs GKE 1.33.1-gke.1779000 or later")
    cidrs = tuple(_cidr(f"{s.key('publicAccessCidrs')}[{i}]", c) for i, c in enumerate(s.str_list("publicAccessCidrs", [])))
    admins = s.str_list("adminRoleArns", [])
    for i, arn in enumerate(admins):
        if not _ARN_ROLE.match(arn):
            raise ConfigError(f"{s.key('adminRoleArns')}[{i}]", f"{arn!r} is not an IAM role ARN (arn:aws:iam::<account>:role/<name>)")
    vpc_cidr = _cidr(s.key("vpcCidr"), s.get("vpcCidr", str, "10.40.0.0/16"))
    vpc_id = s.get("vpcId", str)
    # The network Pegasus carves: on eks four quarters for subnets (components/cluster_builder.
    # subnet_plan), on gke a pod range of half the network (gke_ranges).
    smallest = {"eks": 20, "gke": 16}.get(provider)
    if smallest and not vpc_id and ipaddress.ip_network(vpc_cidr).prefixlen > smallest:
        raise ConfigError(s.key("vpcCidr"), f"{vpc_cidr} is too small for the network Pegasus creates on {provider}; "
                                            f"use a /{smallest} or larger, like 10.40.0.0/16")
    private_subnets = s.str_list("privateSubnetIds", [])
    public_subnets = s.str_list("publicSubnetIds", [])
    if provider == "eks" and (vpc_id or private_subnets or public_subnets):
        if not (vpc_id and len(private_subnets) >= 2 and len(public_subnets) >= 2):
            raise ConfigError(s.key("vpcId"), "to use an existing network set vpcId, and at least 2 privateSubnetIds and 2 publicSubnetIds (in different AZs); or set none of them to let Pegasus create a VPC")
    if provider == "eks" and not cidrs and not vpc_id:
        # The runner must reach the API to install the charts. With no public endpoint it must
        # sit inside the VPC, and a VPC created by this very run has no runner inside it yet.
        raise ConfigError(
            s.key("publicAccessCidrs"),
            "is empty, so the EKS API endpoint is private, but cluster.vpcId is unset, so Pegasus creates the VPC in "
            "this run: the runner can never reach that endpoint and `pulumi up` cannot finish. Set "
            "cluster.publicAccessCidrs to the runner's CIDR, or set cluster.vpcId (with privateSubnetIds and "
            "publicSubnetIds) to a network the runner is inside",
        )
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
    if kubeconfig and is_kubeconfig_content(kubeconfig) and "cluster" not in secret_keys:
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
        # pulumi-eks leaves upgradePolicy unset, which EKS treats as EXTENDED: paid extended
        # support once a version leaves standard support.
        support_type=s.choice("supportType", ("STANDARD", "EXTENDED"), "STANDARD"),
        log_retention_days=log_retention_days(s, "logRetentionDays", 90),
    )


_INSTANCE_FAMILY = re.compile(r"^[a-z][a-z0-9-]*[0-9][a-z0-9-]*$")
# The NodePool CRD's own patterns for disruption budgets (karpenter.sh_nodepools.yaml, v1.14.1).
_BUDGET_NODES = re.compile(r"^((100|[0-9]{1,2})%|[0-9]+)$")
_BUDGET_DURATION = re.compile(r"^((([0-9]+(h|m))|([0-9]+h[0-9]+m))(0s)?)$")
_BUDGET_SCHEDULE = re.compile(r"^(@(annually|yearly|monthly|weekly|daily|midnight|hourly))|((.+)\s(.+)\s(.+)\s(.+)\s(.+))$")


def _budgets(s: _Section) -> tuple[dict, ...]:
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
        if not _BUDGET_NODES.match(nodes):
            raise ConfigError(f"{key}.nodes", f"must be a node count like 1 or a percentage like 10%; got {nodes!r}")
        if ("schedule" in b) != ("duration" in b):
            raise ConfigError(f"{key}.schedule", "schedule and duration must be set together")
        budget: dict = {"nodes": nodes}
        if "schedule" in b:
            schedule, duration = str(b["schedule"]), str(b["duration"])
            if not _BUDGET_SCHEDULE.match(schedule):
                raise ConfigError(f"{key}.schedule", f"{schedule!r} is not a cron schedule like \"0 9 * * mon-fri\" or @daily")
            if not _BUDGET_DURATION.match(duration):
                raise ConfigError(f"{key}.duration", f"{duration!r} is not a budget duration: hours and minutes only, like 8h, 30m or 1h30m")
            budget["schedule"], budget["duration"] = schedule, duration
        if "reasons" in b:
            reasons = b["reasons"]
            allowed = ("Underutilized", "Empty", "Drifted")
            if not isinstance(reasons, list) or not all(r in allowed for r in reasons):
                raise ConfigError(f"{key}.reasons", f"must be a list of {', '.join(allowed)}")
            budget["reasons"] = list(reasons)
        budgets.append(budget)
    return tuple(budgets)


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
    general_cpu = _quantity(s.key("generalCpuLimit"), s.get("generalCpuLimit", str, "64"))
    general_mem = _quantity(s.key("generalMemoryLimit"), s.get("generalMemoryLimit", str, "256Gi"))
    policy = s.choice("consolidationPolicy", ("WhenEmptyOrUnderutilized", "Balanced", "WhenEmpty"), "WhenEmptyOrUnderutilized")
    after = _duration(s.key("consolidateAfter"), s.get("consolidateAfter", str, "10m"), allow_never=True)
    expire = _duration(s.key("expireAfter"), s.get("expireAfter", str, "720h"), allow_never=True)
    budgets = _budgets(s)
    alias = s.get("amiAlias", str, "al2023@latest")
    if not re.fullmatch(r"(al2023|al2|bottlerocket|windows2019|windows2022)@(latest|v[0-9][0-9.]*)", alias):
        raise ConfigError(s.key("amiAlias"), f"{alias!r} is not an AMI alias like al2023@v20251105 or al2023@latest")
    volume = _quantity(s.key("nodeVolumeSize"), s.get("nodeVolumeSize", str, "100Gi"))
    return KarpenterSettings(enabled, families, capacity, archs, cpu, mem, policy, after, expire, budgets, alias, volume,
                             general_cpu, general_mem)
