"""Peers you can see: Envoy's per-listener connection stats for the envoy-gateway data plane.

Envoy Gateway's TCP listeners carry no stat_prefix (internal/xds/translator buildXdsTCPListener),
so each one's statistics live under `listener.<address>_<port>.` and Envoy's built-in tag
extractor turns them into `envoy_listener_downstream_cx_active{envoy_listener_address="0.0.0.0_1025"}`
on /stats/prometheus of port 19001 (bootstrap EnvoyStatsPort). A listener is one chainlet's
public port on one shard, so "active downstream connections per listener" is "inbound peers
per chainlet". Envoy's own readiness and stats listeners (19001, 19003) are left out.
"""

from __future__ import annotations

from components.p2p import gateway_builder as gb
from pegasus import names

POD_MONITOR = "pegasus-envoy-p2p"
OWNING_GATEWAY_LABEL = "gateway.envoyproxy.io/owning-gateway-name"
_OWN_LISTENERS = f'envoy_listener_address!~".*_({gb.ENVOY_METRICS_PORT}|{gb.ENVOY_READY_PORT})"'
PEERS = (f'label_replace(sum by (shard, envoy_listener_address) (envoy_listener_downstream_cx_active{{{_OWN_LISTENERS}, shard!=""}}),'
         ' "port", "$1", "envoy_listener_address", ".*_([0-9]+)")')


def _meta_label(label: str) -> str:
    return "__meta_kubernetes_pod_label_" + "".join(c if c.isalnum() else "_" for c in label)


def envoy_pod_monitor(scrape_interval: str) -> dict:
    """Every Envoy pod of every shard Gateway; `shard` comes from the owning Gateway's name."""
    return {
        "apiVersion": "monitoring.coreos.com/v1",
        "kind": "PodMonitor",
        "metadata": {"name": POD_MONITOR, "namespace": names.METRICS_NAMESPACE, "labels": names.labels("monitoring", POD_MONITOR)},
        "spec": {
            "namespaceSelector": {"matchNames": [names.INGRESS_NAMESPACE]},
            "selector": {"matchLabels": {"app.kubernetes.io/name": "envoy", "app.kubernetes.io/component": "proxy"}},
            "podMetricsEndpoints": [{
                "portNumber": gb.ENVOY_METRICS_PORT, "path": "/stats/prometheus", "interval": scrape_interval,
                "relabelings": [
                    {"sourceLabels": [_meta_label(OWNING_GATEWAY_LABEL)], "targetLabel": "gateway"},
                    {"sourceLabels": [_meta_label(OWNING_GATEWAY_LABEL)], "regex": r"pegasus-p2p-(\d+)", "targetLabel": "shard"},
                ],
                # Only what the alert and the panels read: an Envoy exports thousands of series.
                "metricRelabelings": [{
                    "sourceLabels": ["__name__"], "action": "keep",
                    "regex": "envoy_listener_downstream_cx_(active|total)|envoy_server_live|envoy_listener_manager_total_listeners_active",
                }],
            }],
        },
    }


def envoy_alert_rules() -> list[dict]:
    """One rule: an online chainlet (its listener exists only while it is online) without a
    single inbound peer connection on any Envoy replica of its shard for 15 minutes."""
    return [{
        "alert": "PegasusChainletNoInboundPeers",
        "expr": f"{PEERS} == 0",
        "for": "15m",
        "labels": {"severity": "warning"},
        "annotations": {
            "summary": "an online chainlet has had no inbound p2p connection for 15 minutes",
            "description": "No peer is connected through shard {{ $labels.shard }}, public port {{ $labels.port }}: the chainlet "
                           "is online but unreachable, or nobody dials its advertised address. Compare the chainlets output "
                           "(shard and port) and the p2p probes.",
        },
    }]


def envoy_rule(runbook_base: str | None = None) -> dict:
    rules = envoy_alert_rules()
    if runbook_base:
        for r in rules:
            r["annotations"]["runbook_url"] = f"{runbook_base}#chainlet-no-inbound-peers"
    return {
        "apiVersion": "monitoring.coreos.com/v1",
        "kind": "PrometheusRule",
        "metadata": {"name": POD_MONITOR, "namespace": names.METRICS_NAMESPACE, "labels": names.labels("alerts", POD_MONITOR)},
        "spec": {"groups": [{"name": "envoy-p2p", "rules": rules}]},
    }


def envoy_panels() -> list[tuple[str, list[tuple[str, str]], str]]:
    """Panels for the ingress dashboard: inbound peers per chainlet port, one series per shard."""
    return [
        ("Inbound peers per chainlet port, by shard", [(PEERS, "shard {{shard}} port {{port}}")], "short"),
        ("New peer connections per shard (5m)",
         [(f'sum by (shard) (increase(envoy_listener_downstream_cx_total{{{_OWN_LISTENERS}}}[5m]))', "shard {{shard}}")], "short"),
    ]
