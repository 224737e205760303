"""The settlement Deployment: its objects, its code standing alone, and its config run against
the real contract (tests/provider/payment_contract.py)."""

from __future__ import annotations

import json
import subprocess
import sys
import tarfile
from pathlib import Path

import yaml

from components.monitoring import monitoring_builder
from components.provider import settlement_builder as sb
from components.provider import settler as st
from components.provider.config import PRICED
from components.provider.metering_builder import RECORDS
from components.provider.settlement import settler_code
from tests.conftest import example

KPS = Path(__file__).parents[2] / "charts" / "kube-prometheus-stack-88.5.3.tgz"


def config(**overrides):
    return sb.config(**{
        "contract": "0x" + "cc" * 20, "provider": "0x" + "dd" * 20, "chain_id": 31337, "interval_seconds": 300,
        "tolerance": 0, "transfer_to": None, "prices": {p: "1" for p in PRICED},
        "pods": [{"name": "a", "namespace": "tpod-a", "publisher": "0x" + "ab" * 20, "podId": "0x" + "01" * 32}],
        **overrides})


def test_the_key_and_rpc_url_come_only_from_the_operators_secret():
    cm = sb.configmap(config(), {"settler.py": "", "keccak.py": ""})
    d = sb.deployment(cm, "my-keys")
    container = d["spec"]["template"]["spec"]["containers"][0]
    secret_env = {e["name"]: e["valueFrom"]["secretKeyRef"] for e in container["env"] if "valueFrom" in e}
    assert secret_env == {"PROVIDER_KEY": {"name": "my-keys", "key": "privateKey"}, "RPC_URL": {"name": "my-keys", "key": "rpcUrl"}}
    assert [e for e in container["env"] if "value" in e] == [{"name": "SETTLER_CONFIG", "value": "/opt/settler/config.json"}]
    assert "rpcUrl" not in json.loads(cm["data"]["config.json"])
    # One process signs: two would race on the account's nonce.
    assert d["spec"]["replicas"] == 1 and d["spec"]["strategy"] == {"type": "Recreate"}
    assert d["metadata"]["annotations"] == {"pulumi.com/skipAwait": "true"}


def test_a_config_change_restarts_the_settler():
    a = sb.deployment(sb.configmap(config(), {}), "k")
    b = sb.deployment(sb.configmap(config(interval_seconds=600), {}), "k")
    hash_of = lambda d: d["spec"]["template"]["metadata"]["annotations"]["pegasus.saga.xyz/config-hash"]  # noqa: E731
    assert hash_of(a) != hash_of(b)


def test_the_settler_prices_every_metering_record_with_the_stacks_price_names():
    cfg = config()
    assert sorted(cfg["records"]) == sorted(PRICED)
    assert set(cfg["records"].values()) == set(RECORDS)  # price name -> record, one each


def test_prometheus_is_the_kps_release_service_of_the_pinned_chart():
    with tarfile.open(KPS) as tar:
        service = tar.extractfile("kube-prometheus-stack/templates/prometheus/service.yaml").read().decode()
        values = yaml.safe_load(tar.extractfile("kube-prometheus-stack/values.yaml").read())
    assert '{{ template "kube-prometheus-stack.fullname" . }}-prometheus' in service
    port = values["prometheus"]["service"]["port"]
    assert sb.PROMETHEUS_URL == f"http://{monitoring_builder.KPS_FULLNAME}-prometheus.sagasrv-metrics.svc:{port}"


def test_the_mounted_code_imports_alone_with_the_standard_library(tmp_path):
    for name, text in settler_code().items():
        (tmp_path / name).write_text(text)
    # -E -s: no PYTHONPATH, no user site; the script's folder is the only project code on the
    # path, as when the stock image runs /opt/settler/settler.py.
    (tmp_path / "probe.py").write_text("import settler\nprint(settler.keccak256.__module__, settler.address_of(1))\n")
    proc = subprocess.run([sys.executable, "-E", "-s", str(tmp_path / "probe.py")], cwd=tmp_path, capture_output=True,
                          text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    # The mounted keccak.py, and the well-known address of private key 1.
    assert proc.stdout.split() == ["keccak", "0x7e5f4552091a69125d5dfcb7b8c2659029395bdf"]


def test_the_stack_declares_the_settler_without_any_secret_of_its_own():
    plan = example("provider")
    settlement = [r for r in plan.resources if r.name.startswith("settlement")]
    assert {r.type for r in settlement} == {"pegasus:provider:Settlement", "kubernetes:core/v1:Namespace",
                                           "kubernetes:core/v1:ConfigMap", "kubernetes:apps/v1:Deployment",
                                           "kubernetes:core/v1:ServiceAccount", "kubernetes:rbac.authorization.k8s.io/v1:Role",
                                           "kubernetes:rbac.authorization.k8s.io/v1:RoleBinding"}
    [cm] = [r for r in settlement if r.type == "kubernetes:core/v1:ConfigMap" and r.name == "settlement-code"]
    # The record's data is the settler's: the stack creates it empty and never overwrites it.
    [record] = [r for r in settlement if r.name == "settlement-record"]
    assert "data" not in record.inputs and record.options["ignoreChanges"] == ["data"] and record.options["retainOnDelete"]
    cfg = json.loads(cm.inputs["data"]["config.json"])
    assert sorted(p["name"] for p in cfg["pods"]) == ["game", "hello", "idle"]
    assert cfg["provider"] == "0xf39fd6e51aad88f6f4ce6ab8827279cfffb92266" and cfg["chainId"] == 31337


def test_the_settlers_only_api_access_is_get_and_patch_of_its_record():
    cfg = config()
    store = st.KubeRecord("https://10.0.0.1:443", cfg["record"]["namespace"], cfg["record"]["name"], cfg["record"]["key"],
                          "/dev/null", None)
    assert store.url == f"https://10.0.0.1:443/api/v1/namespaces/{sb.NAMESPACE}/configmaps/{sb.RECORD}"
    assert sb.role()["rules"] == [{"apiGroups": [""], "resources": ["configmaps"], "resourceNames": [sb.RECORD], "verbs": ["get", "patch"]}]
    assert sb.role_binding()["subjects"] == [{"kind": "ServiceAccount", "name": sb.NAME, "namespace": sb.NAMESPACE}]
    pod = sb.deployment(sb.configmap(cfg, {}), "k")["spec"]["template"]["spec"]
    assert (pod["serviceAccountName"], pod["automountServiceAccountToken"]) == (sb.service_account()["metadata"]["name"], True)
    assert sb.record_configmap()["metadata"] == {"name": sb.RECORD, "namespace": sb.NAMESPACE, "labels": sb.names.labels("settlement", sb.RECORD)}
