"""The settlement Deployment (components/provider/settler.py is its code): pure builders.

One replica in its own namespace, Recreate (two copies would race on the provider account's
nonce), a stock Python image running the settler from a ConfigMap. The provider's key and the
RPC URL come from a Secret the operator creates in that namespace (`kubectl create secret`),
referenced by name only: neither ever enters the Pulumi program, its state or its logs.

The settler keeps what it billed in the ConfigMap RECORD (declared here empty, its data left
to the settler), through a ServiceAccount whose Role may get and patch that one object and
nothing else: the only API access the settlement namespace has.
"""

from __future__ import annotations

import json
from typing import Mapping, Sequence

from components.provider.metering_builder import INTERVAL, RECORDS
from components.kube.script_pod import script_deployment
from pegasus import names

NAMESPACE = "provider-settlement"
NAME = "settler"
CODE_DIR = "/opt/settler"
KEY_FIELD, RPC_FIELD = "privateKey", "rpcUrl"
RECORD, RECORD_KEY = "settler-billed", "billed.json"
# A Docker Official Image, pinned by version tag; the settler needs the standard library only.
IMAGE = "python:3.12.8-slim-bookworm"
# kube-prometheus-stack 88.5.3: Service "<fullname>-prometheus" (templates/prometheus/service.yaml,
# fullname is KPS_FULLNAME) on prometheus.service.port 9090 (values.yaml).
PROMETHEUS_URL = f"http://kps-prometheus.{names.METRICS_NAMESPACE}.svc:9090"
assert INTERVAL == "1m"  # settler.metered integrates the rules at a 60 s step


def config(*, contract: str, provider: str, chain_id: int, interval_seconds: int, tolerance: int, transfer_to: str | None,
           prices: Mapping[str, str], pods: Sequence[Mapping[str, str]]) -> dict:
    """settler.py's config.json. pods: name, namespace, publisher, podId of every funded or
    exhausted pod (an exhausted channel may still hold what the last ticks owe)."""
    return {
        "contract": contract, "provider": provider, "chainId": chain_id, "intervalSeconds": interval_seconds,
        "tolerance": str(tolerance), "transferTo": transfer_to, "prometheus": PROMETHEUS_URL,
        "records": {price: record for record, (_, _, price) in RECORDS.items()},
        "prices": dict(prices), "pods": [dict(p) for p in pods],
        "record": {"namespace": NAMESPACE, "name": RECORD, "key": RECORD_KEY},
    }


def namespace() -> dict:
    return {"apiVersion": "v1", "kind": "Namespace",
            "metadata": {"name": NAMESPACE, "labels": {**names.labels("settlement", NAME, name=NAMESPACE),
                                                       "pod-security.kubernetes.io/enforce": "restricted"}}}


def configmap(cfg: dict, code: Mapping[str, str]) -> dict:
    return {"apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": NAME, "namespace": NAMESPACE, "labels": names.labels("settlement", NAME)},
            "data": {"config.json": json.dumps(cfg, indent=2, sort_keys=True), **code}}


def record_configmap() -> dict:
    """Empty at creation; the settler writes RECORD_KEY (the stack ignores changes to data)."""
    return {"apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": RECORD, "namespace": NAMESPACE, "labels": names.labels("settlement", RECORD)}}


def service_account() -> dict:
    return {"apiVersion": "v1", "kind": "ServiceAccount",
            "metadata": {"name": NAME, "namespace": NAMESPACE, "labels": names.labels("settlement", NAME)}}


def role() -> dict:
    # resourceNames pins the rules to the record: no list, no create, no other ConfigMap or Secret.
    return {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "Role",
            "metadata": {"name": NAME, "namespace": NAMESPACE, "labels": names.labels("settlement", NAME)},
            "rules": [{"apiGroups": [""], "resources": ["configmaps"], "resourceNames": [RECORD], "verbs": ["get", "patch"]}]}


def role_binding() -> dict:
    return {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding",
            "metadata": {"name": NAME, "namespace": NAMESPACE, "labels": names.labels("settlement", NAME)},
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": NAME},
            "subjects": [{"kind": "ServiceAccount", "name": NAME, "namespace": NAMESPACE}]}


def deployment(cm: dict, key_secret: str) -> dict:
    """The settler's pod. Not awaited: a missing Secret or an unreachable node must not fail the
    tenants' run. A new config (pods, prices) restarts it; its token is for the record only
    (role()), and it reads nothing else."""

    def secret_env(env: str, field: str) -> dict:
        return {"name": env, "valueFrom": {"secretKeyRef": {"name": key_secret, "key": field}}}

    env = [{"name": "SETTLER_CONFIG", "value": f"{CODE_DIR}/config.json"},
           secret_env("PROVIDER_KEY", KEY_FIELD), secret_env("RPC_URL", RPC_FIELD)]
    return script_deployment(cm, name=NAME, namespace=NAMESPACE, component="settlement", image=IMAGE,
                             script="settler.py", code_dir=CODE_DIR, env=env, cpu_request="50m")
