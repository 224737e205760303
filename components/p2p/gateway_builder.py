"""Pure builders for the Envoy Gateway data plane behind the p2p shards.

The shard arithmetic is components/p2p/p2p_builder.py's, unchanged: same slots, same public ports
(basePort + slot % shardSize), same addresses. What differs is who serves them:

- one GatewayClass of ours, whose parametersRef is one EnvoyProxy carrying the per-cloud
  Service settings every shard shares (NLB or GKE load-balancer class, externalTrafficPolicy,
  NodePorts);
- one Gateway per shard, one TCP listener per routed slot port. Envoy Gateway gives every
  Gateway its own Envoy Deployment and LoadBalancer Service unless the EnvoyProxy sets
  `mergeGateways: true`, which would put every shard's listeners behind one Service and one
  load balancer; so merging stays off and each shard keeps exactly one load balancer. The
  shard's own Service settings (reserved IP, EIPs, external-dns host, tags) are the Gateway's
  `spec.infrastructure.annotations`, which Envoy Gateway copies onto the Service it creates
  (internal/gatewayapi InitIRs -> ProxyMetadata.Annotations -> proxy ResourceRender.Service);
- one TCPRoute per online chainlet, in the chainlet's namespace, attached to its listener by
  `sectionName`. Each listener admits routes from that one namespace only.

Envoy is programmed over xDS: a listener added or removed does not restart or drain the
others, unlike ingress-nginx's reload. Nor does it roll the shard's Envoy pods: in v1.9.0 the
Envoy container declares only its metrics (19001) and readiness (19003) ports, not one per
listener (internal/infrastructure/kubernetes/proxy/resource.go, expectedProxyContainers), so
the Deployment's pod template does not change with the listeners; the Service's ports do. Envoy listens on the public port itself (ports >= 1024
are not remapped), so internalBasePort has no role here.
"""

from __future__ import annotations

from typing import Mapping, Optional

from components.p2p import p2p_builder as p2p
from components.kube.chart import Chart
from pegasus import names
from pegasus.config import IngressSettings

# Envoy Gateway v1.9.0, which bundles the Gateway API v1.6.1 experimental CRDs (TCPRoute, UDPRoute).
CHART = Chart("pegasus-envoy-gateway", "oci://docker.io/envoyproxy/gateway-helm", "v1.9.0")
CONTROLLER_NAME = "gateway.envoyproxy.io/gatewayclass-controller"
GATEWAY_CLASS = "pegasus-p2p"
ENVOY_PROXY = "pegasus-p2p"
GATEWAY_API = "gateway.networking.k8s.io/v1"
# TCPRoute v1 is the storage version in Gateway API v1.6.1; v1alpha2 is served but deprecated
# ("Please upgrade to v1"), with the same schema and no conversion webhook.
TCP_ROUTE_API = "gateway.networking.k8s.io/v1"
ENVOY_PROXY_API = "gateway.envoyproxy.io/v1alpha1"
# Envoy's admin/stats port in every Envoy pod Envoy Gateway creates (/stats/prometheus).
ENVOY_METRICS_PORT = 19001
# Envoy's readiness endpoint (bootstrap.EnvoyReadinessPort): healthy while the proxy is, whatever
# its listeners, so a shard with every chainlet offline still has healthy targets.
ENVOY_READY_PORT = 19003


def gateway_name(index: int) -> str:
    return f"pegasus-p2p-{index}"


def listener_name(public_port: int) -> str:
    return f"tcp-{public_port}"


def controller_values() -> dict:
    return {
        "deployment": {"replicas": 1},
        # The topology injector is a MutatingWebhookConfiguration on pods/binding served by the
        # controller pod (failurePolicy Ignore); it only adds zone labels for zone-aware
        # routing, which a p2p listener with one backend does not use. Off: no admission call
        # into a pod on every Envoy pod binding.
        "topologyInjector": {"enabled": False},
        "config": {"envoyGateway": {
            "gateway": {"controllerName": CONTROLLER_NAME},
            "provider": {"type": "Kubernetes"},
            "logging": {"level": {"default": "info"}},
        }},
    }


def gateway_class() -> dict:
    return {
        "apiVersion": GATEWAY_API,
        "kind": "GatewayClass",
        "metadata": {"name": GATEWAY_CLASS, "labels": names.labels("p2p-gateway-class", GATEWAY_CLASS, name="envoy-gateway")},
        "spec": {
            "controllerName": CONTROLLER_NAME,
            "parametersRef": {"group": "gateway.envoyproxy.io", "kind": "EnvoyProxy",
                              "name": ENVOY_PROXY, "namespace": names.INGRESS_NAMESPACE},
        },
    }


def _proxy_selector() -> dict[str, str]:
    # Envoy Gateway labels every Envoy pod with these (EnvoyAppLabel).
    return {"app.kubernetes.io/name": "envoy", "app.kubernetes.io/component": "proxy"}


def envoy_proxy(settings: IngressSettings, cluster_name: str, service_annotations: Mapping[str, str] = {}) -> dict:
    """The shared Envoy settings: the shard Services' cloud settings, as p2p_builder defines
    them for every data plane, and the Envoy pods' size and spread."""
    spec = p2p.public_lb_spec(settings.cloud, settings.allocate_node_ports)
    service: dict = {
        "type": "LoadBalancer",
        # Envoy Gateway defaults to Local; on eks (IP targets) the field has no effect and the
        # ingress-nginx shards leave it at Cluster, so the two data planes match.
        "externalTrafficPolicy": spec.get("externalTrafficPolicy", "Cluster"),
    }
    if "loadBalancerClass" in spec:
        service["loadBalancerClass"] = spec["loadBalancerClass"]
    if "allocateLoadBalancerNodePorts" in spec:
        service["allocateLoadBalancerNodePorts"] = spec["allocateLoadBalancerNodePorts"]
    annotations = p2p.public_lb_annotations(settings.cloud, f"pegasus.saga.xyz/cluster={cluster_name}")
    annotations.pop("service.beta.kubernetes.io/aws-load-balancer-additional-resource-tags", None)  # per shard
    annotations.update(service_annotations)
    if annotations:
        service["annotations"] = dict(sorted(annotations.items()))
    return {
        "apiVersion": ENVOY_PROXY_API,
        "kind": "EnvoyProxy",
        "metadata": {"name": ENVOY_PROXY, "namespace": names.INGRESS_NAMESPACE,
                     "labels": names.labels("p2p-proxy", ENVOY_PROXY, name="envoy-gateway")},
        "spec": {
            # Never merged: each shard Gateway keeps its own Service, so its own load balancer.
            "mergeGateways": False,
            "provider": {"type": "Kubernetes", "kubernetes": {
                "envoyService": service,
                "envoyDeployment": {
                    "replicas": settings.controller_replicas,
                    "pod": {"topologySpreadConstraints": [{
                        "maxSkew": 1,
                        "topologyKey": "kubernetes.io/hostname",
                        "whenUnsatisfiable": "ScheduleAnyway",
                        "labelSelector": {"matchLabels": _proxy_selector()},
                    }]},
                    "container": {"resources": {
                        "requests": {"cpu": "100m", "memory": "128Mi"},
                        "limits": {"memory": "512Mi"},
                    }},
                },
            }},
        },
    }


def nlb_health_check_annotations() -> dict[str, str]:
    """On eks: health-check every target group on Envoy's readiness port, not the traffic
    port, for the reason cluster_builder.nlb_controller_health_check_annotations gives."""
    return {
        "service.beta.kubernetes.io/aws-load-balancer-healthcheck-protocol": "HTTP",
        "service.beta.kubernetes.io/aws-load-balancer-healthcheck-port": str(ENVOY_READY_PORT),
        "service.beta.kubernetes.io/aws-load-balancer-healthcheck-path": "/ready",
    }


def shard_listener_ports(shard: p2p.Shard) -> tuple[p2p.ShardPort, ...]:
    """A Gateway needs at least one listener: a shard whose chainlets are all offline keeps its
    first reserved port as a listener without a route, so its Service and address survive."""
    return shard.ports or shard.reserved[:1]


# pulumi-kubernetes (4.18+) waits for this JSONPath before the Gateway counts as created, so a
# chainlet never starts with an empty advertised host: a custom resource is otherwise "ready" at once.
WAIT_FOR_ADDRESS = {names.WAIT_FOR: "jsonpath={.status.addresses[0].value}"}


def gateway(shard: p2p.Shard, settings: IngressSettings, cluster_name: str,
            static_address_name: Optional[str] = None, extra_annotations: Mapping[str, str] = {},
            wait_for_address: bool = False) -> dict:
    """One shard's Gateway: a TCP listener per routed slot port, each admitting the TCPRoute of
    its chainlet's namespace only. `wait_for_address` when chainlets advertise the address the
    Gateway's status reports (no p2pDomain, no reserved IP)."""
    listeners = []
    for sp in shard_listener_ports(shard):
        for protocol in p2p.P2P_PROTOCOLS:
            listeners.append({
                "name": listener_name(sp.public_port) if protocol == "TCP" else f"{protocol.lower()}-{sp.public_port}",
                "port": sp.public_port,
                "protocol": protocol,
                "allowedRoutes": {
                    "kinds": [{"group": "gateway.networking.k8s.io", "kind": f"{protocol}Route"}],
                    "namespaces": {"from": "Selector", "selector": {
                        "matchLabels": {"kubernetes.io/metadata.name": sp.backend.namespace}}},
                },
            })
    annotations = p2p.shard_annotations(shard.index, settings, cluster_name, static_address_name)
    # The cloud-wide ones are the EnvoyProxy's; the Gateway carries what is this shard's own.
    shared = p2p.public_lb_annotations(settings.cloud, "")
    for key in shared:
        if key != "service.beta.kubernetes.io/aws-load-balancer-additional-resource-tags":
            annotations.pop(key, None)
    annotations.update(extra_annotations)
    name = gateway_name(shard.index)
    spec: dict = {"gatewayClassName": GATEWAY_CLASS, "listeners": listeners}
    if annotations:
        spec["infrastructure"] = {"annotations": dict(sorted(annotations.items()))}
    metadata: dict = {
        "name": name,
        "namespace": names.INGRESS_NAMESPACE,
        "labels": {**names.labels("p2p-shard", name, name="envoy-gateway"), "pegasus.saga.xyz/shard": str(shard.index)},
    }
    if wait_for_address:
        metadata["annotations"] = dict(WAIT_FOR_ADDRESS)
    return {"apiVersion": GATEWAY_API, "kind": "Gateway", "metadata": metadata, "spec": spec}


def tcp_route(backend: p2p.P2PBackend, shard_index: int, public_port: int) -> dict:
    """The chainlet's route: its listener of its shard's Gateway, to its own Service."""
    name = "p2p"
    return {
        "apiVersion": TCP_ROUTE_API,
        "kind": "TCPRoute",
        "metadata": {
            "name": name,
            "namespace": backend.namespace,
            "labels": {**names.labels("p2p-route", names.label_value(backend.name), name="envoy-gateway"), "pegasus.saga.xyz/shard": str(shard_index)},
        },
        "spec": {
            "parentRefs": [{
                "group": "gateway.networking.k8s.io", "kind": "Gateway",
                "name": gateway_name(shard_index), "namespace": names.INGRESS_NAMESPACE,
                "sectionName": listener_name(public_port),
            }],
            "rules": [{"backendRefs": [{"group": "", "kind": "Service", "name": backend.service, "port": backend.port}]}],
        },
    }


def routes(shards: tuple[p2p.Shard, ...]) -> dict[str, dict]:
    """chain ID -> its TCPRoute, online chainlets only: going offline removes the route."""
    return {sp.backend.name: tcp_route(sp.backend, shard.index, sp.public_port) for shard in shards for sp in shard.ports}
