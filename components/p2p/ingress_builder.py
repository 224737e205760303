"""Pure builders for the ingress-nginx data plane behind the p2p shards.

The shards themselves (slots, ports, LoadBalancer Services) are data-plane neutral and live
in components/p2p/p2p_builder.py. Here: the controller release, the tcp-services routing and the
names that make the shards select ingress-nginx's pods.

Why our own ConfigMap instead of the chart's `tcp:` values: the controller watches its
ConfigMaps and reloads nginx in place when they change, while a values change is a Helm
upgrade that rolls the controller pods. Adding or removing a backend therefore touches the
ConfigMap and one shard Service, never the release.

A validator has no udp-services ConfigMap: its p2p is TCP (see P2P_PROTOCOLS in p2p_builder).
Only when a backend declares UDP (the testnet blueprint's `testnet.udp`) is there one, routing
exactly those backends.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Optional

from components.p2p import p2p_builder as p2p
from components.kube.chart import Chart
from pegasus import names
from pegasus.config import IngressSettings

# Controller v1.15.1, the project's final release (ingress-nginx retired in March 2026).
UDP_SERVICES_CONFIGMAP = names.UDP_SERVICES_CONFIGMAP

CHART = Chart(names.INGRESS_RELEASE, "ingress-nginx", "4.15.1", "https://kubernetes.github.io/ingress-nginx")


def chart(naming: names.IngressNames = names.INGRESS) -> Chart:
    """The pinned chart under the data plane's release name."""
    return CHART if naming.release == CHART.release else replace(CHART, release=naming.release)


def services_configmap_data(shards: tuple[p2p.Shard, ...], protocol: str = "TCP") -> dict[str, str]:
    """tcp-services (or udp-services) data: `<internal port>: <namespace>/<service>:<port>`,
    the format ingress-nginx's getStreamServices parses. Only routed backends appear."""
    return {str(port): f"{b.namespace}/{b.service}:{b.port}" for port, b in p2p.routes(shards, protocol).items()}


def has_udp(shards: tuple[p2p.Shard, ...]) -> bool:
    return any("UDP" in sp.backend.protocols for shard in shards for sp in shard.ports + shard.reserved)


def shard_service(shard: p2p.Shard, settings: IngressSettings, cluster_name: str,
                  static_address_name: Optional[str] = None, naming: names.IngressNames = names.INGRESS) -> dict:
    name = naming.shard_service(shard.index)
    return p2p.shard_service(
        shard, settings, cluster_name,
        name=name,
        namespace=naming.namespace,
        selector=naming.controller_selector,
        labels=names.labels("p2p-shard", name, name="ingress-nginx"),
        static_address_name=static_address_name,
    )


def services_configmap(name: str, data: dict[str, str], naming: names.IngressNames = names.INGRESS) -> dict:
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {
            "name": name,
            "namespace": naming.namespace,
            "labels": names.labels("p2p-routing", name, name="ingress-nginx"),
        },
        "data": data,
    }


# nginx settings with a reason. A change to the set of L4 servers (a chainlet added, taken
# offline or back, or a Service losing its last endpoint) is not "dynamic configuration"
# (IsDynamicConfigurationEnough compares the L4 list without endpoints) and makes nginx
# reload; the old workers keep their connections until worker-shutdown-timeout (240s by
# default, config.go) and then close them. Every chainlet's p2p connections run through the
# same workers, so with 240s any one chainlet's change resets every peer of every chainlet
# four minutes later. p2p connections never end by themselves, so any finite timeout cuts them
# in the end; one hour keeps a reload from cutting a connection younger than an hour, while
# old generations (each worker-processes strong, until their timeout) stay bounded by the
# reloads of one hour. worker-processes is fixed so that a lingering generation costs a known
# amount of memory (2 workers: proxying p2p streams is not CPU-bound) instead of one worker
# per CPU of whatever node the pod lands on. Readiness no longer causes reloads at all: the
# chain Services publish not-ready addresses (components/chain/workload_builder.py).
CONTROLLER_CONFIG = {
    "worker-shutdown-timeout": "3600s",
    "worker-processes": "2",
}


def controller_values(settings: IngressSettings, udp: bool = False, naming: names.IngressNames = names.INGRESS) -> dict:
    """`udp`: some backend listens on UDP, so the controller also reads the udp-services ConfigMap.
    `naming`: the data plane's names; another release also names the chart's cluster-scoped
    objects apart (see names.IngressNames)."""
    ns = naming.namespace
    extra_args = {"tcp-services-configmap": f"{ns}/{naming.tcp_services}"}
    if udp:
        extra_args["udp-services-configmap"] = f"{ns}/{naming.udp_services}"
    return {
        "fullnameOverride": naming.release,
        "controller": {
            "replicaCount": settings.controller_replicas,
            "config": dict(CONTROLLER_CONFIG),
            "extraArgs": extra_args,
            # A cluster may run its own ingress-nginx: our IngressClass, controller class and
            # election ID (from the fullname) are Pegasus's, so neither controller takes the
            # other's Ingresses or leader lock. Pegasus creates no Ingress, so the validating
            # webhook (cluster-wide, and a second one would judge the other's Ingresses) and
            # its certificate jobs are off.
            "ingressClass": naming.ingress_class,
            "ingressClassResource": {
                "name": naming.ingress_class,
                "enabled": True,
                "default": False,
                "controllerValue": naming.controller_class,
            },
            "admissionWebhooks": {"enabled": False},
            # p2p traffic arrives through the shard Services; nothing HTTP is public.
            "service": {"type": "ClusterIP"},
            "allowSnippetAnnotations": False,
            "metrics": {"enabled": True},
            "resources": {
                "requests": {"cpu": "250m", "memory": "256Mi"},
                "limits": {"memory": "1Gi"},
            },
            "minAvailable": 1,
            # Spread the controllers so a node loss leaves the shards served.
            "topologySpreadConstraints": [{
                "maxSkew": 1,
                "topologyKey": "kubernetes.io/hostname",
                "whenUnsatisfiable": "ScheduleAnyway",
                "labelSelector": {"matchLabels": naming.controller_selector},
            }],
        },
    }
