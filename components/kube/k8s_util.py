"""Small helpers for reading Kubernetes outputs."""

from __future__ import annotations

import re
from typing import Any, Optional

import pulumi
import pulumi_kubernetes as k8s

from components.kube.chart import Chart, release_source


def _snake(name: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


def body(manifest: dict) -> dict:
    """A manifest as the keyword arguments of a typed resource: top-level fields in Python
    names (reclaimPolicy -> reclaim_policy), without apiVersion/kind. Nested values keep
    their Kubernetes names, which the provider expects."""
    return {_snake(k): v for k, v in manifest.items() if k not in ("apiVersion", "kind")}


def custom_resource_args(manifest: dict) -> dict:
    """Keyword arguments of apiextensions.CustomResource, which takes api_version and kind."""
    out = body(manifest)
    out["api_version"] = manifest["apiVersion"]
    out["kind"] = manifest["kind"]
    return out


def _first_ingress(status: Any) -> str:
    # A LoadBalancer publishes a hostname (AWS) or an IP (GCP, MetalLB).
    ingress = getattr(getattr(status, "load_balancer", None), "ingress", None) or []
    if not ingress:
        return ""
    first = ingress[0]
    return getattr(first, "hostname", None) or getattr(first, "ip", None) or ""


def lb_host(service: Any) -> pulumi.Output[str]:
    """The public address of a LoadBalancer Service, once the cloud has assigned it."""
    return service.status.apply(_first_ingress)


def helm_release(resource_name: str, chart: Chart, namespace: str, values: Any,
                 opts: pulumi.ResourceOptions, *, local_dir: Optional[str] = None, **extra: Any) -> k8s.helm.v3.Release:
    """One way to install a chart. The release name is explicit because helm.v3.Release would
    add a random suffix, and the chart derives the Service and ServiceAccount names other
    objects rely on from it. Atomic, so a failed upgrade rolls back instead of half-applying.
    `local_dir` is `charts.localDir`: install from the packaged chart there."""
    return k8s.helm.v3.Release(
        resource_name,
        name=chart.release,
        **release_source(chart, local_dir),
        namespace=namespace,
        values=values,
        atomic=True,
        opts=opts,
        **extra,
    )
