"""Pure builders that turn one chainlet from chain state into its Kubernetes objects.

Everything a chainlet needs is derived from the chain read plus the slot arithmetic
(pegasus/slots.py), with no state shared between chainlets. That keeps the blast radius of
a chainlet change to the chainlet itself plus its shard, and lets ranges of shards move
into separate stacks later without re-deriving anything.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping, Optional

from components.chain import workload_builder as wb
from components.p2p.p2p_builder import P2PBackend
from pegasus import names
from pegasus import slots as slot_math
from pegasus.chain.model import Chainlet, ChainView
from pegasus.config import ChainletSettings

# The chainlet image's own ports (sagaxyz node-deploy chainlet template).
CHAINLET_PORTS = (wb.P2P, wb.RPC, wb.GRPC, wb.REST, wb.EVM_RPC, wb.EVM_WS, wb.METRICS)
SERVICE_PORTS = (wb.P2P, wb.RPC, wb.GRPC, wb.REST, wb.EVM_RPC, wb.EVM_WS)


@dataclass(frozen=True)
class ChainletPlan:
    """One chainlet as Pegasus deploys it."""

    chainlet: Chainlet
    image: str
    address: slot_math.Address

    @property
    def chain_id(self) -> str:
        return self.chainlet.chain_id

    @property
    def namespace(self) -> str:
        return self.chainlet.namespace

    def backend(self) -> P2PBackend:
        return P2PBackend(
            name=self.chain_id,
            namespace=self.namespace,
            service=names.chainlet_workload_name(),
            port=wb.P2P.port,
            slot=self.address.slot,
            routed=self.chainlet.online,
        )


def plan_chainlets(view: ChainView, slots: Mapping[str, int], shard_size: int, base_port: int) -> tuple[ChainletPlan, ...]:
    """Every chainlet of the chain read, at its slot in the ledger (pegasus/ledger.py)."""
    return tuple(
        ChainletPlan(c, view.images[c.chain_id], slot_math.address(slots[c.chain_id], shard_size, base_port))
        for c in view.chainlets
    )


def creates_empty_blocks(c: Chainlet) -> str:
    """The chainlet's createEmptyBlocks param as "true"/"false"; CometBFT's default
    (create_empty_blocks = true) when the chain does not set it."""
    value = dict(c.params).get("createEmptyBlocks", "true")
    return "false" if value.lower() == "false" else "true"


# Saga's template mounts the volume's `sagaosd` directory, not its root (node-deploy
# chainlet-deploy.yml.tmpl.j2: subPath: sagaosd), so the image never sees lost+found or
# anything else at the root of a fresh filesystem.
DATA_SUB_PATH = "sagaosd"


def chainlet_env(c: Chainlet, external_address: Any, settings: ChainletSettings) -> tuple[tuple[str, Any], ...]:
    """The environment the chainlet image reads, in the order of Saga's template (sagaxyz/
    node-deploy chainlet-deploy.yml.tmpl.j2): fixed variables, extra env, then the chain's
    params as SPCPARAM_*. The genesis is derived from these values on every validator, so
    their order and rendering are fixed. Key material (KEYPASSWD, AWS credentials for
    snapshot uploads) comes only from chainlets.keySecret through envFrom."""
    validators = ",".join(c.genesis_validators)
    env: list[tuple[str, Any]] = [
        ("CHAINID", c.chain_id),
        ("LOGLEVEL", settings.log_level),
        ("KEYNAME", settings.key_name),
        ("EXTERNAL_ADDRESS", external_address),
        ("MAINTAINERS", ",".join(c.maintainers)),
        ("VALIDATOR_ADDRESSES", validators),
        # The current SagaOS image reads this name (sagaxyz/node-deploy chainlet template).
        ("VALIDATOR_ADDRESSES_COSMOS", validators),
    ]
    if settings.stake_owner_address:
        env.append(("STAKE_OWNER_ADDRESS", settings.stake_owner_address))
    if settings.snapshot_interval:
        env += [("SNAPSHOT_INTERVAL", str(settings.snapshot_interval)), ("SNAPSHOT_KEEP_RECENT", str(settings.snapshot_keep_recent))]
    extra = {**settings.env, **settings.chain_env.get(c.chain_id, {})}
    env.extend(sorted(extra.items()))
    env.extend((f"SPCPARAM_{key.upper()}", value) for key, value in c.params)
    return tuple(env)


def chainlet_workload(plan: ChainletPlan, settings: ChainletSettings, storage_class: Optional[str],
                      external_address: Any, placement: wb.Placement = wb.Placement()) -> wb.ChainWorkload:
    c = plan.chainlet
    return wb.ChainWorkload(
        name=names.chainlet_workload_name(),
        namespace=plan.namespace,
        component=names.CHAINLET_COMPONENT,
        instance=c.chain_id,
        image=plan.image,
        data_path=settings.data_path,
        storage_size=settings.storage_size,
        storage_class=storage_class,
        resources=settings.resources,
        claim_name=names.chainlet_data_claim_name(),
        env=chainlet_env(c, external_address, settings),
        key_secret=settings.key_secret,
        data_sub_path=DATA_SUB_PATH,
        ports=CHAINLET_PORTS,
        running=c.online,
        signer=True,
        extra_labels={"saga.xyz/chain-id": c.chain_id, names.CREATE_EMPTY_BLOCKS_LABEL: creates_empty_blocks(c)},
        extra_annotations={
            "saga.xyz/stack-name": c.stack_name,
            "saga.xyz/stack-version": c.stack_version,
            "pegasus.saga.xyz/slot": str(plan.address.slot),
        },
        version=c.stack_version,
        placement=placement,
    )


def chainlet_manifests(plan: ChainletPlan, settings: ChainletSettings, storage_class: Optional[str],
                       external_address: Any, placement: wb.Placement = wb.Placement()) -> dict[str, dict]:
    """The four objects of one chainlet, by role."""
    w = chainlet_workload(plan, settings, storage_class, external_address, placement)
    return {
        "namespace": wb.namespace(plan.namespace, names.CHAINLET_COMPONENT, plan.chain_id),
        "claim": wb.data_claim(w),
        "workload": wb.statefulset(w),
        # Not awaited: pulumi-kubernetes waits for a ClusterIP Service's endpoints to target a
        # pod and then 10 s more after every Endpoints change to "settle" (provider/pkg/await/
        # service.go, processEndpointEvent). Nothing reads this Service's status, the workload
        # is not awaited either, and those 10 s were most of a shard stack's create time
        # (docs/benchmarks.md).
        "service": wb.service(w, w.name, SERVICE_PORTS, publish_not_ready=True, annotations={names.SKIP_AWAIT: "true"}),
    }
