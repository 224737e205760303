"""Where a chain daemon's data lives: its namespace and its volume, created one way for the
platform chain node and for every chainlet.

The volume is protected (Pulumi refuses to delete it) and retained on delete (should it ever
leave the program, it stays in the cluster). The namespace is retained too: deleting a
namespace deletes every claim in it, protection or not.
"""

from __future__ import annotations

import pulumi
import pulumi_kubernetes as k8s

from components.kube.k8s_util import body


def namespace_and_claim(name: str, namespace: dict, claim: dict,
                        opts: pulumi.ResourceOptions) -> tuple[k8s.core.v1.Namespace, k8s.core.v1.PersistentVolumeClaim]:
    ns = k8s.core.v1.Namespace(
        f"{name}-ns", **body(namespace),
        opts=pulumi.ResourceOptions.merge(opts, pulumi.ResourceOptions(retain_on_delete=True)),
    )
    volume = k8s.core.v1.PersistentVolumeClaim(
        f"{name}-data", **body(claim),
        opts=pulumi.ResourceOptions.merge(opts, pulumi.ResourceOptions(depends_on=[ns], protect=True, retain_on_delete=True)),
    )
    return ns, volume


def claim_in(name: str, claim: dict, namespace: pulumi.Resource, opts: pulumi.ResourceOptions) -> k8s.core.v1.PersistentVolumeClaim:
    """A protected, retained volume in a namespace that someone else owns (several daemons share it)."""
    return k8s.core.v1.PersistentVolumeClaim(
        f"{name}-data", **body(claim),
        opts=pulumi.ResourceOptions.merge(opts, pulumi.ResourceOptions(depends_on=[namespace], protect=True, retain_on_delete=True)),
    )
