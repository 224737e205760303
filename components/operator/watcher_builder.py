"""The stack watcher's objects (components/operator/watcher.py is its code): pure builders.

One replica of a stock Python image running the watcher from a ConfigMap, in the namespace of
the Stack objects. Its ServiceAccount may only get and patch the Stack objects of this fleet,
by name: the watcher reads the platform Stack's outputs and sets one annotation, nothing else.
The Role is rebuilt with each run of the platform stack, so a new shard's Stack is in it.
"""

from __future__ import annotations

import json
from typing import Mapping, Sequence

from components.operator.config import OperatorSettings
from components.operator.pko_builder import API_VERSION
from components.operator.watcher import stack_object_name
from components.kube.script_pod import script_deployment
from pegasus import names
from pegasus.chain.reader import RestSource

NAME = "pegasus-stack-watcher"
COMPONENT = "stack-watcher"
CODE_DIR = "/opt/watcher"
CONFIG_KEY = "config.json"
STACK_GROUP = API_VERSION.split("/")[0]


def namespace(settings: OperatorSettings) -> dict:
    return {"apiVersion": "v1", "kind": "Namespace",
            "metadata": {"name": settings.namespace, "labels": names.labels(COMPONENT, NAME, name=settings.namespace)}}


def service_account(settings: OperatorSettings) -> dict:
    return {"apiVersion": "v1", "kind": "ServiceAccount",
            "metadata": {"name": NAME, "namespace": settings.namespace, "labels": names.labels(COMPONENT, NAME)}}


def role(settings: OperatorSettings, stacks: Sequence[str]) -> dict:
    return {
        "apiVersion": "rbac.authorization.k8s.io/v1", "kind": "Role",
        "metadata": {"name": NAME, "namespace": settings.namespace, "labels": names.labels(COMPONENT, NAME)},
        # get: the platform's outputs; patch: the reconcile-request annotation. No list, no
        # watch, no other Stack: resourceNames cannot narrow a list, and the watcher needs none.
        "rules": [{"apiGroups": [STACK_GROUP], "resources": ["stacks"], "verbs": ["get", "patch"],
                   "resourceNames": sorted(stack_object_name(s) for s in stacks)}],
    }


def role_binding(settings: OperatorSettings) -> dict:
    return {
        "apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding",
        "metadata": {"name": NAME, "namespace": settings.namespace, "labels": names.labels(COMPONENT, NAME)},
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": NAME},
        "subjects": [{"kind": "ServiceAccount", "name": NAME, "namespace": settings.namespace}],
    }


def watcher_config(settings: OperatorSettings, platform_stack: str, chain: RestSource) -> dict:
    """watcher.py's config.json. The shard Stacks come from the platform's outputs at each
    poll, so a new shard needs no new config."""
    return {
        "namespace": settings.namespace,
        "platformStack": platform_stack,
        "intervalSeconds": settings.watcher.interval_seconds,
        "chain": {"endpoint": chain.endpoint, "apiPrefix": chain.api_prefix, "pageLimit": chain.page_limit,
                  "timeoutSeconds": chain.timeout_seconds, "retries": chain.retries},
    }


def code_key(path: str) -> str:
    """A ConfigMap key for a module path (keys may not hold '/')."""
    return path.replace("/", ".")


def configmap(settings: OperatorSettings, cfg: dict, code: Mapping[str, str]) -> dict:
    """code: path under CODE_DIR (pegasus/chain/reader.py) -> source."""
    return {
        "apiVersion": "v1", "kind": "ConfigMap",
        "metadata": {"name": NAME, "namespace": settings.namespace, "labels": names.labels(COMPONENT, NAME)},
        "data": {CONFIG_KEY: json.dumps(cfg, indent=2, sort_keys=True), **{code_key(p): src for p, src in sorted(code.items())}},
    }


def deployment(settings: OperatorSettings, cm: dict, code_paths: Sequence[str]) -> dict:
    """The watcher's pod. Not awaited: it only speeds reconciles up (PKO's resync runs without
    it), so an image that cannot be pulled must not fail the platform's run. A new config or
    code restarts it."""
    items = [{"key": CONFIG_KEY, "path": CONFIG_KEY}] + [{"key": code_key(p), "path": p} for p in sorted(code_paths)]
    env = [{"name": "WATCHER_CONFIG", "value": f"{CODE_DIR}/{CONFIG_KEY}"},
           {"name": "PYTHONPATH", "value": CODE_DIR},
           {"name": "PYTHONDONTWRITEBYTECODE", "value": "1"}]
    return script_deployment(cm, name=NAME, namespace=settings.namespace, component=COMPONENT, image=settings.watcher.image,
                             script="watcher.py", code_dir=CODE_DIR, env=env, cpu_request="20m", container="watcher",
                             items=items)
