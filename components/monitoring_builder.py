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

from components.chart import Chart
from pegasus import names
from pegasus.config import AlertingSettings, MonitoringSettings

PROMETHEUS_COMMUNITY = "https://prometheus-community.github.io/helm-charts"
# prometheus-operator v0.93.1: the CRDs in ../shared/crds.
KPS_CHART = Chart(names.MONITORING_RELEASE, "kube-prometheus-stack", "88.5.3", PROMETHEUS_COMMUNITY)
KPS_FULLNAME = "kps"
BLACKBOX_CHART = Chart(names.BLACKBOX_RELEASE, "prometheus-blackbox-exporter", "11.17.2", PROMETHEUS_COMMUNITY)  # v0.28.0
BLACKBOX_SERVICE = "blackbox-exporter"
BLACKBOX_PORT = 9115
GRAFANA_SERVICE = "grafana"
ALERTMANAGER_CONFIG = "pegasus"
ALERTING_SECRET = "pegasus-alerting"
GRAFANA_ADMIN_SECRET = "pegasus-grafana-admin"
DASHBOARD_FOLDER = "Pegasus"

CHAINLET_SELECTOR = 'namespace=~"saga-.+"'
PLATFORM_SELECTOR = f'namespace="{names.SPC_NAMESPACE}"'


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


# ----------------------------------------------------------------------------- alerts


@dataclass(frozen=True)
class Alert:
    name: str
    expr: str
    for_: str
    severity: str
    summary: str
    description: str
    anchor: str


def _chain_alerts(scope: str, selector: str, prefix: str) -> list[Alert]:
    s = selector
    return [
        Alert(
            f"{prefix}ValidatorJailed",
            # Jailing removes the validator from the set, so its last signed height stops
            # while the chain goes on. CometBFT exports no jailed flag; this is the signal
            # every chain node has.
            f"max by (namespace, chain_id) (cometbft_consensus_height{{{s}}})"
            f" - on (namespace, chain_id) group_right"
            f" max by (namespace, chain_id, validator_address) (cometbft_consensus_validator_last_signed_height{{{s}}}) > 1000",
            "5m", "critical",
            f"{scope} validator has not signed for over 1000 blocks: jailed",
            "The chain keeps producing blocks but this validator's last signed height is more than 1000 blocks behind. It is jailed (or its key is not loaded). Check the validator's status on chain and unjail once the cause is fixed.",
            "validator-jailed",
        ),
        Alert(
            f"{prefix}ByzantineValidator",
            f"max by (namespace, chain_id) (cometbft_consensus_byzantine_validators{{{s}}}) > 0",
            "0m", "critical",
            f"{scope} committed evidence of a byzantine validator",
            "A block carried duplicate-vote evidence. If the offender is this validator, two signers are running with the same key: stop one at once.",
            "byzantine-validator",
        ),
        Alert(
            f"{prefix}MissedBlocks",
            f"max by (namespace, chain_id, validator_address) (delta(cometbft_consensus_validator_missed_blocks{{{s}}}[5m])) > 10",
            "0m", "warning",
            f"{scope} validator missed more than 10 blocks in 5 minutes",
            "The validator is online but missing blocks: check CPU throttling, disk latency and peer count.",
            "missed-blocks",
        ),
        Alert(
            f"{prefix}NotProducingBlocks",
            f"max by (namespace, chain_id) (delta(cometbft_consensus_height{{{s}}}[1m])) < 1",
            "3m", "critical",
            f"{scope} is not producing blocks",
            "The consensus height has not advanced for 3 minutes. Check the node's logs and peers, and whether enough validators are online.",
            "not-producing-blocks",
        ),
        Alert(
            f"{prefix}SlowBlocks",
            f"max by (namespace, chain_id) (rate(cometbft_consensus_block_interval_seconds_sum{{{s}}}[5m])"
            f" / rate(cometbft_consensus_block_interval_seconds_count{{{s}}}[5m])) > 20",
            "10m", "warning",
            f"{scope} average block time is above 20s",
            "Blocks take longer than 20 seconds on average over 5 minutes. Consensus rounds are failing or validators are slow.",
            "slow-blocks",
        ),
        Alert(
            f"{prefix}MempoolFull",
            f"max by (namespace, chain_id) (cometbft_mempool_size{{{s}}}) > 300",
            "10m", "warning",
            f"{scope} mempool holds more than 300 transactions",
            "Transactions are arriving faster than blocks include them, or blocks are stalled.",
            "mempool-full",
        ),
    ]


def _ingress_alerts() -> list[Alert]:
    return [
        Alert(
            "PegasusIngressSuccessRateLow",
            "sum(rate(nginx_ingress_controller_requests{status!~\"5..\"}[5m]))"
            " / sum(rate(nginx_ingress_controller_requests[5m])) < 0.95",
            "10m", "warning",
            "ingress-nginx success rate is below 95%",
            "More than 5% of requests through ingress-nginx fail with a 5xx status.",
            "ingress-success-rate",
        ),
        Alert(
            "PegasusP2PEndpointDown",
            # Probe only the endpoints of chainlets that should run: an offline chainlet's
            # port is reserved, not served, and scales its StatefulSet to zero.
            'max by (chain_id, chainlet_namespace, instance) (probe_success{job=~"scrapeConfig/sagasrv-metrics/pegasus-p2p-.*"}) == 0'
            ' and on (chainlet_namespace) label_replace(max by (namespace) (kube_statefulset_replicas{statefulset="chainlet"}) > 0,'
            ' "chainlet_namespace", "$1", "namespace", "(.*)")',
            "10m", "critical",
            "a public p2p endpoint does not accept connections",
            "A TCP connect from inside the cluster to the chainlet's public LB address and port fails, so peers cannot reach it. Check the shard Service, the tcp-services ConfigMap and the chainlet pod.",
            "p2p-endpoint-down",
        ),
        Alert(
            "PegasusPlatformP2PEndpointDown",
            'max by (instance) (probe_success{job="scrapeConfig/sagasrv-metrics/pegasus-p2p-spc"}) == 0',
            "10m", "critical",
            "the platform chain's public p2p endpoint does not accept connections",
            "A TCP connect to the spc LoadBalancer fails, so peers cannot reach the platform chain node.",
            "p2p-endpoint-down",
        ),
    ]


def _rule(a: Alert, runbook_base: str) -> dict:
    return {
        "alert": a.name,
        "expr": a.expr,
        "for": a.for_,
        "labels": {"severity": a.severity},
        "annotations": {
            "summary": a.summary,
            "description": a.description,
            "runbook_url": f"{runbook_base}#{a.anchor}",
        },
    }


def prometheus_rules(alerting: AlertingSettings) -> list[dict]:
    groups = {
        "pegasus-chainlets": ("chainlets", _chain_alerts("Chainlet {{ $labels.chain_id }}", CHAINLET_SELECTOR, "PegasusChainlet")),
        "pegasus-platform-chain": ("platform-chain", _chain_alerts("Platform chain {{ $labels.chain_id }}", PLATFORM_SELECTOR, "PegasusPlatform")),
        "pegasus-ingress": ("ingress", _ingress_alerts()),
    }
    out = []
    for name, (group, alerts) in groups.items():
        out.append({
            "apiVersion": "monitoring.coreos.com/v1",
            "kind": "PrometheusRule",
            "metadata": {"name": name, "namespace": names.METRICS_NAMESPACE, "labels": names.labels("alerts", name)},
            "spec": {"groups": [{"name": group, "rules": [_rule(a, alerting.runbook_base_url) for a in alerts]}]},
        })
    return out


# ----------------------------------------------------------------------------- scraping


def chain_pod_monitor(scrape_interval: str) -> dict:
    """One PodMonitor for every chain pod, chainlets included: no per-chainlet object."""
    return {
        "apiVersion": "monitoring.coreos.com/v1",
        "kind": "PodMonitor",
        "metadata": {"name": "pegasus-chains", "namespace": names.METRICS_NAMESPACE, "labels": names.labels("monitoring", "pegasus-chains")},
        "spec": {
            "namespaceSelector": {"any": True},
            "selector": {"matchExpressions": [{
                "key": "app.kubernetes.io/component", "operator": "In", "values": [names.CHAINLET_COMPONENT, names.PLATFORM_CHAIN_COMPONENT],
            }]},
            "podMetricsEndpoints": [{"port": "metrics", "interval": scrape_interval, "path": "/metrics"}],
        },
    }


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


def p2p_scrape_config(name: str, host: Any, targets: list[ProbeTarget] | tuple[ProbeTarget, ...], interval: str,
                      labels: Optional[dict[str, str]] = None) -> dict:
    """Blackbox TCP probes of public p2p endpoints, from inside the cluster. One object per
    shard, listing every assigned slot (online or not), so a chainlet going offline or
    coming back does not touch it; the alert skips chainlets scaled to zero."""
    groups = [
        {
            "targets": [_join(host, t.port)],
            "labels": {"chain_id": t.chain_id, "chainlet_namespace": t.namespace, **(labels or {})},
        }
        for t in targets
    ]
    return {
        "apiVersion": "monitoring.coreos.com/v1alpha1",
        "kind": "ScrapeConfig",
        "metadata": {"name": name, "namespace": names.METRICS_NAMESPACE, "labels": names.labels("probes", name)},
        "spec": {
            "metricsPath": "/probe",
            "params": {"module": ["tcp_connect"]},
            "scrapeInterval": interval,
            "staticConfigs": groups,
            "relabelings": [
                {"sourceLabels": ["__address__"], "targetLabel": "__param_target"},
                {"sourceLabels": ["__param_target"], "targetLabel": "instance"},
                {"targetLabel": "__address__", "replacement": f"{BLACKBOX_SERVICE}.{names.METRICS_NAMESPACE}.svc:{BLACKBOX_PORT}"},
            ],
        },
    }


def _join(host: Any, port: int) -> Any:
    if isinstance(host, str):
        return f"{host}:{port}"
    return host.apply(lambda h: f"{h}:{port}")


# ----------------------------------------------------------------------------- alertmanager


def alertmanager_config(alerting: AlertingSettings) -> dict:
    receivers: list[dict] = [{"name": "null"}]
    routes: list[dict] = [
        # kube-prometheus-stack's always-firing Watchdog proves the pipeline works; it is not news.
        {"receiver": "null", "matchers": [{"name": "alertname", "value": "Watchdog", "matchType": "="}]},
    ]
    default = "null"
    if alerting.pagerduty_routing_key:
        receivers.append({
            "name": "pagerduty",
            "pagerdutyConfigs": [{"routingKey": {"name": ALERTING_SECRET, "key": "pagerduty-routing-key"}, "sendResolved": True}],
        })
        routes.append({
            "receiver": "pagerduty",
            "matchers": [{"name": "severity", "value": "critical", "matchType": "="}],
            "continue": True,
        })
    if alerting.slack_webhook_url:
        receivers.append({
            "name": "slack",
            "slackConfigs": [{
                "apiURL": {"name": ALERTING_SECRET, "key": "slack-webhook-url"},
                "channel": alerting.slack_channel,
                "sendResolved": True,
                "title": "[{{ .Status | toUpper }}] {{ .CommonLabels.alertname }}",
                "text": "{{ range .Alerts }}{{ .Annotations.summary }}\n{{ .Annotations.description }}\nRunbook: {{ .Annotations.runbook_url }}\n{{ end }}",
            }],
        })
        default = "slack"
    return {
        "apiVersion": "monitoring.coreos.com/v1alpha1",
        "kind": "AlertmanagerConfig",
        "metadata": {"name": ALERTMANAGER_CONFIG, "namespace": names.METRICS_NAMESPACE, "labels": names.labels("alerting", ALERTMANAGER_CONFIG)},
        "spec": {
            "route": {
                "receiver": default,
                "groupBy": ["alertname", "namespace", "chain_id"],
                "groupWait": "30s",
                "groupInterval": "5m",
                "repeatInterval": "4h",
                "routes": routes,
            },
            "receivers": receivers,
        },
    }


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


def dashboards() -> dict[str, dict]:
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
            ("Controller connections", [("sum by (state) (nginx_ingress_controller_nginx_process_connections)", "{{state}}")], "short"),
            ("Controller reloads", [("sum(increase(nginx_ingress_controller_config_last_reload_successful_timestamp_seconds[1h]) > 0)", "reloads"), ("max(nginx_ingress_controller_config_last_reload_successful)", "last reload ok")], "short"),
            ("HTTP success rate", [('sum(rate(nginx_ingress_controller_requests{status!~"5.."}[5m])) / sum(rate(nginx_ingress_controller_requests[5m]))', "success")], "percentunit"),
        ], []),
        "pegasus-chains": _dashboard("pegasus-chains", "Pegasus / Chains", [
            ("Block height", [(f"max by (namespace, chain_id) (cometbft_consensus_height{chain})", "{{chain_id}}")], "short"),
            ("Average block time", [(f"rate(cometbft_consensus_block_interval_seconds_sum{chain}[5m]) / rate(cometbft_consensus_block_interval_seconds_count{chain}[5m])", "{{chain_id}}")], "s"),
            ("Missed blocks (5m)", [(f"delta(cometbft_consensus_validator_missed_blocks{chain}[5m])", "{{chain_id}}")], "short"),
            ("Peers", [(f"cometbft_p2p_peers{chain}", "{{chain_id}}")], "short"),
            ("Mempool size", [(f"cometbft_mempool_size{chain}", "{{chain_id}}")], "short"),
            ("Byzantine validators", [(f"cometbft_consensus_byzantine_validators{chain}", "{{chain_id}}")], "short"),
        ], [_variable("namespace", 'label_values(cometbft_consensus_height, namespace)')]),
    }


def dashboard_configmaps() -> list[dict]:
    out = []
    for name, dashboard in dashboards().items():
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
