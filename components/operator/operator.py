"""ShardOperator: sharded mode run by the Pulumi Kubernetes Operator. The platform stack creates
it when `operator.enabled`: the Stack objects (pko_builder.py) and the watcher that requests
their reconciles (watcher_builder.py; watcher.py is its code). PKO itself, its CRDs and the
workspace ServiceAccount are installed beforehand (docs/operator.md)."""

from __future__ import annotations

from typing import Any, Mapping, Optional, Sequence

import pulumi
import pulumi_kubernetes as k8s

from components.kube.k8s_util import body, custom_resource_args
from components.operator import pko_builder as pb
from components.operator import watcher_builder as wb
from components.operator.config import OperatorSettings
from components.operator.watcher_code import code as watcher_code
from pegasus.chain.reader import RestSource


class ShardOperator(pulumi.ComponentResource):
    stack_objects: pulumi.Output[list]
    """The Stack objects' names, the platform's first."""
    namespace: pulumi.Output[str]

    def __init__(self, name: str, settings: OperatorSettings, platform_stack: str, shard_stacks: Sequence[str],
                 chain: RestSource, *, config: Optional[Mapping[str, Any]] = None,
                 depends_on: Sequence[pulumi.Resource] = (), opts: Optional[pulumi.ResourceOptions] = None):
        super().__init__("pegasus:operator:ShardOperator", name, None, opts)
        stacks = pb.stack_objects(settings, platform_stack, shard_stacks, config)
        code = watcher_code()
        cm = wb.configmap(settings, wb.watcher_config(settings, platform_stack, chain), code)

        ns = k8s.core.v1.Namespace(f"{name}-ns", **body(wb.namespace(settings)), opts=pulumi.ResourceOptions(parent=self))
        in_ns = pulumi.ResourceOptions(parent=self, depends_on=[ns, *depends_on])
        for obj in stacks:
            k8s.apiextensions.CustomResource(f"{name}-{obj['metadata']['name']}", **custom_resource_args(obj), opts=in_ns)
        k8s.core.v1.ServiceAccount(f"{name}-watcher-sa", **body(wb.service_account(settings)), opts=in_ns)
        k8s.rbac.v1.Role(f"{name}-watcher-role", **body(wb.role(settings, [platform_stack, *shard_stacks])), opts=in_ns)
        k8s.rbac.v1.RoleBinding(f"{name}-watcher-binding", **body(wb.role_binding(settings)), opts=in_ns)
        k8s.core.v1.ConfigMap(f"{name}-watcher-code", **body(cm), opts=in_ns)
        k8s.apps.v1.Deployment(f"{name}-watcher", **body(wb.deployment(settings, cm, list(code))), opts=in_ns)

        self.stack_objects = pulumi.Output.from_input([o["metadata"]["name"] for o in stacks])
        self.namespace = pulumi.Output.from_input(settings.namespace)
        self.register_outputs({"stackObjects": self.stack_objects, "namespace": self.namespace})
