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

from components import chain_node_builder, chain_state, chainlet_builder
from components.chain_node import ChainNode
from components.chain_state import ChainState
from components.chainlet import Chainlet
from components.cluster import Cluster
from components.cluster_builder import common_tags
from components.ingress import Ingress
from components.monitoring import Monitoring, ProbeGroup
from components.monitoring_builder import ProbeTarget
from pegasus import chainstate, ledger, names
from pegasus.chain import reader
from pegasus.chain.model import ChainView
from pegasus.config import Settings


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
    )


def deploy(settings: Settings) -> None:
    for warning in settings.warnings:
        pulumi.log.warn(warning)
    view = read_chain(settings)
    for warning in view.warnings:
        pulumi.log.warn(warning)
    ingress_settings = settings.ingress
    # The ledger keeps every chainlet at its slot (pegasus/ledger.py); only an explicit
    # re-addressing (allowSlotChanges) rebuilds it from the chain's order.
    previous = None if settings.chainlets.allow_slot_changes else chain_state.last_applied_slots()
    slots = ledger.assign(previous, [c.chain_id for c in view.chainlets])
    plans = chainlet_builder.plan_chainlets(view, slots, ingress_settings.shard_size, ingress_settings.base_port)

    cluster = Cluster(
        "cluster", settings.cluster, settings.stack,
        karpenter=settings.karpenter.enabled, storage_class_override=settings.storage_class,
        ship_logs=settings.logging.enabled,
    )
    k8s_opts = pulumi.ResourceOptions(providers=[cluster.provider])

    guard = ChainState("chain-state", chainstate.guard_config(settings.chain, ingress_settings, settings.chainlets, view, slots))

    ingress = Ingress(
        "ingress", ingress_settings, tuple(p.backend() for p in plans),
        cluster_name=settings.cluster.name, guard=guard, lb_dependencies=cluster.lb_dependencies,
        gcp=cluster.gke, opts=k8s_opts,
    )

    if settings.karpenter.enabled and cluster.eks is not None:
        from components.karpenter import Karpenter

        Karpenter("karpenter", settings.karpenter, cluster.eks, cluster.provider,
                  common_tags(settings.cluster, settings.stack), opts=k8s_opts)

    probe_groups = []
    spc_address = None
    if settings.spc.enabled:
        spec = chain_node_builder.spc_spec(settings.spc, settings.cluster.provider, settings.cluster.name, cluster.storage_class,
                                           settings.ingress.allocate_node_ports)
        spc = ChainNode("spc", spec, opts=pulumi.ResourceOptions(providers=[cluster.provider], depends_on=cluster.lb_dependencies))
        spc_address = spc.p2p_address
        probe_groups.append(ProbeGroup(
            name="pegasus-p2p-spc",
            host=spc.p2p_address.apply(lambda a: a.rsplit(":", 1)[0]),
            targets=(ProbeTarget(settings.spc.chain_id, names.SPC_NAMESPACE, spec.public_ports[0].port),),
            labels=(("node", names.SPC_SERVICE),),
        ))

    addresses = {}
    for plan in plans:
        host = ingress.shard_hosts[plan.address.shard]
        external = pulumi.Output.concat(host, ":", str(plan.address.port))
        Chainlet(names.chainlet_resource_name(plan.chain_id), plan, settings.chainlets, cluster.storage_class,
                 external, guard, opts=k8s_opts)
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
            labels=(("shard", str(shard.index)),),
        ))

    monitoring = Monitoring("monitoring", settings.monitoring, settings.alerting, cluster.storage_class,
                            tuple(probe_groups), opts=k8s_opts)

    if settings.logging.enabled:
        from components.logging import Logging

        Logging("logging", settings.logging, settings.cluster.name, cluster.provider,
                eks=cluster.eks, gke=cluster.gke, tags=common_tags(settings.cluster, settings.stack), opts=k8s_opts)

    pulumi.export("kubeconfig", pulumi.Output.secret(cluster.kubeconfig))
    pulumi.export("lbShards", {f"{names.shard_service_name(i)}": h for i, h in ingress.shard_hosts.items()})
    pulumi.export("grafanaUrl", monitoring.grafana_url)
    pulumi.export("platformChainP2pAddress", spc_address)
    pulumi.export("chainHeight", view.height)
    pulumi.export("chainlets", addresses)
