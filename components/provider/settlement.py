"""The settlement Deployment: withdraws what tenants owe on a timer (components/provider/settler.py
is the code it runs, settlement_builder.py the objects)."""

from __future__ import annotations

import os
from typing import Optional, Sequence

import pulumi
import pulumi_kubernetes as k8s

from components.kube.k8s_util import body
from components.provider import settlement_builder as sb

_HERE = os.path.dirname(os.path.abspath(__file__))
_CODE = {"settler.py": os.path.join(_HERE, "settler.py"), "secp256k1.py": os.path.join(_HERE, "secp256k1.py"),
         "keccak.py": os.path.join(_HERE, "..", "..", "pegasus", "keccak.py")}


def settler_code() -> dict[str, str]:
    out = {}
    for name, path in _CODE.items():
        with open(path, encoding="utf-8") as f:
            out[name] = f.read()
    return out


class Settlement(pulumi.ComponentResource):
    def __init__(self, name: str, config: dict, *, key_secret: str, depends_on: Sequence[pulumi.Resource] = (),
                 opts: Optional[pulumi.ResourceOptions] = None):
        super().__init__("pegasus:provider:Settlement", name, None, opts)
        ns = k8s.core.v1.Namespace(f"{name}-ns", **body(sb.namespace()), opts=pulumi.ResourceOptions(parent=self))
        cm = sb.configmap(config, settler_code())
        in_ns = pulumi.ResourceOptions(parent=self, depends_on=[ns, *depends_on])
        k8s.core.v1.ConfigMap(f"{name}-code", **body(cm), opts=in_ns)
        # The settler owns the record's data; the stack only makes sure the object exists,
        # and keeps it (what is owed) when settlement is turned off.
        record = k8s.core.v1.ConfigMap(f"{name}-record", **body(sb.record_configmap()), opts=pulumi.ResourceOptions.merge(
            in_ns, pulumi.ResourceOptions(ignore_changes=["data"], retain_on_delete=True)))
        sa = k8s.core.v1.ServiceAccount(f"{name}-sa", **body(sb.service_account()), opts=in_ns)
        role = k8s.rbac.v1.Role(f"{name}-role", **body(sb.role()), opts=in_ns)
        binding = k8s.rbac.v1.RoleBinding(f"{name}-binding", **body(sb.role_binding()), opts=pulumi.ResourceOptions(
            parent=self, depends_on=[role, sa]))
        k8s.apps.v1.Deployment(f"{name}-settler", **body(sb.deployment(cm, key_secret)), opts=pulumi.ResourceOptions(
            parent=self, depends_on=[ns, *depends_on, record, binding]))
        self.register_outputs({})
