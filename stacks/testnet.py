"""A Mina testnet over several regions (design document 001), one stack.

Per region: its own cluster (the Cluster component, or a shared cluster's kubeconfig from
another stack) and its own kubernetes provider, the namespace testnet-<name>, ingress-nginx
with the p2p shards (under names of the testnet's own, so testnets share a cluster), the
genesis ConfigMap, one ChainNode per daemon (seeds, block producers, SNARK coordinators)
behind its slot's public port, SNARK worker Deployments, test services, and the peers.txt
ConfigMap. Across regions: the seeds' Cloudflare records and the
peer list every daemon bootstraps from.

Keys never enter the program: a block producer names its key (keyRef), and External Secrets
(or an existing Secret) puts it in the pod at run time.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any, Optional

import pulumi
import pulumi_kubernetes as k8s

from components.cluster import cluster_builder, karpenter_builder
from components.p2p import ingress_builder
from components.testnet import builder as tb, genesis_builder as gb, peers_builder as pb, secrets_builder as sb, stateless_builder as stb
from components.chain import workload_builder as wb
from components.chain.chain_node import ChainNode
from components.kube.chart import check_mirror
from components.cluster.cluster import Cluster
from components.p2p.ingress import Ingress
from components.kube.k8s_util import body
from components.testnet.keys import TestnetKeys
from components.testnet.monitoring import TestnetMonitoring
from pegasus.config import IngressSettings, LoggingSettings
from components.testnet.config import Region, TestnetBlueprint, TestnetSettings, installs_monitoring
from pegasus import names
from pegasus.errors import ConfigError


@dataclass
class RegionDeployment:
    region: Region
    provider: k8s.Provider
    cluster: Optional[Cluster]
    namespace: k8s.core.v1.Namespace
    ingress: Ingress
    plans: tuple[tb.DaemonPlan, ...]
    shard_ips: dict[int, Any]  # shard -> the IP daemons pass as -external-ip
    # With Karpenter: what releases and daemons wait for (its NodePools), and where daemons run.
    workload_dependencies: list = field(default_factory=list)
    placement: wb.Placement = field(default_factory=wb.Placement)


def ingress_settings(testnet: TestnetSettings, region: Region) -> IngressSettings:
    cloud = region.cloud
    return IngressSettings(
        shard_size=testnet.shard_size,
        base_port=testnet.base_port,
        internal_base_port=testnet.internal_base_port,
        p2p_domain=None,
        controller_replicas=2,
        cloud=cloud,
        allocate_node_ports=cloud != "eks",
    )


def ingress_names(testnet: TestnetSettings) -> names.IngressNames:
    """The testnet's own p2p data plane in every region: namespace testnet-<name>-ingress,
    release, IngressClass and controller class testnet-<name>-p2p. A shared regional cluster
    then hosts several testnets and a validator side by side (names.IngressNames)."""
    return names.ingress_names(testnet.namespace)


def charts(testnet: TestnetSettings) -> list:
    out = [ingress_builder.chart(ingress_names(testnet))]
    if any(r.provider == "eks" for r in testnet.regions):
        out.append(cluster_builder.LBC_CHART)
    if any(r.secret_store != "kubernetes" for r in testnet.regions):
        out.append(sb.CHART)
    if testnet.karpenter is not None:
        out += [karpenter_builder.CRD_CHART, karpenter_builder.CHART]
    if any(r.archive is not None for r in testnet.regions):
        from components.testnet import archive_builder as testnet_archive_builder

        out.append(testnet_archive_builder.CNPG_CHART)
    if any(installs_monitoring(testnet, r) for r in testnet.regions):
        from components.monitoring import monitoring_builder

        out += [monitoring_builder.KPS_CHART, monitoring_builder.BLACKBOX_CHART]
    if testnet.logging and any(r.provider in ("eks", "gke") for r in testnet.regions):
        from components.monitoring import logging_builder

        out.append(logging_builder.CHART)
    return out


def read_genesis(testnet: TestnetSettings, base_dir: str) -> str:
    path = os.path.join(base_dir, testnet.genesis_file)
    try:
        with open(path, encoding="utf-8") as f:
            return f.read()
    except OSError as e:
        raise ConfigError("testnet.genesisFile", f"cannot read {testnet.genesis_file}: {e.strerror}; give the path of the network's daemon.json, relative to the project") from None


def _provider(region: Region, stack: str, charts_dir: Optional[str], ship_logs: bool,
              karpenter: bool) -> tuple[k8s.Provider, Optional[Cluster]]:
    if region.stack_cluster is not None:
        # Self-service: a developer without cloud rights deploys into a shared regional
        # cluster whose stack exports its kubeconfig.
        ref = pulumi.StackReference(f"{region.name}-cluster-ref", stack_name=region.stack_cluster.stack)
        kubeconfig = pulumi.Output.secret(ref.require_output(region.stack_cluster.output))
        provider = k8s.Provider(f"{region.name}-k8s", kubeconfig=kubeconfig, **cluster_builder.provider_settings(),
                                opts=pulumi.ResourceOptions(additional_secret_outputs=["kubeconfig"]))
        return provider, None
    cluster = Cluster(f"{region.name}-cluster", region.cluster, stack, karpenter=karpenter and region.provider == "eks",
                      charts_dir=charts_dir, ship_logs=ship_logs)
    return cluster.provider, cluster


def deploy_region(region: Region, testnet: TestnetSettings, stack: str, charts_dir: Optional[str],
                  genesis: str) -> RegionDeployment:
    provider, cluster = _provider(region, stack, charts_dir, testnet.logging, testnet.karpenter is not None)
    opts = pulumi.ResourceOptions(provider=provider)
    # Deleting the namespace would delete every daemon volume in it, protected or not.
    ns = k8s.core.v1.Namespace(f"{region.name}-namespace", **body(tb.namespace(testnet)),
                               opts=pulumi.ResourceOptions.merge(opts, pulumi.ResourceOptions(retain_on_delete=True)))
    plans = tb.plan_region(region, testnet)
    settings = ingress_settings(testnet, region)
    eks = cluster.eks if cluster else None
    shard_lb_annotations: dict = {}
    shard_addresses = None
    namespace_labels: dict = {}
    release_timeout = None
    workloads_may_start: list = []
    placement = wb.Placement()
    if eks is not None and testnet.karpenter is not None:
        from components.cluster.karpenter import Karpenter

        # As for a validator: the system nodes take critical add-ons only, so every release and
        # daemon waits for the NodePools, and daemons run on the never-expiring signers pool.
        karpenter = Karpenter(f"{region.name}-karpenter", testnet.karpenter, eks, provider,
                              cluster_builder.common_tags(region.cluster, stack), charts_dir=charts_dir,
                              opts=pulumi.ResourceOptions(providers=[provider]))
        workloads_may_start = list(karpenter.workload_dependencies)
        placement = karpenter_builder.signer_placement()
    if eks is not None:
        from components.p2p.shard_addresses import ShardAddresses

        # Mina's -external-ip takes an address, not a name: on eks the shards sit on
        # Elastic IPs, whose first is what the daemons advertise.
        shard_addresses = ShardAddresses(f"{region.name}-p2p-addresses",
                                         range(max((p.address.shard for p in plans), default=-1) + 1), eks, ns)
        health = cluster_builder.nlb_controller_health_check_annotations()
        shard_lb_annotations = {i: {**a, **health} for i, a in shard_addresses.annotations.items()}
        # As for a validator (stacks/validator.py): readiness gates keep a target serving through
        # a rollout, and a gated controller pod takes minutes to be Ready.
        namespace_labels = {names.READINESS_GATE_LABEL: "enabled"}
        release_timeout = 900
    ingress = Ingress(
        f"{region.name}-ingress", settings, tb.backends(plans, testnet),
        cluster_name=region.cluster.name if region.cluster else f"{testnet.name}-{region.name}",
        lb_dependencies=cluster.lb_dependencies if cluster else [], gcp=cluster.gke if cluster else None,
        shard_lb_annotations=shard_lb_annotations, namespace_labels=namespace_labels, release_timeout=release_timeout,
        workload_dependencies=workloads_may_start, charts_dir=charts_dir, naming=ingress_names(testnet),
        controller_config=tb.P2P_CONTROLLER_CONFIG, opts=opts,
    )
    if testnet.logging and cluster is not None and (cluster.eks or cluster.gke):
        from components.monitoring.logging import Logging

        Logging(f"{region.name}-logging", LoggingSettings(True, testnet.log_retention_days), region.cluster.name, provider,
                eks=cluster.eks, gke=cluster.gke, tags=cluster_builder.common_tags(region.cluster, stack),
                charts_dir=charts_dir, opts=opts)
    in_ns = pulumi.ResourceOptions.merge(opts, pulumi.ResourceOptions(depends_on=[ns]))
    k8s.networking.v1.NetworkPolicy(f"{region.name}-network-policy", **body(tb.network_policy(testnet, plans)), opts=in_ns)
    genesis_cm = k8s.core.v1.ConfigMap(f"{region.name}-genesis", **body(tb.genesis_configmap(testnet, genesis)), opts=in_ns)
    if region.archive is not None:
        from components.testnet.archive import TestnetArchive

        TestnetArchive(f"{region.name}-archive", testnet, region, namespace=ns, provider=provider, genesis=genesis_cm,
                       workload_dependencies=workloads_may_start, charts_dir=charts_dir)
    shard_ips = {}
    for index, host in ingress.shard_hosts.items():
        if shard_addresses:
            shard_ips[index] = shard_addresses.public_ips[index].apply(lambda ips: ips[0])
        else:
            # gke: the shard's reserved address; existing and stack clusters: whatever the load
            # balancer publishes, which must be an IP (builder.external_ip stops the update otherwise).
            shard_ips[index] = pulumi.Output.from_input(host).apply(
                lambda h, svc=names.shard_service_name(index): tb.external_ip(h, svc))
    return RegionDeployment(region, provider, cluster, ns, ingress, plans, shard_ips, workloads_may_start, placement)


def seed_number(plan: tb.DaemonPlan) -> int:
    return int(plan.name.split("-", 1)[1])


def seed_peers(deployments: list[RegionDeployment], testnet: TestnetSettings) -> list[tuple[str, Any]]:
    """(seed daemon key, multiaddr Output) for every seed whose peer ID is known."""
    out = []
    for d in deployments:
        for p in d.plans:
            if p.role != "seed" or not p.peer_id:
                continue
            host = tb.seed_host(seed_number(p), testnet) if testnet.domain else None
            host_out = pulumi.Output.from_input(host) if host else pulumi.Output.from_input(d.ingress.shard_hosts[p.address.shard])
            out.append((f"{d.region.name}/{p.name}",
                        host_out.apply(lambda h, port=p.address.port, peer=p.peer_id: tb.multiaddr(h, port, peer))))
    return out


def seed_records(deployments: list[RegionDeployment], testnet: TestnetSettings) -> None:
    if not testnet.domain:
        return
    import pulumi_cloudflare as cloudflare

    for d in deployments:
        for p in d.plans:
            if p.role != "seed":
                continue
            ip = d.shard_ips[p.address.shard]
            # An A record where the shard has an address, a CNAME where it has a name.
            kind = pulumi.Output.from_input(ip).apply(lambda v: "A" if tb.is_ipv4(v) else "CNAME")
            cloudflare.DnsRecord(
                f"{d.region.name}-{p.name}-dns",
                zone_id=testnet.cloudflare_zone_id, name=tb.seed_host(seed_number(p), testnet),
                type=kind, content=ip, ttl=300, proxied=False,
                comment=f"pegasus testnet {testnet.name}, region {d.region.name}",
            )


def deploy(settings: TestnetBlueprint) -> None:
    testnet = settings.testnet
    check_mirror(charts(testnet), settings.charts_dir, os.getcwd())
    for warning in settings.warnings:
        pulumi.log.warn(warning)
    # The ledger the stack uses: written from the producers' keys and stake, or the user's file.
    genesis = gb.render(testnet) if testnet.genesis else read_genesis(testnet, os.getcwd())
    gb.check_producer_stake(testnet, genesis)
    proof_level = tb.genesis_proof_level(genesis)
    deployments = [deploy_region(r, testnet, settings.stack, settings.charts_dir, genesis) for r in testnet.regions]
    peers = seed_peers(deployments, testnet)
    seed_records(deployments, testnet)
    peers_txt = pulumi.Output.all(*[addr for _, addr in peers]).apply(lambda addrs: tb.render_peers_txt(list(addrs)))
    daemons_out: dict = {}
    for d in deployments:
        key_secrets: list[pulumi.Resource] = []
        if d.region.secret_store != "kubernetes":
            key_secrets = TestnetKeys(f"{d.region.name}-keys", testnet, d.region, d.plans, namespace=d.namespace,
                                      provider=d.provider, cluster=d.cluster, workload_dependencies=d.workload_dependencies,
                                      charts_dir=settings.charts_dir).secrets
        opts = pulumi.ResourceOptions(provider=d.provider)
        in_ns = pulumi.ResourceOptions.merge(opts, pulumi.ResourceOptions(depends_on=[d.namespace]))
        peers_cm = k8s.core.v1.ConfigMap(f"{d.region.name}-peers", **body(tb.peers_configmap(testnet, peers_txt)), opts=in_ns)
        # The list daemons poll (-peer-list-url): served in the namespace from the ConfigMap above.
        k8s.apps.v1.Deployment(f"{d.region.name}-peers-server", **body(pb.server_deployment(testnet)),
                               opts=pulumi.ResourceOptions.merge(in_ns, pulumi.ResourceOptions(depends_on=[peers_cm])))
        k8s.core.v1.Service(f"{d.region.name}-peers-service", **body(pb.service(testnet)), opts=in_ns)
        region_out = {}
        for plan in d.plans:
            own = f"{d.region.name}/{plan.name}"
            others = [addr for key, addr in peers if key != own]
            ip = d.shard_ips[plan.address.shard]
            spec = tb.daemon_spec(plan, testnet, ip, others, d.cluster.storage_class if d.cluster else None, d.placement)
            external = pulumi.Output.concat(ip, ":", str(plan.address.port))
            node = ChainNode(f"{d.region.name}-{plan.name}", spec, namespace=d.namespace, external_address=external,
                             workload_dependencies=[*key_secrets, *d.workload_dependencies], opts=opts)
            region_out[plan.name] = {"role": plan.role, "address": node.p2p_address, "slot": plan.address.slot,
                                     "shard": plan.address.shard, "port": plan.address.port,
                                     "graphql": stb.graphql_url(plan.name, testnet)}
        for pool in d.region.snark_pools:
            workers = k8s.apps.v1.Deployment(f"{d.region.name}-{stb.worker_name(pool)}", **body(stb.worker_deployment(pool, testnet, proof_level)), opts=in_ns)
            hpa = stb.worker_hpa(pool, testnet)
            if hpa is not None:
                k8s.autoscaling.v2.HorizontalPodAutoscaler(f"{d.region.name}-{stb.worker_name(pool)}-hpa", **body(hpa),
                                                           opts=pulumi.ResourceOptions.merge(in_ns, pulumi.ResourceOptions(depends_on=[workers])))
        for service in d.region.test_services:
            key = sb.service_key_secret_name(service, d.region.secret_store)
            k8s.apps.v1.Deployment(f"{d.region.name}-{service.name}", **body(stb.test_service_deployment(service, testnet, key)),
                                   opts=pulumi.ResourceOptions.merge(in_ns, pulumi.ResourceOptions(depends_on=key_secrets)))
        if testnet.monitoring:
            crds: list = []
            if installs_monitoring(testnet, d.region):
                from components.monitoring.monitoring import Monitoring

                # The operator stack first: the PodMonitor and rules below are its custom resources.
                stack = Monitoring(f"{d.region.name}-monitoring-stack", testnet.monitoring_settings, testnet.alerting,
                                   d.cluster.general_storage_class if d.cluster else None,
                                   workload_dependencies=d.workload_dependencies, charts_dir=settings.charts_dir,
                                   opts=pulumi.ResourceOptions(providers=[d.provider]))
                crds = [stack.release]
            TestnetMonitoring(f"{d.region.name}-monitoring", testnet, d.region, d.namespace, crds=crds,
                              opts=pulumi.ResourceOptions(providers=[d.provider]))
        daemons_out[d.region.name] = region_out
    if testnet.registry is not None:
        from components.testnet.registry import ImageRegistry

        pulumi.export("imageRepositories", ImageRegistry("registry", testnet.registry).urls)
    pulumi.export("namespace", testnet.namespace)
    pulumi.export("peerList", pulumi.Output.all(*[addr for _, addr in peers]))
    pulumi.export("peersTxt", peers_txt)
    pulumi.export("daemons", daemons_out)
    pulumi.export("lbShards", {d.region.name: {names.shard_service_name(i): h for i, h in d.ingress.shard_hosts.items()} for d in deployments})
    for d in deployments:
        if d.cluster is not None and d.region.provider != "existing":
            pulumi.export(f"kubeconfig-{d.region.name}", pulumi.Output.secret(d.cluster.kubeconfig))
