"""Pure builders of the provider blueprint (design document 003): KEDA and its HTTP add-on,
the route from pod hosts to the add-on's interceptor, and every tenant pod's objects.

Object names inside a tenant namespace follow the original provider client
(comrade-coop/trusted-pods pkg/kubernetes/pods.go and utils.go: tpod-dep-<hash>,
tpod-svc-<port>, tpod-hso, tpod-pvc-<volume>, tpod-secret-<volume>), so its tools find them.
"""

from __future__ import annotations

import base64
import json
from typing import Mapping, Optional

from components.kube.chart import Chart
from pegasus import names
from pegasus.keccak import keccak256
from components.provider.manifests import Container, PodManifest, Port, Volume

KEDA_REPO = "https://kedacore.github.io/charts"
KEDA_CHART = Chart("keda", "keda", "2.20.2", KEDA_REPO)
HTTP_ADDON_CHART = Chart("keda-add-ons-http", "keda-add-ons-http", "0.15.0", KEDA_REPO)
KEDA_NAMESPACE = "keda"
# The add-on's proxy Service: "<chart name>-<interceptor.proxy.service>", port
# interceptor.proxy.port (templates/interceptor/service-proxy.yaml, values.yaml of 0.15.0).
INTERCEPTOR_SERVICE = "keda-add-ons-http-interceptor-proxy"
INTERCEPTOR_PORT = 8080
# The interceptor pods' labels (the proxy Service's selector).
INTERCEPTOR_LABELS = {"app.kubernetes.io/component": "interceptor", "app.kubernetes.io/name": "http-add-on"}
POD_HOSTS_INGRESS = "pegasus-pod-hosts"
CUSTOM_HOSTS_INGRESS = "pegasus-custom-hosts"

NAMESPACE_PREFIX = "tpod-"
# The original's namespace label and payment-channel annotation (pkg/kubernetes/namespaces.go).
TPOD_NAMESPACE_LABEL = "coop.comrade/trusted-pods-namespace"
PAYMENT_CHANNEL_ANNOTATION = "coop.comrade/trusted-pods-payment-contract"
TENANT_COMPONENT = "tenant-pod"
HSO_NAME = "tpod-hso"
NETWORK_POLICY_NAME = "tpod-isolation"
QUOTA_NAME = "tpod-quota"
DEFAULT_CONCURRENCY = 100  # the add-on's default target when a manifest names none
# ingress-nginx closes a proxied request after proxy-read-timeout (60 s by default,
# internal/ingress/controller/config/config.go of controller v1.15.1) and answers 504; the
# interceptor holds a request while its pod scales up from zero (readinessTimeout unset in the
# add-on's values: no limit), so the route must outwait a cold start: an image pull and a slow
# boot. Annotation names: internal/ingress/annotations/proxy/main.go, integer seconds.
COLD_START_SECONDS = 300
INGRESS_TIMEOUT_ANNOTATIONS = {
    "nginx.ingress.kubernetes.io/proxy-read-timeout": str(COLD_START_SECONDS),
    "nginx.ingress.kubernetes.io/proxy-send-timeout": str(COLD_START_SECONDS),
}


def namespace_name(publisher: str, pod_id: str) -> str:
    """tpod-<lowercase unpadded base32 of keccak256(publisher || podId)>: the 20 address bytes
    then the 32 podId bytes, RFC 4648 base32 (Go's base32.StdEncoding), as the original's
    namespaceFromTokenParts (pkg/proto/protoconnect/interceptors.go)."""
    digest = keccak256(bytes.fromhex(publisher[2:]) + bytes.fromhex(pod_id[2:]))
    return NAMESPACE_PREFIX + base64.b32encode(digest).decode().lower().rstrip("=")


def deployment_name(namespace: str) -> str:
    # The original: "tpod-dep-" + the namespace's hash part.
    return "tpod-dep-" + namespace[len(NAMESPACE_PREFIX):]


def service_name(port: Port) -> str:
    return f"tpod-svc-{port.name}"


def claim_name(volume: Volume) -> str:
    return f"tpod-pvc-{volume.name}"


def secret_name(volume: Volume) -> str:
    return f"tpod-secret-{volume.name}"


def container_port_name(index: int, port: Port) -> str:
    return f"p{index}-{port.container_port}"


def labels(pod: PodManifest) -> dict[str, str]:
    return names.labels(TENANT_COMPONENT, pod.name)


def selector(pod: PodManifest) -> dict[str, str]:
    return names.selector(TENANT_COMPONENT, pod.name)


# --- platform -----------------------------------------------------------------------------


def keda_values(webhooks: bool) -> dict:
    """KEDA's admission webhooks (ValidatingWebhookConfiguration) and its metrics API server
    (APIService v1beta1.external.metrics.k8s.io) are both called by the API server. Where the
    API server cannot reach pods (the e2e cluster), `webhooks: false` turns both off: KEDA
    still scales 0 <-> 1 itself, but no HPA can scale beyond one replica without the metrics
    server, so real clusters keep it."""
    return {
        "webhooks": {"enabled": webhooks},
        "metricsServer": {"enabled": webhooks},
    }


def http_addon_values(interceptor_replicas: int) -> dict:
    return {
        # KEDA's CRDs come from the keda release; the add-on brings only its own two.
        "crds": {"install": True},
        "interceptor": {"replicas": {"min": interceptor_replicas}},
        "operator": {"watchNamespace": ""},
    }


def pod_hosts_ingress(suffix: str, ingress_class: str) -> dict:
    """One wildcard rule: every host under the suffix goes to the interceptor, which routes by
    Host to the pod's Service (and holds the request while the pod scales up from zero). A
    pod added or removed never changes this object, so ingress-nginx never reloads for it."""
    return {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "Ingress",
        # Not awaited: the route is in force once the API server holds it, and the address it
        # would report is the controller Service's, which the release already waits for.
        "metadata": {"name": POD_HOSTS_INGRESS, "namespace": KEDA_NAMESPACE,
                     "labels": names.labels("pod-hosts", POD_HOSTS_INGRESS),
                     "annotations": {names.SKIP_AWAIT: "true", **INGRESS_TIMEOUT_ANNOTATIONS}},
        "spec": {
            "ingressClassName": ingress_class,
            "rules": [{
                "host": f"*.{suffix}",
                "http": {"paths": [{"path": "/", "pathType": "Prefix", "backend": {
                    "service": {"name": INTERCEPTOR_SERVICE, "port": {"number": INTERCEPTOR_PORT}}}}]},
            }],
        },
    }


def custom_hosts_ingress(hosts: list[str], ingress_class: str) -> Optional[dict]:
    """Pods' own domain names (not under the suffix): one rule each, to the interceptor, with
    the same cold-start timeouts. Unlike the wildcard, adding or removing such a pod changes
    this object, and ingress-nginx reloads once for it."""
    if not hosts:
        return None
    backend = {"service": {"name": INTERCEPTOR_SERVICE, "port": {"number": INTERCEPTOR_PORT}}}
    return {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "Ingress",
        "metadata": {"name": CUSTOM_HOSTS_INGRESS, "namespace": KEDA_NAMESPACE,
                     "labels": names.labels("pod-hosts", CUSTOM_HOSTS_INGRESS),
                     "annotations": {names.SKIP_AWAIT: "true", **INGRESS_TIMEOUT_ANNOTATIONS}},
        "spec": {
            "ingressClassName": ingress_class,
            "rules": [{"host": h, "http": {"paths": [{"path": "/", "pathType": "Prefix", "backend": backend}]}}
                      for h in sorted(hosts)],
        },
    }


def custom_hosts(pods, suffix: str) -> list[str]:
    return sorted(p.http_port[1].http_host for p in pods
                  if p.http_port and not p.http_port[1].http_host.endswith("." + suffix))


def split_hosts(pods, funded: set[str], suffix: str) -> tuple[list[str], list[str]]:
    """(custom hosts of funded pods, every host of an exhausted pod): an exhausted pod's host
    answers the payment-required page, so it must not also be a custom-host rule."""
    paid = custom_hosts([p for p in pods if p.name in funded], suffix)
    unpaid = sorted(p.http_port[1].http_host for p in pods if p.http_port and p.name not in funded)
    return paid, unpaid


# --- tenant pods --------------------------------------------------------------------------


def _chain_id_bytes(chain_id: int) -> bytes:
    return chain_id.to_bytes(max(1, (chain_id.bit_length() + 7) // 8), "big")


def payment_channel_annotation(pod: PodManifest, chain_id: int, contract: str, provider: str) -> str:
    """The PaymentChannel message in protojson (bytes as base64), as the original annotates."""
    b64 = lambda raw: base64.b64encode(raw).decode()  # noqa: E731
    hexb = lambda h: bytes.fromhex(h[2:])  # noqa: E731
    return json.dumps({
        "chainID": b64(_chain_id_bytes(chain_id)),
        "contractAddress": b64(hexb(contract)),
        "publisherAddress": b64(hexb(pod.publisher)),
        "providerAddress": b64(hexb(provider)),
        "podID": b64(hexb(pod.pod_id)),
    }, separators=(",", ":"))


def namespace(pod: PodManifest, ns: str, channel: str, restricted: bool = False, extra_labels: Optional[Mapping] = None) -> dict:
    return {
        "apiVersion": "v1",
        "kind": "Namespace",
        "metadata": {
            "name": ns,
            "labels": {
                **labels(pod),
                TPOD_NAMESPACE_LABEL: "true",
                # Tenant images are strangers' code: no privileged pods, host namespaces or host
                # paths; restricted (non-root, no capabilities) where the operator opted the pod in.
                "pod-security.kubernetes.io/enforce": "restricted" if restricted else "baseline",
                **(extra_labels or {}),
            },
            "annotations": {PAYMENT_CHANNEL_ANNOTATION: channel},
        },
    }


def _container(c: Container, index: int, volumes: dict[str, Volume], restricted: bool = False) -> dict:
    out: dict = {"name": c.name, "image": c.image}
    if c.entrypoint:
        out["command"] = list(c.entrypoint)
    if c.command:
        out["args"] = list(c.command)
    if c.working_dir:
        out["workingDir"] = c.working_dir
    if c.ports:
        out["ports"] = [{"name": container_port_name(index, p), "containerPort": p.container_port, "protocol": "TCP"}
                        for p in c.ports]
    if c.env:
        out["env"] = [{"name": k, "value": v} for k, v in c.env]
    if c.volume_mounts:
        mounts = []
        for m in c.volume_mounts:
            mount = {"name": m.name, "mountPath": m.mount_path}
            if m.read_only:
                mount["readOnly"] = True
            if volumes[m.name].type == "VOLUME_SECRET":
                mount["subPath"] = "data"  # the original mounts the secret's one key as a file
            mounts.append(mount)
        out["volumeMounts"] = mounts
    # Limits equal to requests (Guaranteed QoS for cpu and memory): a tenant gets what its
    # channel pays for and cannot take a neighbour's share. An extended resource (a GPU) must
    # have a limit equal to its request or the API server refuses the pod.
    requests = dict(c.requests)
    out["resources"] = {"requests": requests, "limits": dict(requests)}
    # What any image tolerates: no new privileges and no raw sockets (ping, packet crafting).
    # Dropping every capability would break images that bind low ports or switch users.
    out["securityContext"] = {"allowPrivilegeEscalation": False, "capabilities": {"drop": ["ALL" if restricted else "NET_RAW"]}}
    return out


def _volume(v: Volume) -> dict:
    if v.type == "VOLUME_FILESYSTEM":
        return {"name": v.name, "persistentVolumeClaim": {"claimName": claim_name(v)}}
    if v.type == "VOLUME_SECRET":
        return {"name": v.name, "secret": {"secretName": secret_name(v)}}
    return {"name": v.name, "emptyDir": {}}


def has_tcp(pod: PodManifest) -> bool:
    return any(p.tcp_node_port is not None for c in pod.containers for p in c.ports)


def min_replicas(pod: PodManifest) -> int:
    """The fewest replicas the pod may run. The scaler wakes a pod on an HTTP request only:
    a TCP connection to a NodePort never does, and KEDA would scale a pod with connected TCP
    clients (players of pods/game.json) to zero when its HTTP side idles. So a pod with a TCP
    port, like a pod without an HTTP host, never goes below one."""
    if pod.http_port is None or has_tcp(pod):
        return max(1, pod.replicas.min)
    return pod.replicas.min


def deployment_replicas(pod: PodManifest) -> int:
    """min_replicas: 0 for a pure HTTP pod that may idle (the scaler owns the count and wakes
    it on the first request); a pod the scaler cannot wake starts at its minimum."""
    return min_replicas(pod)


def rollout_surge(pod: PodManifest) -> int:
    """Extra pods a rollout runs next to the old ones: 1 (RollingUpdate, maxSurge 1), or 0
    where a ReadWriteOnce volume forbids a second pod (Recreate). The quota leaves room for it."""
    return 0 if _recreate(pod) else 1


def _recreate(pod: PodManifest) -> bool:
    return any(v.type == "VOLUME_FILESYSTEM" and v.access_mode == "ReadWriteOnce" for v in pod.volumes)


def deployment_strategy(pod: PodManifest) -> dict:
    if _recreate(pod):
        # The new pod needs the volume the old one holds: it can only start once the old one is gone.
        return {"type": "Recreate"}
    return {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": rollout_surge(pod), "maxUnavailable": 0}}


def deployment(pod: PodManifest, ns: str, restricted: bool = False, placement: Optional[Mapping] = None) -> dict:
    """restricted: what the restricted Pod Security level requires on top of baseline
    (tests/provider/upstream/pod_security_restricted.json): runAsNonRoot and every capability
    dropped. The kubelet then refuses an image whose user is root (or a name it cannot check),
    so it is the operator's opt-in per pod (provider.restrictedPods)."""
    volumes = {v.name: v for v in pod.volumes}
    security: dict = {"seccompProfile": {"type": "RuntimeDefault"}}
    if restricted:
        security["runAsNonRoot"] = True
    spec: dict = {
        "automountServiceAccountToken": False,
        "enableServiceLinks": False,
        "securityContext": security,
        # Containers of one pod reach each other by name, as in the original.
        "hostAliases": [{"ip": "127.0.0.1", "hostnames": [c.name for c in pod.containers]}],
        "containers": [_container(c, i, volumes, restricted) for i, c in enumerate(pod.containers)],
    }
    if pod.volumes:
        spec["volumes"] = [_volume(v) for v in pod.volumes]
    spec.update(placement or {})  # tenant nodes (tenant_nodes_builder.placement), where the stack has them
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        # Not awaited: a tenant's crash-looping image must not fail the run that carries every
        # other tenant's change. Its health shows in the stack's `pods` output and on the
        # tenant dashboard (kube-state-metrics), not as a failed `up`.
        "metadata": {"name": deployment_name(ns), "namespace": ns, "labels": labels(pod),
                     "annotations": {names.SKIP_AWAIT: "true"}},
        "spec": {
            "replicas": deployment_replicas(pod),
            "strategy": deployment_strategy(pod),
            "selector": {"matchLabels": selector(pod)},
            "template": {"metadata": {"labels": labels(pod)}, "spec": spec},
        },
    }


def services(pod: PodManifest, ns: str, node_ports: bool = True) -> list[dict]:
    """One Service per port: ClusterIP for the HTTP port (the interceptor calls it) and for
    internal ports, NodePort for a hostTcpPort (0: Kubernetes picks the port) unless the pod's
    load balancer publishes it (node_ports false: tcp_builder.load_balancer)."""
    out = []
    for i, c in enumerate(pod.containers):
        for p in c.ports:
            port: dict = {"name": p.name, "port": p.service_port, "targetPort": container_port_name(i, p), "protocol": "TCP"}
            kind = "ClusterIP"
            if p.tcp_node_port is not None and node_ports:
                kind = "NodePort"
                if p.tcp_node_port:
                    port["nodePort"] = p.tcp_node_port
            out.append({
                "apiVersion": "v1",
                "kind": "Service",
                "metadata": {"name": service_name(p), "namespace": ns, "labels": labels(pod)},
                "spec": {"type": kind, "selector": selector(pod), "ports": [port]},
            })
    return out


def addresses(pod: PodManifest) -> list[dict]:
    """Where each exposed port answers, as the original's ProvisionPodResponse.addresses
    (pkg/kubernetes/pods.go: multiaddr "http/<host>" or "tcp/<nodePort>", containerName,
    containerPort). A TCP port's `nodePort` is None here when Kubernetes allocates it (0 in
    the manifest): the component fills it from the Service."""
    out = []
    for c in pod.containers:
        for p in c.ports:
            if p.http_host:
                out.append({"multiaddr": f"http/{p.http_host}", "containerName": c.name, "containerPort": p.container_port})
            elif p.tcp_node_port is not None:
                out.append({"service": service_name(p), "nodePort": p.tcp_node_port or None,
                            "containerName": c.name, "containerPort": p.container_port})
    return out


def http_scaled_object(pod: PodManifest, ns: str) -> Optional[dict]:
    """The add-on's HTTPScaledObject in its v0.15.0 shape: scaleTargetRef names the workload
    by name/kind/apiVersion (the `deployment` field the original writes was removed in v0.9)
    and the Service and port the interceptor forwards to; scalingMetric replaces the
    deprecated targetPendingRequests."""
    http = pod.http_port
    if http is None:
        return None
    _, port = http
    target = pod.replicas.target_pending_requests or DEFAULT_CONCURRENCY
    return {
        "apiVersion": "http.keda.sh/v1alpha1",
        "kind": "HTTPScaledObject",
        "metadata": {"name": HSO_NAME, "namespace": ns, "labels": labels(pod)},
        "spec": {
            "hosts": [port.http_host],
            "scaleTargetRef": {
                "name": deployment_name(ns),
                "kind": "Deployment",
                "apiVersion": "apps/v1",
                "service": service_name(port),
                "port": port.service_port,
            },
            "replicas": {"min": min_replicas(pod), "max": pod.replicas.max},
            "scalingMetric": {"concurrency": {"targetValue": target}},
        },
    }


# Egress a tenant never gets: the cluster's and the VPC's private ranges (other tenants,
# Prometheus and Alertmanager, the nodes, the cloud's internal services), carrier-grade NAT,
# and link-local (169.254.169.254 is the cloud metadata service: node credentials).
PRIVATE_RANGES = ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "100.64.0.0/10", "169.254.0.0/16", "127.0.0.0/8")
# GKE's NodeLocal DNSCache answers on this link-local address (kubernetes.io docs, nodelocaldns).
NODE_LOCAL_DNS = "169.254.20.10/32"
DNS_PORTS = [{"port": 53, "protocol": "UDP"}, {"port": 53, "protocol": "TCP"}]


def network_policy(pod: PodManifest, ns: str) -> dict:
    """Ingress only from the interceptor and from the pod's own namespace. A TCP port (NodePort,
    or the pod's load balancer on eks/gke) is public by design, so it alone is open to any source; every other port of the pod stays closed.
    Egress: DNS (kube-system, or the node-local cache), the pod's own namespace, and public
    addresses only: the upstream manifest has no field to declare more, and a tenant that
    reaches private addresses reaches other tenants and the unauthenticated metrics stack."""
    rules: list[dict] = [
        {"from": [{"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": KEDA_NAMESPACE}},
                   "podSelector": {"matchLabels": dict(INTERCEPTOR_LABELS)}}]},
        {"from": [{"podSelector": {}}]},
    ]
    tcp = [{"port": p.container_port, "protocol": "TCP"} for c in pod.containers for p in c.ports if p.tcp_node_port is not None]
    if tcp:
        rules.append({"from": [{"ipBlock": {"cidr": "0.0.0.0/0"}}], "ports": tcp})
    egress = [
        {"to": [{"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "kube-system"}}},
                {"ipBlock": {"cidr": NODE_LOCAL_DNS}}], "ports": DNS_PORTS},
        {"to": [{"podSelector": {}}]},
        {"to": [{"ipBlock": {"cidr": "0.0.0.0/0", "except": list(PRIVATE_RANGES)}}]},
    ]
    return {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "NetworkPolicy",
        "metadata": {"name": NETWORK_POLICY_NAME, "namespace": ns, "labels": labels(pod)},
        "spec": {"podSelector": {}, "policyTypes": ["Ingress", "Egress"], "ingress": rules, "egress": egress},
    }


def _millis(quantity: str) -> int:
    return int(quantity[:-1]) if quantity.endswith("m") else int(quantity) * 1000


def _from_millis(millis: int) -> str:
    return str(millis // 1000) if millis % 1000 == 0 else f"{millis}m"


def _storage_bytes(quantity: str) -> int:
    # The manifest reader turns storage into whole bytes (an integer, no suffix); suffixes are
    # accepted for quantities written by hand in tests.
    units = {"": 1, "k": 10**3, "M": 10**6, "G": 10**9, "T": 10**12, "Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "Ti": 2**40}
    digits = quantity.rstrip("kMGTi")
    return int(digits) * units[quantity[len(digits):]]


def resource_quota(pod: PodManifest, ns: str, services_: Optional[list[dict]] = None) -> dict:
    """What the pod may use at its maximum scale during a rollout: its requests times
    (replicas.max + the rollout's surge), its volumes' storage, and its Services. Without the
    surge a change to a pod at max replicas is refused by the quota and the rollout never
    finishes. Extended resources have a requests.* quota only (a limits.* quota of one is
    refused by the API server)."""
    pods = pod.replicas.max + rollout_surge(pod)
    totals: dict[str, int] = {}
    for c in pod.containers:
        for resource, quantity in c.requests:
            totals[resource] = totals.get(resource, 0) + _millis(quantity) * pods
    hard = {f"requests.{r}": _from_millis(m) for r, m in sorted(totals.items())}
    hard.update({f"limits.{r}": _from_millis(totals[r]) for r in ("cpu", "memory", "ephemeral-storage") if r in totals})
    claims = [v for v in pod.volumes if v.type == "VOLUME_FILESYSTEM"]
    hard["persistentvolumeclaims"] = str(len(claims))
    hard["requests.storage"] = str(sum(_storage_bytes(v.storage) for v in claims))
    # Counted from the Services the pod gets (services(), plus its load balancer where one
    # publishes its TCP ports): a LoadBalancer takes a NodePort per port unless it says not to.
    svcs = services(pod, ns) if services_ is None else services_
    lbs = [svc["spec"] for svc in svcs if svc["spec"]["type"] == "LoadBalancer"]
    hard["services"] = str(len(svcs))
    hard["services.nodeports"] = str(sum(len(svc["spec"]["ports"]) for svc in svcs if svc["spec"]["type"] == "NodePort")
                                     + sum(len(lb["ports"]) for lb in lbs if lb.get("allocateLoadBalancerNodePorts", True)))
    hard["services.loadbalancers"] = str(len(lbs))
    return {
        "apiVersion": "v1",
        "kind": "ResourceQuota",
        "metadata": {"name": QUOTA_NAME, "namespace": ns, "labels": labels(pod)},
        "spec": {"hard": hard},
    }


def claims(pod: PodManifest, ns: str, storage_class: Optional[str]) -> list[dict]:
    out = []
    for v in pod.volumes:
        if v.type != "VOLUME_FILESYSTEM":
            continue
        spec: dict = {"accessModes": [v.access_mode], "resources": {"requests": {"storage": v.storage}}}
        if storage_class:
            spec["storageClassName"] = storage_class
        out.append({
            "apiVersion": "v1",
            "kind": "PersistentVolumeClaim",
            # A class that binds on first use (gp3, pd-balanced) leaves the claim of a pod at
            # zero replicas Pending: Pulumi must not wait for Bound.
            "metadata": {"name": claim_name(v), "namespace": ns, "labels": labels(pod),
                         "annotations": {names.SKIP_AWAIT: "true"}},
            "spec": spec,
        })
    return out


def secret_volumes(pod: PodManifest) -> list[Volume]:
    return [v for v in pod.volumes if v.type == "VOLUME_SECRET"]


def secret_metadata(pod: PodManifest, ns: str, volume: Volume) -> dict:
    """The Secret's metadata; its one key `data` comes from a Pulumi secret in the component."""
    return {"name": secret_name(volume), "namespace": ns, "labels": labels(pod)}
