"""One p2p shard as its own stack owns it in sharded mode (pegasus/sharding.py).

The platform stack keeps the data plane (the ingress-nginx controller and its routing
ConfigMap, or Envoy Gateway's class and proxy settings) and any reserved address; the shard
stack adds what depends on its chainlets:

- ingress-nginx: the shard's LoadBalancer Service and the shard's keys of the tcp-services
  ConfigMap, through a server-side-apply patch with a field manager of its own, so shard
  stacks never overwrite each other's keys and the platform's ConfigMap holds none;
- envoy-gateway: the shard's Gateway (its Envoy Service and load balancer); the chainlets'
  TCPRoutes attach to it from their own namespaces (components/chain/chainlet.py).

The manifests are the single-stack builders' (components/p2p/ingress_builder.py,
gateway_builder.py), so a shard looks the same whichever stack holds it.
"""

from __future__ import annotations

from typing import Any, Mapping, Optional

import pulumi
import pulumi_kubernetes as k8s

from components.kube.k8s_util import body, lb_host
from components.p2p import gateway_builder as gb
from components.p2p import ingress_builder as ib
from components.p2p import p2p_builder as p2p
from pegasus import names
from pegasus.config import IngressSettings

# A shard stack is the one owner of its routing keys; forcing takes them over from the field
# manager of a single stack's ConfigMap after a migration (docs/sharding.md), with the same values.
PATCH_FORCE = "pulumi.com/patchForce"


def routing_patch(shard: p2p.Shard, naming: names.IngressNames = names.INGRESS) -> dict:
    """This shard's keys of the tcp-services ConfigMap, as a server-side-apply patch."""
    manifest = ib.services_configmap(naming.tcp_services, ib.services_configmap_data((shard,)), naming)
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": manifest["metadata"]["name"], "namespace": manifest["metadata"]["namespace"],
                     "annotations": {PATCH_FORCE: "true"}},
        "data": manifest["data"],
    }


def moved_aliases(old_name: str, old_parent_type: str, type_: str) -> list:
    """Where `pulumi state move` (tools/shards.py) leaves a resource that a single stack held
    under one of its components: the shard program adopts it there instead of replacing it.
    Both forms, as the CLI keeps or drops the parent when the parent stays behind."""
    return [pulumi.Alias(name=old_name, parent=None),
            f"urn:pulumi:{pulumi.get_stack()}::{pulumi.get_project()}::{old_parent_type}${type_}::{old_name}"]


def joined_aliases(index: int, what: str, type_: str) -> list:
    """The reverse of `moved_aliases`: where `tools.shards join` leaves shard `index`'s load
    balancer (`what`: service or gateway), so that one stack adopts it again."""
    name = f"shard-{index}-{what}"
    return [pulumi.Alias(name=name, parent=None),
            f"urn:pulumi:{pulumi.get_stack()}::{pulumi.get_project()}::pegasus:p2p:Shard${type_}::{name}"]


def _with_annotations(manifest: dict, extra: Any) -> dict:
    """The manifest with `extra` annotations (a dict or an Output of one, from the platform)."""
    base = dict(manifest["metadata"].get("annotations") or {})
    merged = pulumi.Output.from_input(extra or {}).apply(lambda a: {**base, **(a or {})})
    return {**manifest, "metadata": {**manifest["metadata"], "annotations": merged}}


class P2PShard(pulumi.ComponentResource):
    host: Any
    """The shard's public host: p2p-<N>.<domain>, the reserved IP, or the load balancer's address."""

    def __init__(self, name: str, shard: p2p.Shard, settings: IngressSettings, cluster_name: str, *,
                 guard: pulumi.Resource, reserved_ip: Any = None, static_address_name: Optional[str] = None,
                 lb_annotations: Any = None, opts: Optional[pulumi.ResourceOptions] = None):
        super().__init__("pegasus:p2p:Shard", name, None, opts)
        # Protected like the single stack's shard Services: deleting one gives up the address
        # its chainlets advertise.
        keep = pulumi.ResourceOptions(parent=self, protect=True, depends_on=[guard])
        single_name = f"ingress-p2p-{shard.index}"  # its name in a single stack (components/p2p/ingress.py)
        public = p2p.shard_public_host(shard.index, settings.p2p_domain)
        self.route_dependencies: list[pulumi.Resource] = []
        if settings.provider == "envoy-gateway":
            from components.p2p.gateway import _StatusCustomResource, _first_address

            manifest = gb.gateway(shard, settings, cluster_name, static_address_name, {},
                                  wait_for_address=public is None and reserved_ip is None)
            if lb_annotations is not None:
                infra = manifest["spec"].setdefault("infrastructure", {})
                base = dict(infra.get("annotations") or {})
                infra["annotations"] = pulumi.Output.from_input(lb_annotations).apply(lambda a: {**base, **(a or {})})
            gw = _StatusCustomResource(f"{name}-gateway", manifest, pulumi.ResourceOptions.merge(keep, pulumi.ResourceOptions(
                aliases=moved_aliases(single_name, "pegasus:gateway:EnvoyGatewayIngress",
                                      f"kubernetes:{manifest['apiVersion']}:{manifest['kind']}"))))
            self.route_dependencies.append(gw)
            self.host = public or _first_of(reserved_ip, gw.status.apply(_first_address))
        else:
            manifest = ib.shard_service(shard, settings, cluster_name, static_address_name=static_address_name)
            if lb_annotations is not None:
                manifest = _with_annotations(manifest, lb_annotations)
            svc = k8s.core.v1.Service(f"{name}-service", **body(manifest), opts=pulumi.ResourceOptions.merge(
                keep, pulumi.ResourceOptions(aliases=moved_aliases(single_name, "pegasus:ingress:Ingress", "kubernetes:core/v1:Service"))))
            k8s.core.v1.ConfigMapPatch(f"{name}-routing", **body(routing_patch(shard)),
                                       opts=pulumi.ResourceOptions(parent=self, depends_on=[guard]))
            self.host = public or _first_of(reserved_ip, lb_host(svc))
        self.register_outputs({"host": pulumi.Output.from_input(self.host)})


def _first_of(reserved: Any, assigned: Any) -> Any:
    """The reserved IP the platform published, else the address the load balancer reports (on
    gke the Service asks for the reserved IP by name, so both agree once it is assigned)."""
    if reserved is None:
        return assigned
    return pulumi.Output.all(reserved, assigned).apply(lambda both: both[0] or both[1])


def shard_of(backends: tuple[p2p.P2PBackend, ...], index: int, settings: IngressSettings) -> p2p.Shard:
    """Shard `index` of these backends (those of one shard stack)."""
    shards = {s.index: s for s in p2p.plan_shards(backends, settings)}
    return shards.get(index) or p2p.Shard(index, (), ())

