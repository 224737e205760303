"""A shard stack of the validator in sharded mode (pegasus/sharding.py): the chainlets of one
p2p shard, the shard's load balancer and routing, and its probes.

Order, as in the platform (stacks/validator.py): everything this stack plans from is read and
checked before anything is declared. It takes the ledger and the pinned height from the
platform stack's ChainState record (the guarded record, written before anything else of the
platform's run), reads the chain at that height, and refuses to plan when the two disagree:
a shard never plans from a read the platform has not guarded.
"""

from __future__ import annotations

import dataclasses
from typing import Any, Mapping

import pulumi
import pulumi_kubernetes as k8s

from components.chain import chain_state, chainlet_builder
from components.chain import workload_builder as wb
from components.chain.chain_state import ShardState
from components.chain.chainlet import Chainlet
from components.cluster import cluster_builder as cb
from components.cluster import karpenter_builder
from components.kube.k8s_util import custom_resource_args
from components.monitoring import monitoring_builder as mb
from components.p2p import gateway_builder
from components.p2p.shard import P2PShard, moved_aliases, shard_of
from pegasus import chainstate, ledger, names, sharding
from pegasus.chain.model import ChainView
from pegasus.config import Settings, ShardRole
from pegasus.errors import ChainDataError, ConfigError, PegasusError

CHAINLET_TYPE = ledger.CHAINLET_TYPE


class PlatformStateError(PegasusError):
    """The platform stack's record cannot be used by a shard; nothing was planned."""


def platform_record(state: Mapping[str, Any], platform: str) -> dict[str, Any]:
    """The platform's ChainState outputs, from its last state ({urn: {type, outputs}}).
    Refuses a platform that still declares chainlets itself (single mode): two stacks would
    then fight over the same objects."""
    records = [r for r in state.values() if isinstance(r, Mapping) and r.get("type") == ledger.CHAINSTATE_TYPE]
    own = [u for u, r in state.items() if isinstance(r, Mapping) and r.get("type") == CHAINLET_TYPE]
    if own:
        raise PlatformStateError(
            f"platform stack {platform} still declares {len(own)} chainlet(s) itself (single mode), so this shard stack "
            "would manage the same objects; set chainlets.stacks to sharded on the platform and run its `up` first, or "
            "move a running fleet with `python -m tools.shards split` (docs/sharding.md)")
    if len(records) != 1 or not isinstance(records[0].get("outputs"), Mapping):
        raise PlatformStateError(
            f"platform stack {platform} has no ChainState record yet; run `pulumi up` on it first "
            "(`python -m tools.reconcile` runs the platform before its shards)")
    return dict(records[0]["outputs"])


def shard_entries(record: Mapping[str, Any], index: int) -> dict[str, dict[str, Any]]:
    return sharding.members(record.get("chainlets") or {}).get(index, {})


def check_against_platform(settings: Settings, record: Mapping[str, Any], role: ShardRole) -> int:
    """The pinned height, once the settings agree with those the platform applied."""
    for key, ours, theirs in (("ingress.shardSize", settings.ingress.shard_size, record.get("shardSize")),
                              ("ingress.basePort", settings.ingress.base_port, record.get("basePort"))):
        if theirs is None or int(theirs) != ours:
            theirs = "unset" if theirs is None else int(theirs)
            raise ConfigError(key, f"is {ours} here but {theirs} in platform stack {role.platform}; a shard stack takes "
                                   "its config from the platform (python -m tools.reconcile copies it), so copy it again")
    height = record.get("height")
    if not isinstance(height, (int, float)) or height < 0:
        raise PlatformStateError(f"platform stack {role.platform} recorded no chain height; run its `up` again")
    return int(height)


def check_read(view: ChainView, entries: Mapping[str, Mapping[str, Any]], role: ShardRole) -> None:
    """Every chainlet the platform placed in this shard is in the read, with the same status."""
    by_id = {c.chain_id: c for c in view.chainlets}
    for chain_id, entry in entries.items():
        c = by_id.get(chain_id)
        if c is None or c.status != entry.get("status"):
            found = "missing" if c is None else f"{c.status}, not {entry.get('status')}"
            raise ChainDataError(
                f"chainlet {chain_id} of shard {role.index} is {found} in the chain read at height {view.height}, "
                f"where platform stack {role.platform} recorded it; a node that serves another chain or another height "
                "answered. Nothing was planned: check chain.endpoint, then run the platform and this shard again")


def deploy_shard(settings: Settings) -> None:
    role = settings.shard
    assert role is not None
    from stacks.validator import read_chain  # the same read as the platform's, at its height

    full = f"{pulumi.get_organization()}/{pulumi.get_project()}/{role.platform}"
    try:
        state = chain_state._last_state(full)
    except ledger.LedgerError as e:
        raise PlatformStateError(f"cannot read platform stack {role.platform}: {e}") from None
    record = platform_record(state, role.platform)
    height = check_against_platform(settings, record, role)
    entries = shard_entries(record, role.index)
    view = read_chain_at(settings, height, read_chain)
    check_read(view, entries, role)

    guard = ShardState("shard-state", chainstate.shard_guard_config(
        role.platform, role.index, settings.chain, settings.chainlets, height, entries))
    slots = {c: int(e["slot"]) for c, e in entries.items()}
    members = dataclasses.replace(view, chainlets=tuple(c for c in view.chainlets if c.chain_id in slots))
    plans = chainlet_builder.plan_chainlets(members, slots, settings.ingress.shard_size, settings.ingress.base_port)

    # The platform's outputs that are Outputs here: the cluster's credentials on eks and gke, and
    # a shard's pinned addresses.
    platform = pulumi.StackReference("platform", stack_name=full)
    c = settings.cluster
    if c.provider == "existing":
        from components.cluster.cluster import Cluster

        cluster = Cluster("cluster", c, settings.stack, karpenter=False, storage_class_override=settings.storage_class)
        provider, storage_class = cluster.provider, cluster.storage_class
    else:
        provider = k8s.Provider("cluster-k8s", kubeconfig=platform.require_output("kubeconfig"), **cb.provider_settings())
        storage_class = settings.storage_class or cb.CHAIN_STORAGE_CLASS
    k8s_opts = pulumi.ResourceOptions(providers=[provider])
    placement = karpenter_builder.signer_placement() if settings.karpenter.enabled and c.provider == "eks" else wb.Placement()

    shard = shard_of(tuple(p.backend() for p in plans), role.index, settings.ingress)
    reserved = platform.get_output("shardReservedAddresses").apply(lambda a: (a or {}).get(str(role.index))) \
        if c.provider == "gke" else None
    annotations = platform.get_output("shardLbAnnotations").apply(lambda a: (a or {}).get(str(role.index)) or {}) \
        if c.provider == "eks" else None
    p2p_shard = P2PShard(f"shard-{role.index}", shard, settings.ingress, c.name, guard=guard, reserved_ip=reserved,
                         static_address_name=f"{c.name}-p2p-{role.index}" if c.provider == "gke" else None,
                         lb_annotations=annotations, opts=k8s_opts)

    envoy = settings.ingress.provider == "envoy-gateway"
    routes = gateway_builder.routes((shard,)) if envoy else {}
    addresses, digests = {}, {}
    for plan in plans:
        external = pulumi.Output.concat(p2p_shard.host, ":", str(plan.address.port))
        Chainlet(names.chainlet_resource_name(plan.chain_id), plan, settings.chainlets, storage_class, external, guard,
                 placement=placement, route=routes.get(plan.chain_id), route_dependencies=p2p_shard.route_dependencies,
                 opts=k8s_opts)
        addresses[plan.chain_id] = {"address": external, "slot": plan.address.slot, "shard": plan.address.shard,
                                    "port": plan.address.port, "status": "online" if plan.chainlet.online else "offline",
                                    "namespace": plan.namespace}
        digests[plan.chain_id] = sharding.chainlet_digest(plan.chainlet, plan.image)

    targets = tuple(mb.ProbeTarget(sp.backend.name, sp.backend.namespace, sp.public_port)
                    for sp in sorted(shard.ports + shard.reserved, key=lambda sp: sp.public_port))
    external_prober = mb.external_prober(settings.monitoring)
    for prober in (mb.IN_CLUSTER_PROBER, *([external_prober] if external_prober else [])):
        manifest = mb.p2p_scrape_config(f"pegasus-p2p-{role.index}", p2p_shard.host, targets,
                                        settings.monitoring.probe_interval, {"shard": str(role.index)}, prober)
        k8s.apiextensions.CustomResource(f"shard-{role.index}-{manifest['metadata']['name']}",
                                         **custom_resource_args(manifest), opts=pulumi.ResourceOptions.merge(k8s_opts, pulumi.ResourceOptions(
            aliases=moved_aliases(f"monitoring-{manifest['metadata']['name']}", "pegasus:monitoring:Monitoring",
                                  f"kubernetes:{manifest['apiVersion']}:{manifest['kind']}"))))

    pulumi.export("platformStack", role.platform)
    pulumi.export("shard", role.index)
    pulumi.export("shardHost", p2p_shard.host)
    pulumi.export(sharding.HEIGHT_OUTPUT, height)
    pulumi.export("chainlets", addresses)
    pulumi.export(sharding.DIGESTS_OUTPUT, digests)
    pulumi.export(sharding.CONFIG_DIGEST_OUTPUT, sharding.config_digest(settings))


def read_chain_at(settings: Settings, height: int, read_chain) -> ChainView:
    """The chain at the platform's height: a REST node is asked for that height, a snapshot
    must have been taken at it."""
    pinned = height if settings.chain.source == "rest" else None
    view = read_chain(dataclasses.replace(settings, chain=dataclasses.replace(settings.chain, height=pinned)))
    if view.height != height:
        raise ChainDataError(f"the chain was read at height {view.height}, but platform stack {settings.shard.platform} "
                             f"applied height {height}; run the platform stack again first")
    return view
