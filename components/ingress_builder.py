"""Pure builders for ingress-nginx and its p2p LoadBalancer shards.

The design (document 000, "Networking"): every chainlet's p2p port is public through
ingress-nginx's TCP/UDP passthrough. One cloud load balancer carries a limited number of
listeners, so backends are spread over LoadBalancer *shards*: Services named
`ingress-nginx-controller-p2p-<N>`, each with public ports basePort..basePort+shardSize-1.

All shards select the same controller pods, and all of them reuse the same public ports, so
inside the pods each backend must listen on its own port: `internalBasePort + slot`. That
port is the backend's key in the tcp-services and udp-services ConfigMaps, and each shard
Service maps its public port to it (targetPort).

Why our own ConfigMaps instead of the chart's `tcp:`/`udp:` values: the controller watches
its ConfigMaps and reloads nginx in place when they change, while a values change is a Helm
upgrade that rolls the controller pods. Adding or removing a backend therefore touches the
two ConfigMaps and one shard Service, never the release.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

from components.chart import Chart
from pegasus import names
from pegasus import slots as slot_math
from pegasus.config import SHARD_LIMITS, IngressSettings
from pegasus.errors import ConfigError

# Controller v1.15.1, the project's final release (ingress-nginx retired in March 2026).
CHART = Chart(names.INGRESS_RELEASE, "ingress-nginx", "4.15.1", "https://kubernetes.github.io/ingress-nginx")


@dataclass(frozen=True)
class P2PBackend:
    """One p2p endpoint to publish: a Service port inside the cluster, and its slot."""

    name: str
    namespace: str
    service: str
    port: int
    slot: int
    routed: bool = True  # False: the slot (and so the public port) is reserved, not served


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

    @property
    def service_name(self) -> str:
        return names.shard_service_name(self.index)


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


def services_configmap_data(shards: tuple[Shard, ...]) -> dict[str, str]:
    """tcp-services / udp-services data: `<internal port>: <namespace>/<service>:<port>`.
    Only routed backends appear; an offline chainlet's port is reserved, not served."""
    data = {}
    for shard in shards:
        for sp in shard.ports:
            b = sp.backend
            data[str(sp.internal_port)] = f"{b.namespace}/{b.service}:{b.port}"
    return dict(sorted(data.items(), key=lambda kv: int(kv[0])))


def listeners(shard: Shard) -> int:
    """Each Service port is one LB listener: a backend takes two, TCP and UDP."""
    return len(shard_service_ports(shard))


def shard_service_ports(shard: Shard) -> list[dict]:
    ports = shard.ports
    if not ports:
        # A Service needs at least one port. When every chainlet of a shard is offline, keep
        # its first reserved port open towards a controller port nobody listens on: the
        # Service, and with it the load balancer and its address, survives for their return.
        ports = shard.reserved[:1]
    out = []
    for sp in ports:
        for protocol in ("TCP", "UDP"):
            out.append({
                "name": f"{protocol.lower()}-{sp.public_port}",
                "port": sp.public_port,
                "targetPort": sp.internal_port,
                "protocol": protocol,
            })
    return out


def shard_public_host(index: int, domain: Optional[str]) -> Optional[str]:
    return f"p2p-{index}.{domain}" if domain else None


def public_lb_annotations(cloud: str, tags: str, *, mixed_protocol: bool,
                          static_address_name: Optional[str] = None) -> dict[str, str]:
    """Annotations that make a LoadBalancer Service an internet-facing L4 load balancer."""
    out: dict[str, str] = {}
    if cloud == "eks":
        # AWS Load Balancer Controller: the legacy cloud provider rejects a LoadBalancer
        # mixing TCP and UDP ("mixed protocol is not supported"), while the controller merges
        # TCP and UDP on one port into a TCP_UDP listener.
        out.update({
            "service.beta.kubernetes.io/aws-load-balancer-type": "external",
            "service.beta.kubernetes.io/aws-load-balancer-nlb-target-type": "ip",
            "service.beta.kubernetes.io/aws-load-balancer-scheme": "internet-facing",
            "service.beta.kubernetes.io/aws-load-balancer-attributes": "load_balancing.cross_zone.enabled=true",
            "service.beta.kubernetes.io/aws-load-balancer-additional-resource-tags": tags,
        })
        if mixed_protocol:
            out["service.beta.kubernetes.io/aws-load-balancer-enable-tcp-udp-listener"] = "true"
    elif cloud == "gke":
        # Backend-service based external passthrough NLB: the only GKE LB that carries
        # TCP and UDP on the same port (GKE 1.34.1-gke.2190000+).
        out["cloud.google.com/l4-rbs"] = "enabled"
        if static_address_name:
            out["networking.gke.io/load-balancer-ip-addresses"] = static_address_name
    return out


def shard_annotations(index: int, settings: IngressSettings, cluster_name: str,
                      static_address_name: Optional[str] = None) -> dict[str, str]:
    out = public_lb_annotations(
        settings.cloud,
        f"pegasus.saga.xyz/cluster={cluster_name},pegasus.saga.xyz/shard={index}",
        mixed_protocol=True,
        static_address_name=static_address_name,
    )
    host = shard_public_host(index, settings.p2p_domain)
    if host:
        out["external-dns.alpha.kubernetes.io/hostname"] = host
    out.update(settings.shard_annotations)
    return out


def shard_service(shard: Shard, settings: IngressSettings, cluster_name: str,
                  static_address_name: Optional[str] = None) -> dict:
    spec: dict = {
        "type": "LoadBalancer",
        "selector": dict(names.INGRESS_CONTROLLER_SELECTOR),
        "ports": shard_service_ports(shard),
    }
    if settings.cloud != "eks":
        # Keep the peer's source address (no SNAT) and skip the extra hop. On eks the NLB
        # sends straight to pod IPs (target type ip), where this field has no effect.
        spec["externalTrafficPolicy"] = "Local"
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {
            "name": shard.service_name,
            "namespace": names.INGRESS_NAMESPACE,
            "labels": {
                **names.labels("p2p-shard", shard.service_name, name="ingress-nginx"),
                "pegasus.saga.xyz/shard": str(shard.index),
            },
            "annotations": shard_annotations(shard.index, settings, cluster_name, static_address_name),
        },
        "spec": spec,
    }


def services_configmap(name: str, data: dict[str, str]) -> dict:
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {
            "name": name,
            "namespace": names.INGRESS_NAMESPACE,
            "labels": names.labels("p2p-routing", name, name="ingress-nginx"),
        },
        "data": data,
    }


def controller_values(settings: IngressSettings) -> dict:
    ns = names.INGRESS_NAMESPACE
    return {
        "fullnameOverride": names.INGRESS_RELEASE,
        "controller": {
            "replicaCount": settings.controller_replicas,
            "extraArgs": {
                "tcp-services-configmap": f"{ns}/{names.TCP_SERVICES_CONFIGMAP}",
                "udp-services-configmap": f"{ns}/{names.UDP_SERVICES_CONFIGMAP}",
            },
            # p2p traffic arrives through the shard Services; nothing HTTP is public.
            "service": {"type": "ClusterIP"},
            "allowSnippetAnnotations": False,
            "metrics": {"enabled": True},
            "resources": {
                "requests": {"cpu": "250m", "memory": "256Mi"},
                "limits": {"memory": "1Gi"},
            },
            "minAvailable": 1,
            # Spread the controllers so a node loss leaves the shards served.
            "topologySpreadConstraints": [{
                "maxSkew": 1,
                "topologyKey": "kubernetes.io/hostname",
                "whenUnsatisfiable": "ScheduleAnyway",
                "labelSelector": {"matchLabels": dict(names.INGRESS_CONTROLLER_SELECTOR)},
            }],
            **({} if settings.admission_webhooks else {"admissionWebhooks": {"enabled": False}}),
        },
    }
