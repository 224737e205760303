"""The validator platform (design document 000): a cluster, ingress with p2p LB shards,
Karpenter, monitoring, optional log shipping, the platform chain node, and one workload per
chainlet read from chain state on every run.

Order matters for safety: the chain is read completely before anything is declared, and
the ChainState guard is registered before every resource derived from the read, which all
depend on it. A bad read raises before the first resource; a suspicious one fails the
guard's check, so nothing downstream is touched.
"""

from __future__ import annotations

import os

import pulumi

from components.chain import chain_node_builder, chain_state, chainlet_builder
from components.cluster import cluster_builder
from components.p2p import gateway_builder, ingress_builder
from components.cluster import karpenter_builder
from components.monitoring import logging_builder, monitoring_builder
from components.chain import workload_builder as wb
from components.kube.chart import Chart, check_mirror
from components.chain.chain_node import ChainNode
from components.chain.chain_state import ChainState
from components.chain.chainlet import Chainlet
from components.cluster.cluster import Cluster
from components.cluster.cluster_builder import common_tags
from components.p2p.gateway import EnvoyGatewayIngress
from components.p2p.ingress import Ingress
from components.monitoring.monitoring import Monitoring, ProbeGroup
from components.monitoring.monitoring_builder import ProbeTarget
from pegasus import chainstate, ledger, names, sharding
from pegasus.chain import reader
from pegasus.chain.model import ChainView
from pegasus.config import Settings
from pegasus.config.fields import is_kubeconfig_content
from pegasus.errors import ConfigError


def charts(settings: Settings) -> list[Chart]:
    """Every chart this stack installs, so a local mirror is checked before anything is declared."""
    data_plane = gateway_builder.CHART if settings.ingress.provider == "envoy-gateway" else ingress_builder.CHART
    out = [data_plane, monitoring_builder.KPS_CHART, monitoring_builder.BLACKBOX_CHART]
    if settings.cluster.provider == "eks":
        out.append(cluster_builder.LBC_CHART)
        if settings.karpenter.enabled:
            out += [karpenter_builder.CRD_CHART, karpenter_builder.CHART]
    if settings.logging.enabled:
        out.append(logging_builder.CHART)
    return out


def check_chart_mirror(settings: Settings, base_dir: str) -> None:
    check_mirror(charts(settings), settings.charts_dir, base_dir)


def read_chain(settings: Settings) -> ChainView:
    c = settings.chain
    return reader.read(
        c.source,
        endpoint=c.endpoint,
        api_prefix=c.api_prefix,
        page_limit=c.page_limit,
        timeout_seconds=c.timeout_seconds,
        retries=c.retries,
        snapshot=c.snapshot,
        base_dir=os.getcwd(),  # Pulumi runs the program from the project directory
        height=c.height,
        progress=pulumi.log.info,
    )


def check_data_plane_switch(settings: Settings, before: str | None) -> None:
    """A switch of ingress.provider replaces every shard load balancer: refuse it unless asked."""
    now = settings.ingress.provider
    if before is None or before == now or settings.ingress.allow_provider_switch:
        return
    raise ConfigError(
        "ingress.provider",
        f"this stack runs the {before} data plane; switching to {now} replaces every shard load balancer, and an "
        "address that is not pinned (gke reserved IP, eks EIPs, a MetalLB IP in ingress.shardAnnotations) or "
        "published as ingress.p2pDomain changes for every chainlet. Follow docs/operations.md (\"Migrating a running stack\"), then "
        "set ingress.allowProviderSwitch=true for that one `up`",
    )


def deploy(settings: Settings) -> None:
    if settings.shard is not None:
        from stacks.validator_shard import deploy_shard

        return deploy_shard(settings)
    check_chart_mirror(settings, os.getcwd())
    for warning in settings.warnings:
        pulumi.log.warn(warning)
    last = chain_state.last_state()
    check_data_plane_switch(settings, chain_state.data_plane(last))
    view = read_chain(settings)
    for warning in view.warnings:
        pulumi.log.warn(warning)
    ingress_settings = settings.ingress
    # The ledger keeps every chainlet at its slot (pegasus/ledger.py); only an explicit
    # re-addressing (allowSlotChanges) rebuilds it from the chain's order.
    previous = None if settings.chainlets.allow_slot_changes else chain_state.applied_slots(last)
    slots = ledger.assign(previous, [c.chain_id for c in view.chainlets])
    plans = chainlet_builder.plan_chainlets(view, slots, ingress_settings.shard_size, ingress_settings.base_port)
    # Sharded mode (pegasus/sharding.py): this is the platform stack; the chainlets, their shard
    # load balancers and routing belong to the shard stacks.
    sharded = settings.chainlets.stacks == "sharded"
    shard_count = max((p.address.shard for p in plans), default=-1) + 1

    cluster = Cluster(
        "cluster", settings.cluster, settings.stack,
        karpenter=settings.karpenter.enabled, storage_class_override=settings.storage_class,
        ship_logs=settings.logging.enabled, charts_dir=settings.charts_dir,
    )
    k8s_opts = pulumi.ResourceOptions(providers=[cluster.provider])
    eks = cluster.eks

    # "Workloads may start": with Karpenter the system nodes take only critical add-ons, so
    # every release and chain daemon below waits for the NodePools, which come right after
    # the cluster. Without Karpenter the cluster's own nodes (or GKE's) are there already.
    workloads_may_start: list[pulumi.Resource] = []
    placement = wb.Placement()
    if settings.karpenter.enabled and eks is not None:
        from components.cluster.karpenter import Karpenter

        karpenter = Karpenter("karpenter", settings.karpenter, eks, cluster.provider,
                              common_tags(settings.cluster, settings.stack), charts_dir=settings.charts_dir, opts=k8s_opts)
        workloads_may_start = list(karpenter.workload_dependencies)
        placement = karpenter_builder.signer_placement()

    guard = ChainState("chain-state", chainstate.guard_config(settings.chain, ingress_settings, settings.chainlets, view, slots))

    namespace_labels: dict[str, str] = {}
    shard_lb_annotations: dict = {}
    spc_lb_annotations: dict = {}
    shard_addresses = None
    ingress_timeout = None
    envoy = ingress_settings.provider == "envoy-gateway"
    if eks is not None:
        from components.cluster.cluster_builder import nlb_controller_health_check_annotations
        from components.p2p.shard_addresses import ShardAddresses, nlb_subnet_annotations

        # The LB controller's webhook gives each controller pod a readiness gate, so a rollout
        # or a consolidation keeps an old pod until its replacement is a healthy target
        # (LBC docs/deploy/pod_readiness_gate.md): never every target draining at once.
        namespace_labels[names.READINESS_GATE_LABEL] = "enabled"
        # With the gates a rolled controller pod is Ready only once the NLBs report it healthy,
        # minutes per pod: more than Helm's default 5 minutes for two of them.
        ingress_timeout = 900
        shard_addresses = ShardAddresses(
            # Every shard up to the highest slot's: the ledger keeps slots where they were.
            "p2p-addresses", range(shard_count), eks, guard)
        health = (gateway_builder.nlb_health_check_annotations() if envoy
                  else nlb_controller_health_check_annotations())
        shard_lb_annotations = {i: {**a, **health} for i, a in shard_addresses.annotations.items()}
        spc_lb_annotations = nlb_subnet_annotations(eks)

    data_plane = EnvoyGatewayIngress if envoy else Ingress
    ingress = data_plane(
        "ingress", ingress_settings, () if sharded else tuple(p.backend() for p in plans),
        cluster_name=settings.cluster.name, guard=guard, lb_dependencies=cluster.lb_dependencies,
        gcp=cluster.gke, workload_dependencies=workloads_may_start, namespace_labels=namespace_labels,
        shard_lb_annotations=shard_lb_annotations, release_timeout=ingress_timeout,
        charts_dir=settings.charts_dir, shard_services=not sharded, address_shards=range(shard_count) if sharded else (),
        adopt_shard_stacks=not sharded, opts=k8s_opts,
    )

    probe_groups = []
    spc_address = None
    if settings.spc.enabled:
        spec = chain_node_builder.spc_spec(settings.spc, settings.cluster.provider, settings.cluster.name,
                                           cluster.storage_class, placement, spc_lb_annotations,
                                           settings.ingress.allocate_node_ports)
        spc = ChainNode("spc", spec, lb_dependencies=cluster.lb_dependencies,
                        workload_dependencies=workloads_may_start, opts=k8s_opts)
        spc_address = spc.p2p_address
        probe_groups.append(ProbeGroup(
            name="pegasus-p2p-spc",
            host=spc.p2p_address.apply(lambda a: a.rsplit(":", 1)[0]),
            targets=(ProbeTarget(settings.spc.chain_id, names.SPC_NAMESPACE, spec.public_ports[0].port),),
            labels=(("node", names.SPC_SERVICE),),
        ))

    routes = gateway_builder.routes(ingress.shards) if envoy else {}
    route_dependencies = getattr(ingress, "route_dependencies", [])
    addresses = {}
    for plan in () if sharded else plans:
        host = ingress.shard_hosts[plan.address.shard]
        external = pulumi.Output.concat(host, ":", str(plan.address.port))
        Chainlet(names.chainlet_resource_name(plan.chain_id), plan, settings.chainlets, cluster.storage_class,
                 external, guard, placement=placement, workload_dependencies=workloads_may_start,
                 route=routes.get(plan.chain_id), route_dependencies=route_dependencies, opts=k8s_opts)
        addresses[plan.chain_id] = {
            "address": external,
            "slot": plan.address.slot,
            "shard": plan.address.shard,
            "port": plan.address.port,
            "status": "online" if plan.chainlet.online else "offline",
            "namespace": plan.namespace,
        }

    for shard in ingress.shards:
        targets = tuple(
            ProbeTarget(sp.backend.name, sp.backend.namespace, sp.public_port)
            for sp in sorted(shard.ports + shard.reserved, key=lambda sp: sp.public_port)
        )
        probe_groups.append(ProbeGroup(
            name=f"pegasus-p2p-{shard.index}", host=ingress.shard_hosts[shard.index], targets=targets,
            labels=(("shard", str(shard.index)),), shard=shard.index,
        ))

    # Prometheus and Grafana volumes are not chain data: the general class, deleted with its claim.
    monitoring = Monitoring("monitoring", settings.monitoring, settings.alerting, cluster.general_storage_class,
                            tuple(probe_groups), workload_dependencies=workloads_may_start,
                            charts_dir=settings.charts_dir, data_plane=ingress_settings.provider, opts=k8s_opts)

    if settings.logging.enabled:
        from components.monitoring.logging import Logging

        Logging("logging", settings.logging, settings.cluster.name, cluster.provider,
                eks=cluster.eks, gke=cluster.gke, tags=common_tags(settings.cluster, settings.stack),
                charts_dir=settings.charts_dir, opts=k8s_opts)

    c = settings.cluster
    # A real kubeconfig or none: on an existing cluster given by path or by the default
    # kubeconfig, the credentials stay where they are rather than in the stack's state.
    if c.provider != "existing" or (c.kubeconfig is not None and is_kubeconfig_content(c.kubeconfig.value)):
        pulumi.export("kubeconfig", pulumi.Output.secret(cluster.kubeconfig))
    if c.provider != "existing":
        # What `aws eks update-kubeconfig` and `gcloud container clusters get-credentials` need.
        pulumi.export("clusterName", c.name)
        pulumi.export("clusterRegion", c.region)
    if c.provider == "gke":
        pulumi.export("clusterProject", c.project)
    pulumi.export("lbShards", {f"{names.shard_service_name(i)}": h for i, h in ingress.shard_hosts.items()})
    pulumi.export("grafanaUrl", monitoring.grafana_url)
    pulumi.export("platformChainP2pAddress", spc_address)
    if shard_addresses is not None:
        pulumi.export("lbShardAddresses", {names.shard_service_name(i): ips for i, ips in shard_addresses.public_ips.items()})
    pulumi.export("chainHeight", view.height)
    if sharded and settings.operator is not None and settings.operator.enabled:
        from components.operator.config import watcher_chain
        from components.operator.operator import ShardOperator

        # Past one machine: PKO runs the stacks, a watcher asks it to (docs/operator.md).
        ShardOperator("operator", settings.operator, settings.stack,
                      [sharding.shard_stack_name(settings.stack, i) for i in range(shard_count)],
                      watcher_chain(settings.chain), depends_on=[guard], opts=k8s_opts)
    if sharded:
        entries = chainstate.chainlet_entries(view, slots, ingress_settings.shard_size, ingress_settings.base_port)
        pulumi.export(sharding.LEDGER_OUTPUT, dict(sorted(slots.items(), key=lambda kv: kv[1])))
        pulumi.export(sharding.MEMBERS_OUTPUT, sharding.members_output(entries, shard_count))
        pulumi.export(sharding.STACKS_OUTPUT, [sharding.shard_stack_name(settings.stack, i) for i in range(shard_count)])
        if shard_lb_annotations:
            pulumi.export("shardLbAnnotations", {str(i): a for i, a in shard_lb_annotations.items()})
        if ingress.reserved_addresses:
            pulumi.export("shardReservedAddresses", {str(i): a.address for i, a in ingress.reserved_addresses.items()})
    else:
        pulumi.export("chainlets", addresses)
