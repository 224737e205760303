"""Pure builders for a testnet's stateless Deployments: SNARK workers and their HPA, test
services, and the one pod skeleton they and the archive share (`deployment`)."""

from __future__ import annotations

from typing import Any, Optional

from components.testnet.builder import CLIENT, GRAPHQL, internal_service, rayon_threads
from components.testnet.settings import SnarkPool, TestnetSettings
from pegasus import names

WORKER_COMPONENT = "snark-worker"
TEST_SERVICE_COMPONENT = "test-service"
TEST_SERVICE_RESOURCES = {"requests": {"cpu": "100m", "memory": "128Mi"}, "limits": {"cpu": "500m", "memory": "512Mi"}}


def worker_name(pool: SnarkPool) -> str:
    return f"{pool.name}-workers"


def worker_deployment(pool: SnarkPool, testnet: TestnetSettings, proof_level: str = "full") -> dict:
    """A pool's SNARK workers: stateless, so a Deployment an HPA may scale. The command is the
    one O(1) Labs' chart starts workers with (helm/snark-worker/templates/snark-worker.yaml:
    `internal snark-worker -proof-level ... -shutdown-on-disconnect false -daemon-address
    <coordinator>:8301`, with RAYON_NUM_THREADS), the proof level the genesis file's
    (builder.genesis_proof_level). `-shutdown-on-disconnect false`: a coordinator restart does
    not crash-loop every worker (src/lib/snark_worker/functor.ml; its default is true)."""
    name = worker_name(pool)
    labels = {**names.labels(WORKER_COMPONENT, f"{testnet.name}-{pool.name}", name=WORKER_COMPONENT),
              "pegasus.saga.xyz/testnet": testnet.name, "pegasus.saga.xyz/pool": pool.name}
    selector = names.selector(WORKER_COMPONENT, f"{testnet.name}-{pool.name}", name=WORKER_COMPONENT)
    coordinator = f"{internal_service(pool.name)}.{testnet.namespace}.svc.cluster.local:{CLIENT.port}"
    return deployment(name, testnet, labels, selector, [{
        "name": WORKER_COMPONENT,
        "image": testnet.image,
        "imagePullPolicy": "IfNotPresent",
        "args": ["internal", "snark-worker", "-proof-level", proof_level, "-shutdown-on-disconnect", "false",
                 "-daemon-address", coordinator],
        "env": [{"name": "RAYON_NUM_THREADS", "value": rayon_threads(testnet.worker_resources.cpu_limit)}],
        "resources": testnet.worker_resources.as_k8s(),
        "securityContext": {"allowPrivilegeEscalation": False, "privileged": False, "capabilities": {"drop": ["ALL"]}},
    }], replicas=pool.workers)


def deployment(name: str, testnet: TestnetSettings, labels: dict, selector: dict, containers: list[dict], *,
               replicas: int = 1, strategy: Optional[dict] = None, volumes: Optional[list[dict]] = None) -> dict:
    """A stateless Deployment in the testnet's namespace (SNARK workers, test services, the
    archive): no service-account token or service links, RuntimeDefault seccomp, and not awaited,
    so one slow image does not fail the whole `up`; alerts watch readiness instead."""
    pod: dict = {
        "automountServiceAccountToken": False,
        "enableServiceLinks": False,
        "securityContext": {"seccompProfile": {"type": "RuntimeDefault"}},
        "containers": containers,
    }
    if volumes:
        pod["volumes"] = volumes
    spec: dict = {"replicas": replicas}
    if strategy:
        spec["strategy"] = strategy
    spec["selector"] = {"matchLabels": selector}
    spec["template"] = {"metadata": {"labels": labels}, "spec": pod}
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": name, "namespace": testnet.namespace, "labels": labels, "annotations": {names.SKIP_AWAIT: "true"}},
        "spec": spec,
    }


def worker_hpa(pool: SnarkPool, testnet: TestnetSettings) -> Optional[dict]:
    """CPU-scaled between workers and maxWorkers; none when they are equal."""
    if pool.max_workers <= pool.workers:
        return None
    name = worker_name(pool)
    return {
        "apiVersion": "autoscaling/v2",
        "kind": "HorizontalPodAutoscaler",
        "metadata": {"name": name, "namespace": testnet.namespace,
                     "labels": names.labels(WORKER_COMPONENT, f"{testnet.name}-{pool.name}", name=WORKER_COMPONENT)},
        "spec": {
            "scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": name},
            "minReplicas": pool.workers,
            "maxReplicas": pool.max_workers,
            # Proving is CPU-bound: a busy pool runs its workers near their request.
            "metrics": [{"type": "Resource", "resource": {"name": "cpu", "target": {"type": "Utilization", "averageUtilization": 80}}}],
        },
    }


def graphql_url(daemon: str, testnet: TestnetSettings) -> str:
    return f"http://{internal_service(daemon)}.{testnet.namespace}.svc.cluster.local:{GRAPHQL.port}/graphql"


SERVICE_KEYS = "/keys"  # the test service's key and its password, as files


def _service_key_install(service: Any, testnet: TestnetSettings, secret: str) -> tuple[dict, list[dict], list[dict]]:
    """(init container, volumes, env) that give a test service its signing key, as O(1)'s
    block-producer chart gives its bots theirs (helm/block-producer/templates/block-producer.yaml:
    an init container copies the key Secret into an emptyDir and sets 0700 on it). Mina's
    tools refuse a key file others may read (0600, folder 0700), and Secret volumes are
    read-only with kubelet's modes, hence the copy; the password is a file too, not an env
    variable. The copy belongs to the init container's user (the daemon image's, root), so
    the service's image must read it as that user."""
    steps = ["set -eu", "umask 077", f"cp /secrets/key {SERVICE_KEYS}/key", f"cp /secrets/password {SERVICE_KEYS}/password",
             f"chmod 0700 {SERVICE_KEYS}", f"chmod 0600 {SERVICE_KEYS}/key {SERVICE_KEYS}/password"]
    init = {
        "name": "install-key",
        "image": testnet.image,
        "imagePullPolicy": "IfNotPresent",
        "command": ["/bin/sh", "-c", "\n".join(steps)],
        "volumeMounts": [{"name": "key-secret", "mountPath": "/secrets", "readOnly": True},
                         {"name": "keys", "mountPath": SERVICE_KEYS}],
        "resources": {"requests": {"cpu": "50m", "memory": "64Mi"}, "limits": {"cpu": "500m", "memory": "256Mi"}},
        "securityContext": {"allowPrivilegeEscalation": False, "privileged": False, "capabilities": {"drop": ["ALL"]}},
    }
    volumes = [{"name": "key-secret", "secret": {"secretName": secret, "defaultMode": 0o400,
                                                 "items": [{"key": "key", "path": "key"}, {"key": "password", "path": "password"}]}},
               {"name": "keys", "emptyDir": {"medium": "Memory", "sizeLimit": "1Mi"}}]
    env = [{"name": "SERVICE_KEY_FILE", "value": f"{SERVICE_KEYS}/key"},
           {"name": "SERVICE_KEY_PASSWORD_FILE", "value": f"{SERVICE_KEYS}/password"}]
    return init, volumes, env


def test_service_deployment(service: Any, testnet: TestnetSettings, key_secret: Optional[str] = None) -> dict:
    """A test service beside one daemon; `key_secret`: the Secret of its key (keyRef), if any."""
    labels = {**names.labels(TEST_SERVICE_COMPONENT, f"{testnet.name}-{service.name}", name=service.name),
              "pegasus.saga.xyz/testnet": testnet.name}
    selector = names.selector(TEST_SERVICE_COMPONENT, f"{testnet.name}-{service.name}", name=service.name)
    container: dict = {
        "name": service.name,
        "image": service.image,
        "imagePullPolicy": "IfNotPresent",
        "env": [{"name": "DAEMON_GRAPHQL_URL", "value": graphql_url(service.daemon, testnet)}],
        "resources": dict(TEST_SERVICE_RESOURCES),
        "securityContext": {"allowPrivilegeEscalation": False, "privileged": False, "capabilities": {"drop": ["ALL"]}},
    }
    if service.args:
        container["args"] = list(service.args)
    if key_secret is None:
        return deployment(service.name, testnet, labels, selector, [container])
    init, volumes, env = _service_key_install(service, testnet, key_secret)
    container["env"] += env
    container["volumeMounts"] = [{"name": "keys", "mountPath": SERVICE_KEYS, "readOnly": True}]
    d = deployment(service.name, testnet, labels, selector, [container], volumes=volumes)
    d["spec"]["template"]["spec"]["initContainers"] = [init]
    return d
