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
    # The fix names the Pegasus key, not only the resource input it becomes.
    assert "list the operator CIDRs in cluster.publicAccessCidrs, or leave it empty to keep the endpoint private" in report
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
    assert "ingress-p2p-0: spec.ports[0] port 26657 exposes CometBFT RPC on a LoadBalancer Service; this p2p shard publishes " \
           "ingress.basePort to ingress.basePort + ingress.shardSize - 1, so move ingress.basePort clear of it" in out
    cfg = tmp_path / "policy.json"
    cfg.write_text(json.dumps({"pegasus-no-public-internal-ports": {"allowedPorts": [26657]}}))
    code, out, _ = cli(capsys, "--stack", "dev", "--check", "--quiet", "--policy-config", str(cfg), *bad)
    assert code == 0


@pytest.mark.parametrize("content, message", [
    ("{", "is not valid JSON: Expecting property name enclosed in double quotes"),
    ("[1]", "must be a JSON object of policy names"),
    ('{"pegasus-nlb-listener-limit": {"maxListeners": "ten"}}', "pegasus-nlb-listener-limit.maxListeners: expected integer, got 'ten'"),
    ('{"pegasus-no-public-internal-ports": {"allowedPorts": ["x"]}}', "pegasus-no-public-internal-ports.allowedPorts[0]: expected integer, got 'x'"),
    ('{"pegasus-nlb-listner-limit": "disabled"}',
     "pegasus-nlb-listner-limit: unknown policy (did you mean pegasus-nlb-listener-limit?); the pack's policies are pegasus-buckets-not-public, "),
    ('{"pegasus-nlb-listener-limit": {"maxListner": 3}}',
     "pegasus-nlb-listener-limit.maxListner: unknown property (did you mean maxListeners?); pegasus-nlb-listener-limit takes enforcementLevel, maxListeners"),
    ('{"pegasus-nlb-listener-limit": "off"}', "pegasus-nlb-listener-limit: enforcement level 'off' is not one of advisory, mandatory, remediate, disabled"),
    ('{"all": {"level": "disabled"}}', "all.level: unknown property; all takes enforcementLevel"),
    ('{"pegasus-clusters-hardened": 1}', "pegasus-clusters-hardened: must be an enforcement level (advisory, mandatory, remediate, disabled) or an object, got 1"),
])
def test_a_bad_policy_config_is_one_line_and_exit_2_before_planning(tmp_path, capsys, content, message):
    cfg = tmp_path / "policy.json"
    cfg.write_text(content)
    code, out, err = cli(capsys, "--check", "--policy-config", str(cfg))
    assert code == 2
    assert err.startswith(f"error: --policy-config {cfg}: {message}")
    assert err.count("\n") == 1 and "Traceback" not in err
    assert out == ""  # refused before the plan ran


def test_a_missing_policy_config_is_one_line(tmp_path, capsys):
    code, out, err = cli(capsys, "--check", "--policy-config", str(tmp_path / "nope.json"))
    assert (code, err) == (2, f"error: --policy-config {tmp_path / 'nope.json'}: cannot read it: No such file or directory\n")


def test_resources_reach_the_pack_as_the_analyzer_sees_them():
    plan = example("dev")
    resources = check.policy_resources(plan)
    claim = next(r for r in resources if r["name"] == "chainlet-hub_5464111-1-data")
    assert claim["protect"] is True
    assert claim["type"] == "kubernetes:core/v1:PersistentVolumeClaim"
    sts = next(r for r in resources if r["name"] == "chainlet-hub_5464111-1-workload")
    assert sts["props"]["spec"]["replicas"] == 1.0 and isinstance(sts["props"]["spec"]["replicas"], float)
