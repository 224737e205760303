"""The workloads around a Spacemesh network: its web services behind their own ingress, and
spacemesh-watch and Pyroscope."""

from __future__ import annotations

from typing import Optional, Sequence

import pulumi
import pulumi_kubernetes as k8s

from components.chain.chain_node import ChainNode
from components.spacemesh import ops_builder as ob
from components.spacemesh import workload_builder as swb
from components.kube.k8s_util import body, helm_release, lb_host
from components.spacemesh.config import SpacemeshSettings

_KINDS = {"Deployment": k8s.apps.v1.Deployment, "Service": k8s.core.v1.Service}


def _objects(parent: pulumi.Resource, name: str, manifests: list[dict], opts: pulumi.ResourceOptions) -> list[pulumi.Resource]:
    out = []
    for m in manifests:
        kind = m["kind"]
        out.append(_KINDS[kind](f"{name}-{m['metadata']['name']}-{kind.lower()}", **body(m), opts=opts))
    return out


class SpacemeshWeb(pulumi.ComponentResource):
    address: pulumi.Output[str]
    """The web ingress's public address, which the DNS records point at."""

    def __init__(self, name: str, s: SpacemeshSettings, ns: str, *, cloud: str, cluster_name: str,
                 depends_on: Sequence[pulumi.Resource], lb_dependencies: Sequence[pulumi.Resource] = (),
                 charts_dir: Optional[str] = None, allocate_node_ports: bool = True,
                 namespace: Optional[pulumi.Resource] = None, storage_class: Optional[str] = None,
                 opts: Optional[pulumi.ResourceOptions] = None):
        super().__init__("pegasus:spacemesh:SpacemeshWeb", name, None, opts)
        in_ns = pulumi.ResourceOptions(parent=self, depends_on=list(depends_on))
        _objects(self, name, ob.web_services(s, ns), in_ns)
        for i in range(s.web_services.replicas):
            # Each with its own protected, retained volume (ChainNode), like every node.
            ChainNode(f"{name}-{swb.public_api_name(i)}", swb.public_api_spec(s, i, ns, storage_class), namespace=namespace,
                      workload_dependencies=list(depends_on), opts=pulumi.ResourceOptions(parent=self))
        secrets = s.secrets
        assert secrets.tls_cert is not None and secrets.tls_key is not None  # config requires them
        k8s.core.v1.Secret(f"{name}-grpc-tls", metadata={"name": ob.TLS_SECRET, "namespace": ns}, type="kubernetes.io/tls",
                           string_data={"tls.crt": pulumi.Output.secret(secrets.tls_cert.value),
                                        "tls.key": pulumi.Output.secret(secrets.tls_key.value)}, opts=in_ns)
        controller = helm_release(f"{name}-ingress", ob.web_chart(s.network), ns, ob.web_controller_values(s), in_ns,
                                  local_dir=charts_dir)
        service = k8s.core.v1.Service(f"{name}-lb", **body(ob.web_ingress_service(s, ns, cloud, cluster_name, allocate_node_ports)),
                                      opts=pulumi.ResourceOptions(parent=self, depends_on=[*depends_on, *lb_dependencies]))
        after_controller = pulumi.ResourceOptions(parent=self, depends_on=[*depends_on, controller])
        k8s.networking.v1.Ingress(f"{name}-grpc", **body(ob.grpc_ingress(s, ns)), opts=after_controller)
        k8s.networking.v1.Ingress(f"{name}-http", **body(ob.http_ingress(s, ns)), opts=after_controller)
        self.address = lb_host(service)
        self.register_outputs({"address": self.address})


class SpacemeshTools(pulumi.ComponentResource):
    """spacemesh-watch (alerts in Slack) and Pyroscope (profiles of the listed miners)."""

    def __init__(self, name: str, s: SpacemeshSettings, ns: str, *, depends_on: Sequence[pulumi.Resource],
                 opts: Optional[pulumi.ResourceOptions] = None):
        super().__init__("pegasus:spacemesh:SpacemeshTools", name, None, opts)
        in_ns = pulumi.ResourceOptions(parent=self, depends_on=list(depends_on))
        if s.watch.enabled:
            assert s.secrets.slack_token is not None  # config requires it
            secret = k8s.core.v1.Secret(f"{name}-watch-slack", metadata={"name": ob.WATCH_SECRET, "namespace": ns},
                                        string_data={"token": pulumi.Output.secret(s.secrets.slack_token.value)}, opts=in_ns)
            _objects(self, name, [ob.watch_deployment(s, ns)],
                     pulumi.ResourceOptions(parent=self, depends_on=[*depends_on, secret]))
        if s.pyroscope_miners:
            _objects(self, name, ob.pyroscope(ns, s.pyroscope_image), in_ns)
        self.register_outputs({})
