"""The watcher's objects, as whole objects, and the code it ships: the files the ConfigMap
mounts are enough to run it with the standard library alone."""

from __future__ import annotations

import json
import subprocess
import sys

from components.operator import watcher_builder as wb
from components.operator import watcher_code
from pegasus.chain.reader import RestSource
from tests.operator.test_pko_builder import settings

LABELS = {"app.kubernetes.io/name": "stack-watcher", "app.kubernetes.io/instance": "pegasus-stack-watcher",
          "app.kubernetes.io/component": "stack-watcher", "app.kubernetes.io/part-of": "pegasus",
          "app.kubernetes.io/managed-by": "pulumi"}
META = {"name": "pegasus-stack-watcher", "namespace": "pulumi-stacks", "labels": LABELS}


def test_rbac_is_get_and_patch_on_these_stacks_only():
    s = settings()
    assert wb.service_account(s) == {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": META}
    assert wb.role(s, ["prod", "prod-shard-1", "prod-shard-0"]) == {
        "apiVersion": "rbac.authorization.k8s.io/v1", "kind": "Role", "metadata": META,
        "rules": [{"apiGroups": ["pulumi.com"], "resources": ["stacks"], "verbs": ["get", "patch"],
                   "resourceNames": ["prod", "prod-shard-0", "prod-shard-1"]}]}
    assert wb.role_binding(s) == {
        "apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding", "metadata": META,
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": "pegasus-stack-watcher"},
        "subjects": [{"kind": "ServiceAccount", "name": "pegasus-stack-watcher", "namespace": "pulumi-stacks"}]}


def test_config_and_configmap():
    s = settings(watcher={"intervalSeconds": 7})
    cfg = wb.watcher_config(s, "prod", RestSource("http://spc.sagasrv-spc.svc:1317", "/ssc/chainlet", 50, 5, 2))
    assert cfg == {"namespace": "pulumi-stacks", "platformStack": "prod", "intervalSeconds": 7,
                   "chain": {"endpoint": "http://spc.sagasrv-spc.svc:1317", "apiPrefix": "/ssc/chainlet", "pageLimit": 50,
                             "timeoutSeconds": 5, "retries": 2}}
    cm = wb.configmap(s, cfg, {"watcher.py": "W", "pegasus/chain/reader.py": "R"})
    assert cm == {"apiVersion": "v1", "kind": "ConfigMap", "metadata": META,
                  "data": {"config.json": json.dumps(cfg, indent=2, sort_keys=True), "pegasus.chain.reader.py": "R", "watcher.py": "W"}}


def test_deployment():
    s = settings()
    cm = wb.configmap(s, {"x": 1}, {"watcher.py": "W", "pegasus/errors.py": "E"})
    d = wb.deployment(s, cm, ["watcher.py", "pegasus/errors.py"])
    pod = d["spec"]["template"]["spec"]
    assert d["metadata"] == {**META, "annotations": {"pulumi.com/skipAwait": "true"}}
    assert d["spec"]["replicas"] == 1 and d["spec"]["strategy"] == {"type": "Recreate"}
    assert pod["serviceAccountName"] == "pegasus-stack-watcher" and pod["automountServiceAccountToken"] is True
    assert pod["containers"][0]["image"] == "python:3.12.8-slim-bookworm"
    assert pod["containers"][0]["command"] == ["python", "-u", "/opt/watcher/watcher.py"]
    assert pod["containers"][0]["env"] == [{"name": "WATCHER_CONFIG", "value": "/opt/watcher/config.json"},
                                           {"name": "PYTHONPATH", "value": "/opt/watcher"},
                                           {"name": "PYTHONDONTWRITEBYTECODE", "value": "1"}]
    assert pod["volumes"] == [{"name": "code", "configMap": {"name": "pegasus-stack-watcher", "items": [
        {"key": "config.json", "path": "config.json"},
        {"key": "pegasus.errors.py", "path": "pegasus/errors.py"},
        {"key": "watcher.py", "path": "watcher.py"}]}}]
    # Every mounted key is in the ConfigMap.
    assert {i["key"] for i in pod["volumes"][0]["configMap"]["items"]} == set(cm["data"])
    changed = wb.deployment(s, wb.configmap(s, {"x": 2}, {"watcher.py": "W", "pegasus/errors.py": "E"}), ["watcher.py", "pegasus/errors.py"])
    assert (changed["spec"]["template"]["metadata"]["annotations"]["pegasus.saga.xyz/config-hash"]
            != d["spec"]["template"]["metadata"]["annotations"]["pegasus.saga.xyz/config-hash"])


def test_the_shipped_files_run_with_the_standard_library_alone(tmp_path):
    # Lay the files out as the ConfigMap volume does, then import the watcher in an isolated
    # interpreter without site-packages: an import of anything else fails here.
    for path, source in watcher_code.code().items():
        (tmp_path / path).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / path).write_text(source)
    (tmp_path / "config.json").write_text(json.dumps({"namespace": "n", "platformStack": "p", "intervalSeconds": 5,
                                                      "chain": {"endpoint": "http://127.0.0.1:9"}}))
    probe = ("import sys, json, watcher; w = watcher.from_config(json.load(open('config.json')), watcher.Kube('http://127.0.0.1:9'));"
             "print(sorted(m for m in sys.modules if m.split('.')[0] in ('pegasus', 'components', 'pulumi', 'watcher')))")
    out = subprocess.run([sys.executable, "-I", "-S", "-c", f"import sys; sys.path.insert(0, '.'); {probe}"], cwd=tmp_path,
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == str(sorted(["watcher", "pegasus", "pegasus.errors", "pegasus.names", "pegasus.sharding",
                                             "pegasus.chain", "pegasus.chain.model", "pegasus.chain.reader"]))


def test_every_shipped_file_is_mounted():
    s = settings()
    code = watcher_code.code()
    cm = wb.configmap(s, {}, code)
    items = wb.deployment(s, cm, list(code))["spec"]["template"]["spec"]["volumes"][0]["configMap"]["items"]
    assert sorted(i["path"] for i in items) == sorted(["config.json", *code])
