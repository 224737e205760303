"""`pulumi preview` and `pulumi up` of the dev stack: the real CLI, language host, kubernetes
provider and dynamic-provider host, against a real API server, controllers and scheduler.

The tests run in file order on one stack, as an operator's successive runs would.
"""

from __future__ import annotations

import json
import time

import pytest

from tools.fakechain import chainlet_record
from tools.plan.diff import diff, short
from tools.plan.runner import plan_stack

from tests.e2e.conftest import E2E_CONFIG

pytestmark = pytest.mark.e2e

SECRET = "https://hooks.slack.com/services/T000/B000/e2e-secret-must-never-appear"


def names_of(kind: str, e2e, *args: str) -> set[str]:
    return {f"{i['metadata'].get('namespace', '')}/{i['metadata']['name']}" for i in e2e.cluster.get(kind, *args)["items"]}


def chainlet_ns(i: int) -> str:
    from pegasus import names

    return names.chainlet_namespace(chainlet_record(i)["chainId"])


def wait_for(predicate, timeout: float = 60, what: str = "condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(1)
    raise AssertionError(f"timed out waiting for {what}")


def mock_plan(validator, chain):
    """The offline plan of the same stack and chain: what the blast-radius benchmark measures."""
    sets = [f"{k}={v}" for k, v in E2E_CONFIG.items()] + [
        "chain.source=rest", f"chain.endpoint={chain.endpoint}", "chain.retries=1",
    ]
    return plan_stack(str(validator.dir), "dev", None, sets)


def real_changes(validator) -> dict[str, str]:
    """name -> op of every step a real preview plans."""
    return {short(s["urn"]): s["op"] for s in validator.preview_steps()
            if not s["urn"].split("::")[-2].startswith("pulumi:")}


# --------------------------------------------------------------------------------------
# 1. stack init, config, preview, up: everything is created and every wait finishes
# --------------------------------------------------------------------------------------

def test_preview_then_up_creates_everything(e2e, chain, validator):
    validator.pulumi("config", "set", "--secret", "--path", "alerting.slackWebhookUrl", SECRET)
    preview = validator.preview()
    assert "to create" in preview.output, preview.output[-2000:]
    validator.up()

    planned = {short(r.urn) for r in mock_plan(validator, chain).resources if not r.type.startswith("pulumi:")}
    state = {short(u) for u in validator.resources()}
    assert planned <= state, f"in the plan but not created: {sorted(planned - state)}"

    # StatefulSets ready: kwok runs the pods, the real controllers count them.
    for i, rec in enumerate(chain.state.chainlets):
        sts = e2e.cluster.get("statefulset", "-n", chainlet_ns(i))["items"]
        assert len(sts) == 1
        want = 1 if rec["status"] == "STATUS_ONLINE" else 0
        assert sts[0]["spec"]["replicas"] == want and sts[0]["status"].get("readyReplicas", 0) == want
    # Claims bound by the real PV controller to the static volumes.
    claims = e2e.cluster.get("pvc", "-A")["items"]
    assert claims and all(c["status"]["phase"] == "Bound" for c in claims)
    # Every LoadBalancer has an address from the documentation range.
    lbs = [s for s in e2e.cluster.get("svc", "-A")["items"] if s["spec"]["type"] == "LoadBalancer"]
    assert lbs and all(s["status"]["loadBalancer"]["ingress"][0]["ip"].startswith("192.0.2.") for s in lbs)
    # Helm releases deployed, each by its own release secret.
    from pegasus import names

    releases = e2e.cluster.get("secret", "-A", "-l", "owner=helm,status=deployed")["items"]
    assert {r["metadata"]["labels"]["name"] for r in releases} == {names.INGRESS_RELEASE, names.MONITORING_RELEASE, names.BLACKBOX_RELEASE}
    # The outputs name the shard address every chainlet advertises.
    outputs = json.loads(validator.pulumi("stack", "output", "--json").stdout)
    shard_ip = outputs["lbShards"]["ingress-nginx-controller-p2p-0"]
    assert shard_ip.startswith("192.0.2.")
    assert all(c["address"].startswith(shard_ip + ":") for c in outputs["chainlets"].values())


# --------------------------------------------------------------------------------------
# 2. no perpetual diffs
# --------------------------------------------------------------------------------------

def test_second_up_and_preview_report_no_changes(validator):
    run = validator.up()
    assert "to create" not in run.output and "to update" not in run.output and "to delete" not in run.output, run.output[-3000:]
    validator.preview("--expect-no-changes")


# --------------------------------------------------------------------------------------
# 3. offline, back, new: each up changes exactly what the offline plan predicts
# --------------------------------------------------------------------------------------

def _expect_blast(validator, chain, mutate):
    before = mock_plan(validator, chain)
    mutate()
    after = mock_plan(validator, chain)
    d = diff(before, after)
    predicted = {short(u): "update" for u in d.updated} | {short(u): "create" for u in d.created} | {short(u): "delete" for u in d.deleted}
    actual = real_changes(validator)
    assert actual == predicted, f"real preview {actual} != offline plan {predicted}"
    validator.up()
    return predicted


def test_offline_back_and_new_chainlets_change_only_their_own_resources(e2e, chain, validator):
    target = 2
    ns = chainlet_ns(target)
    pvc_uid = e2e.cluster.get("pvc", "-n", ns)["items"][0]["metadata"]["uid"]
    svc_uid = e2e.cluster.get("svc", "-n", ns)["items"][0]["metadata"]["uid"]

    def go_offline():
        chain.state.chainlets[target]["status"] = "STATUS_OFFLINE"
    changed = _expect_blast(validator, chain, go_offline)
    assert f"{short(_workload(target))}" in changed
    sts = e2e.cluster.get("statefulset", "-n", ns)["items"][0]
    assert sts["spec"]["replicas"] == 0
    # The volume and the address survive, the same objects as before.
    assert e2e.cluster.get("pvc", "-n", ns)["items"][0]["metadata"]["uid"] == pvc_uid
    assert e2e.cluster.get("svc", "-n", ns)["items"][0]["metadata"]["uid"] == svc_uid

    def come_back():
        chain.state.chainlets[target]["status"] = "STATUS_ONLINE"
    _expect_blast(validator, chain, come_back)
    wait_for(lambda: e2e.cluster.get("statefulset", "-n", ns)["items"][0]["status"].get("readyReplicas") == 1,
             what="the chainlet back online")
    assert e2e.cluster.get("pvc", "-n", ns)["items"][0]["metadata"]["uid"] == pvc_uid

    def appear():
        chain.state.chainlets.append(chainlet_record(len(chain.state.chainlets)))
    created = _expect_blast(validator, chain, appear)
    assert sum(op == "create" for op in created.values()) == 5  # component, namespace, PVC, Service, StatefulSet
    new_ns = chainlet_ns(len(chain.state.chainlets) - 1)
    assert e2e.cluster.get("statefulset", "-n", new_ns)["items"][0]["status"].get("readyReplicas") == 1
    validator.preview("--expect-no-changes")


def _workload(i: int) -> str:
    from pegasus import names

    return f"{names.chainlet_resource_name(chainlet_record(i)['chainId'])}-workload"


# --------------------------------------------------------------------------------------
# 4. bad reads fail preview and up, and delete nothing
# --------------------------------------------------------------------------------------

def _snapshot(e2e, validator):
    return (set(validator.resources()), names_of("statefulset", e2e, "-A"), names_of("pvc", e2e, "-A"), names_of("svc", e2e, "-A"))


@pytest.mark.parametrize("fault", ["endpoint-down", "5xx", "height-regression", "30pct-missing"])
def test_bad_reads_fail_and_delete_nothing(e2e, chain, validator, fault):
    before = _snapshot(e2e, validator)
    saved = (list(chain.state.chainlets), chain.state.height)
    endpoint = chain.endpoint
    try:
        if fault == "endpoint-down":
            validator.set("chain.endpoint", "http://127.0.0.1:9")  # discard port: nothing listens
            expect = "chain.endpoint"
        elif fault == "5xx":
            chain.state.fail_5xx = -1
            expect = "503"
        elif fault == "height-regression":
            chain.state.height = 900
            expect = "height"
        else:
            keep = len(chain.state.chainlets) * 7 // 10
            chain.state.chainlets = chain.state.chainlets[:keep]
            expect = "maxRemovals"
        for cmd in (validator.preview, validator.up):
            run = cmd(check=False)
            assert run.returncode != 0, run.output[-2000:]
            assert expect in run.output, run.output[-3000:]
        assert _snapshot(e2e, validator) == before
    finally:
        chain.state.fail_5xx = 0
        chain.state.chainlets, chain.state.height = saved
        validator.set("chain.endpoint", endpoint)
    validator.preview("--expect-no-changes")


# --------------------------------------------------------------------------------------
# 5. the real policy pack
# --------------------------------------------------------------------------------------

def test_policy_pack_passes_and_a_violation_fails_the_preview(validator):
    ok = validator.preview("--policy-pack", "policy")
    assert "pegasus-no-public-internal-ports" not in ok.output
    # A shard port on CometBFT's RPC port (26657) publishes an internal port: mandatory.
    # allowSlotChanges lets the guard accept the re-sharding, so the pack is what refuses.
    bad_config = {"ingress.basePort": "26657", "ingress.shardSize": "1", "chainlets.allowSlotChanges": "true"}
    for key, value in bad_config.items():
        validator.set(key, value)
    try:
        bad = validator.preview("--policy-pack", "policy", check=False)
    finally:
        validator.set("ingress.basePort", "1025")
        validator.set("ingress.shardSize", "25")
        validator.set("chainlets.allowSlotChanges", "false")
    assert bad.returncode != 0
    assert "pegasus-no-public-internal-ports" in bad.output and "mandatory" in bad.output, bad.output[-3000:]
    validator.preview("--expect-no-changes")


# --------------------------------------------------------------------------------------
# 6. protected chain data
# --------------------------------------------------------------------------------------

def test_neither_destroy_nor_a_removal_deletes_a_chain_data_volume(e2e, chain, validator):
    claims = names_of("pvc", e2e, "-A")
    destroy = validator.pulumi("destroy", "--yes", "--non-interactive", check=False)
    assert destroy.returncode != 0 and "protected" in destroy.output, destroy.output[-3000:]
    assert names_of("pvc", e2e, "-A") == claims

    removed = chain.state.chainlets.pop()
    validator.set("chainlets.maxRemovals", "1")
    try:
        run = validator.up(check=False)
        assert run.returncode != 0 and "protected" in run.output, run.output[-3000:]
        assert names_of("pvc", e2e, "-A") == claims
    finally:
        chain.state.chainlets.append(removed)
        validator.set("chainlets.maxRemovals", "0")
    validator.up()


# --------------------------------------------------------------------------------------
# 7. secrets stay encrypted in the checkpoint
# --------------------------------------------------------------------------------------

def test_checkpoint_holds_no_configured_secret_in_plain_text(validator):
    files = [p for p in validator.backend_dir().rglob("*") if p.is_file()]
    assert any(p.suffix == ".json" for p in files)
    for path in files:
        assert SECRET.encode() not in path.read_bytes(), path
    assert SECRET not in json.dumps(validator.export())


# --------------------------------------------------------------------------------------
# 8. refresh, then up, restores what was edited by hand
# --------------------------------------------------------------------------------------

def test_refresh_then_up_restores_hand_edits(e2e, validator):
    from pegasus import names

    ns = chainlet_ns(0)
    sts_name = e2e.cluster.get("statefulset", "-n", ns)["items"][0]["metadata"]["name"]
    cm = (names.TCP_SERVICES_CONFIGMAP, "-n", names.INGRESS_NAMESPACE)
    routes = e2e.cluster.get("configmap", *cm)["data"]
    port, backend = sorted(routes.items())[0]
    # Hand edits through the API, by other field managers than Pulumi's.
    e2e.cluster.kubectl("scale", "statefulset", sts_name, "-n", ns, "--replicas=0")
    e2e.cluster.kubectl("patch", "configmap", *cm, "--type=merge", "-p", json.dumps({"data": {port: "evil/svc:1"}}))
    validator.pulumi("refresh", "--yes", "--non-interactive")
    validator.up()
    assert e2e.cluster.get("statefulset", sts_name, "-n", ns)["spec"]["replicas"] == 1
    assert e2e.cluster.get("configmap", *cm)["data"] == routes
    validator.preview("--expect-no-changes")
