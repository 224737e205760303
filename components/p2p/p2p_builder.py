"""Pure builders for the public p2p load-balancer shards, shared by every data plane.

The design (document 000, "Networking"): every chainlet's p2p port is public behind a cloud
load balancer. One load balancer carries a limited number of listeners, so backends are
spread over LoadBalancer *shards*, each with public ports basePort..basePort+shardSize-1.

All shards select the same proxy pods and reuse the same public ports, so inside the pods
each backend listens on its own port, `internalBasePort + slot`; each shard Service maps its
public port to that port (targetPort). Nothing here knows which proxy serves the ports: the
ingress-nginx data plane (components/p2p/ingress_builder.py) names the Services, selects its
controller pods and routes each internal port; a second data plane reuses the same shards.

Why TCP only. CometBFT's p2p transport is TCP: v0.38 listens with net.Listen("tcp") and dials
with net.DialTimeout("tcp") (p2p/transport.go, p2p/netaddress.go), and so does v1.x. The
QUIC transport of v0.39 (lp2p/host.go, quic-v1 over UDP) exists only behind
`p2p.libp2p.enabled`, which defaults to false (config/config.go DefaultLibP2PConfig). The
SSC image exposes 26656 as TCP and its start.sh enables nothing else (sagaxyz/ssc
Dockerfile, start.sh), and Saga's own deployment publishes only the tcp-services ConfigMap
(sagaxyz/node-deploy roles/ingress-nginx values: `tcp-services-configmap` alone, chainlet
containerPort 26656 without a protocol, i.e. TCP). A UDP listener would lead nowhere: the
chainlet Service has no UDP port, and ingress-nginx drops a udp-services entry whose Service
lacks a port of that number and protocol (getStreamServices). A backend that does listen on
UDP (a chain image with libp2p on, the testnet blueprint's `testnet.udp`) declares it in its
`protocols`, together with UDP container and Service ports, and only it gets UDP routes.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping, Optional

from pegasus import names
from pegasus import slots as slot_math
from pegasus.config import SHARD_LIMITS, IngressSettings
from pegasus.errors import ConfigError

P2P_PROTOCOLS = ("TCP",)
# A backend that also listens on UDP says so (the testnet blueprint's `testnet.udp`); UDP is
# routed only to such backends, since a UDP port towards a TCP-only daemon leads nowhere.
KNOWN_PROTOCOLS = ("TCP", "UDP")


@dataclass(frozen=True)
class P2PBackend:
    """One p2p endpoint to publish: a Service port inside the cluster, and its slot."""

    name: str
    namespace: str
    service: str
    port: int
    slot: int
    routed: bool = True  # False: the slot (and so the public port) is reserved, not served
    protocols: tuple[str, ...] = P2P_PROTOCOLS  # what the backend listens on, at the same port

    def __post_init__(self):
        if not self.protocols or any(p not in KNOWN_PROTOCOLS for p in self.protocols):
            raise ValueError(f"p2p backend {self.name}: protocols must be a non-empty subset of {KNOWN_PROTOCOLS}, got {self.protocols}")


@dataclass(frozen=True)
class ShardPort:
    public_port: int
    internal_port: int
    backend: P2PBackend


@dataclass(frozen=True)
class Shard:
    index: int
    ports: tuple[ShardPort, ...]  # routed backends, by public port
    reserved: tuple[ShardPort, ...]  # offline backends: their port waits for them


def backends_in_order(items: list[tuple[str, str, str, int]]) -> tuple[P2PBackend, ...]:
    """Backends from a plain list of (name, namespace, service, port): slot = list position."""
    return tuple(P2PBackend(n, ns, svc, port, slot) for slot, (n, ns, svc, port) in enumerate(items))


def plan_shards(backends: tuple[P2PBackend, ...] | list[P2PBackend], settings: IngressSettings) -> tuple[Shard, ...]:
    """Place every backend in its shard. A shard exists while any slot in it is assigned,
    routed or not: deleting a shard Service would give up its public address."""
    limit = SHARD_LIMITS[settings.cloud]
    if settings.shard_size > limit:
        raise ConfigError("ingress.shardSize", f"must be at most {limit} on {settings.cloud}; got {settings.shard_size}")
    by_slot: dict[int, P2PBackend] = {}
    seen_names: set[str] = set()
    for b in backends:
        if b.slot in by_slot:
            raise ValueError(f"p2p backends {by_slot[b.slot].name} and {b.name} share slot {b.slot}")
        if b.name in seen_names:
            raise ValueError(f"p2p backend {b.name} is listed twice")
        by_slot[b.slot] = b
        seen_names.add(b.name)
    if not by_slot:
        return ()
    count = slot_math.shard_count(max(by_slot) + 1, settings.shard_size)
    shards = []
    for index in range(count):
        routed, reserved = [], []
        for slot in range(index * settings.shard_size, (index + 1) * settings.shard_size):
            b = by_slot.get(slot)
            if b is None:
                continue
            addr = slot_math.address(slot, settings.shard_size, settings.base_port)
            sp = ShardPort(addr.port, slot_math.internal_port(slot, settings.internal_base_port), b)
            (routed if b.routed else reserved).append(sp)
        shards.append(Shard(index, tuple(routed), tuple(reserved)))
    return tuple(shards)


def routes(shards: tuple[Shard, ...], protocol: str = "TCP") -> dict[int, P2PBackend]:
    """What the proxy must serve on `protocol`: internal port -> backend, routed backends that
    listen on it only (an offline chainlet's port is reserved, not served)."""
    out = {sp.internal_port: sp.backend for shard in shards for sp in shard.ports if protocol in sp.backend.protocols}
    return dict(sorted(out.items()))


def shard_service_ports(shard: Shard) -> list[dict]:
    ports = shard.ports
    if not ports:
        # A Service needs at least one port. When every chainlet of a shard is offline, keep
        # its first reserved port open towards a proxy port nobody listens on: the Service,
        # and with it the load balancer and its address, survives for their return.
        ports = shard.reserved[:1]
    out = []
    for sp in ports:
        for protocol in (p for p in KNOWN_PROTOCOLS if p in sp.backend.protocols):
            out.append({
                "name": f"{protocol.lower()}-{sp.public_port}",
                "port": sp.public_port,
                "targetPort": sp.internal_port,
                "protocol": protocol,
            })
    return out


def listeners(shard: Shard) -> int:
    """Each Service port is one LB listener: one per backend and protocol."""
    return len(shard_service_ports(shard))


def shard_public_host(index: int, domain: Optional[str]) -> Optional[str]:
    return f"p2p-{index}.{domain}" if domain else None


# GKE: "For new external LoadBalancer Services ... set spec.loadBalancerClass to
# networking.gke.io/l4-regional-external" (GKE 1.33.1-gke.1779000+; it always builds a
# backend service-based passthrough NLB with GCE_VM_IP NEG backends and is immutable). The
# `cloud.google.com/l4-rbs` annotation is what the same docs keep for Services created before
# that field existed; Pegasus creates its Services new, so it uses the class.
GKE_LB_CLASS = "networking.gke.io/l4-regional-external"


def public_lb_annotations(cloud: str, tags: str, *, static_address_name: Optional[str] = None) -> dict[str, str]:
    """Annotations that make a LoadBalancer Service an internet-facing L4 load balancer."""
    out: dict[str, str] = {}
    if cloud == "eks":
        # AWS Load Balancer Controller with IP targets: the NLB sends straight to pod IPs.
        out.update({
            "service.beta.kubernetes.io/aws-load-balancer-type": "external",
            "service.beta.kubernetes.io/aws-load-balancer-nlb-target-type": "ip",
            "service.beta.kubernetes.io/aws-load-balancer-scheme": "internet-facing",
            "service.beta.kubernetes.io/aws-load-balancer-attributes": "load_balancing.cross_zone.enabled=true",
            "service.beta.kubernetes.io/aws-load-balancer-additional-resource-tags": tags,
        })
    elif cloud == "gke" and static_address_name:
        out["networking.gke.io/load-balancer-ip-addresses"] = static_address_name
    return out


def public_lb_spec(cloud: str, allocate_node_ports: bool) -> dict:
    """The spec fields every public p2p LoadBalancer Service shares."""
    spec: dict = {"type": "LoadBalancer"}
    if cloud == "gke":
        spec["loadBalancerClass"] = GKE_LB_CLASS
    if cloud != "eks":
        # Keep the peer's source address (no SNAT) and skip the extra hop. On eks the NLB
        # sends straight to pod IPs (target type ip), where this field has no effect.
        spec["externalTrafficPolicy"] = "Local"
    if not allocate_node_ports:
        # Without this every Service port also takes a NodePort, and the default NodePort
        # range (30000-32767) then caps the fleet at about 2,700 chainlets per cluster.
        spec["allocateLoadBalancerNodePorts"] = False
    return spec


def shard_annotations(index: int, settings: IngressSettings, cluster_name: str,
                      static_address_name: Optional[str] = None) -> dict[str, str]:
    out = public_lb_annotations(
        settings.cloud,
        f"pegasus.saga.xyz/cluster={cluster_name},pegasus.saga.xyz/shard={index}",
        static_address_name=static_address_name,
    )
    host = shard_public_host(index, settings.p2p_domain)
    if host:
        out["external-dns.alpha.kubernetes.io/hostname"] = host
    out.update(settings.shard_annotations)
    return out


# What a shard's Service is awaited for: its load balancer's address, which the chainlets
# advertise. pulumi-kubernetes's own Service await also waits for Endpoints and then 10 s after
# every Endpoints change (provider/pkg/await/service.go), on every update: 10 s per run of the
# stack that owns the Service, for pods (the data plane's) that are not the shard's to wait for.
# A waitFor annotation replaces that await (provider/pkg/await/await.go, ReadyCondition).
LB_ADDRESS_WAIT = "jsonpath={.status.loadBalancer.ingress[0]}"


def shard_service(shard: Shard, settings: IngressSettings, cluster_name: str, *, name: str, namespace: str,
                  selector: Mapping[str, str], labels: Mapping[str, str],
                  static_address_name: Optional[str] = None) -> dict:
    """One shard's LoadBalancer Service; the data plane gives its name, namespace, the pods
    it selects and its labels."""
    spec = public_lb_spec(settings.cloud, settings.allocate_node_ports)
    spec["selector"] = dict(selector)
    spec["ports"] = shard_service_ports(shard)
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {
            "name": name,
            "namespace": namespace,
            "labels": {**labels, "pegasus.saga.xyz/shard": str(shard.index)},
            "annotations": {**shard_annotations(shard.index, settings, cluster_name, static_address_name),
                            names.WAIT_FOR: LB_ADDRESS_WAIT},
        },
        "spec": spec,
    }
