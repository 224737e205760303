"""Envoy Gateway and the p2p shard Gateways (see components/p2p/gateway_builder.py).

The same shape as components/p2p/ingress.py: `shards`, `shard_hosts` and `release`, so the stack
treats both data planes alike. Routes are not created here: each online chainlet's TCPRoute
lives in its own namespace, created by its Chainlet component, so one chainlet's change
touches its route, one listener of its shard's Gateway and its own workload.
"""

from __future__ import annotations

from typing import Any, Mapping, Optional, Sequence

import pulumi
import pulumi_kubernetes as k8s
from pulumi_kubernetes import _utilities as k8s_utilities

from components.p2p import gateway_builder as gb
from components.p2p import p2p_builder as p2p
from components.p2p.shard import joined_aliases
from components.chain import workload_builder as wb
from components.kube.k8s_util import body, custom_resource_args, helm_release
from pegasus import names
from pegasus.config import IngressSettings


class _StatusCustomResource(pulumi.CustomResource):
    """A custom resource whose `status` is an output: apiextensions.CustomResource exposes only
    its inputs, and a shard's address is in the Gateway's status.addresses."""

    def __init__(self, resource_name: str, manifest: dict, opts: pulumi.ResourceOptions):
        opts = pulumi.ResourceOptions.merge(opts, pulumi.ResourceOptions(version=k8s_utilities.get_version()))
        props = {"apiVersion": manifest["apiVersion"], "kind": manifest["kind"],
                 "metadata": manifest["metadata"], "spec": manifest["spec"], "status": None}
        super().__init__(f"kubernetes:{manifest['apiVersion']}:{manifest['kind']}", resource_name, props, opts)


def _first_address(status: Any) -> str:
    addresses = (status or {}).get("addresses") or [] if isinstance(status, dict) else []
    return (addresses[0] or {}).get("value", "") if addresses else ""


class EnvoyGatewayIngress(pulumi.ComponentResource):
    shard_hosts: dict[int, Any]
    shards: tuple[p2p.Shard, ...]

    def __init__(self, name: str, settings: IngressSettings, backends: tuple[p2p.P2PBackend, ...], *,
                 cluster_name: str, guard: Optional[pulumi.Resource] = None,
                 lb_dependencies: Optional[list[pulumi.Resource]] = None, gcp: Any = None,
                 workload_dependencies: Sequence[pulumi.Resource] = (),
                 namespace_labels: Optional[Mapping[str, str]] = None,
                 shard_lb_annotations: Optional[Mapping[int, Mapping[str, Any]]] = None,
                 service_annotations: Optional[Mapping[str, str]] = None,
                 release_timeout: Optional[int] = None,
                 charts_dir: Optional[str] = None, shard_services: bool = True, address_shards: Sequence[int] = (),
                 adopt_shard_stacks: bool = False, opts: Optional[pulumi.ResourceOptions] = None):
        """`shard_services=False`: the platform stack of sharded mode, as in components/p2p/ingress.py;
        each shard stack declares its own Gateway (components/p2p/shard.py)."""
        super().__init__("pegasus:gateway:EnvoyGatewayIngress", name, None, opts)
        self.shards = p2p.plan_shards(backends, settings)
        guard_deps = [guard] if guard is not None else []
        ns_manifest = wb.namespace(names.INGRESS_NAMESPACE, "ingress", names.INGRESS_NAMESPACE)
        ns_manifest["metadata"]["labels"].update(namespace_labels or {})
        # The ingress-nginx data plane's namespace, kept (not replaced) on a switch: deleting it
        # would take the old shard Services, and their addresses, with it.
        ns = k8s.core.v1.Namespace(f"{name}-ns", **body(ns_manifest), opts=pulumi.ResourceOptions(
            parent=self, aliases=[pulumi.Alias(parent=pulumi.create_urn(name, "pegasus:ingress:Ingress"))]))
        # The release carries the Gateway API and Envoy Gateway CRDs; its values name no backend.
        self.release = helm_release(
            f"{name}-controller", gb.CHART, names.INGRESS_NAMESPACE, gb.controller_values(),
            pulumi.ResourceOptions(parent=self, depends_on=[ns, *workload_dependencies]),
            local_dir=charts_dir, **({"timeout": release_timeout} if release_timeout else {}),
        )
        after_release = pulumi.ResourceOptions(parent=self, depends_on=[ns, self.release])
        proxy = k8s.apiextensions.CustomResource(
            f"{name}-envoy-proxy", **custom_resource_args(gb.envoy_proxy(settings, cluster_name, service_annotations or {})),
            opts=after_release)
        gclass = k8s.apiextensions.CustomResource(f"{name}-gateway-class", **custom_resource_args(gb.gateway_class()),
                                                  opts=pulumi.ResourceOptions(parent=self, depends_on=[self.release, proxy]))
        self.route_dependencies: list[pulumi.Resource] = [self.release]
        self.shard_hosts = {}
        self.reserved_addresses: dict[int, Any] = {}
        if not shard_services:
            from components.p2p.ingress import reserve_shard_addresses

            self.reserved_addresses = reserve_shard_addresses(self, name, address_shards, settings, cluster_name, gcp, aliases=[
                pulumi.Alias(parent=pulumi.create_urn(name, "pegasus:ingress:Ingress"))])
            self.register_outputs({})
            return
        for shard in self.shards:
            static_name = None
            address = None
            if settings.cloud == "gke" and gcp is not None:
                from components.p2p.ingress import reserve_shard_address

                # The same reserved IP the ingress-nginx shard held: the alias moves it to this
                # component in the state instead of replacing a protected address.
                address = reserve_shard_address(self, name, shard.index, cluster_name, gcp, aliases=[
                    pulumi.Alias(parent=pulumi.create_urn(name, "pegasus:ingress:Ingress"))])
                static_name = f"{cluster_name}-p2p-{shard.index}"
            host = p2p.shard_public_host(shard.index, settings.p2p_domain)
            manifest = gb.gateway(shard, settings, cluster_name, static_name, (shard_lb_annotations or {}).get(shard.index, {}),
                                  wait_for_address=host is None and address is None)
            # Protected like the ingress-nginx shard Services: deleting a Gateway deletes its
            # Envoy Service and gives up the address its chainlets advertise.
            gw = _StatusCustomResource(f"{name}-p2p-{shard.index}", manifest, pulumi.ResourceOptions(
                parent=self, protect=True,
                aliases=joined_aliases(shard.index, "gateway", f"kubernetes:{manifest['apiVersion']}:{manifest['kind']}")
                if adopt_shard_stacks else None,
                depends_on=[ns, self.release, gclass, *guard_deps, *(lb_dependencies or []), *([address] if address else [])],
            ))
            self.route_dependencies.append(gw)
            if host is None:
                host = address.address if address is not None else gw.status.apply(_first_address)
            self.shard_hosts[shard.index] = host
        self.register_outputs({f"shard_{i}": pulumi.Output.from_input(h) for i, h in self.shard_hosts.items()})
