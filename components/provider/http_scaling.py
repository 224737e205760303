"""KEDA and its HTTP add-on in `keda`, and the route from every pod host to the add-on's
interceptor through Pegasus's ingress-nginx (see components/provider/builder.py)."""

from __future__ import annotations

from typing import Optional, Sequence

import pulumi
import pulumi_kubernetes as k8s

from components.provider import builder as pb
from components.provider import payment_required_builder as prb
from components.chain import workload_builder as wb
from components.kube.k8s_util import body, helm_release


class HttpScaling(pulumi.ComponentResource):
    addon: k8s.helm.v3.Release
    """The add-on's release: its CRDs must exist before any HTTPScaledObject."""

    def __init__(self, name: str, *, host_suffix: str, ingress_class: str, interceptor_replicas: int, webhooks: bool,
                 ingress_dependencies: Sequence[pulumi.Resource] = (), charts_dir: Optional[str] = None,
                 custom_hosts: Sequence[str] = (), unpaid_hosts: Sequence[str] = (),
                 opts: Optional[pulumi.ResourceOptions] = None):
        super().__init__("pegasus:provider:HttpScaling", name, None, opts)
        ns = k8s.core.v1.Namespace(f"{name}-ns", **body(wb.namespace(pb.KEDA_NAMESPACE, "autoscaling", pb.KEDA_NAMESPACE)),
                                   opts=pulumi.ResourceOptions(parent=self))
        keda = helm_release(f"{name}-keda", pb.KEDA_CHART, pb.KEDA_NAMESPACE, pb.keda_values(webhooks),
                            pulumi.ResourceOptions(parent=self, depends_on=[ns]), local_dir=charts_dir)
        # The add-on's interceptor is itself scaled by a KEDA ScaledObject: KEDA's CRDs first.
        self.addon = helm_release(f"{name}-http-addon", pb.HTTP_ADDON_CHART, pb.KEDA_NAMESPACE,
                                  pb.http_addon_values(interceptor_replicas),
                                  pulumi.ResourceOptions(parent=self, depends_on=[ns, keda]), local_dir=charts_dir)
        route_opts = pulumi.ResourceOptions(parent=self, depends_on=[ns, self.addon, *ingress_dependencies])
        k8s.networking.v1.Ingress(f"{name}-pod-hosts", **body(pb.pod_hosts_ingress(host_suffix, ingress_class)), opts=route_opts)
        custom = pb.custom_hosts_ingress(list(custom_hosts), ingress_class)
        if custom is not None:
            k8s.networking.v1.Ingress(f"{name}-custom-hosts", **body(custom), opts=route_opts)
        # The page exhausted pods' hosts answer (402), and the exact-host rules to it.
        in_ns = pulumi.ResourceOptions(parent=self, depends_on=[ns])
        k8s.apps.v1.Deployment(f"{name}-payment-required", **body(prb.deployment()), opts=in_ns)
        k8s.core.v1.Service(f"{name}-payment-required", **body(prb.service()), opts=in_ns)
        unpaid = prb.ingress(list(unpaid_hosts), ingress_class)
        if unpaid is not None:
            k8s.networking.v1.Ingress(f"{name}-payment-required-hosts", **body(unpaid), opts=route_opts)
        self.register_outputs({})
