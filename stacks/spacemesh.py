"""A Spacemesh network (design document 002): a cluster (gke, or an existing one), a node pool
sized from the pods, the nodes and PoETs, its public config and discovery entry, DNS, and
the operations around it (metrics, logs, spacemesh-watch, Pyroscope).

Each spacecraft command is a config change followed by `pulumi up` (README, Blueprint:
spacemesh): nothing is created from the clock, from logs or from what happens to run.
"""

from __future__ import annotations

import json
import os

import pulumi
import pulumi_kubernetes as k8s

from components import spacemesh_builder as sb
from components import spacemesh_ops_builder as ob
from components.cluster import Cluster
from components.cluster_builder import common_tags
from components.k8s_util import body, custom_resource_args
from components.spacemesh import SpacemeshNetwork
from components.spacemesh_cloud import SpacemeshNodePool, SpacemeshPublishing
from pegasus.config.spacemesh import SpacemeshStackSettings
from pegasus.errors import ConfigError


def base_config(path: str | None, base_dir: str) -> dict:
    """The user's go-spacemesh config.json, read before anything is declared."""
    if path is None:
        return {}
    full = path if os.path.isabs(path) else os.path.join(base_dir, path)
    try:
        with open(full, encoding="utf-8") as f:
            data = json.load(f)
    except OSError as e:
        raise ConfigError("spacemesh.configFile", f"cannot read {path}: {e.strerror}") from None
    except ValueError as e:
        raise ConfigError("spacemesh.configFile", f"{path} is not JSON: {e}") from None
    if not isinstance(data, dict):
        raise ConfigError("spacemesh.configFile", f"{path} must hold a JSON object (go-spacemesh's config)")
    return data


def deploy(settings: SpacemeshStackSettings) -> None:
    for warning in settings.warnings:
        pulumi.log.warn(warning)
    s = settings.spacemesh
    base = base_config(s.config_file, os.getcwd())
    c = settings.cluster
    cluster = Cluster("cluster", c, settings.stack, karpenter=False, storage_class_override=settings.storage_class,
                      ship_logs=settings.logging.enabled, charts_dir=settings.charts_dir)
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
        "spacemesh", s, base, cloud=c.provider, cluster_name=c.name, storage_class=cluster.storage_class,
        lb_dependencies=cluster.lb_dependencies, workload_dependencies=workload_deps, pyroscope_url=pyroscope_url,
        opts=k8s_opts,
    )
    for m in ob.pyroscope(ns, s.pyroscope_image) if pyroscope_url else []:
        _k8s(m, k8s_opts, depends_on=[network])
    public = pulumi.Output.all(network.public_bootnodes, network.first_poet).apply(
        lambda a: sb.public_config(base, s, a[0], a[1]))

    grpc_host = None
    if s.web_services.enabled:
        for m in ob.web_services(s, ns):
            _k8s(m, k8s_opts, depends_on=[network])
        secrets = s.secrets
        k8s.core.v1.Secret("spacemesh-grpc-tls", metadata={"name": ob.TLS_SECRET, "namespace": ns},
                           type="kubernetes.io/tls",
                           string_data={"tls.crt": pulumi.Output.secret(secrets.tls_cert.value),
                                        "tls.key": pulumi.Output.secret(secrets.tls_key.value)},
                           opts=pulumi.ResourceOptions.merge(k8s_opts, pulumi.ResourceOptions(depends_on=[network])))
        ingress = k8s.networking.v1.Ingress("spacemesh-grpc", **body(ob.grpc_ingress(s, ns)),
                                            opts=pulumi.ResourceOptions.merge(k8s_opts, pulumi.ResourceOptions(depends_on=[network])))
        grpc_host = ingress.status.apply(lambda st: ((st.load_balancer.ingress or [None])[0].ip or "") if st and st.load_balancer and st.load_balancer.ingress else "")
    if s.watch.enabled:
        k8s.core.v1.Secret("spacemesh-watch-slack", metadata={"name": ob.WATCH_SECRET, "namespace": ns},
                           string_data={"token": pulumi.Output.secret(s.secrets.slack_token.value)},
                           opts=pulumi.ResourceOptions.merge(k8s_opts, pulumi.ResourceOptions(depends_on=[network])))
        _k8s(ob.watch_deployment(s, ns), k8s_opts, depends_on=[network])

    gcp_provider = cluster.gke.gcp_provider if cluster.gke is not None else None
    SpacemeshPublishing("spacemesh-publish", s, public, gcp_provider=gcp_provider,
                        grpc_ingress_host=grpc_host, public_api_host=grpc_host)

    if s.metrics:
        from components.monitoring import Monitoring

        monitoring = Monitoring("monitoring", settings.monitoring, settings.alerting, cluster.general_storage_class,
                                (), charts_dir=settings.charts_dir, opts=k8s_opts)
        k8s.apiextensions.CustomResource("spacemesh-pod-monitor", **custom_resource_args(ob.pod_monitor(settings.monitoring.scrape_interval)),
                                         opts=pulumi.ResourceOptions.merge(k8s_opts, pulumi.ResourceOptions(depends_on=[monitoring])))
    if settings.logging.enabled:
        from components.logging import Logging

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


def _k8s(manifest: dict, opts: pulumi.ResourceOptions, depends_on=()) -> pulumi.Resource:
    kind = manifest["kind"]
    cls = {"Deployment": k8s.apps.v1.Deployment, "Service": k8s.core.v1.Service, "StatefulSet": k8s.apps.v1.StatefulSet}[kind]
    name = f"spacemesh-{manifest['metadata']['name']}-{kind.lower()}"
    return cls(name, **body(manifest), opts=pulumi.ResourceOptions.merge(opts, pulumi.ResourceOptions(depends_on=list(depends_on))))
