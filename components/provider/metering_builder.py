"""Metering of tenant pods: Prometheus recording rules per tenant namespace, from real usage
(cAdvisor through the kubelet) and from reservations (kube-state-metrics' requests of running
pods: the original provider bills reservations), and a Grafana dashboard of them.

Each series is a rate or a level, so integrating it over time gives the billed quantity:
CPU cores -> CPU-seconds, bytes -> byte-seconds. `python -m tools.meter` does that integral
over a range query with the same step as the rules' evaluation.
"""

from __future__ import annotations

import json

from components.monitoring.monitoring_builder import DASHBOARD_FOLDER, _dashboard, _variable
from pegasus import names

TENANTS = 'namespace=~"tpod-.+"'
RULE_NAME = "pegasus-tenant-metering"
INTERVAL = "1m"

# record name -> (PromQL, what it measures, the tools.meter price it is billed with)
RECORDS = {
    "pegasus_tenant:cpu_usage:cores": (
        f'sum by (namespace) (rate(container_cpu_usage_seconds_total{{{TENANTS},container!="",image!=""}}[5m]))',
        "CPU cores used", "cpuSecond"),
    "pegasus_tenant:memory_usage:bytes": (
        f'sum by (namespace) (container_memory_working_set_bytes{{{TENANTS},container!="",image!=""}})',
        "memory bytes used", "memoryByteSecond"),
    "pegasus_tenant:cpu_reserved:cores": (
        f'sum by (namespace) (kube_pod_container_resource_requests{{{TENANTS},resource="cpu"}}'
        f' * on (namespace, pod) group_left () (kube_pod_status_phase{{{TENANTS},phase="Running"}} == 1))',
        "CPU cores reserved by running pods", "cpuReservedSecond"),
    "pegasus_tenant:memory_reserved:bytes": (
        f'sum by (namespace) (kube_pod_container_resource_requests{{{TENANTS},resource="memory"}}'
        f' * on (namespace, pod) group_left () (kube_pod_status_phase{{{TENANTS},phase="Running"}} == 1))',
        "memory bytes reserved by running pods", "memoryReservedByteSecond"),
}


def recording_rules() -> dict:
    return {
        "apiVersion": "monitoring.coreos.com/v1",
        "kind": "PrometheusRule",
        "metadata": {
            "name": RULE_NAME,
            "namespace": names.METRICS_NAMESPACE,
            # Prometheus selects every rule (ruleSelectorNilUsesHelmValues false in monitoring_builder).
            "labels": names.labels("metering", RULE_NAME),
        },
        "spec": {"groups": [{
            "name": "pegasus-tenant-metering",
            "interval": INTERVAL,
            "rules": [{"record": record, "expr": expr} for record, (expr, _, _) in RECORDS.items()],
        }]},
    }


def dashboard() -> dict:
    ns = '{namespace=~"$namespace"}'
    return _dashboard("pegasus-tenants", "Pegasus / Tenant pods", [
        ("CPU used (cores)", [(f"pegasus_tenant:cpu_usage:cores{ns}", "{{namespace}}")], "short"),
        ("Memory used", [(f"pegasus_tenant:memory_usage:bytes{ns}", "{{namespace}}")], "bytes"),
        ("CPU reserved (cores)", [(f"pegasus_tenant:cpu_reserved:cores{ns}", "{{namespace}}")], "short"),
        ("Memory reserved", [(f"pegasus_tenant:memory_reserved:bytes{ns}", "{{namespace}}")], "bytes"),
        ("CPU-seconds used (24h)", [(f"sum_over_time(pegasus_tenant:cpu_usage:cores{ns}[24h:1m]) * 60", "{{namespace}}")], "short"),
        ("Running replicas", [('sum by (namespace) (kube_deployment_status_replicas{namespace=~"$namespace"})', "{{namespace}}")], "short"),
        # Tenant Deployments are not awaited by `up` (one tenant's bad image must not hold the
        # others' changes): a tenant that does not come up shows here instead.
        ("Unavailable replicas", [('sum by (namespace) (kube_deployment_status_replicas_unavailable{namespace=~"$namespace"})', "{{namespace}}")], "short"),
    ], [_variable("namespace", 'label_values(kube_namespace_labels{namespace=~"tpod-.+"}, namespace)')])


def dashboard_configmap() -> dict:
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {
            "name": "pegasus-tenants-dashboard",
            "namespace": names.METRICS_NAMESPACE,
            "labels": {**names.labels("dashboards", "pegasus-tenants"), names.GRAFANA_DASHBOARD_LABEL: "1"},
            "annotations": {names.GRAFANA_FOLDER_ANNOTATION: DASHBOARD_FOLDER},
        },
        "data": {"pegasus-tenants.json": json.dumps(dashboard(), indent=2, sort_keys=True)},
    }
