"""kube-prometheus-stack in `sagasrv-metrics`, chain alerts, dashboards as code, scraping
of chain pods, blackbox probes of the public p2p endpoints, and Alertmanager receivers."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Optional, Sequence

import pulumi
import pulumi_kubernetes as k8s

from components.monitoring import monitoring_builder as mb
from components.chain import workload_builder as wb
from components.kube.k8s_util import body, custom_resource_args, helm_release
from pegasus import names
from pegasus.config import AlertingSettings, MonitoringSettings


@dataclass(frozen=True)
class ProbeGroup:
    """The public endpoints behind one load balancer."""

    name: str
    host: Any  # str or Output[str]
    targets: tuple[mb.ProbeTarget, ...]
    labels: tuple[tuple[str, str], ...] = ()
    shard: Optional[int] = None  # a validator p2p shard, whose probes a shard stack may have held


class Monitoring(pulumi.ComponentResource):
    grafana_url: pulumi.Output[str]
    release: k8s.helm.v3.Release

    def __init__(self, name: str, settings: MonitoringSettings, alerting: AlertingSettings,
                 storage_class: Optional[str], probe_groups: tuple[ProbeGroup, ...] = (),
                 workload_dependencies: Sequence[pulumi.Resource] = (), *,
                 charts_dir: Optional[str] = None, data_plane: str = "ingress-nginx",
                 opts: Optional[pulumi.ResourceOptions] = None):
        super().__init__("pegasus:monitoring:Monitoring", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        ns = k8s.core.v1.Namespace(
            f"{name}-ns", **body(wb.namespace(names.METRICS_NAMESPACE, "monitoring", names.METRICS_NAMESPACE)), opts=child,
        )
        in_ns = pulumi.ResourceOptions(parent=self, depends_on=[ns])

        secret_data: dict[str, Any] = {}
        if alerting.slack_webhook_url:
            secret_data["slack-webhook-url"] = pulumi.Output.secret(alerting.slack_webhook_url.value)
        if alerting.pagerduty_routing_key:
            secret_data["pagerduty-routing-key"] = pulumi.Output.secret(alerting.pagerduty_routing_key.value)
        if secret_data:
            k8s.core.v1.Secret(
                f"{name}-alerting",
                metadata={"name": mb.ALERTING_SECRET, "namespace": names.METRICS_NAMESPACE,
                          "labels": names.labels("alerting", mb.ALERTING_SECRET)},
                string_data=secret_data,
                opts=in_ns,
            )
        if settings.grafana_admin_password:
            k8s.core.v1.Secret(
                f"{name}-grafana-admin",
                metadata={"name": mb.GRAFANA_ADMIN_SECRET, "namespace": names.METRICS_NAMESPACE,
                          "labels": names.labels("dashboards", mb.GRAFANA_ADMIN_SECRET)},
                string_data={"admin-user": "admin", "admin-password": pulumi.Output.secret(settings.grafana_admin_password.value)},
                opts=in_ns,
            )

        values = mb.kps_values(settings, storage_class, grafana_admin_secret=settings.grafana_admin_password is not None)
        # The stack brings up Prometheus, Alertmanager and Grafana with their volumes: allow
        # more than Helm's default 5 minutes before the atomic release rolls back.
        # Both releases wait for their pods, which need a node to run on.
        with_nodes = pulumi.ResourceOptions(parent=self, depends_on=[ns, *workload_dependencies])
        self.release = helm_release(f"{name}-kps", mb.KPS_CHART, names.METRICS_NAMESPACE, values, with_nodes, timeout=900,
                                    local_dir=charts_dir)
        blackbox = helm_release(f"{name}-blackbox", mb.BLACKBOX_CHART, names.METRICS_NAMESPACE, mb.blackbox_values(), with_nodes,
                                local_dir=charts_dir)
        # Custom resources need the operator's CRDs, which the release installs.
        after_crds = pulumi.ResourceOptions(parent=self, depends_on=[self.release])
        for rule in mb.prometheus_rules(alerting):
            k8s.apiextensions.CustomResource(f"{name}-{rule['metadata']['name']}", **custom_resource_args(rule), opts=after_crds)
        k8s.apiextensions.CustomResource(
            f"{name}-chain-pods", **custom_resource_args(mb.chain_pod_monitor(settings.scrape_interval)), opts=after_crds,
        )
        if data_plane == "envoy-gateway":
            from components.monitoring import gateway_monitoring_builder as gmb

            k8s.apiextensions.CustomResource(
                f"{name}-envoy-p2p", **custom_resource_args(gmb.envoy_pod_monitor(settings.scrape_interval)), opts=after_crds)
            k8s.apiextensions.CustomResource(
                f"{name}-envoy-p2p-rules", **custom_resource_args(gmb.envoy_rule(alerting.runbook_base_url)), opts=after_crds)
        else:
            k8s.apiextensions.CustomResource(
                f"{name}-ingress-nginx", **custom_resource_args(mb.ingress_service_monitor(settings.scrape_interval)), opts=after_crds,
            )
        k8s.apiextensions.CustomResource(
            f"{name}-alertmanager", **custom_resource_args(mb.alertmanager_config(alerting)), opts=after_crds,
        )
        for cm in mb.dashboard_configmaps(data_plane):
            k8s.core.v1.ConfigMap(f"{name}-{cm['metadata']['name']}", **body(cm), opts=in_ns)
        probe_opts = pulumi.ResourceOptions(parent=self, depends_on=[self.release, blackbox])
        external = mb.external_prober(settings)
        for group in probe_groups:
            for prober in (mb.IN_CLUSTER_PROBER, *([external] if external else [])):
                manifest = mb.p2p_scrape_config(group.name, group.host, group.targets, settings.probe_interval,
                                                dict(group.labels), prober)
                # A shard stack's probe, moved back by `tools.shards join` (stacks/validator_shard.py names it).
                back = [pulumi.Alias(name=f"shard-{group.shard}-{manifest['metadata']['name']}", parent=None)] \
                    if group.shard is not None else None
                k8s.apiextensions.CustomResource(f"{name}-{manifest['metadata']['name']}", **custom_resource_args(manifest),
                                                 opts=pulumi.ResourceOptions.merge(probe_opts, pulumi.ResourceOptions(aliases=back)))
        self.grafana_url = pulumi.Output.from_input(mb.grafana_url())
        self.register_outputs({"grafana_url": self.grafana_url})
