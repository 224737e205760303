"""Tenant nodes on eks (issue 23 item 9): pure builders for the managed node group's labels,
taint and size, and the placement every tenant pod gets to land there.

The taint keeps everything without the toleration (Prometheus, ingress-nginx, the interceptor,
the settler, CoreDNS) off tenant nodes; the node selector keeps tenants off the system group.
The EKS API writes a taint's effect as NO_SCHEDULE (botocore eks TaintEffect), which EKS applies
to the node as Kubernetes' NoSchedule ("Node taints on managed node groups", Amazon EKS User
Guide); the toleration uses the Kubernetes spelling.
"""

from __future__ import annotations

from pegasus import names

POOL = "tenants"
EKS_TAINT = {"key": names.POOL_LABEL, "value": POOL, "effect": "NO_SCHEDULE"}
K8S_EFFECT = {"NO_SCHEDULE": "NoSchedule", "NO_EXECUTE": "NoExecute", "PREFER_NO_SCHEDULE": "PreferNoSchedule"}


def node_labels() -> dict[str, str]:
    return {names.POOL_LABEL: POOL}


def node_taints() -> list[dict]:
    return [dict(EKS_TAINT)]


def scaling(count: int) -> dict:
    # As the system group: no autoscaler, `count` nodes; the headroom in maxSize lets an operator
    # add a node by hand (desiredSize) without a config change.
    return {"desiredSize": count, "minSize": count, "maxSize": count + 2}


def placement() -> dict:
    """Pod spec fields that put a tenant pod on tenant nodes and nowhere else."""
    return {
        "nodeSelector": node_labels(),
        "tolerations": [{"key": EKS_TAINT["key"], "operator": "Equal", "value": EKS_TAINT["value"],
                         "effect": K8S_EFFECT[EKS_TAINT["effect"]]}],
    }
