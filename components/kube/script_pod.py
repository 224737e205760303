"""A Python script shipped in a ConfigMap and run by one non-root pod: the provider's settler and
the sharded validator's stack watcher are both this shape."""

from __future__ import annotations

import hashlib
import json
from typing import Optional, Sequence

from pegasus import names


def script_deployment(cm: dict, *, name: str, namespace: str, component: str, image: str, script: str,
                      code_dir: str, env: Sequence[dict], cpu_request: str, container: Optional[str] = None,
                      items: Optional[list] = None) -> dict:
    """One replica, replaced (not rolled) on change, restarted by any change to the ConfigMap's
    data (its hash is a pod annotation), and not awaited: such a helper must never fail the run
    that declares it. The ServiceAccount is `name`; the code is read-only at `code_dir`."""
    digest = hashlib.sha256(json.dumps(cm["data"], sort_keys=True).encode()).hexdigest()[:16]
    labels = names.labels(component, name)
    volume: dict = {"name": name}
    if items is not None:
        volume["items"] = items
    return {
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": name, "namespace": namespace, "labels": labels, "annotations": {names.SKIP_AWAIT: "true"}},
        "spec": {
            "replicas": 1,
            "strategy": {"type": "Recreate"},
            "selector": {"matchLabels": names.selector(component, name)},
            "template": {
                "metadata": {"labels": labels, "annotations": {"pegasus.saga.xyz/config-hash": digest}},
                "spec": {
                    "serviceAccountName": name,
                    "automountServiceAccountToken": True,
                    "enableServiceLinks": False,
                    "securityContext": {"runAsNonRoot": True, "runAsUser": 65534, "runAsGroup": 65534,
                                        "seccompProfile": {"type": "RuntimeDefault"}},
                    "containers": [{
                        "name": container or name, "image": image,
                        "command": ["python", "-u", f"{code_dir}/{script}"],
                        "env": list(env),
                        "volumeMounts": [{"name": "code", "mountPath": code_dir, "readOnly": True}],
                        "resources": {"requests": {"cpu": cpu_request, "memory": "64Mi"}, "limits": {"cpu": "200m", "memory": "128Mi"}},
                        "securityContext": {"allowPrivilegeEscalation": False, "readOnlyRootFilesystem": True,
                                            "capabilities": {"drop": ["ALL"]}},
                    }],
                    "volumes": [{"name": "code", "configMap": volume}],
                },
            },
        },
    }
