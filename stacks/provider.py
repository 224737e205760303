"""The provider platform (design document 003, Trusted Pods): a cluster, KEDA with its HTTP
add-on behind Pegasus's ingress-nginx, monitoring with metering, and one namespace per paid
pod whose workload follows the pod's payment channel.

Order matters for safety, as in the validator: every manifest and every channel is read
completely before anything is declared, and the PaymentState guard is registered before every
pod resource, which all depend on it. A bad manifest or a failed read raises before the first
resource; a suspicious read (another chain, a lower block, too many pods running dry at once)
fails the guard's check, so nothing downstream is touched.
"""

from __future__ import annotations

import os

import pulumi

from components.chain import chain_state
from components.p2p import ingress_builder
from components.monitoring import monitoring_builder
from components.provider import builder as pb
from components.kube.chart import Chart, check_mirror
from components.cluster.cluster import Cluster
from components.provider.http_scaling import HttpScaling
from components.p2p.ingress import Ingress
from components.provider.metering import Metering
from components.monitoring.monitoring import Monitoring
from components.provider.payment_state import PAYMENT_STATE_TYPE, PaymentState
from components.provider.settlement import Settlement
from components.provider import settlement_builder
from components.provider.tenant_nodes import TenantNodes
from components.provider import tenant_nodes_builder
from components.provider import tcp_builder
from components.provider.tenant_pod import TenantPod
from pegasus import names
from pegasus.config.fields import _Section, is_kubeconfig_content
from components.provider.config import ProviderStackSettings
from pegasus.config.validator import _ingress
from pegasus.errors import ConfigError
from components.provider import manifests as pm
from components.provider import payments


def check_against_last_run(settings: ProviderStackSettings, view: payments.PaymentView, state: dict) -> None:
    """The guard's block and chain checks, before anything is declared: the PaymentState record
    of the last applied run (read with the engine's readStackResourceOutputs, failing closed
    like the validator's ledger read). The guard repeats them in its check."""
    records = [r.get("outputs") or {} for r in state.values() if isinstance(r, dict) and r.get("type") == PAYMENT_STATE_TYPE]
    if not records:
        return
    last = records[0]
    if "chainId" in last and int(last["chainId"]) != view.chain_id:
        raise payments.PaymentReadError(
            f"this stack applied payments of chain {int(last['chainId'])} last time, not chain {view.chain_id}; "
            "restore provider.payments.chainId and rpcUrl; nothing was planned", key="provider.payments.chainId")
    if "block" in last and view.block < int(last["block"]) and not settings.provider.allow_block_regression:
        raise payments.PaymentReadError(
            f"the payments were read at block {view.block}, below block {int(last['block'])} applied last time: the "
            "source is stale or lagging; point it at a synced node, or run once with "
            "`pulumi config set --path provider.allowBlockRegression true`; nothing was planned",
            key="provider.payments.rpcUrl" if settings.provider.payments.source == "evm" else "provider.payments.snapshot")


# The ingress-nginx controller's own Service carries the pods' HTTP traffic, per cloud.
LB_ANNOTATIONS = {
    "eks": {
        "service.beta.kubernetes.io/aws-load-balancer-type": "external",
        "service.beta.kubernetes.io/aws-load-balancer-nlb-target-type": "ip",
        "service.beta.kubernetes.io/aws-load-balancer-scheme": "internet-facing",
    },
    "gke": {},
    "existing": {},
}


def charts(settings: ProviderStackSettings) -> list[Chart]:
    out = [ingress_builder.chart(names.PROVIDER_INGRESS), pb.KEDA_CHART, pb.HTTP_ADDON_CHART, monitoring_builder.KPS_CHART, monitoring_builder.BLACKBOX_CHART]
    if settings.cluster.provider == "eks":
        from components.cluster import cluster_builder

        out.append(cluster_builder.LBC_CHART)
    return out


def check_chart_mirror(settings: ProviderStackSettings, base_dir: str) -> None:
    check_mirror(charts(settings), settings.charts_dir, base_dir)


def pod_secrets(settings: ProviderStackSettings, pods: tuple[pm.PodManifest, ...]) -> dict[str, dict[str, str]]:
    """Every secret volume's contents from `pegasus:providerSecrets`; a missing one is an error."""
    out: dict[str, dict[str, str]] = {}
    known = dict(settings.provider.secrets)
    for pod in pods:
        for volume in pb.secret_volumes(pod):
            key = f"{pod.name}/{volume.name}"
            if key not in known:
                raise ConfigError(
                    f"providerSecrets.{key}",
                    f"is required by {pod.path}'s secret volume {volume.name!r}; set it with "
                    f"`pulumi config set --secret --path 'providerSecrets[\"{key}\"]' <value>`",
                )
            out.setdefault(pod.name, {})[volume.name] = known.pop(key).value
    if known:
        raise ConfigError(f"providerSecrets.{sorted(known)[0]}", "names no secret volume of any pod manifest; remove it or fix the name")
    return out


def check_restricted_pods(settings: ProviderStackSettings, pods: tuple[pm.PodManifest, ...]) -> None:
    known = {pod.name for pod in pods}
    for name in settings.provider.restricted_pods:
        if name not in known:
            raise ConfigError("provider.restrictedPods", f"names {name!r}, which is no pod manifest in {settings.provider.manifests}; "
                              "remove it or fix the name")


def check_public_ports(settings: ProviderStackSettings, pods: tuple[pm.PodManifest, ...]) -> None:
    if not tcp_builder.published(settings.cluster.provider):
        return
    for pod in pods:
        port = tcp_builder.duplicate_public_port(pod)
        if port is not None:
            raise ConfigError("provider.manifests", f"{pod.path}: two TCP ports would both answer on port {port} of the pod's "
                              "load balancer (hostTcpPort, or the containerPort when it is 0); give one a distinct hostTcpPort")


def guard_inputs(settings: ProviderStackSettings, view: payments.PaymentView, namespaces: dict[str, str]) -> dict:
    p = settings.provider.payments
    return {
        "source": p.source,
        "rpcHost": payments.redact(p.rpc_url.value) if p.rpc_url else None,
        "snapshot": p.snapshot,
        "chainId": view.chain_id,
        "contract": p.contract,
        "providerAddress": p.provider_address,
        "block": view.block,
        "pods": {name: {"namespace": namespaces[name], "status": c.status, "available": str(c.available), "owed": str(c.owed)}
                 for name, c in sorted(view.channels.items())},
        "billed": p.billed,
        "maxRemovals": settings.provider.max_removals,
        "allowBlockRegression": settings.provider.allow_block_regression,
    }


def deploy(settings: ProviderStackSettings) -> None:
    base_dir = os.getcwd()  # Pulumi runs the program from the project directory
    check_chart_mirror(settings, base_dir)
    for warning in settings.warnings:
        pulumi.log.warn(warning)
    p = settings.provider
    pods = pm.read_manifests(p.manifests, base_dir, p.http_host_suffix)
    secrets = pod_secrets(settings, pods)
    check_restricted_pods(settings, pods)
    check_public_ports(settings, pods)
    last = chain_state.last_state()
    view = payments.read(p.payments, pods, base_dir)
    check_against_last_run(settings, view, last)
    namespaces = {pod.name: pb.namespace_name(pod.publisher, pod.pod_id) for pod in pods}

    cluster = Cluster("cluster", settings.cluster, settings.stack, karpenter=False,
                      storage_class_override=settings.storage_class, charts_dir=settings.charts_dir)
    k8s_opts = pulumi.ResourceOptions(providers=[cluster.provider])
    guard = PaymentState("payment-state", guard_inputs(settings, view, namespaces))

    cloud = settings.cluster.provider
    ingress = Ingress(
        "ingress", _ingress(_Section("ingress", {}), cloud), (), cluster_name=settings.cluster.name,
        lb_dependencies=cluster.lb_dependencies, gcp=None, workload_dependencies=cluster.lb_dependencies,
        charts_dir=settings.charts_dir, naming=names.PROVIDER_INGRESS,
        controller_service={"type": "LoadBalancer", "annotations": dict(LB_ANNOTATIONS[cloud])},
        opts=k8s_opts,
    )
    funded_pods = {pod.name for pod in pods if view.channels[pod.name].status == payments.FUNDED}
    paid_custom, unpaid = pb.split_hosts(pods, funded_pods, p.http_host_suffix)
    scaling = HttpScaling("http-scaling", host_suffix=p.http_host_suffix, ingress_class=names.PROVIDER_INGRESS.ingress_class,
                          interceptor_replicas=p.interceptor_replicas, webhooks=p.keda_webhooks,
                          ingress_dependencies=[ingress.release], charts_dir=settings.charts_dir,
                          custom_hosts=paid_custom, unpaid_hosts=unpaid, opts=k8s_opts)
    monitoring = Monitoring("monitoring", settings.monitoring, settings.alerting, cluster.general_storage_class,
                            charts_dir=settings.charts_dir, opts=k8s_opts)
    Metering("metering", depends_on=[monitoring.release], opts=k8s_opts)

    placement = None
    if p.tenant_nodes.enabled and (cluster.eks is not None or cluster.gke is not None):
        # Tenants on nodes of their own, away from Prometheus, the ingress and the interceptor.
        TenantNodes("tenant-nodes", p.tenant_nodes, eks_info=cluster.eks, gke_info=cluster.gke)
        placement = tenant_nodes_builder.placement()

    exported = {}
    for pod in pods:
        channel = view.channels[pod.name]
        funded = channel.status == payments.FUNDED
        ns = namespaces[pod.name]
        tenant = TenantPod(
            f"pod-{pod.name}", pod, namespace=ns,
            channel_annotation=pb.payment_channel_annotation(pod, view.chain_id, p.payments.contract, p.payments.provider_address),
            funded=funded, storage_class=cluster.storage_class, secrets=secrets.get(pod.name, {}), guard=guard,
            platform=[scaling.addon], restricted=pod.name in p.restricted_pods, placement=placement,
            cloud=cloud, cluster_name=settings.cluster.name, lb_dependencies=cluster.lb_dependencies, opts=k8s_opts,
        )
        http = pod.http_port
        exported[pod.name] = {
            "namespace": ns,
            "host": http[1].http_host if http else None,
            "status": channel.status,
            "available": str(channel.available),
            # Billed by the settler and not withdrawn yet (provider.payments.billed); funded while available - owed > 0.
            "owed": str(channel.owed),
            "addresses": tenant.addresses,
            # As of this run's apply: tenant Deployments are not awaited (one tenant's bad
            # image must not fail every tenant's run), so health is reported, not enforced.
            "readyReplicas": tenant.ready_replicas,
        }

    settle = p.settlement
    if settle.enabled:
        # Every pod, exhausted ones too: the last ticks' usage may still be owed from what the channel holds.
        Settlement("settlement", settlement_builder.config(
            contract=p.payments.contract, provider=p.payments.provider_address, chain_id=view.chain_id,
            interval_seconds=settle.interval_seconds, tolerance=settle.tolerance, transfer_to=settle.transfer_to,
            prices=p.pricing.prices,
            pods=[{"name": pod.name, "namespace": namespaces[pod.name], "publisher": pod.publisher, "podId": pod.pod_id}
                  for pod in pods],
        ), key_secret=settle.key_secret, depends_on=[guard, monitoring.release], opts=k8s_opts)

    c = settings.cluster
    if c.provider != "existing" or (c.kubeconfig is not None and is_kubeconfig_content(c.kubeconfig.value)):
        pulumi.export("kubeconfig", pulumi.Output.secret(cluster.kubeconfig))
    if c.provider != "existing":
        pulumi.export("clusterName", c.name)
        pulumi.export("clusterRegion", c.region)
    pulumi.export("grafanaUrl", monitoring.grafana_url)
    pulumi.export("paymentsBlock", view.block)
    pulumi.export("pods", exported)
