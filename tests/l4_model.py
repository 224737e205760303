"""How Kubernetes and ingress-nginx turn our objects into nginx's L4 servers, as a model to
test our manifests against. Each step follows the upstream code it names:

- the EndpointSlice controller gives a pod's endpoint `ready = publishNotReadyAddresses ||
  podReady` (kubernetes pkg/controller/endpointslice, podToEndpoint);
- ingress-nginx `getStreamServices` (internal/ingress/controller/controller.go, v1.15.1)
  parses `<port>: <namespace>/<service>:<port>`, looks for a Service port with that number
  *and* the ConfigMap's protocol, and skips the entry when it yields no endpoint;
- `getEndpointsFromSlices` (endpointslices.go) skips endpoints whose Ready is false;
- `IsDynamicConfigurationEnough` (pkg/util/ingress) compares the L4 lists without their
  endpoints: a different (port, backend) set means a full nginx reload.
"""

from __future__ import annotations

from typing import Mapping


def endpoint_ready(service: dict, pod_ready: bool) -> bool:
    return bool(service["spec"].get("publishNotReadyAddresses")) or pod_ready


def l4_servers(data: Mapping[str, str], protocol: str, services: Mapping[str, dict],
               pod_ready: Mapping[str, bool]) -> set[tuple[int, str]]:
    """(listen port, "ns/svc:port") of every server nginx gets. `services` and `pod_ready`
    are keyed by "namespace/name" (one pod behind each Service)."""
    out = set()
    for port, ref in data.items():
        ns_name, svc_port = ref.split(":")[:2]
        svc = services.get(ns_name)
        if svc is None:
            continue
        match = [p for p in svc["spec"]["ports"] if p["port"] == int(svc_port) and p.get("protocol", "TCP") == protocol]
        if not match:
            continue
        if not endpoint_ready(svc, pod_ready.get(ns_name, False)):
            continue  # no endpoint: the entry is dropped
        out.add((int(port), ref))
    return out
