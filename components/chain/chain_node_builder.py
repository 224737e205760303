"""Pure builders for a chain daemon with a public p2p Service and an internal Service.

Used for the platform chain node: namespace `sagasrv-spc`, Service `spc` (p2p only, public)
and `spc-internal` (RPC, gRPC, REST and metrics, cluster-internal). Nothing here is specific
to one chain: image, ports, env and paths all come from the spec.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any, Mapping, Optional

from components.p2p import p2p_builder
from components.chain import workload_builder as wb
from pegasus import names
from pegasus.config import SpcSettings


# What sagaxyz/ssc start.sh requires beyond CHAIN_ID and MONIKER, which Pegasus sets itself.
SPC_REQUIRED_ENV = ("DENOM", "GENESIS")


@dataclass(frozen=True)
class ChainNodeSpec:
    workload: wb.ChainWorkload
    public_service: str
    internal_service: str
    public_ports: tuple[wb.Port, ...] = (wb.P2P,)
    internal_ports: tuple[wb.Port, ...] = (wb.RPC, wb.GRPC, wb.REST, wb.METRICS)
    lb_annotations: Mapping[str, str] = field(default_factory=dict)
    lb_spec: Mapping[str, Any] = field(default_factory=lambda: {"type": "LoadBalancer"})
    advertise_env: Optional[str] = "EXTERNAL_ADDRESS"  # env var that receives host:port of the public p2p port
    # Optional, for other daemons (go-spacemesh); the defaults keep the platform chain node as it was.
    advertise_arg: Optional[str] = None  # a flag that receives the public p2p address as a multiaddr, instead of advertise_env
    public_protect: bool = True  # False for a public Service whose address nobody pins (a NodePort)
    with_public_service: bool = True  # False: the node is reached another way (hostPort)


def chain_node_manifests(spec: ChainNodeSpec, external_address: Any = None) -> dict[str, dict]:
    """`external_address` is the public host:port, known once the load balancer exists."""
    w = spec.workload
    if spec.advertise_arg and external_address is not None:
        w = replace(w, args=w.args + (external_address,))
    elif spec.advertise_env and external_address is not None:
        w = replace(w, env=w.env + ((spec.advertise_env, external_address),))
    exposed = {p.name for p in spec.public_ports} & {p.name for p in spec.internal_ports}
    if exposed:
        raise ValueError(f"ports {sorted(exposed)} cannot be both public and internal")
    return {
        "namespace": wb.namespace(w.namespace, w.component, w.instance),
        "claim": wb.data_claim(w),
        "workload": wb.statefulset(w),
        "public": wb.service(w, spec.public_service, spec.public_ports, lb_spec=spec.lb_spec,
                             annotations=spec.lb_annotations, publish_not_ready=True),
        "internal": wb.service(w, spec.internal_service, spec.internal_ports),
    }


def multiaddr(address: str) -> str:
    """host:port as a libp2p multiaddr: /ip4/ or /ip6/ for an address, /dns4/ for a name."""
    import ipaddress

    host, port = address.rsplit(":", 1)
    host = host.strip("[]")
    try:
        proto = "ip6" if ipaddress.ip_address(host).version == 6 else "ip4"
    except ValueError:
        proto = "dns4"
    return f"/{proto}/{host}/tcp/{port}"


def spc_spec(settings: SpcSettings, cloud: str, cluster_name: str, storage_class: Optional[str],
             placement: wb.Placement = wb.Placement(), lb_annotations: Optional[Mapping[str, str]] = None,
             allocate_node_ports: bool = True) -> ChainNodeSpec:
    """`lb_annotations` are added to the cloud's own (on eks: the subnets to use)."""
    env = {
        "CHAIN_ID": settings.chain_id,
        "MONIKER": settings.moniker,
        **settings.env,
    }
    # The SSC image's start.sh stops unless CHAIN_ID MONIKER DENOM GENESIS are set
    # (check_env_vars). What spc.env does not give must be a key of spc.keySecret (config checks it).
    from_secret = tuple(v for v in SPC_REQUIRED_ENV if v not in env)
    workload = wb.ChainWorkload(
        name=names.SPC_SERVICE,
        namespace=names.SPC_NAMESPACE,
        component=names.PLATFORM_CHAIN_COMPONENT,
        instance=names.SPC_SERVICE,
        image=settings.image,
        data_path=settings.data_path,
        storage_size=settings.storage_size,
        storage_class=storage_class,
        resources=settings.resources,
        claim_name=names.data_claim_name(names.SPC_SERVICE),
        env=tuple(sorted(env.items())),
        key_secret=settings.key_secret,
        secret_env=from_secret,
        ports=(wb.P2P, wb.RPC, wb.GRPC, wb.REST, wb.METRICS),
        signer=True,
        # The SSC image's start.sh sets create_empty_blocks = false (sagaxyz/ssc start.sh).
        extra_labels={"saga.xyz/chain-id": settings.chain_id, names.CREATE_EMPTY_BLOCKS_LABEL: "false"},
        placement=placement,
    )
    return ChainNodeSpec(
        workload=workload,
        public_service=names.SPC_SERVICE,
        internal_service=names.SPC_INTERNAL_SERVICE,
        lb_annotations={
            **p2p_builder.public_lb_annotations(
                cloud, f"pegasus.saga.xyz/cluster={cluster_name},pegasus.saga.xyz/node=spc"
            ),
            **(lb_annotations or {}),
        },
        lb_spec=p2p_builder.public_lb_spec(cloud, allocate_node_ports),
    )
