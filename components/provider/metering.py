"""The tenant metering rules and dashboard (components/provider/metering_builder.py), next to the
Monitoring component's kube-prometheus-stack."""

from __future__ import annotations

from typing import Optional, Sequence

import pulumi
import pulumi_kubernetes as k8s

from components.provider import metering_builder as mb
from components.kube.k8s_util import body, custom_resource_args


class Metering(pulumi.ComponentResource):
    def __init__(self, name: str, *, depends_on: Sequence[pulumi.Resource], opts: Optional[pulumi.ResourceOptions] = None):
        super().__init__("pegasus:provider:Metering", name, None, opts)
        # The PrometheusRule CRD comes with kube-prometheus-stack.
        after = pulumi.ResourceOptions(parent=self, depends_on=list(depends_on))
        k8s.apiextensions.CustomResource(f"{name}-rules", **custom_resource_args(mb.recording_rules()), opts=after)
        k8s.core.v1.ConfigMap(f"{name}-dashboard", **body(mb.dashboard_configmap()), opts=after)
        self.register_outputs({})
