"""A chain daemon with its protected volume, a public p2p Service and an internal Service."""

from __future__ import annotations

from typing import Optional, Sequence

import pulumi
import pulumi_kubernetes as k8s

from components.chain import chain_node_builder
from components.chain.chain_data import claim_in, namespace_and_claim
from components.kube.k8s_util import body, lb_host


class ChainNode(pulumi.ComponentResource):
    p2p_address: pulumi.Output[str]
    """host:port that peers dial."""

    def __init__(self, name: str, spec: chain_node_builder.ChainNodeSpec, *,
                 lb_dependencies: Sequence[pulumi.Resource] = (), workload_dependencies: Sequence[pulumi.Resource] = (),
                 namespace: Optional[pulumi.Resource] = None, external_address: Optional[pulumi.Input[str]] = None,
                 opts: Optional[pulumi.ResourceOptions] = None):
        """`namespace`: a Namespace several nodes share (the node then creates only its volume).
        `external_address`: host:port peers dial when the node is published through the p2p
        shards; its public Service is then the shards' backend rather than a load balancer."""
        super().__init__("pegasus:chain:ChainNode", name, None, opts)
        p2p_port = spec.public_ports[0].port if spec.public_ports else None
        m = chain_node_builder.chain_node_manifests(spec)
        child = pulumi.ResourceOptions(parent=self)
        if namespace is None:
            ns, claim = namespace_and_claim(name, m["namespace"], m["claim"], child)
        else:
            ns, claim = namespace, claim_in(name, m["claim"], namespace, child)
        in_ns = pulumi.ResourceOptions.merge(child, pulumi.ResourceOptions(depends_on=[ns]))
        external = None
        self.public_service = None
        if spec.with_public_service:
            # Deleting the public Service would give up the address peers know the node by. The
            # dependencies are the children's own: a component's depends_on is not recorded on them.
            public = k8s.core.v1.Service(f"{name}-p2p", **body(m["public"]), opts=pulumi.ResourceOptions.merge(
                in_ns, pulumi.ResourceOptions(protect=spec.public_protect, depends_on=list(lb_dependencies))))
            self.public_service = public
            if external_address is not None:
                self.p2p_address = pulumi.Output.from_input(external_address)
            else:
                self.p2p_address = lb_host(public).apply(lambda host: f"{host}:{p2p_port}")
            external = self.p2p_address
            if spec.advertise_arg:
                flag = spec.advertise_arg
                external = self.p2p_address.apply(lambda a: f"{flag}={chain_node_builder.multiaddr(a)}")
        else:
            self.p2p_address = pulumi.Output.from_input("")
        k8s.core.v1.Service(f"{name}-internal", **body(m["internal"]), opts=in_ns)
        workload = chain_node_builder.chain_node_manifests(spec, external)["workload"]
        self.workload = k8s.apps.v1.StatefulSet(f"{name}-workload", **body(workload), opts=pulumi.ResourceOptions.merge(
            in_ns, pulumi.ResourceOptions(depends_on=[claim, *workload_dependencies])))
        self.register_outputs({"p2p_address": self.p2p_address})
