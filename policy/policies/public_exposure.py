"""Only p2p is public.

A validator publishes its p2p port and nothing else (design 000: "We are only exposing the
p2p port publicly"). RPC, gRPC, REST and EVM JSON-RPC let anyone load the node or probe its
mempool, and metrics and dashboards leak topology and key addresses, so these stay behind
ClusterIP Services. The p2p shard LoadBalancers publish 1025.. onto high targetPorts and the
platform chain's `spc` LoadBalancer publishes 26656; neither collides with the list below.
"""

from __future__ import annotations

from pulumi_policy import EnforcementLevel, ResourceValidationArgs, ResourceValidationPolicy

from . import _util as u

NAME = "pegasus-no-public-internal-ports"

SERVICE = "kubernetes:core/v1:Service"
# envoy-gateway: every Gateway listener is a port of a public LoadBalancer Service, and a
# route publishes the backend port it names.
GATEWAY = "kubernetes:gateway.networking.k8s.io/v1:Gateway"
ROUTES = ("kubernetes:gateway.networking.k8s.io/v1:TCPRoute", "kubernetes:gateway.networking.k8s.io/v1alpha2:TCPRoute",
          "kubernetes:gateway.networking.k8s.io/v1alpha2:UDPRoute")
EXPOSED_TYPES = ("LoadBalancer", "NodePort")
# Pegasus's p2p shard Services (pegasus/names.py): their ports come from config, so a finding
# there names the config key to change.
SHARD_PREFIX = "ingress-nginx-controller-p2p-"

INTERNAL_PORTS = {
    26657: "CometBFT RPC",
    9090: "gRPC or Prometheus",
    1317: "the REST API",
    8545: "EVM JSON-RPC",
    8546: "EVM WebSocket JSON-RPC",
    26660: "CometBFT metrics",
    9100: "node-exporter metrics",
    10254: "ingress-nginx metrics",
    9115: "blackbox-exporter",
    9093: "Alertmanager",
    3000: "Grafana",
}

# A Service may declare ports it publishes on purpose, one by one and visibly in review: the
# Spacemesh miners' gRPC and JSON APIs (go-spacemesh's grpc-public-listener serves only the
# services it calls "safe to expose publicly"; the private listener stays on 127.0.0.1).
# The declaration waives only the port-name heuristic: the program writes the annotation
# itself, so it must never be able to publish a well-known internal port (26657, 9090, ...);
# those stay exceptions of the policy's own config (allowedPorts, allowedServices).
PUBLIC_PORTS_ANNOTATION = "pegasus.saga.xyz/public-ports"

# Substrings of a port name that mark an internal endpoint whatever its number.
INTERNAL_NAME_PARTS = ("rpc", "grpc", "api", "metrics", "grafana", "prometheus")

CONFIG_SCHEMA = u.schema(
    allowedPorts={
        "type": "array",
        "items": {"type": "integer"},
        "default": [],
        "description": "Port numbers that may be public anyway (matched against port and targetPort).",
    },
    allowedServices={
        "type": "array",
        "items": {"type": "string"},
        "default": [],
        "description": 'Services ("namespace/name") exempt from this policy.',
    },
)


def _reason(entry, allowed: frozenset, declared: frozenset = frozenset()) -> str | None:
    """Why a spec.ports entry is internal, or None. Raises if that cannot be known.
    `declared`: ports the Service itself declares public, which waive only the name check."""
    port = u.as_int(u.get(entry, "port"))
    target = u.as_int(u.get(entry, "targetPort"))
    if port in allowed or target in allowed:
        return None
    if port in INTERNAL_PORTS:
        return f"port {port} exposes {INTERNAL_PORTS[port]}"
    if target in INTERNAL_PORTS:
        return f"targetPort {target} exposes {INTERNAL_PORTS[target]}"
    if port in declared:
        return None
    name = u.get(entry, "name")
    if isinstance(name, str) and any(part in name.lower() for part in INTERNAL_NAME_PARTS):
        return f"name '{name}' marks an internal endpoint"
    return None


def _validate_gateway(args: ResourceValidationArgs, allowed: frozenset, report_violation) -> None:
    listeners = u.get(args.props, "spec", "listeners")
    if not u.is_list(listeners):
        return
    for index in range(len(listeners)):
        with u.undecided():
            reason = _reason(listeners[index], allowed)
            if reason:
                report_violation(
                    f"spec.listeners[{index}] {reason} on a Gateway, which Envoy Gateway publishes through a "
                    "LoadBalancer Service; p2p shards publish ingress.basePort to ingress.basePort + "
                    "ingress.shardSize - 1, so move ingress.basePort clear of it, or list the port in allowedPorts"
                )


def _validate_route(args: ResourceValidationArgs, allowed: frozenset, report_violation) -> None:
    rules = u.get(args.props, "spec", "rules")
    if not u.is_list(rules):
        return
    for r in range(len(rules)):
        refs = u.get(rules[r], "backendRefs")
        if not u.is_list(refs):
            continue
        for b in range(len(refs)):
            with u.undecided():
                port = u.as_int(u.get(refs[b], "port"))
                if port in INTERNAL_PORTS and port not in allowed:
                    report_violation(
                        f"spec.rules[{r}].backendRefs[{b}] routes a public Gateway listener to port {port}, "
                        f"{INTERNAL_PORTS[port]}; route only p2p ports, or list the port in allowedPorts"
                    )


def validate(args: ResourceValidationArgs, report_violation) -> None:
    if args.resource_type == GATEWAY or args.resource_type in ROUTES:
        settings = u.config(args, CONFIG_SCHEMA)
        if u.object_key(args.props) in u.str_list_setting(settings.get("allowedServices")):
            return
        allowed = u.int_list_setting(settings.get("allowedPorts"))
        (_validate_gateway if args.resource_type == GATEWAY else _validate_route)(args, allowed, report_violation)
        return
    if args.resource_type != SERVICE:
        return
    service_type = u.get(args.props, "spec", "type")
    if service_type not in EXPOSED_TYPES:
        return
    settings = u.config(args, CONFIG_SCHEMA)
    allowed_services = u.str_list_setting(settings.get("allowedServices"))
    if allowed_services and u.object_key(args.props) in allowed_services:
        return
    allowed = u.int_list_setting(settings.get("allowedPorts"))
    annotation = u.get(args.props, "metadata", "annotations", PUBLIC_PORTS_ANNOTATION)
    declared = frozenset(int(p) for p in annotation.split(",") if p.strip().isdigit()) if isinstance(annotation, str) else frozenset()
    ports = u.get(args.props, "spec", "ports")
    if not u.is_list(ports):
        return
    name = u.get(args.props, "metadata", "name")
    shard = isinstance(name, str) and name.startswith(SHARD_PREFIX)
    for index in range(len(ports)):
        with u.undecided():
            reason = _reason(ports[index], allowed, declared)
            if reason and shard:
                report_violation(
                    f"spec.ports[{index}] {reason} on a {service_type} Service; this p2p shard publishes "
                    "ingress.basePort to ingress.basePort + ingress.shardSize - 1, so move ingress.basePort "
                    "clear of it, or list the port in allowedPorts if it must be public"
                )
            elif reason:
                report_violation(
                    f"spec.ports[{index}] {reason} on a {service_type} Service; serve it through a "
                    "ClusterIP Service, or list the port in allowedPorts if it must be public"
                )


POLICY = ResourceValidationPolicy(
    name=NAME,
    description=(
        "LoadBalancer and NodePort Services publish only p2p: no RPC (26657), gRPC (9090), "
        "REST (1317), EVM JSON-RPC (8545/8546), metrics (26660, 9100, 10254, 9115, 9090, 9093) "
        "or dashboards (3000), by port, targetPort or a port name mentioning rpc, grpc, api, "
        "metrics, grafana or prometheus. Gateway listeners and the backend ports of TCP/UDP routes "
        "count as public too. Exceptions go in allowedPorts or allowedServices."
    ),
    validate=u.skip_unknown(validate),
    enforcement_level=EnforcementLevel.MANDATORY,
    config_schema=CONFIG_SCHEMA,
)
