"""The provider stack under Pulumi's mocks: wiring, exhausted channels and failed reads."""

from __future__ import annotations

import json

import pytest

from tests.conftest import example, run
from tools.plan.runner import ProgramError

HELLO_NS = "tpod-u6cyftauah6qpwzijba7tffjgs6od5ylxe5tzznkmflg4hmhfy3q"
GUARD = "urn:pulumi:provider::pegasus::pulumi-python:dynamic/pegasus:PaymentState::payment-state"


def names(plan, prefix):
    return {r.urn.rsplit("::", 1)[-1]: r for r in plan.resources if r.urn.rsplit("::", 1)[-1].startswith(prefix)}


def test_funded_pods_run_and_the_exhausted_one_keeps_its_data():
    plan = example("provider")
    hello, idle = names(plan, "pod-hello"), names(plan, "pod-idle")
    assert {"pod-hello-deployment", "pod-hello-scaler"} <= set(hello)
    assert set(idle) == {"pod-idle", "pod-idle-ns", "pod-idle-isolation", "pod-idle-quota", "pod-idle-tpod-pvc-cache",
                         "pod-idle-tpod-svc-http"}
    assert plan.outputs["pods"]["idle"]["status"] == "exhausted"
    assert plan.outputs["pods"]["hello"] == {
        "namespace": HELLO_NS, "host": "hello.pods.example.org", "status": "funded", "available": "5000000000000000000",
        "owed": "0", "addresses": [{"multiaddr": "http/hello.pods.example.org", "containerName": "web", "containerPort": 80}],
        "readyReplicas": 0}
    assert plan.outputs["paymentsBlock"] == 1200


def test_every_pod_resource_waits_for_the_guard_and_volumes_are_retained_not_protected():
    plan = example("provider")
    pods = [r for r in plan.resources if r.urn.rsplit("::", 1)[-1].startswith("pod-") and r.custom]
    assert pods and all(GUARD in r.options["dependsOn"] for r in pods)
    claims = [r for r in pods if r.type == "kubernetes:core/v1:PersistentVolumeClaim"]
    # Retained, not protected: Pulumi refuses to delete a protected resource even from state, so
    # removing a manifest with a volume would fail every later run.
    assert len(claims) == 3 and all(r.options["retainOnDelete"] and not r.options.get("protect") for r in claims)
    assert all(r.options["retainOnDelete"] for r in pods if r.type in ("kubernetes:core/v1:Namespace", "kubernetes:core/v1:Secret"))
    deployment = names(plan, "pod-hello")["pod-hello-deployment"]
    assert deployment.inputs["spec"]["replicas"] == 0 and deployment.options["ignoreChanges"] == ["spec.replicas"]
    scaler = names(plan, "pod-hello")["pod-hello-scaler"]
    assert "urn:pulumi:provider::pegasus::pegasus:provider:HttpScaling$kubernetes:helm.sh/v3:Release::http-scaling-http-addon" in scaler.options["dependsOn"]


def test_the_pod_secret_is_a_pulumi_secret():
    secret = names(example("provider"), "pod-hello")["pod-hello-tpod-secret-config"]
    assert secret.inputs["stringData"] == "[secret]" or secret.inputs["stringData"] == {"data": "[secret]"}


def test_keda_charts_are_pinned_and_no_cluster_admin_is_bound():
    plan = example("provider")
    releases = {r.inputs["name"]: (r.inputs["chart"], r.inputs["version"]) for r in plan.by_type("kubernetes:helm.sh/v3:Release")}
    assert releases["keda"] == ("keda", "2.20.2") and releases["keda-add-ons-http"] == ("keda-add-ons-http", "0.15.0")
    # The one binding is the settler's, to its own Role on its record (components/provider/settlement_builder.role).
    bindings = [r for r in plan.resources if "RoleBinding" in r.type]
    assert [(r.type, r.inputs["roleRef"]) for r in bindings] == [
        ("kubernetes:rbac.authorization.k8s.io/v1:RoleBinding", {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": "settler"})]


def test_an_exhausted_channel_removes_only_the_deployment_and_the_scaler(tmp_path):
    doc = json.loads(open("chain/payments.dev.json").read())
    doc["block"] += 10
    for channel in doc["channels"]:
        if channel["podId"].startswith("0x826f"):
            channel["available"] = "0"
    path = tmp_path / "payments.json"
    path.write_text(json.dumps(doc))
    before = {r.urn for r in example("provider").resources}
    after = {r.urn for r in run("provider", [f"provider.payments.snapshot={path}"]).resources}
    assert {u.rsplit("::", 1)[-1] for u in before - after} == {"pod-hello-deployment", "pod-hello-scaler"}
    assert after <= before


@pytest.mark.parametrize("sets, message", [
    (["provider.payments.source=evm", "provider.payments.rpcUrl=http://127.0.0.1:9/KEY123", "provider.payments.allowInsecure=true"],
     "pegasus:provider.payments.rpcUrl: eth_chainId at http://127.0.0.1:9 failed ([Errno 111] Connection refused); "
     "check the URL and provider.payments.timeoutSeconds; nothing was planned"),
    (["provider.payments.chainId=1"],
     "pegasus:provider.payments.snapshot: chain/payments.dev.json records chainId 31337, not 1 as configured; nothing was planned"),
    (["provider.manifests=nowhere"],
     "nowhere: is not a folder; set pegasus:provider.manifests to the folder of pod manifests"),
    (["provider.manifests=docs"],
     "pegasus:providerSecrets.hello/config: names no secret volume of any pod manifest; remove it or fix the name"),
])
def test_a_failed_read_declares_nothing(sets, message):
    with pytest.raises(ProgramError) as e:
        run("provider", sets)
    assert e.value.registered == 0
    assert str(e.value) == message


def test_a_missing_pod_secret_names_the_key():
    with pytest.raises(ProgramError) as e:
        run("provider", ['providerSecrets={}'])
    assert str(e.value) == ("pegasus:providerSecrets.hello/config: is required by pods/hello.yaml's secret volume 'config'; "
                            "set it with `pulumi config set --secret --path 'providerSecrets[\"hello/config\"]' <value>`")


def state_with_block(block: int, chain_id: int = 31337) -> dict:
    return {GUARD: {"type": "pulumi-python:dynamic/pegasus:PaymentState", "outputs": {"block": block, "chainId": chain_id, "pods": {}}}}


def test_a_lower_block_than_the_last_run_declares_nothing():
    with pytest.raises(ProgramError) as e:
        run("provider", state=state_with_block(1201))
    assert e.value.registered == 0
    assert str(e.value) == (
        "pegasus:provider.payments.snapshot: the payments were read at block 1200, below block 1201 applied last time: "
        "the source is stale or lagging; point it at a synced node, or run once with "
        "`pulumi config set --path provider.allowBlockRegression true`; nothing was planned")
    assert run("provider", ["provider.allowBlockRegression=true"], state=state_with_block(1201)).outputs["paymentsBlock"] == 1200
    assert run("provider", state=state_with_block(1200)).outputs["paymentsBlock"] == 1200


def test_another_chain_than_the_last_run_declares_nothing():
    with pytest.raises(ProgramError) as e:
        run("provider", state=state_with_block(1000, chain_id=1))
    assert str(e.value).startswith("pegasus:provider.payments.chainId: this stack applied payments of chain 1 last time, not chain 31337")


@pytest.mark.parametrize("sets", [
    ["cluster.provider=eks", "cluster.region=us-east-1", 'cluster.publicAccessCidrs=["203.0.113.0/24"]'],
    ["cluster.provider=gke", "cluster.region=europe-west1", "cluster.project=p", 'cluster.publicAccessCidrs=["203.0.113.0/24"]'],
], ids=["eks", "gke"])
def test_the_provider_stack_plans_on_a_cloud_with_the_policy_pack(sets, tmp_path):
    # In a process of its own, as a user runs it.
    import subprocess
    import sys

    from tests.conftest import PROJECT

    out = tmp_path / "plan.json"
    argv = [sys.executable, "-m", "tools.plan", "--stack", "provider", "--check", "--quiet", "--json", str(out)]
    for s in sets:
        argv += ["--set", s]
    proc = subprocess.run(argv, cwd=PROJECT, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "Policy check: no violations" in proc.stdout
    plan = json.loads(out.read_text())
    deployments = [r for r in plan["resources"] if r["type"] == "kubernetes:apps/v1:Deployment"]
    assert sorted(r["name"] for r in deployments) == ["http-scaling-payment-required", "pod-game-deployment", "pod-hello-deployment",
                                                      "settlement-settler"]


def test_the_http_route_and_the_release_order():
    plan = example("provider")
    releases = {r.inputs["name"]: r for r in plan.by_type("kubernetes:helm.sh/v3:Release")}
    # An ingress-nginx of its own (names.PROVIDER_INGRESS): a validator's p2p data plane may share the cluster.
    controller = releases["provider-http"].inputs["values"]["controller"]
    assert releases["provider-http"].inputs["namespace"] == "provider-ingress"
    assert controller["service"] == {"type": "LoadBalancer", "annotations": {}}
    assert controller["ingressClassResource"]["name"] == "provider-http"
    assert controller["ingressClassResource"]["controllerValue"] == "pegasus.saga.xyz/provider-http"
    hosts = next(r for r in plan.by_type("kubernetes:networking.k8s.io/v1:Ingress") if r.name == "http-scaling-pod-hosts")
    assert hosts.inputs["spec"]["ingressClassName"] == "provider-http"
    keda_urn = next(r.urn for r in plan.resources if r.name == "http-scaling-keda")
    assert keda_urn in releases["keda-add-ons-http"].options["dependsOn"]
    assert releases["keda"].inputs["values"] == {"webhooks": {"enabled": True}, "metricsServer": {"enabled": True}}
    assert releases["keda-add-ons-http"].inputs["values"]["interceptor"] == {"replicas": {"min": 1}}
    [ingress] = [r for r in plan.by_type("kubernetes:networking.k8s.io/v1:Ingress") if r.name == "http-scaling-pod-hosts"]
    assert ingress.inputs["spec"]["rules"][0]["host"] == "*.pods.example.org"
    assert ingress.inputs["metadata"]["namespace"] == "keda"
