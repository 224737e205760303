"""Pure builders for the testnet's key Secrets: External Secrets (ESO) syncing block producer,
SNARK coordinator and seed libp2p keys from AWS Secrets Manager or GCP Secret Manager.

Why External Secrets and not the Secrets Store CSI driver. Both fetch at run time and keep
the key out of Pulumi's state: the program declares only the remote name (keyRef). ESO
writes an ordinary Kubernetes Secret, so a daemon reads its key the same way whatever the
store (`secretStore: kubernetes` is an existing Secret of the same shape) and one pod spec
serves all three stores. The CSI driver needs a provider plugin DaemonSet per cloud (two
more charts), mounts only while a pod runs, and syncs to a Secret (needed for env such as
MINA_PRIVKEY_PASS) only as a side feature. ESO is one chart, one namespaced SecretStore per
testnet (no cluster-wide store for a self-service namespace), and its own refresh loop.

The chart: external-secrets 0.20.4 from https://charts.external-secrets.io, with its CRDs
(`installCRDs`); the v1 API (`external-secrets.io/v1`) that 0.17+ serve.
"""

from __future__ import annotations

from typing import Any, Optional

from components.kube.chart import Chart
from components.testnet.builder import DaemonPlan, key_secret_name, libp2p_secret_name
from pegasus import names
from components.testnet.config import Region, TestnetSettings

CHART = Chart("external-secrets", "external-secrets", "0.20.4", "https://charts.external-secrets.io")
NAMESPACE = "external-secrets"
SERVICE_ACCOUNT = "external-secrets"
API = "external-secrets.io/v1"
REFRESH = "1h"


def store_name(testnet: TestnetSettings) -> str:
    return f"{testnet.name}-keys"


def chart_values(service_account_annotations: Optional[dict] = None) -> dict:
    """`service_account_annotations`: on gke the workload-identity binding of the controller."""
    return {
        "installCRDs": True,
        "fullnameOverride": "external-secrets",
        "serviceAccount": {"name": SERVICE_ACCOUNT, "annotations": dict(service_account_annotations or {})},
        # The webhook validates ExternalSecrets; its certificate comes from the chart's own
        # cert-controller, so nothing else (cert-manager) is needed.
        "webhook": {"create": True},
        "certController": {"create": True},
    }


def secret_store(testnet: TestnetSettings, region: Region) -> Optional[dict]:
    """The region's SecretStore: Secrets Manager in the region's AWS region, or Secret Manager in
    its GCP project. Credentials are the controller's own (EKS Pod Identity, GKE workload
    identity), so the store carries none."""
    cluster = region.cluster
    if region.secret_store == "kubernetes":
        return None
    if region.secret_store == "aws":
        provider = {"aws": {"service": "SecretsManager", "region": (cluster.region if cluster and cluster.region else "us-east-1")}}
    else:
        provider = {"gcpsm": {"projectID": (cluster.project if cluster and cluster.project else "")}}
    return {
        "apiVersion": API,
        "kind": "SecretStore",
        "metadata": {"name": store_name(testnet), "namespace": testnet.namespace,
                     "labels": names.labels("secret-store", testnet.name, name="external-secrets")},
        "spec": {"provider": provider},
    }


def external_secret(name: str, remote_key: str, testnet: TestnetSettings, role: str) -> dict:
    """One Secret from one remote entry, a JSON object whose fields become the Secret's keys
    (key and password for a private key, publicKey for a coordinator)."""
    return {
        "apiVersion": API,
        "kind": "ExternalSecret",
        "metadata": {"name": name, "namespace": testnet.namespace,
                     "labels": {**names.labels("key", name, name="external-secrets"), "pegasus.saga.xyz/role": role}},
        "spec": {
            "refreshInterval": REFRESH,
            "secretStoreRef": {"kind": "SecretStore", "name": store_name(testnet)},
            # The key never passes through Pulumi: ESO owns the Secret it writes.
            "target": {"name": name, "creationPolicy": "Owner", "deletionPolicy": "Retain"},
            "dataFrom": [{"extract": {"key": remote_key}}],
        },
    }


def service_key_secret_name(service: Any, store: str) -> Optional[str]:
    """The Secret holding a test service's key: the existing one keyRef names with the
    kubernetes store, otherwise the one External Secrets writes."""
    if service.key_ref is None:
        return None
    return service.key_ref if store == "kubernetes" else f"{service.name}-key"


def external_secrets(plans: tuple[DaemonPlan, ...], testnet: TestnetSettings, services: tuple = ()) -> list[dict]:
    out = []
    for p in plans:
        if p.secret_store == "kubernetes":
            continue
        if p.key_ref:
            out.append(external_secret(key_secret_name(p, testnet), p.key_ref, testnet, p.role))
        if p.libp2p_key_ref:
            out.append(external_secret(libp2p_secret_name(p, testnet), p.libp2p_key_ref, testnet, "libp2p"))
    for svc in services:
        if svc.key_ref and plans and plans[0].secret_store != "kubernetes":
            out.append(external_secret(service_key_secret_name(svc, plans[0].secret_store), svc.key_ref, testnet, "test-service"))
    return out


def remote_keys(plans: tuple[DaemonPlan, ...], services: tuple = ()) -> list[str]:
    """The secret-manager entries a region's ExternalSecrets read, in daemon order, then the
    test services' keys."""
    out = []
    for p in plans:
        if p.secret_store == "kubernetes":
            continue
        out += [k for k in (p.key_ref, p.libp2p_key_ref) if k]
    if plans and plans[0].secret_store != "kubernetes":
        out += [svc.key_ref for svc in services if svc.key_ref]
    return out


def secrets_manager_policy(region: str, account: str, partition: str, keys: list[str]) -> str:
    """Read access to exactly the testnet's entries. Secrets Manager appends six random
    characters to a secret's ARN, hence `<name>-??????`."""
    import json

    resources = [f"arn:{partition}:secretsmanager:{region}:{account}:secret:{k}-??????" for k in keys]
    return json.dumps({
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Action": ["secretsmanager:GetSecretValue", "secretsmanager:DescribeSecret"],
                       "Resource": resources}],
    }, sort_keys=True)
