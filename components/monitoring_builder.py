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
CHAIN_POD_MONITOR = "pegasus-chains"
P2P_PROBE_JOBS = 'job=~"scrapeConfig/sagasrv-metrics/pegasus-p2p-.*"'


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


# CometBFT exports these (consensus/metrics.go, blocksync/metrics.go, statesync/metrics.go at
# v0.38). `*_syncing` is 1 while the node catches up and 0 once it runs consensus; the series
# appear only once a sync phase ran, so the gates below say "unless syncing == 1" rather than
# "and syncing == 0", which would silence a node that never synced.
def _not_syncing(s: str) -> str:
    return (f" unless on (namespace, chain_id) max by (namespace, chain_id) (cometbft_blocksync_syncing{{{s}}}) == 1"
            f" unless on (namespace, chain_id) max by (namespace, chain_id) (cometbft_statesync_syncing{{{s}}}) == 1")


def _chain_alerts(scope: str, selector: str, prefix: str, workload: str) -> list[Alert]:
    """`selector` matches the chain's metric series, `workload` its StatefulSets' series in
    kube-state-metrics. Left out on purpose: a ByzantineValidator alert. CometBFT's
    `cometbft_consensus_byzantine_validators` is a gauge set from each block's evidence
    (consensus/state.go recordMetrics), so it is non-zero for one block only and a scrape
    every 30s on 5s blocks misses it most of the time; v0.38 has no evidence counter to
    rebuild it on. A double signer shows up as ValidatorJailed (tombstoned validators stop
    signing), and Pegasus prevents one structurally (one-replica StatefulSets, the policy
    pack's single-signer rules)."""
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
            f"{prefix}ValidatorNotSigning",
            # After a restart CometBFT sets validator_last_signed_height only once this
            # validator signs a block (consensus/state.go), so a validator that is jailed, or
            # whose key is not loaded, has no such series at all and ValidatorJailed cannot
            # see it. Every signer pod that runs consensus must have one.
            f"max by (namespace, chain_id) (cometbft_consensus_height{{{s}, signer=\"true\"}})"
            f" unless on (namespace, chain_id) max by (namespace, chain_id) (cometbft_consensus_validator_last_signed_height{{{s}}})"
            + _not_syncing(s),
            "30m", "critical",
            f"{scope} validator has signed no block since its node started",
            "The node runs consensus but has not signed a single block since it started: the validator is jailed, not in the active set, or runs without its key. Check the validator's status on chain and the key the node loaded.",
            "validator-not-signing",
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
            # A chain that does not create empty blocks (the chainlet param createEmptyBlocks,
            # and the SSC image, whose start.sh sets create_empty_blocks = false) legitimately
            # stands still while its mempool is empty: for those only a stall with pending
            # transactions counts. The pods carry create_empty_blocks as a label (PodMonitor).
            f"(max by (namespace, chain_id) (delta(cometbft_consensus_height{{{s}, create_empty_blocks!=\"false\"}}[5m])) < 1"
            f" or (max by (namespace, chain_id) (delta(cometbft_consensus_height{{{s}, create_empty_blocks=\"false\"}}[5m])) < 1"
            f" and on (namespace, chain_id) max by (namespace, chain_id) (cometbft_mempool_size{{{s}}}) > 0))"
            + _not_syncing(s),
            "5m", "critical",
            f"{scope} is not producing blocks",
            "The consensus height has not advanced for 10 minutes (with transactions waiting, on chains that do not create empty blocks) while the node is not block- or state-syncing. Check the node's logs and peers, and whether enough validators are online.",
            "not-producing-blocks",
        ),
        Alert(
            f"{prefix}ChainPodDown",
            # up == 0 catches a pod whose metrics endpoint fails; the `unless` form also covers
            # a pod that does not exist or is never scraped (absent), for every chain workload
            # that should run.
            f"max by (namespace, statefulset) (kube_statefulset_replicas{{{workload}}}) > 0"
            f" unless on (namespace) max by (namespace) (up{{job=\"{names.METRICS_NAMESPACE}/{CHAIN_POD_MONITOR}\"}} == 1)",
            "15m", "critical",
            f"{scope} node is down or not scraped",
            "The workload should run but its pod serves no metrics: it is missing, crash-looping, unschedulable, or still waiting for its genesis. Check the pod's events and logs.",
            "chain-pod-down",
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
    # No request-rate alert: p2p runs through nginx's `stream {}` block, which exports no
    # request metrics (nginx.tmpl: no monitoring hook in stream servers), so a success rate
    # of nginx_ingress_controller_requests would never have data. What can fail is a reload
    # (a bad routing entry leaves the old config running) and the endpoints themselves (probes).
    ingress = f'controller_namespace="{names.INGRESS_NAMESPACE}"'
    return [
        Alert(
            "PegasusIngressReloadFailed",
            f"max by (controller_pod) (nginx_ingress_controller_config_last_reload_successful{{{ingress}}}) == 0",
            "5m", "critical",
            "ingress-nginx failed to load its configuration",
            "The last nginx reload failed, so the controller still runs its previous configuration: new or changed p2p routes are not served. Read the controller's log for the rejected configuration.",
            "ingress-reload-failed",
        ),
        Alert(
            "PegasusP2PEndpointDown",
            # Probe only the endpoints of chainlets that should run: an offline chainlet's
            # port is reserved, not served, and scales its StatefulSet to zero.
            'max by (chain_id, chainlet_namespace, instance, prober) (probe_success{' + P2P_PROBE_JOBS + ', shard!=""}) == 0'
            ' and on (chainlet_namespace) label_replace(max by (namespace) (kube_statefulset_replicas{statefulset="chainlet"}) > 0,'
            ' "chainlet_namespace", "$1", "namespace", "(.*)")',
            "10m", "critical",
            "a public p2p endpoint does not accept connections",
            "A TCP connect from the prober ({{ $labels.prober }}) to the chainlet's public LB address and port fails, so peers cannot reach it. Check the shard Service, the tcp-services ConfigMap and the chainlet pod.",
            "p2p-endpoint-down",
        ),
        Alert(
            "PegasusPlatformP2PEndpointDown",
            'max by (instance, prober) (probe_success{' + P2P_PROBE_JOBS + ', node="spc"}) == 0',
            "10m", "critical",
            "the platform chain's public p2p endpoint does not accept connections",
            "A TCP connect from the prober ({{ $labels.prober }}) to the spc LoadBalancer fails, so peers cannot reach the platform chain node.",
            "p2p-endpoint-down",
        ),
    ]


def _rule(a: Alert, runbook_base: Optional[str]) -> dict:
    annotations = {"summary": a.summary, "description": a.description}
    if runbook_base:
        # Absolute (config checks it): Alertmanager, Slack and PagerDuty resolve nothing relative.
        annotations["runbook_url"] = f"{runbook_base}#{a.anchor}"
    return {"alert": a.name, "expr": a.expr, "for": a.for_, "labels": {"severity": a.severity}, "annotations": annotations}


def prometheus_rules(alerting: AlertingSettings) -> list[dict]:
    groups = {
        "pegasus-chainlets": ("chainlets", _chain_alerts("Chainlet {{ $labels.chain_id }}", CHAINLET_SELECTOR, "PegasusChainlet",
                                                         f'{CHAINLET_SELECTOR}, statefulset="{names.chainlet_workload_name()}"')),
        "pegasus-platform-chain": ("platform-chain", _chain_alerts("Platform chain {{ $labels.chain_id }}", PLATFORM_SELECTOR, "PegasusPlatform",
                                                                   f'{PLATFORM_SELECTOR}, statefulset="{names.SPC_SERVICE}"')),
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


# ----------------------------------------------------------------------------- alertmanager


def _m(name: str, value: str, match: str = "=") -> dict:
    return {"name": name, "value": value, "matchType": match}


# Our AlertmanagerConfig replaces the chart's `alertmanager.config` entirely (it becomes the
# global config through alertmanagerConfiguration), so the chart's inhibit rules are repeated
# here as kube-prometheus-stack 88.5.3 values.yaml writes them: critical mutes warning and info
# of the same alert and namespace, warning mutes info, and the always-firing InfoInhibitor mutes
# info alerts of its namespace. The operator adds no namespace matcher to a global config's
# inhibit rules (prometheus-operator v0.93 amcfg.go initializeFromAlertmanagerConfig).
INHIBIT_RULES = [
    {"sourceMatch": [_m("severity", "critical")], "targetMatch": [_m("severity", "warning|info", "=~")], "equal": ["namespace", "alertname"]},
    {"sourceMatch": [_m("severity", "warning")], "targetMatch": [_m("severity", "info")], "equal": ["namespace", "alertname"]},
    {"sourceMatch": [_m("alertname", "InfoInhibitor")], "targetMatch": [_m("severity", "info")], "equal": ["namespace"]},
    {"targetMatch": [_m("alertname", "InfoInhibitor")]},
]


def alertmanager_config(alerting: AlertingSettings) -> dict:
    receivers: list[dict] = [{"name": "null"}]
    routes: list[dict] = [
        # kube-prometheus-stack's always-firing Watchdog proves the pipeline works, and its
        # InfoInhibitor exists only to inhibit: neither is news.
        {"receiver": "null", "matchers": [_m("alertname", "InfoInhibitor|Watchdog", "=~")]},
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
            "inhibitRules": [dict(r) for r in INHIBIT_RULES],
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
            ("Validators missing from the last commit", [(f"cometbft_consensus_missing_validators{chain}", "{{chain_id}}")], "short"),
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
