"""Pure builders for monitoring: chart values, chain alerts, scrape and probe objects,
Alertmanager routing and Grafana dashboards as code.

Metric names are CometBFT's (namespace `cometbft`, label `chain_id` on every series,
consensus/metrics.go and mempool/metrics.go at v0.38), kube-state-metrics' and
ingress-nginx's. Chainlets live in `saga-*` namespaces and the platform chain in
`sagasrv-spc`, so one rule set serves both through a namespace matcher.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Optional

from components.kube.chart import Chart
from components.monitoring.alerts_builder import (
    ALERTING_SECRET,
    ALERTMANAGER_CONFIG,
    CHAIN_POD_MONITOR,
    INHIBIT_RULES,
    alertmanager_config,
    prometheus_rules,
)
from pegasus import names
from pegasus.config import MonitoringSettings

PROMETHEUS_COMMUNITY = "https://prometheus-community.github.io/helm-charts"
# prometheus-operator v0.93.1: the CRDs in schemas/crds.
KPS_CHART = Chart(names.MONITORING_RELEASE, "kube-prometheus-stack", "88.5.3", PROMETHEUS_COMMUNITY)
KPS_FULLNAME = "kps"
BLACKBOX_CHART = Chart(names.BLACKBOX_RELEASE, "prometheus-blackbox-exporter", "11.17.2", PROMETHEUS_COMMUNITY)  # v0.28.0
BLACKBOX_SERVICE = "blackbox-exporter"
BLACKBOX_PORT = 9115
GRAFANA_SERVICE = "grafana"
GRAFANA_ADMIN_SECRET = "pegasus-grafana-admin"
DASHBOARD_FOLDER = "Pegasus"



def grafana_url() -> str:
    return f"http://{GRAFANA_SERVICE}.{names.METRICS_NAMESPACE}.svc.cluster.local"


# ----------------------------------------------------------------------------- values


def kps_values(settings: MonitoringSettings, storage_class: Optional[str], grafana_admin_secret: bool) -> dict:
    storage: dict = {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": settings.storage_size}}}
    if storage_class:
        storage["storageClassName"] = storage_class
    grafana: dict = {
        "fullnameOverride": GRAFANA_SERVICE,
        "sidecar": {
            "dashboards": {
                "enabled": True,
                "label": names.GRAFANA_DASHBOARD_LABEL,
                "labelValue": "1",
                "searchNamespace": "ALL",
                "folderAnnotation": names.GRAFANA_FOLDER_ANNOTATION,
                # Without this Grafana ignores the folder the sidecar writes into.
                "provider": {"foldersFromFilesStructure": True},
            }
        },
    }
    if grafana_admin_secret:
        grafana["admin"] = {"existingSecret": GRAFANA_ADMIN_SECRET, "userKey": "admin-user", "passwordKey": "admin-password"}
    return {
        "fullnameOverride": KPS_FULLNAME,
        "prometheus": {
            "prometheusSpec": {
                "retention": settings.retention,
                "storageSpec": {"volumeClaimTemplate": {"spec": storage}},
                # Select our rules and monitors without the chart's `release` label.
                "ruleSelectorNilUsesHelmValues": False,
                "serviceMonitorSelectorNilUsesHelmValues": False,
                "podMonitorSelectorNilUsesHelmValues": False,
                "probeSelectorNilUsesHelmValues": False,
                "scrapeConfigSelectorNilUsesHelmValues": False,
            }
        },
        "alertmanager": {
            "alertmanagerSpec": {
                # Our AlertmanagerConfig becomes the global config, so its routes see alerts
                # from every namespace (no namespace matcher is added).
                "alertmanagerConfiguration": {"name": ALERTMANAGER_CONFIG},
            }
        },
        "grafana": grafana,
        **({} if settings.admission_webhooks else {
            # The webhook job also makes the operator's serving certificate: without the
            # webhooks the operator must serve plain HTTP, or its pod cannot mount the secret.
            "prometheusOperator": {"admissionWebhooks": {"enabled": False}, "tls": {"enabled": False}},
        }),
    }


def blackbox_values() -> dict:
    return {
        "fullnameOverride": BLACKBOX_SERVICE,
        "config": {"modules": {"tcp_connect": {"prober": "tcp", "timeout": "5s"}}},
        "resources": {"requests": {"cpu": "50m", "memory": "64Mi"}, "limits": {"memory": "128Mi"}},
    }


# ----------------------------------------------------------------------------- scraping


def chain_pod_monitor(scrape_interval: str) -> dict:
    """One PodMonitor for every chain pod, chainlets included: no per-chainlet object."""
    return {
        "apiVersion": "monitoring.coreos.com/v1",
        "kind": "PodMonitor",
        "metadata": {"name": CHAIN_POD_MONITOR, "namespace": names.METRICS_NAMESPACE, "labels": names.labels("monitoring", CHAIN_POD_MONITOR)},
        "spec": {
            "namespaceSelector": {"any": True},
            "selector": {"matchExpressions": [{
                "key": "app.kubernetes.io/component", "operator": "In", "values": [names.CHAINLET_COMPONENT, names.PLATFORM_CHAIN_COMPONENT],
            }]},
            "podMetricsEndpoints": [{
                "port": "metrics", "interval": scrape_interval, "path": "/metrics",
                # The alerts need to know which pods sign and which chains create empty blocks.
                "relabelings": [
                    {"sourceLabels": [_meta_label(names.SIGNER_LABEL)], "targetLabel": "signer"},
                    {"sourceLabels": [_meta_label(names.CREATE_EMPTY_BLOCKS_LABEL)], "targetLabel": "create_empty_blocks"},
                ],
            }],
        },
    }


def _meta_label(label: str) -> str:
    """Prometheus' name for a pod label in Kubernetes service discovery."""
    return "__meta_kubernetes_pod_label_" + "".join(c if c.isalnum() else "_" for c in label)


def ingress_service_monitor(scrape_interval: str) -> dict:
    return {
        "apiVersion": "monitoring.coreos.com/v1",
        "kind": "ServiceMonitor",
        "metadata": {"name": "pegasus-ingress-nginx", "namespace": names.METRICS_NAMESPACE, "labels": names.labels("monitoring", "pegasus-ingress-nginx")},
        "spec": {
            "namespaceSelector": {"matchNames": [names.INGRESS_NAMESPACE]},
            "selector": {"matchLabels": dict(names.INGRESS_CONTROLLER_SELECTOR)},
            "endpoints": [{"port": "metrics", "interval": scrape_interval}],
        },
    }


@dataclass(frozen=True)
class ProbeTarget:
    chain_id: str
    namespace: str
    port: int


@dataclass(frozen=True)
class Prober:
    """A blackbox exporter that runs the probes. In-cluster probes do not always cross the
    load balancer: kube-proxy (iptables and IPVS) and most CNIs short-circuit traffic from
    inside the cluster to a LoadBalancer's status IP straight to the Service's endpoints,
    which is what happens on gke and with MetalLB (AWS NLBs publish a hostname, so eks is not
    affected). A prober outside the cluster sees what peers see."""

    name: str  # the `prober` label: in-cluster | external
    scheme: str
    address: str  # host:port
    path_prefix: str = ""
    auth_secret: Optional[str] = None  # Secret in sagasrv-metrics with username and password


IN_CLUSTER_PROBER = Prober("in-cluster", "http", f"{BLACKBOX_SERVICE}.{names.METRICS_NAMESPACE}.svc:{BLACKBOX_PORT}")


def external_prober(settings: MonitoringSettings) -> Optional[Prober]:
    url = settings.external_prober_url
    if not url:
        return None
    scheme, rest = url.split("://", 1)
    address, _, path = rest.partition("/")
    if ":" not in address:
        address += ":443" if scheme == "https" else ":80"
    return Prober("external", scheme, address, ("/" + path).rstrip("/") if path else "", settings.external_prober_auth_secret)


def p2p_scrape_config(name: str, host: Any, targets: list[ProbeTarget] | tuple[ProbeTarget, ...], interval: str,
                      labels: Optional[dict[str, str]] = None, prober: Prober = IN_CLUSTER_PROBER) -> dict:
    """Blackbox TCP probes of public p2p endpoints. One object per shard and prober, listing
    every assigned slot (online or not), so a chainlet going offline or coming back does not
    touch it; the alert skips chainlets scaled to zero."""
    groups = [
        {
            "targets": [_join(host, t.port)],
            "labels": {"chain_id": t.chain_id, "chainlet_namespace": t.namespace, **(labels or {}), "prober": prober.name},
        }
        for t in targets
    ]
    spec: dict = {
        "metricsPath": f"{prober.path_prefix}/probe",
        "params": {"module": ["tcp_connect"]},
        "scrapeInterval": interval,
        "staticConfigs": groups,
        "relabelings": [
            {"sourceLabels": ["__address__"], "targetLabel": "__param_target"},
            {"sourceLabels": ["__param_target"], "targetLabel": "instance"},
            {"targetLabel": "__address__", "replacement": prober.address},
        ],
    }
    if prober.scheme != "http":
        spec["scheme"] = prober.scheme.upper()
    if prober.auth_secret:
        spec["basicAuth"] = {
            "username": {"name": prober.auth_secret, "key": "username"},
            "password": {"name": prober.auth_secret, "key": "password"},
        }
    full_name = name if prober is IN_CLUSTER_PROBER else f"{name}-{prober.name}"
    return {
        "apiVersion": "monitoring.coreos.com/v1alpha1",
        "kind": "ScrapeConfig",
        "metadata": {"name": full_name, "namespace": names.METRICS_NAMESPACE, "labels": names.labels("probes", full_name)},
        "spec": spec,
    }


def _join(host: Any, port: int) -> Any:
    if isinstance(host, str):
        return f"{host}:{port}"
    return host.apply(lambda h: f"{h}:{port}")


# ----------------------------------------------------------------------------- dashboards


def _panel(pid: int, title: str, exprs: list[tuple[str, str]], x: int, y: int, unit: str = "short", w: int = 12) -> dict:
    return {
        "id": pid,
        "type": "timeseries",
        "title": title,
        "datasource": {"type": "prometheus", "uid": "prometheus"},
        "gridPos": {"h": 8, "w": w, "x": x, "y": y},
        "fieldConfig": {"defaults": {"unit": unit}, "overrides": []},
        "targets": [
            {"refId": chr(ord("A") + i), "expr": expr, "legendFormat": legend, "datasource": {"type": "prometheus", "uid": "prometheus"}}
            for i, (expr, legend) in enumerate(exprs)
        ],
    }


def _dashboard(uid: str, title: str, panels: list[tuple[str, list[tuple[str, str]], str]], variables: list[dict]) -> dict:
    out = []
    for i, (title_, exprs, unit) in enumerate(panels):
        out.append(_panel(i + 1, title_, exprs, (i % 2) * 12, (i // 2) * 8, unit))
    return {
        "uid": uid,
        "title": title,
        "tags": ["pegasus"],
        "timezone": "utc",
        "schemaVersion": 39,
        "version": 1,
        "refresh": "30s",
        "time": {"from": "now-6h", "to": "now"},
        "templating": {"list": variables},
        "panels": out,
    }


def _variable(name: str, query: str) -> dict:
    return {
        "name": name,
        "type": "query",
        "datasource": {"type": "prometheus", "uid": "prometheus"},
        "query": {"query": query, "refId": name},
        "refresh": 2,
        "includeAll": True,
        "multi": True,
    }


def _data_plane_panels(data_plane: str) -> list:
    if data_plane == "envoy-gateway":
        from components.monitoring.gateway_monitoring_builder import envoy_panels

        return envoy_panels()
    return [
        ("Controller connections", [("sum by (state) (nginx_ingress_controller_nginx_process_connections)", "{{state}}")], "short"),
        ("Controller reloads", [("sum(increase(nginx_ingress_controller_config_last_reload_successful_timestamp_seconds[1h]) > 0)", "reloads"), ("max(nginx_ingress_controller_config_last_reload_successful)", "last reload ok")], "short"),
        ("HTTP success rate", [('sum(rate(nginx_ingress_controller_requests{status!~"5.."}[5m])) / sum(rate(nginx_ingress_controller_requests[5m]))', "success")], "percentunit"),
    ]


def dashboards(data_plane: str = "ingress-nginx") -> dict[str, dict]:
    chain = '{namespace=~"$namespace"}'
    return {
        "pegasus-cluster": _dashboard("pegasus-cluster", "Pegasus / Cluster", [
            ("CPU used by namespace", [('sum by (namespace) (rate(container_cpu_usage_seconds_total{container!=""}[5m]))', "{{namespace}}")], "short"),
            ("Memory used by namespace", [('sum by (namespace) (container_memory_working_set_bytes{container!=""})', "{{namespace}}")], "bytes"),
            ("Nodes", [("count(kube_node_info)", "nodes"), ('count(kube_node_labels{label_karpenter_sh_nodepool!=""})', "karpenter")], "short"),
            ("Chainlets running / assigned", [
                ('count(kube_statefulset_replicas{statefulset="chainlet"} > 0)', "running"),
                ('count(kube_statefulset_replicas{statefulset="chainlet"})', "assigned"),
            ], "short"),
            ("Chain volumes used", [('kubelet_volume_stats_used_bytes{persistentvolumeclaim=~"chainlet-data|spc-data"} / kubelet_volume_stats_capacity_bytes', "{{namespace}}")], "percentunit"),
            ("Pod restarts (1h)", [('sum by (namespace) (increase(kube_pod_container_status_restarts_total[1h]))', "{{namespace}}")], "short"),
        ], []),
        "pegasus-ingress": _dashboard("pegasus-ingress", "Pegasus / Ingress and p2p shards", [
            ("p2p endpoints up, by shard", [('sum by (shard) (probe_success{job=~"scrapeConfig/sagasrv-metrics/pegasus-p2p-.*"})', "shard {{shard}}")], "short"),
            ("p2p endpoints down", [('probe_success{job=~"scrapeConfig/sagasrv-metrics/pegasus-p2p-.*"} == 0', "{{chain_id}} {{instance}}")], "short"),
            ("Probe latency", [('avg by (shard) (probe_duration_seconds{job=~"scrapeConfig/sagasrv-metrics/pegasus-p2p-.*"})', "shard {{shard}}")], "s"),
            *_data_plane_panels(data_plane),
        ], []),
        "pegasus-chains": _dashboard("pegasus-chains", "Pegasus / Chains", [
            ("Block height", [(f"max by (namespace, chain_id) (cometbft_consensus_height{chain})", "{{chain_id}}")], "short"),
            ("Average block time", [(f"rate(cometbft_consensus_block_interval_seconds_sum{chain}[5m]) / rate(cometbft_consensus_block_interval_seconds_count{chain}[5m])", "{{chain_id}}")], "s"),
            ("Missed blocks (5m)", [(f"delta(cometbft_consensus_validator_missed_blocks{chain}[5m])", "{{chain_id}}")], "short"),
            ("Peers", [(f"cometbft_p2p_peers{chain}", "{{chain_id}}")], "short"),
            ("Mempool size", [(f"cometbft_mempool_size{chain}", "{{chain_id}}")], "short"),
            ("Validators missing from the last commit", [(f"cometbft_consensus_missing_validators{chain}", "{{chain_id}}")], "short"),
        ], [_variable("namespace", 'label_values(cometbft_consensus_height, namespace)')]),
    }


def dashboard_configmaps(data_plane: str = "ingress-nginx") -> list[dict]:
    out = []
    for name, dashboard in dashboards(data_plane).items():
        out.append({
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {
                "name": f"{name}-dashboard",
                "namespace": names.METRICS_NAMESPACE,
                "labels": {**names.labels("dashboards", name), names.GRAFANA_DASHBOARD_LABEL: "1"},
                "annotations": {names.GRAFANA_FOLDER_ANNOTATION: DASHBOARD_FOLDER},
            },
            "data": {f"{name}.json": json.dumps(dashboard, indent=2, sort_keys=True)},
        })
    return out
