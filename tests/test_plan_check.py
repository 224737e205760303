"""`python -m tools.plan --check`: the policy pack over the planned resources."""

from __future__ import annotations

import json

import pytest

from tools.plan import check
from tools.plan.__main__ import main
from tests.conftest import example


def cli(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


@pytest.mark.parametrize("stack", ["dev", "eks", "gke"])
def test_example_stacks_pass_every_mandatory_policy(capsys, stack):
    code, out, err = cli(capsys, "--stack", stack, "--check", "--quiet")
    assert code == 0, out
    summary = out.split("Policy check: ")[1].split("\n")[0]
    assert summary in ("no violations", "1 violation(s), 0 mandatory")


def test_the_only_finding_on_eks_is_the_advisory_ami_pin():
    found = check.violations(example("eks"))
    assert [(v.policy_name, v.enforcement) for v in found] == [("pegasus-karpenter-ami-pinned", "advisory")]


def test_a_deliberately_bad_config_exits_3_with_the_violations(capsys):
    code, out, err = cli(capsys, "--stack", "eks", "--check", "--quiet", "--set", 'cluster.publicAccessCidrs=["0.0.0.0/0"]')
    assert code == 3
    report = out.split("Policy check:")[1]
    assert report.startswith(" 2 violation(s), 1 mandatory")
    assert "pegasus-clusters-hardened (mandatory): 1" in report
    assert "cluster-eks:" in report and "0.0.0.0/0" in report
    # Mandatory findings are listed before advisory ones.
    assert report.index("(mandatory)") < report.index("(advisory)")


def test_policy_config_can_disable_a_policy(tmp_path, capsys):
    cfg = tmp_path / "policy.json"
    cfg.write_text(json.dumps({"pegasus-clusters-hardened": "disabled"}))
    code, out, err = cli(capsys, "--stack", "eks", "--check", "--quiet", "--policy-config", str(cfg),
                         "--set", 'cluster.publicAccessCidrs=["0.0.0.0/0"]')
    assert code == 0
    assert "pegasus-clusters-hardened" not in out


def test_policy_config_allow_list_for_a_public_port(tmp_path, capsys):
    bad = ["--set", 'ingress.basePort=26657', "--set", "ingress.shardSize=1"]
    code, out, _ = cli(capsys, "--stack", "dev", "--check", "--quiet", *bad)
    assert code == 3 and "pegasus-no-public-internal-ports (mandatory)" in out
    cfg = tmp_path / "policy.json"
    cfg.write_text(json.dumps({"pegasus-no-public-internal-ports": {"allowedPorts": [26657]}}))
    code, out, _ = cli(capsys, "--stack", "dev", "--check", "--quiet", "--policy-config", str(cfg), *bad)
    assert code == 0


def test_unreadable_policy_config_is_a_usage_error(tmp_path, capsys):
    cfg = tmp_path / "policy.json"
    cfg.write_text("{")
    code, out, err = cli(capsys, "--check", "--policy-config", str(cfg))
    assert code == 2 and "error: --policy-config" in err


def test_resources_reach_the_pack_as_the_analyzer_sees_them():
    plan = example("dev")
    resources = check.policy_resources(plan)
    claim = next(r for r in resources if r["name"] == "chainlet-hub_5464111-1-data")
    assert claim["protect"] is True
    assert claim["type"] == "kubernetes:core/v1:PersistentVolumeClaim"
    sts = next(r for r in resources if r["name"] == "chainlet-hub_5464111-1-workload")
    assert sts["props"]["spec"]["replicas"] == 1.0 and isinstance(sts["props"]["spec"]["replicas"], float)
