"""A Spacemesh network (design document 002): a cluster (gke, or an existing one), a node pool
sized from the pods, the nodes and PoETs, its public config and discovery entry, DNS, and
the operations around it (metrics, logs, spacemesh-watch, Pyroscope).

Each spacecraft command is a config change followed by `pulumi up` (docs/blueprints/spacemesh.md):
nothing is created from the clock, from logs or from what happens to run.
"""

from __future__ import annotations

import os

import pulumi
import pulumi_kubernetes as k8s

from components.spacemesh import builder as sb
from components.spacemesh import ops_builder as ob
from components.cluster.cluster import Cluster
from components.cluster.cluster_builder import common_tags
from components.monitoring import logging_builder, monitoring_builder
from components.kube.chart import check_mirror
from components.kube.k8s_util import custom_resource_args
from components.spacemesh.network import SpacemeshNetwork
from components.spacemesh.cloud import SpacemeshNodePool, SpacemeshPublishing
from components.spacemesh.ops import SpacemeshTools, SpacemeshWeb
from components.spacemesh.config import SpacemeshStackSettings
from components.spacemesh.config_source import read_config
from components.spacemesh.maintenance import maintenance_policy


def base_config(source: str | None, base_dir: str) -> dict:
    """The nodes' go-spacemesh config (a file or the joined network's URL), read before
    anything is declared: a failed read declares nothing, so nothing changes."""
    return read_config(source, base_dir)


def charts(settings: SpacemeshStackSettings) -> list:
    s = settings.spacemesh
    out = [ob.web_chart(s.network)] if s.web_services.enabled else []
    if s.metrics:
        out += [monitoring_builder.KPS_CHART, monitoring_builder.BLACKBOX_CHART]
    if settings.logging.enabled:
        out.append(logging_builder.CHART)
    return out


def check_chart_mirror(settings: SpacemeshStackSettings, base_dir: str) -> None:
    check_mirror(charts(settings), settings.charts_dir, base_dir)


def deploy(settings: SpacemeshStackSettings) -> None:
    check_chart_mirror(settings, os.getcwd())
    for warning in settings.warnings:
        pulumi.log.warn(warning)
    s = settings.spacemesh
    base = base_config(s.config_file, os.getcwd())
    # Computed once: the PoETs' schedule, the genesis and the HRP check all come from it.
    node_cfg = sb.node_config(base, s, s.config_file or "go-spacemesh's default (mainnet) config")
    c = settings.cluster
    cluster = Cluster("cluster", c, settings.stack, karpenter=False, storage_class_override=settings.storage_class,
                      ship_logs=settings.logging.enabled, charts_dir=settings.charts_dir,
                      maintenance_policy=maintenance_policy(s.maintenance))
    k8s_opts = pulumi.ResourceOptions(providers=[cluster.provider])
    workload_deps: list[pulumi.Resource] = []
    if cluster.gke is not None:
        pool = SpacemeshNodePool("spacemesh-pool", s, cluster.gke, common_tags(c, settings.stack))
        workload_deps.append(pool.pool)

    ns = sb.namespace(s.network)
    pyroscope_url = None
    if s.pyroscope_miners:
        pyroscope_url = ob.pyroscope_url(ns)
    network = SpacemeshNetwork(
        "spacemesh", s, node_cfg, cloud=c.provider, cluster_name=c.name, storage_class=cluster.storage_class,
        lb_dependencies=cluster.lb_dependencies, workload_dependencies=workload_deps, pyroscope_url=pyroscope_url,
        opts=k8s_opts,
    )
    public = pulumi.Output.all(network.public_bootnodes, network.first_poet).apply(
        lambda a: sb.public_config(node_cfg, s, a[0], a[1]))

    web_address = None
    if s.web_services.enabled:
        web = SpacemeshWeb("spacemesh-web", s, ns, cloud=c.provider, cluster_name=c.name, depends_on=[network],
                           lb_dependencies=cluster.lb_dependencies, charts_dir=settings.charts_dir,
                           namespace=network.namespace, storage_class=cluster.storage_class, opts=k8s_opts)
        web_address = web.address
    if s.watch.enabled or s.pyroscope_miners:
        SpacemeshTools("spacemesh-tools", s, ns, depends_on=[network], opts=k8s_opts)

    gcp_provider = cluster.gke.gcp_provider if cluster.gke is not None else None
    SpacemeshPublishing("spacemesh-publish", s, public, gcp_provider=gcp_provider, web_address=web_address)

    if s.metrics:
        from components.monitoring.monitoring import Monitoring

        monitoring = Monitoring("monitoring", settings.monitoring, settings.alerting, cluster.general_storage_class,
                                (), charts_dir=settings.charts_dir, opts=k8s_opts)
        k8s.apiextensions.CustomResource("spacemesh-pod-monitor", **custom_resource_args(ob.pod_monitor(settings.monitoring.scrape_interval)),
                                         opts=pulumi.ResourceOptions.merge(k8s_opts, pulumi.ResourceOptions(depends_on=[monitoring])))
    if settings.logging.enabled:
        from components.monitoring.logging import Logging

        Logging("logging", settings.logging, c.name, cluster.provider, eks=None, gke=cluster.gke,
                tags=common_tags(c, settings.stack), charts_dir=settings.charts_dir, opts=k8s_opts)

    if c.provider != "existing":
        pulumi.export("kubeconfig", pulumi.Output.secret(cluster.kubeconfig))
        pulumi.export("clusterName", c.name)
        pulumi.export("clusterRegion", c.region)
        pulumi.export("clusterProject", c.project)
        pulumi.export("nodePoolSize", sb.node_pool_size(sb.pool_pods(s), s.machine))
    pulumi.export("network", s.network)
    pulumi.export("namespace", ns)
    pulumi.export("hosts", network.hosts)
    pulumi.export("publicBootnodes", network.public_bootnodes)
    pulumi.export("publicConfig", public)

