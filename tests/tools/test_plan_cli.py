"""The offline plan's command-line contract."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
import yaml

from tests.conftest import PROJECT
from tools.plan.__main__ import main


def cli(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_python_dash_m_runs_the_dev_plan():
    out = subprocess.run([sys.executable, "-m", "tools.plan", "--stack", "dev"], cwd=PROJECT,
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert "pegasus-dev (pulumi:pulumi:Stack)" in out.stdout
    assert "chainlet-hub_5464111-1-data (kubernetes:core/v1:PersistentVolumeClaim) [protect, retain]" in out.stdout
    assert "kubernetes:apps/v1:StatefulSet" in out.stdout
    # The dev stack's honest gaps: no alert receiver, a relative runbook URL, no GENESIS.
    assert "\nWarnings: 1\n  warning: alerting has no receiver" in out.stdout


def test_json_contract(tmp_path, capsys):
    path = tmp_path / "plan.json"
    code, out, _ = cli(capsys, "--stack", "dev", "--json", str(path))
    assert code == 0
    doc = json.loads(path.read_text())
    assert {"project", "stack", "resources", "outputs"} <= set(doc)
    assert (doc["project"], doc["stack"]) == ("pegasus", "dev")
    for r in doc["resources"]:
        assert {"urn", "type", "name", "parent", "custom", "provider", "inputs", "options"} <= set(r)
        assert set(r["options"]) == {"protect", "retainOnDelete", "deleteBeforeReplace", "ignoreChanges", "dependsOn", "aliases"}
        assert r["parent"] is None or r["parent"].startswith("urn:pulumi:dev::pegasus::")
    by_name = {r["name"]: r for r in doc["resources"]}
    claim = by_name["chainlet-hub_5464111-1-data"]
    assert claim["options"]["protect"] and claim["options"]["retainOnDelete"]
    assert claim["inputs"]["spec"]["resources"] == {"requests": {"storage": "5Gi"}}  # engine camelCase names
    assert by_name["chain-state"]["inputs"]["__provider"] == "[secret]"
    assert "kubeconfig" not in doc["outputs"]  # the dev stack uses the local default kubeconfig
    shard = by_name["ingress-p2p-0"]
    assert shard["placeholders"] == {"status.loadBalancer.ingress[0].hostname": "ingress-nginx-controller-p2p-0.sagasrv-ingress.lb.pending.invalid"}
    assert {"urn": shard["urn"], "property": "status.loadBalancer.ingress[0].hostname",
            "value": "ingress-nginx-controller-p2p-0.sagasrv-ingress.lb.pending.invalid"} in doc["placeholders"]


def test_manifests_layout(tmp_path, capsys):
    code, out, _ = cli(capsys, "--stack", "dev", "--manifests", str(tmp_path))
    assert code == 0
    sts = yaml.safe_load((tmp_path / "saga-hub-5464111-1" / "StatefulSet-chainlet.yaml").read_text())
    assert (sts["apiVersion"], sts["kind"]) == ("apps/v1", "StatefulSet")
    assert sts["spec"]["replicas"] == 1  # integers stay integers
    assert (tmp_path / "_cluster" / "Namespace-sagasrv-spc.yaml").exists()
    assert (tmp_path / "sagasrv-metrics" / "PrometheusRule-pegasus-chainlets.yaml").exists()
    values = (tmp_path / "helm" / "pegasus-ingress-nginx.values.yaml").read_text()
    assert values.startswith(
        "# Helm release pegasus-ingress-nginx in namespace sagasrv-ingress\n# chart: ingress-nginx\n# version: 4.15.1\n"
        "# repository: https://kubernetes.github.io/ingress-nginx\n"
    )
    assert yaml.safe_load(values)["fullnameOverride"] == "pegasus-ingress-nginx"


def test_set_overrides_like_config_set_path(capsys, tmp_path):
    path = tmp_path / "p.json"
    code, out, err = cli(capsys, "--set", "cluster.provider=eks", "--set", "cluster.region=eu-west-1",
                         "--set", 'cluster.publicAccessCidrs=["203.0.113.0/24"]',
                         "--set", "ingress.shardSize=5", "--set", 'karpenter.capacityTypes=["on-demand","spot"]',
                         "--json", str(path))
    assert code == 0, err
    doc = json.loads(path.read_text())
    types = {r["type"] for r in doc["resources"]}
    assert "eks:index:Cluster" in types and "kubernetes:karpenter.sh/v1:NodePool" in types
    pool = next(r for r in doc["resources"] if r["type"] == "kubernetes:karpenter.sh/v1:NodePool")
    reqs = {x["key"]: x["values"] for x in pool["inputs"]["spec"]["template"]["spec"]["requirements"]}
    assert reqs["karpenter.sh/capacity-type"] == ["on-demand", "spot"]
    guard = next(r for r in doc["resources"] if r["name"] == "chain-state")
    assert guard["inputs"]["shardSize"] == 5


def test_config_file_and_secure_values_are_planned_as_placeholders(tmp_path, capsys):
    stack = tmp_path / "Pulumi.mine.yaml"
    stack.write_text(yaml.safe_dump({"config": {
        "pegasus:chain": {"source": "snapshot", "snapshot": "chain/snapshot.dev.json"},
        "pegasus:alerting": {"slackWebhookUrl": {"secure": "v1:AAAA:BBBB"}},
        "pegasus:spc": {"env": {"DENOM": "usaga", "GENESIS": "https://example.org/genesis.json"}},
    }}))
    path = tmp_path / "p.json"
    code, out, err = cli(capsys, "--config-file", str(stack), "--json", str(path))
    assert code == 0, err
    assert "Secure config planned with placeholders: pegasus:alerting.slackWebhookUrl" in out
    doc = json.loads(path.read_text())
    secret = next(r for r in doc["resources"] if r["type"] == "kubernetes:core/v1:Secret")
    assert secret["inputs"]["stringData"] == "[secret]"
    assert doc["securePlaceholders"] == ["pegasus:alerting.slackWebhookUrl"]


@pytest.mark.parametrize("sets, message", [
    (["cluster.provider=aks"], "error: pegasus:cluster.provider: must be one of existing, eks, gke; got 'aks'"),
    (["ingress.shardSize=0"], "error: pegasus:ingress.shardSize: must be between 1 and 1000; got 0"),
    (["cluster.provider=eks", "cluster.region=us-east-1", 'cluster.publicAccessCidrs=["203.0.113.0/24"]', "ingress.shardSize=60"],
     "error: pegasus:ingress.shardSize: must be between 1 and 50 on eks: an AWS NLB has at most 50 listeners and each chainlet takes one; got 60"),
    (["--stack=eks", 'cluster.adminRoleArns=["arn:aws:iam::123456789012:role/ci/pegasus-deployer"]'],
     "error: pegasus:cluster.adminRoleArns[0]: arn:aws:iam::123456789012:role/ci/pegasus-deployer is the role this run "
     "deploys with (arn:aws:sts::123456789012:assumed-role/pegasus-deployer/planner), which EKS already makes cluster admin "
     "(pulumi-eks creates the cluster with bootstrapClusterCreatorAdminPermissions); a second access entry for it fails "
     "with ResourceInUseException. Remove it from cluster.adminRoleArns"),
    (["cluster.provider=eks", "cluster.region=us-east-1", 'cluster.publicAccessCidrs=["300.1.2.0/24"]'],
     "error: pegasus:cluster.publicAccessCidrs[0]: '300.1.2.0/24' is not a valid CIDR block; write it like 203.0.113.0/24"),
    (["ingress.shardsPerLb=3"], "error: pegasus:ingress.shardsPerLb: unknown key; the known keys of pegasus:ingress are"),
    (["colour=blue"], "error: pegasus:colour: unknown key. Known keys:"),
])
def test_bad_config_exits_1_naming_the_key(capsys, sets, message):
    argv = [x for s in sets for x in ((s,) if s.startswith("--") else ("--set", s))]
    code, out, err = cli(capsys, *argv)
    assert code == 1
    assert message in err
    assert "Traceback" not in err


def test_debug_adds_the_traceback(capsys):
    code, out, err = cli(capsys, "--set", "cluster.provider=aks", "--debug")
    assert code == 1 and "Traceback (most recent call last)" in err


def test_chain_read_failure_exits_1_and_plans_nothing(capsys):
    code, out, err = cli(capsys, "--set", "chain.snapshot=chain/nope.json")
    assert code == 1
    assert "error: pegasus:chain.snapshot: file 'chain/nope.json' does not exist" in err
    assert out == ""


@pytest.mark.parametrize("argv, message", [
    (["--stack", "nosuch"], "error: no stack 'nosuch': "),
    (["--set", "novalue"], "error: --set expects KEY=VALUE, got 'novalue'"),
    (["--set", "a..[x]=1"], "error: --set: cannot parse the key 'a..[x]'"),
    (["--policy-config", "x.json"], "error: --policy-config needs --check"),
])
def test_usage_errors_exit_2(capsys, argv, message):
    code, out, err = cli(capsys, *argv)
    assert code == 2 and message in err


def test_unknown_flag_exits_2():
    out = subprocess.run([sys.executable, "-m", "tools.plan", "--frobnicate"], cwd=PROJECT,
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 2 and "unrecognized arguments: --frobnicate" in out.stderr


def test_repeated_plans_leave_stderr_clean():
    """No event loop is left for the garbage collector: under -X dev every unclosed loop is a
    ResourceWarning, and one finalized after its sockets printed `Exception ignored in:
    BaseEventLoop.__del__ ... Invalid file descriptor: -1` after a successful plan."""
    for flags in (["-X", "dev"], [], []):
        out = subprocess.run([sys.executable, *flags, "-m", "tools.plan", "--stack", "dev", "--quiet"], cwd=PROJECT,
                             capture_output=True, text=True, timeout=120)
        assert out.returncode == 0, out.stderr
        assert "\nWarnings: 1\n" in out.stdout
        assert "unclosed event loop" not in out.stderr and "Exception ignored" not in out.stderr, out.stderr
        if not flags:
            assert out.stderr == ""


def test_shard_plans_one_shard_stack_from_the_platforms_plan(capsys):
    from pegasus import names, sharding
    from tools.plan.runner import plan_stack

    sets = ["--set", "chainlets.stacks=sharded", "--set", "ingress.shardSize=2"]
    code, out, err = cli(capsys, "--stack", "dev", *sets, "--shard", "1", "--json", "-")
    assert code == 0, err
    doc = json.loads(out)
    assert doc["stack"] == "dev-shard-1"
    platform = plan_stack(str(PROJECT), "dev", None, [s for s in sets if s != "--set"])
    members = platform.outputs[sharding.MEMBERS_OUTPUT]
    assert set(members) == {"0", "1", "2"}
    namespaces = {r["inputs"]["metadata"]["name"] for r in doc["resources"] if r["type"] == "kubernetes:core/v1:Namespace"}
    # Exactly the chainlets the platform's ledger puts in shard 1: none of shard 0's or 2's.
    assert namespaces == {names.chainlet_namespace(c) for c in members["1"]}
    assert doc["outputs"][sharding.DIGESTS_OUTPUT].keys() == members["1"].keys()


def test_shard_needs_a_sharded_stack_and_an_index_of_zero_or_more(capsys):
    code, _, err = cli(capsys, "--stack", "dev", "--shard", "0")
    assert code == 2
    assert err.strip() == ("error: --shard 0: stack dev is not sharded; set pegasus:chainlets.stacks to sharded "
                           "(or add --set chainlets.stacks=sharded)")
    code, _, err = cli(capsys, "--stack", "dev", "--set", "chainlets.stacks=sharded", "--shard", "-1")
    assert (code, err.strip()) == (2, "error: --shard -1: a shard index is 0 or more")
