"""Pure builders of the workloads around a Spacemesh network: spacemesh-watch, Pyroscope, the
web services, the gRPC ingress and the PodMonitor.

spacemesh-watch and Pyroscope follow spacecraft (k8s/alerts.go: `--nodes=<grpc>/<miner>,...
--network-name --slack-api-token --slack-channel-name`; k8s/profiler.go: port 4040). The token
reaches the flag through Kubernetes' $(VAR) expansion of a Secret-backed variable, so it is in
no manifest and no state file in plain text.
"""

from __future__ import annotations

from typing import Optional

from components.spacemesh import builder as sb
from pegasus import names
from components.spacemesh.config import SpacemeshSettings

TLS_SECRET = "grpc-tls"
WATCH_SECRET = "spacemesh-watch-slack"
PYROSCOPE_PORT = 4040
POD_MONITOR = "spacemesh-nodes"
_SECURITY = {"allowPrivilegeEscalation": False, "privileged": False, "capabilities": {"drop": ["ALL"]}}


def _deployment(name: str, ns: str, component: str, image: str, replicas: int, ports: list[dict],
                args: Optional[list] = None, env: Optional[list] = None, resources: Optional[dict] = None,
                volumes: Optional[list] = None, mounts: Optional[list] = None) -> dict:
    labels = names.labels(component, name, name=name)
    container: dict = {
        "name": name, "image": image, "imagePullPolicy": "IfNotPresent", "ports": ports,
        "resources": resources or {"requests": {"cpu": "100m", "memory": "256Mi"}, "limits": {"cpu": "1", "memory": "1Gi"}},
        "securityContext": _SECURITY,
    }
    if ports:
        probe = {"tcpSocket": {"port": ports[0]["name"]}, "periodSeconds": 10}
        container["readinessProbe"] = {**probe, "failureThreshold": 3}
        container["livenessProbe"] = {**probe, "initialDelaySeconds": 60, "periodSeconds": 30, "failureThreshold": 10}
    if args:
        container["args"] = args
    if env:
        container["env"] = env
    if mounts:
        container["volumeMounts"] = mounts
    pod: dict = {
        "automountServiceAccountToken": False,
        "securityContext": {"seccompProfile": {"type": "RuntimeDefault"}},
        "containers": [container],
    }
    if volumes:
        pod["volumes"] = volumes
    return {
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": name, "namespace": ns, "labels": labels},
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": names.selector(component, name, name=name)},
            "template": {"metadata": {"labels": labels}, "spec": pod},
        },
    }


def _service(name: str, ns: str, component: str, port: int) -> dict:
    return {
        "apiVersion": "v1", "kind": "Service",
        "metadata": {"name": name, "namespace": ns, "labels": names.labels(component, name, name=name)},
        "spec": {"type": "ClusterIP", "selector": names.selector(component, name, name=name),
                 "ports": [{"name": "http", "port": port, "targetPort": port, "protocol": "TCP"}]},
    }


def watch_nodes(s: SpacemeshSettings, ns: str) -> str:
    return ",".join(f"{sb.service_host(sb.api_service(p), ns)}:{sb.GRPC.port}/{p.name}" for p in sb.plan_nodes(s))


def watch_deployment(s: SpacemeshSettings, ns: str) -> dict:
    args = ["--nodes=" + watch_nodes(s, ns), f"--network-name={s.network}",
            "--slack-api-token=$(SLACK_TOKEN)", f"--slack-channel-name={s.watch.slack_channel}"]
    env = [{"name": "SLACK_TOKEN", "valueFrom": {"secretKeyRef": {"name": WATCH_SECRET, "key": "token"}}}]
    return _deployment("spacemesh-watch", ns, "spacemesh-watch", s.watch.image, 1, [], args=args, env=env)


def pyroscope_url(ns: str) -> str:
    return f"http://{sb.service_host('pyroscope', ns)}:{PYROSCOPE_PORT}"


def pyroscope(ns: str, image: str) -> list[dict]:
    """Pyroscope does not scale out, so it profiles only the miners listed (the seed)."""
    port = [{"name": "http", "containerPort": PYROSCOPE_PORT, "protocol": "TCP"}]
    return [_deployment("pyroscope", ns, "pyroscope", image, 1, port), _service("pyroscope", ns, "pyroscope", PYROSCOPE_PORT)]


PUBLIC_API_ROLE = "public-api"
# The web services (spacemeshos/ws-helm-charts): names and ports of our own workloads.
WEB_SERVICES = (("dashboard-backend", "dashboardImage", 8080), ("explorer-backend", "explorerImage", 5000),
                ("explorer-collector", "collectorImage", 8080))


def web_services(s: SpacemeshSettings, ns: str) -> list[dict]:
    w = s.web_services
    images = {"dashboardImage": w.dashboard_image, "explorerImage": w.explorer_image, "collectorImage": w.collector_image}
    out = []
    for name, key, port in WEB_SERVICES:
        out.append(_deployment(name, ns, "web-services", images[key], w.replicas,
                               [{"name": "http", "containerPort": port, "protocol": "TCP"}],
                               env=[{"name": "SPACEMESH_NODE", "value": f"{sb.service_host('public-api', ns)}:{sb.GRPC.port}"}]))
        out.append(_service(name, ns, "web-services", port))
    # The public API nodes are ChainNodes with volumes (workload_builder.public_api_spec); this
    # Service spreads the APIs over all of them.
    svc = _service("public-api", ns, "web-services", sb.GRPC.port)
    svc["spec"]["selector"] = {sb.ROLE_LABEL: PUBLIC_API_ROLE, "pegasus.spacemesh.io/network": s.network}
    svc["spec"]["ports"] = [{"name": "grpc", "port": sb.GRPC.port, "targetPort": "grpc", "protocol": "TCP"},
                            {"name": "json", "port": sb.JSON_API.port, "targetPort": "json", "protocol": "TCP"}]
    out.append(svc)
    return out


def web_chart(network: str):
    """ingress-nginx 4.15.1 (the chart the validator pins, in charts/), one release per
    network: its cluster-scoped objects are named after the release."""
    from components.kube.chart import Chart
    from components.p2p.ingress_builder import CHART

    return Chart(f"sm-{network}-web", CHART.chart, CHART.version, CHART.repo)


def web_ingress_class(network: str) -> str:
    return f"sm-{network}-web"


def web_controller_selector(network: str) -> dict[str, str]:
    return {"app.kubernetes.io/name": "ingress-nginx", "app.kubernetes.io/instance": web_chart(network).release,
            "app.kubernetes.io/component": "controller"}


def web_controller_values(s: SpacemeshSettings) -> dict:
    """An ingress-nginx of the network's own, for its web APIs. Its public Service is ours
    (web_ingress_service), so the DNS records can read its address."""
    klass = web_ingress_class(s.network)
    return {
        "fullnameOverride": web_chart(s.network).release,
        "controller": {
            "replicaCount": s.web_services.replicas,
            "ingressClass": klass,
            "ingressClassResource": {"name": klass, "enabled": True, "default": False,
                                     "controllerValue": f"pegasus.spacemesh.io/{klass}"},
            # Cluster-wide and judging every Ingress: off, as for the validator's controller.
            "admissionWebhooks": {"enabled": False},
            "service": {"type": "ClusterIP"},
            "allowSnippetAnnotations": False,
            "resources": {"requests": {"cpu": "100m", "memory": "128Mi"}, "limits": {"memory": "512Mi"}},
            "minAvailable": 1,
        },
    }


def web_ingress_service(s: SpacemeshSettings, ns: str, cloud: str, cluster_name: str, allocate_node_ports: bool) -> dict:
    from components.p2p import p2p_builder

    spec = dict(p2p_builder.public_lb_spec(cloud, allocate_node_ports))
    spec["selector"] = web_controller_selector(s.network)
    spec["ports"] = [{"name": "https", "port": 443, "targetPort": "https", "protocol": "TCP"},
                     {"name": "http", "port": 80, "targetPort": "http", "protocol": "TCP"}]
    return {
        "apiVersion": "v1", "kind": "Service",
        "metadata": {"name": "web-ingress", "namespace": ns, "labels": names.labels("web-services", "web-ingress"),
                     "annotations": p2p_builder.public_lb_annotations(cloud, f"pegasus.saga.xyz/cluster={cluster_name},pegasus.spacemesh.io/web={s.network}")},
        "spec": spec,
    }


def http_ingress(s: SpacemeshSettings, ns: str) -> dict:
    """The proxied names: Cloudflare terminates TLS and reaches the origin over HTTP."""
    from components.spacemesh.publish_builder import api_host

    routes = (("api-json", "public-api", sb.JSON_API.port), ("explorer-api", "explorer-backend", 5000),
              ("dash-api", "dashboard-backend", 8080))
    return {
        "apiVersion": "networking.k8s.io/v1", "kind": "Ingress",
        "metadata": {"name": "http", "namespace": ns, "labels": names.labels("web-services", "http")},
        "spec": {
            "ingressClassName": web_ingress_class(s.network),
            "rules": [{"host": api_host(s, prefix), "http": {"paths": [{"path": "/", "pathType": "Prefix", "backend": {
                "service": {"name": svc, "port": {"number": port}}}}]}} for prefix, svc, port in routes],
        },
    }


def grpc_ingress(s: SpacemeshSettings, ns: str) -> dict:
    """Cloudflare cannot proxy gRPC, so TLS for api-<network> ends here, from a Secret."""
    from components.spacemesh.publish_builder import api_host

    host = api_host(s, "api")
    return {
        "apiVersion": "networking.k8s.io/v1", "kind": "Ingress",
        "metadata": {"name": "grpc", "namespace": ns, "labels": names.labels("web-services", "grpc"),
                     "annotations": {"nginx.ingress.kubernetes.io/backend-protocol": "GRPC"}},
        "spec": {
            "ingressClassName": web_ingress_class(s.network),
            "tls": [{"hosts": [host], "secretName": TLS_SECRET}],
            "rules": [{"host": host, "http": {"paths": [{"path": "/", "pathType": "Prefix", "backend": {
                "service": {"name": "public-api", "port": {"number": sb.GRPC.port}}}}]}}],
        },
    }


def pod_monitor(scrape_interval: str) -> dict:
    return {
        "apiVersion": "monitoring.coreos.com/v1", "kind": "PodMonitor",
        "metadata": {"name": POD_MONITOR, "namespace": names.METRICS_NAMESPACE, "labels": names.labels("monitoring", POD_MONITOR)},
        "spec": {
            "namespaceSelector": {"any": True},
            "selector": {"matchLabels": {"app.kubernetes.io/component": sb.COMPONENT}},
            "podMetricsEndpoints": [{"port": sb.METRICS.name, "interval": scrape_interval, "path": "/metrics",
                                     "relabelings": [{"sourceLabels": ["__meta_kubernetes_pod_label_pegasus_spacemesh_io_role"], "targetLabel": "role"}]}],
        },
    }
