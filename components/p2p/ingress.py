"""ingress-nginx and the p2p LoadBalancer shards (see components/p2p/ingress_builder.py)."""

from __future__ import annotations

from typing import Any, Mapping, Optional, Sequence

import pulumi
import pulumi_kubernetes as k8s

from components.p2p import ingress_builder as ib
from components.p2p import p2p_builder as p2p
from components.p2p.shard import joined_aliases
from components.chain import workload_builder as wb
from components.kube.k8s_util import body, helm_release, lb_host
from pegasus import names
from pegasus.config import IngressSettings


class Ingress(pulumi.ComponentResource):
    shard_hosts: dict[int, Any]
    """Public host of each shard: p2p-<N>.<domain>, a reserved IP, or the LB's address."""
    shards: tuple[p2p.Shard, ...]

    def __init__(self, name: str, settings: IngressSettings, backends: tuple[p2p.P2PBackend, ...], *,
                 cluster_name: str, guard: Optional[pulumi.Resource] = None,
                 lb_dependencies: Optional[list[pulumi.Resource]] = None, gcp: Any = None,
                 workload_dependencies: Sequence[pulumi.Resource] = (),
                 namespace_labels: Optional[Mapping[str, str]] = None,
                 shard_lb_annotations: Optional[Mapping[int, Mapping[str, Any]]] = None,
                 release_timeout: Optional[int] = None,
                 charts_dir: Optional[str] = None, controller_service: Optional[Mapping[str, Any]] = None,
                 naming: names.IngressNames = names.INGRESS,
                 controller_config: Optional[Mapping[str, str]] = None,
                 shard_services: bool = True, address_shards: Sequence[int] = (), adopt_shard_stacks: bool = False,
                 opts: Optional[pulumi.ResourceOptions] = None):
        """`shard_services=False` is the platform stack of sharded mode (pegasus/sharding.py):
        the controller and an empty routing ConfigMap only; each shard stack adds its own LB
        Service and routing keys (components/p2p/shard.py). `address_shards`: the shards whose
        gke reserved IP this stack still holds, so an address outlives any shard stack."""
        super().__init__("pegasus:ingress:Ingress", name, None, opts)
        self.shards = p2p.plan_shards(backends, settings)
        # Several data planes may share a cluster (testnets in a shared regional cluster, beside
        # a validator): every name they would otherwise share comes from `naming`.
        self.naming = naming
        guard_deps = [guard] if guard is not None else []
        ns_manifest = wb.namespace(naming.namespace, "ingress", naming.namespace)
        ns_manifest["metadata"]["labels"].update(namespace_labels or {})
        ns = k8s.core.v1.Namespace(f"{name}-ns", **body(ns_manifest), opts=pulumi.ResourceOptions(parent=self))
        routing = pulumi.ResourceOptions(parent=self, depends_on=[ns, *guard_deps])
        data = ib.services_configmap_data(self.shards)
        tcp_manifest = ib.services_configmap(naming.tcp_services, data, naming)
        if not shard_services:
            # Shard stacks own the keys through their own field managers (ConfigMapPatch); a
            # `data` here, even empty, would make this stack a manager of the map.
            del tcp_manifest["data"]
        tcp = k8s.core.v1.ConfigMap(f"{name}-tcp-services", **body(tcp_manifest), opts=routing)
        udp = ib.has_udp(self.shards)
        routing_maps = [tcp]
        if udp:
            udp_data = ib.services_configmap_data(self.shards, "UDP")
            routing_maps.append(k8s.core.v1.ConfigMap(
                f"{name}-udp-services", **body(ib.services_configmap(naming.udp_services, udp_data, naming)), opts=routing))
        # The release's values never mention a backend: routing changes stay in the
        # ConfigMap above, which the controller reloads in place.
        # The controller pods need a node to run on before the atomic release times out.
        values = ib.controller_values(settings, udp, naming)
        if controller_config:
            # A data plane's own controller ConfigMap keys (the testnet's stream timeout).
            values["controller"]["config"].update(controller_config)
        if controller_service is not None:
            # The provider blueprint serves HTTP through the controller's own Service.
            values["controller"]["service"] = dict(controller_service)
        self.release = helm_release(
            f"{name}-controller", ib.chart(naming), naming.namespace, values,
            pulumi.ResourceOptions(parent=self, depends_on=[ns, *routing_maps, *workload_dependencies]),
            local_dir=charts_dir, **({"timeout": release_timeout} if release_timeout else {}),
        )
        self.shard_hosts = {}
        self.reserved_addresses: dict[int, Any] = {}
        if not shard_services:
            self.reserved_addresses = reserve_shard_addresses(self, name, address_shards, settings, cluster_name, gcp)
            self.register_outputs({})
            return
        for shard in self.shards:
            static_name = None
            address = None
            if settings.cloud == "gke" and gcp is not None:
                address = reserve_shard_address(self, name, shard.index, cluster_name, gcp)
                static_name = f"{cluster_name}-p2p-{shard.index}"
            manifest = ib.shard_service(shard, settings, cluster_name, static_address_name=static_name, naming=naming)
            manifest["metadata"]["annotations"].update((shard_lb_annotations or {}).get(shard.index, {}))
            # Protected: deleting a shard Service gives up the address its chainlets advertise.
            svc = k8s.core.v1.Service(
                f"{name}-p2p-{shard.index}", **body(manifest),
                opts=pulumi.ResourceOptions(
                    parent=self, protect=True,
                    depends_on=[ns, self.release, *guard_deps, *(lb_dependencies or []), *([address] if address else [])],
                    # A shard stack's Service, moved back by `tools.shards join` (validator only).
                    aliases=joined_aliases(shard.index, "service", "kubernetes:core/v1:Service") if adopt_shard_stacks else None,
                ),
            )
            host = p2p.shard_public_host(shard.index, settings.p2p_domain)
            if host is None:
                host = address.address if address is not None else lb_host(svc)
            self.shard_hosts[shard.index] = host
        self.register_outputs({f"shard_{i}": pulumi.Output.from_input(h) for i, h in self.shard_hosts.items()})


def reserve_shard_addresses(parent: pulumi.Resource, name: str, indices: Sequence[int], settings: IngressSettings,
                            cluster_name: str, gcp: Any, aliases: Optional[list] = None) -> dict[int, Any]:
    """The gke reserved IPs a sharded platform keeps for its shard stacks (none elsewhere)."""
    if settings.cloud != "gke" or gcp is None:
        return {}
    return {i: reserve_shard_address(parent, name, i, cluster_name, gcp, aliases) for i in indices}


def reserve_shard_address(parent: pulumi.Resource, name: str, index: int, cluster_name: str, gcp: Any,
                          aliases: Optional[list] = None) -> Any:
    import pulumi_gcp

    # A reserved regional IP outlives the Service: even a recreated shard keeps the address its
    # chainlets advertise. Both data planes name it alike, so a switch keeps the address.
    return pulumi_gcp.compute.Address(
        f"{name}-p2p-{index}-ip",
        name=f"{cluster_name}-p2p-{index}",
        region=gcp.region,
        address_type="EXTERNAL",
        network_tier="PREMIUM",
        opts=pulumi.ResourceOptions(parent=parent, provider=gcp.gcp_provider, protect=True, aliases=aliases),
    )
