"""One chainlet: namespace, data volume, workload and Service, and nothing else.

Four resources, all derived from the chain read (components/chain/chainlet_builder.py), and with
the envoy-gateway data plane a fifth while online: its TCPRoute to its shard's listener. Going
offline changes only `spec.replicas` of the workload (and removes that route); the namespace,
volume and Service stay, so coming back reattaches the same volume behind the same address.
"""

from __future__ import annotations

from typing import Any, Optional, Sequence

import pulumi
import pulumi_kubernetes as k8s

from components.chain import chainlet_builder
from components.chain import workload_builder as wb
from components.chain.chain_data import namespace_and_claim
from components.kube.k8s_util import body, custom_resource_args
from pegasus.config import ChainletSettings


class Chainlet(pulumi.ComponentResource):
    namespace: str
    slot: int

    def __init__(self, name: str, plan: chainlet_builder.ChainletPlan, settings: ChainletSettings,
                 storage_class: Optional[str], external_address: Any, guard: pulumi.Resource, *,
                 placement: wb.Placement = wb.Placement(), workload_dependencies: Sequence[pulumi.Resource] = (),
                 route: Optional[dict] = None, route_dependencies: Sequence[pulumi.Resource] = (),
                 opts: Optional[pulumi.ResourceOptions] = None):
        super().__init__("pegasus:chainlet:Chainlet", name, None, opts)
        m = chainlet_builder.chainlet_manifests(plan, settings, storage_class, external_address, placement)
        child = pulumi.ResourceOptions(parent=self, depends_on=[guard])
        ns, claim = namespace_and_claim(name, m["namespace"], m["claim"], child)
        in_ns = pulumi.ResourceOptions.merge(child, pulumi.ResourceOptions(depends_on=[ns]))
        # The pod needs a node it may run on (on eks: the signers NodePool).
        k8s.apps.v1.StatefulSet(f"{name}-workload", **body(m["workload"]), opts=pulumi.ResourceOptions.merge(
            in_ns, pulumi.ResourceOptions(depends_on=[claim, *workload_dependencies])))
        svc = k8s.core.v1.Service(f"{name}-svc", **body(m["service"]), opts=in_ns)
        if route is not None:
            # envoy-gateway: this chainlet's TCPRoute to its shard listener (online only).
            k8s.apiextensions.CustomResource(f"{name}-route", **custom_resource_args(route), opts=pulumi.ResourceOptions.merge(
                in_ns, pulumi.ResourceOptions(depends_on=[svc, *route_dependencies])))
        # Plain values derived from the chain read: nothing here waits on the cluster.
        self.namespace = plan.namespace
        self.slot = plan.address.slot
        self.register_outputs({"namespace": self.namespace, "slot": self.slot})
