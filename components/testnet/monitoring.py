"""A testnet region's PodMonitor and alert rules (components/testnet/monitoring_builder.py)."""

from __future__ import annotations

from typing import Optional, Sequence

import pulumi
import pulumi_kubernetes as k8s

from components.testnet import monitoring_builder as mb
from components.kube.k8s_util import custom_resource_args
from components.testnet.config import Region, TestnetSettings


class TestnetMonitoring(pulumi.ComponentResource):
    def __init__(self, name: str, testnet: TestnetSettings, region: Region, namespace: pulumi.Resource,
                 crds: Sequence[pulumi.Resource] = (), opts: Optional[pulumi.ResourceOptions] = None):
        """`crds`: what installs the Prometheus Operator's CRDs in this region (the Monitoring
        component's release), which both custom resources need to exist first."""
        super().__init__("pegasus:monitoring:TestnetMonitoring", name, None, opts)
        # A component's depends_on is not recorded on its children, so they name the namespace.
        child = pulumi.ResourceOptions(parent=self, depends_on=[namespace, *crds])
        k8s.apiextensions.CustomResource(f"{name}-pod-monitor", **custom_resource_args(mb.pod_monitor(testnet)), opts=child)
        k8s.apiextensions.CustomResource(f"{name}-rules", **custom_resource_args(mb.rules(testnet, region)), opts=child)
        self.register_outputs({})
