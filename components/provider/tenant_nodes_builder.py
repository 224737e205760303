"""Tenant nodes on eks and gke (issue 23 item 9): pure builders for the node pool's labels,
taint and size, and the placement every tenant pod gets to land there.

The taint keeps everything without the toleration (Prometheus, ingress-nginx, the interceptor,
the settler, CoreDNS) off tenant nodes; the node selector keeps tenants off the system group.
The EKS and Container APIs both write a taint's effect as NO_SCHEDULE (botocore eks TaintEffect;
container.v1 NodeTaint.effect, whose enumDescriptions map it to NoSchedule), which the node gets
as Kubernetes' NoSchedule; the toleration uses the Kubernetes spelling.
"""

from __future__ import annotations

from pegasus import names

POOL = "tenants"
TAINT = {"key": names.POOL_LABEL, "value": POOL, "effect": "NO_SCHEDULE"}
K8S_EFFECT = {"NO_SCHEDULE": "NoSchedule", "NO_EXECUTE": "NoExecute", "PREFER_NO_SCHEDULE": "PreferNoSchedule"}


def node_labels() -> dict[str, str]:
    return {names.POOL_LABEL: POOL}


def node_taints() -> list[dict]:
    return [dict(TAINT)]


def scaling(count: int) -> dict:
    # As the system group: no autoscaler, `count` nodes; the headroom in maxSize lets an operator
    # add a node by hand (desiredSize) without a config change.
    return {"desiredSize": count, "minSize": count, "maxSize": count + 2}


def gke_autoscaling(count: int) -> dict:
    # One node per zone at least, so a tenant scaled up from zero does not wait for a node too.
    return {"minNodeCount": 1, "maxNodeCount": count}


def placement() -> dict:
    """Pod spec fields that put a tenant pod on tenant nodes and nowhere else."""
    return {
        "nodeSelector": node_labels(),
        "tolerations": [{"key": TAINT["key"], "operator": "Equal", "value": TAINT["value"],
                         "effect": K8S_EFFECT[TAINT["effect"]]}],
    }
