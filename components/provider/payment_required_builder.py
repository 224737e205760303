"""The page an exhausted pod's host answers: HTTP 402 Payment Required, from a tiny echo server.

An exhausted pod loses its HTTPScaledObject, so the interceptor no longer knows its host and
would answer a bare 404. Instead each exhausted pod's host gets an exact-host rule (which
ingress-nginx prefers over the `*.<suffix>` wildcard) to this server. The rule goes when the
channel is paid again; adding or removing one reloads nginx, once per exhaustion or refund.

hashicorp/http-echo v1.0.0 (main.go at 866d8f8313e92d96f940c2f0cf807abe934ab145): flags
-listen, -text, -status-code.
"""

from __future__ import annotations

from typing import Optional

from components.provider.builder import INGRESS_TIMEOUT_ANNOTATIONS, KEDA_NAMESPACE
from pegasus import names

NAME = "payment-required"
IMAGE = "hashicorp/http-echo:1.0.0"
PORT = 5678
TEXT = ("402 Payment Required: this pod's payment channel has run dry. Its data is kept; "
        "it comes back on the same host once its publisher deposits again.")
ARGS = [f"-listen=:{PORT}", "-status-code=402", f"-text={TEXT}"]


def deployment() -> dict:
    labels = names.labels("payment-required", NAME)
    return {
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": NAME, "namespace": KEDA_NAMESPACE, "labels": labels, "annotations": {names.SKIP_AWAIT: "true"}},
        "spec": {
            "replicas": 2,
            "selector": {"matchLabels": names.selector("payment-required", NAME)},
            "template": {"metadata": {"labels": labels}, "spec": {
                "automountServiceAccountToken": False,
                "enableServiceLinks": False,
                "securityContext": {"runAsNonRoot": True, "runAsUser": 65534, "runAsGroup": 65534,
                                    "seccompProfile": {"type": "RuntimeDefault"}},
                "containers": [{
                    "name": NAME, "image": IMAGE, "args": list(ARGS),
                    "ports": [{"name": "http", "containerPort": PORT, "protocol": "TCP"}],
                    "resources": {"requests": {"cpu": "10m", "memory": "16Mi"}, "limits": {"cpu": "100m", "memory": "32Mi"}},
                    "securityContext": {"allowPrivilegeEscalation": False, "readOnlyRootFilesystem": True,
                                        "capabilities": {"drop": ["ALL"]}},
                }],
            }},
        },
    }


def service() -> dict:
    return {
        "apiVersion": "v1", "kind": "Service",
        "metadata": {"name": NAME, "namespace": KEDA_NAMESPACE, "labels": names.labels("payment-required", NAME)},
        "spec": {"type": "ClusterIP", "selector": names.selector("payment-required", NAME),
                 "ports": [{"name": "http", "port": 80, "targetPort": "http", "protocol": "TCP"}]},
    }


def ingress(hosts: list[str], ingress_class: str) -> Optional[dict]:
    if not hosts:
        return None
    backend = {"service": {"name": NAME, "port": {"number": 80}}}
    return {
        "apiVersion": "networking.k8s.io/v1", "kind": "Ingress",
        "metadata": {"name": NAME, "namespace": KEDA_NAMESPACE, "labels": names.labels("payment-required", NAME),
                     "annotations": {names.SKIP_AWAIT: "true", **INGRESS_TIMEOUT_ANNOTATIONS}},
        "spec": {"ingressClassName": ingress_class,
                 "rules": [{"host": h, "http": {"paths": [{"path": "/", "pathType": "Prefix", "backend": backend}]}}
                           for h in sorted(hosts)]},
    }
