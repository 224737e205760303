"""The operator option against a real kube-apiserver (kwok cluster, tests/e2e/conftest.py):

- PKO v2.9.0's CRDs (schemas/crds/, the chart's own) installed, and the Stack objects of
  components/operator/pko_builder.py applied with strict field validation: the API server's
  own check of every field against the CRD is the contract test;
- the watcher's objects (ServiceAccount, Role, RoleBinding, ConfigMap, Deployment) applied too;
- the watcher's loop run in this process with its ServiceAccount's token (so the Role is what
  is tested, not an admin's rights), reading a fake chain on 127.0.0.1, and the annotations
  read back from the API server: exactly the affected Stack objects get a request.

kwok runs no containers: PKO itself and the watcher's pod never run here. Where PKO would
write a Stack's status after an update, the test writes it through the status subresource,
in the shape PKO v2.9.0 writes (markStackSucceeded: status.outputs, status.lastUpdate); the
API server validates that shape against the CRD too.
"""

from __future__ import annotations

import base64
import json
from pathlib import Path

import pytest
import yaml

from components.operator import pko_builder as pb
from components.operator import watcher as w
from components.operator import watcher_builder as wb
from components.operator import watcher_code
from components.operator.config import parse_operator
from pegasus import sharding
from pegasus.chain.reader import RestSource, read_rest
from tools.e2e.cluster import ClusterError
from tools.e2e.toolchain import REPO
from tools.fakechain import ChainState, FakeChain, chainlet_record

pytestmark = pytest.mark.e2e

NS = "pulumi-stacks"
PLATFORM = "e2e"
SHARDS = [sharding.shard_stack_name(PLATFORM, i) for i in range(3)]
CRDS = ("pulumi.com_stacks.yaml", "pulumi.com_programs.yaml", "auto.pulumi.com_workspaces.yaml", "auto.pulumi.com_updates.yaml")
MANAGER = "pegasus-e2e"


def settings():
    return parse_operator({
        "enabled": True, "namespace": NS, "repo": "https://github.com/example/pegasus.git", "backend": "s3://pegasus-state",
        "secretsProvider": "passphrase", "repoToken": {"secret": "git", "key": "token"},
        "env": {"PULUMI_CONFIG_PASSPHRASE": {"secret": "pulumi-secrets", "key": "passphrase"},
                "AWS_ACCESS_KEY_ID": {"secret": "pulumi-backend", "key": "accessKeyId"}},
    })


def apply(cluster, docs: list[dict], *, dry_run: bool = False) -> str:
    args = ["apply", "--server-side", f"--field-manager={MANAGER}", "--validate=strict", "-f", "-"]
    if dry_run:
        args.append("--dry-run=server")
    return cluster.kubectl(*args, input=yaml.safe_dump_all(docs))


def stacks(cluster) -> dict[str, dict]:
    return {o["metadata"]["name"]: o for o in cluster.get("stacks.pulumi.com", "-n", NS)["items"]}


def requests(cluster) -> dict[str, str]:
    """Stack object name -> its reconcile-request annotation, for those that have one."""
    out = {}
    for name, obj in stacks(cluster).items():
        value = (obj["metadata"].get("annotations") or {}).get(w.RECONCILE_REQUEST)
        if value is not None:
            out[name] = value
    return out


def versions(cluster) -> dict[str, str]:
    return {name: obj["metadata"]["resourceVersion"] for name, obj in stacks(cluster).items()}


def set_platform_status(cluster, members: dict[int, list[int]], reconcile_request: str = "") -> None:
    """What PKO writes once the platform's update succeeded."""
    outputs = {
        sharding.HEIGHT_OUTPUT: 1000,
        sharding.LEDGER_OUTPUT: {chainlet_record(i)["chainId"]: i for ids in members.values() for i in ids},
        sharding.MEMBERS_OUTPUT: {str(s): {chainlet_record(i)["chainId"]: {"slot": i, "shard": s} for i in members.get(s, [])}
                                  for s in range(len(SHARDS))},
        sharding.STACKS_OUTPUT: SHARDS,
    }
    status = {"status": {"outputs": outputs, "observedGeneration": 1, "observedReconcileRequest": reconcile_request,
                         "lastUpdate": {"generation": 1, "reconcileRequest": reconcile_request, "name": "e2e-update",
                                        "type": "up", "state": "succeeded", "lastResyncTime": "2026-01-01T00:00:00Z"}}}
    cluster.kubectl("patch", "stacks.pulumi.com", PLATFORM, "-n", NS,
                    "--subresource=status", "--type=merge", "-p", json.dumps(status))


@pytest.fixture(scope="module")
def cluster(e2e):
    c = e2e.cluster
    for name in CRDS:
        c.kubectl("apply", "--server-side", "-f", str(REPO / "schemas" / "crds" / name))
    c.kubectl("wait", "--for=condition=Established", "--timeout=60s", *[f"crd/{n.split('_', 1)[1][:-5]}.{n.split('_', 1)[0]}" for n in CRDS])
    return c


@pytest.fixture(scope="module")
def deployed(cluster):
    s = settings()
    code = watcher_code.code()
    cm = wb.configmap(s, wb.watcher_config(s, PLATFORM, RestSource("http://spc.sagasrv-spc.svc:1317")), code)
    apply(cluster, [wb.namespace(s)])
    apply(cluster, pb.stack_objects(s, PLATFORM, SHARDS) + [
        wb.service_account(s), wb.role(s, [PLATFORM, *SHARDS]), wb.role_binding(s), cm, wb.deployment(s, cm, list(code))])
    return s


def test_stack_objects_pass_the_api_servers_validation(cluster, deployed):
    assert sorted(stacks(cluster)) == sorted([PLATFORM, *SHARDS])
    shard = stacks(cluster)["e2e-shard-2"]
    # Nothing was pruned: what the server stored is what the builder built.
    assert shard["spec"] == pb.stack_object(deployed, "e2e-shard-2", platform=PLATFORM)["spec"]
    # The commit form and inline config, too (a dry run: no object is left behind).
    other = parse_operator({"enabled": True, "namespace": NS, "repo": "git@github.com:example/pegasus.git",
                            "commit": "0123456789abcdef0123456789abcdef01234567", "repoDir": "infra", "backend": "gs://state",
                            "secretsProvider": "gcpkms://projects/p/locations/l/keyRings/r/cryptoKeys/k"})
    apply(cluster, pb.stack_objects(other, "dry", ["dry-shard-0"], config={"pegasus:chainlets": {"stacks": "sharded"}}), dry_run=True)


def test_the_api_server_refuses_a_field_pko_does_not_have(cluster, deployed):
    # The validation above is live: a misspelt field is refused, not pruned.
    obj = pb.stack_object(deployed, "typo")
    obj["spec"]["destroyOnFinalise"] = False
    with pytest.raises(ClusterError) as e:
        apply(cluster, [obj], dry_run=True)
    assert ".spec.destroyOnFinalise: field not declared in schema" in str(e.value)


@pytest.fixture(scope="module")
def chain():
    with FakeChain(ChainState(chainlets=[chainlet_record(i) for i in range(4)]), lifetime=900) as fake:
        yield fake


def _server_and_ca(cluster, tmp: Path) -> tuple[str, str]:
    config = yaml.safe_load(cluster.kubeconfig.read_text())
    context = next(c["context"] for c in config["contexts"] if c["name"] == config["current-context"])
    entry = next(c["cluster"] for c in config["clusters"] if c["name"] == context["cluster"])
    ca = entry.get("certificate-authority")
    if entry.get("certificate-authority-data"):
        ca = str(tmp / "ca.crt")
        Path(ca).write_bytes(base64.b64decode(entry["certificate-authority-data"]))
    assert entry["server"].startswith("https://127.0.0.1:") and ca, entry
    return entry["server"], ca


@pytest.fixture(scope="module")
def watcher(cluster, deployed, chain, tmp_path_factory):
    server, ca = _server_and_ca(cluster, tmp_path_factory.mktemp("kube"))
    # The watcher's own ServiceAccount, through the TokenRequest API: the Role is what is tested.
    token = cluster.kubectl("create", "token", wb.NAME, "-n", NS, "--duration=1h").strip()
    kube = w.Kube(server, token=token, ca_file=ca)
    source = RestSource(chain.endpoint, retries=0, timeout_seconds=5)
    lines: list[str] = []
    return w.Watcher(kube, NS, PLATFORM, lambda: read_rest(source)[0], log=lines.append)


def test_no_outputs_yet_nothing_requested(cluster, watcher, chain):
    # PKO has not run the platform: its Stack has no outputs, so nothing can be told apart.
    assert watcher.poll() == {}
    assert requests(cluster) == {}


def test_the_first_read_of_a_placed_fleet_requests_nothing(cluster, watcher):
    set_platform_status(cluster, {0: [0, 1], 1: [2, 3]})
    assert watcher.poll() == {}
    assert requests(cluster) == {}


def test_a_changed_chainlet_requests_the_platform_and_its_shard(cluster, watcher, chain):
    chain.state.chainlets[2] = chainlet_record(2, online=False)
    chain.state.height = 1010
    done = watcher.poll()
    assert requests(cluster) == done == {"e2e": done["e2e"], "e2e-shard-1": done["e2e"]}


def test_a_new_chainlet_requests_the_platform_then_its_shard(cluster, watcher, chain):
    before = requests(cluster)
    chain.state.chainlets.append(chainlet_record(4))
    chain.state.height = 1020
    done = watcher.poll()
    assert list(done) == ["e2e"] and done["e2e"] != before["e2e"]
    assert requests(cluster) == {**before, "e2e": done["e2e"]}
    # Asked once: polling again while the platform has not placed it changes nothing.
    rv = versions(cluster)
    chain.state.height = 1025
    assert watcher.poll() == {}
    assert versions(cluster) == rv
    # PKO ran the platform for that request: the chainlet is in shard 2's outputs now.
    set_platform_status(cluster, {0: [0, 1], 1: [2, 3], 2: [4]}, reconcile_request=done["e2e"])
    placed = watcher.poll()
    assert list(placed) == ["e2e-shard-2"]
    assert requests(cluster) == {**before, "e2e": done["e2e"], "e2e-shard-2": placed["e2e-shard-2"]}


def test_a_failed_chain_read_requests_nothing(cluster, watcher, chain):
    rv, asked = versions(cluster), requests(cluster)
    chain.state.chainlets[0] = chainlet_record(0, online=False)
    chain.state.fail_5xx = -1
    try:
        assert watcher.poll() == {}
        assert versions(cluster) == rv and requests(cluster) == asked
    finally:
        chain.state.fail_5xx = 0
    # Once the chain answers, the change is requested.
    assert sorted(watcher.poll()) == ["e2e", "e2e-shard-0"]


def test_the_watcher_changed_only_its_annotation(cluster, deployed):
    listed = cluster.get("stacks.pulumi.com", "-n", NS, "--show-managed-fields")["items"]
    assert len(listed) == 1 + len(SHARDS)
    for obj in listed:
        name = obj["metadata"]["name"]
        expected = pb.stack_object(deployed, name, platform=None if name == PLATFORM else PLATFORM)
        assert obj["spec"] == expected["spec"], name
        assert obj["metadata"]["labels"] == expected["metadata"]["labels"]
        owned = {m["manager"] for m in obj["metadata"]["managedFields"] if "f:metadata" in json.dumps(m.get("fieldsV1", {}))}
        assert owned <= {MANAGER, w.FIELD_MANAGER}, owned
        # The annotation is the watcher's own field: a later server-side apply of the Stack
        # object by the platform stack leaves it alone.
        mine = [m for m in obj["metadata"]["managedFields"] if m["manager"] == w.FIELD_MANAGER]
        if w.RECONCILE_REQUEST in (obj["metadata"].get("annotations") or {}):
            assert f"f:{w.RECONCILE_REQUEST}" in json.dumps(mine[0]["fieldsV1"]), name


def test_the_watchers_role_allows_nothing_else(cluster, deployed, watcher):
    # Another Stack in the same namespace, and a delete of its own: both refused.
    stray = pb.stack_object(deployed, "stray")
    apply(cluster, [stray])
    with pytest.raises(w.KubeError, match="HTTP 403"):
        watcher.kube.request_reconcile(NS, "stray", "x")
    with pytest.raises(w.KubeError, match="HTTP 403"):
        watcher.kube._call("DELETE", w.Kube.stack_path(NS, "e2e-shard-0"))
    with pytest.raises(w.KubeError, match="HTTP 403"):
        watcher.kube._call("GET", f"/apis/pulumi.com/v1/namespaces/{NS}/stacks")
    assert "stray" not in requests(cluster)
