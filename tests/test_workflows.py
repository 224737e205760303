"""The GitOps workflows: valid against GitHub's workflow schema, clean under zizmor's
offline audit, and shaped the way the operations docs promise."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from tests.conftest import PROJECT
from tools import chainheight
from tools.fakechain import ChainState, FakeChain, chainlet_record

WORKFLOWS = PROJECT / ".github" / "workflows"
BIN = Path(sys.executable).parent


def workflow(name: str) -> dict:
    doc = yaml.safe_load((WORKFLOWS / f"{name}.yml").read_text())
    doc["on"] = doc.pop(True, doc.get("on"))  # YAML 1.1 reads the key `on` as a boolean
    return doc


def steps(doc: dict, job: str) -> list[dict]:
    return doc["jobs"][job]["steps"]


def test_workflows_validate_against_the_github_workflow_schema():
    files = sorted(str(p) for p in WORKFLOWS.glob("*.yml"))
    assert len(files) == 4
    out = subprocess.run([str(BIN / "check-jsonschema"), "--builtin-schema", "vendor.github-workflows", *files],
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stdout + out.stderr


def test_workflows_pass_zizmor_offline():
    out = subprocess.run([str(BIN / "zizmor"), "--offline", str(WORKFLOWS)], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stdout + out.stderr
    assert "No findings to report" in out.stdout


def test_every_action_is_pinned_to_a_commit():
    for path in WORKFLOWS.glob("*.yml"):
        for uses in re.findall(r"uses:\s*(\S+)", path.read_text()):
            assert re.fullmatch(r"[\w.-]+/[\w.-]+@[0-9a-f]{40}", uses), f"{path.name}: {uses}"


def test_no_long_lived_cloud_keys():
    text = "\n".join(p.read_text() for p in WORKFLOWS.glob("*.yml"))
    for forbidden in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "credentials_json", "GOOGLE_CREDENTIALS"):
        assert forbidden not in text


@pytest.mark.parametrize("name, job", [("deploy", "up"), ("reconcile", "up"), ("drift", "preview"), ("pull-request", "preview")])
def test_jobs_that_touch_a_stack_share_one_concurrency_group_per_stack(name, job):
    j = workflow(name)["jobs"][job]
    assert j["concurrency"] == {"group": "pulumi-${{ matrix.stack }}", "cancel-in-progress": False}
    assert j["permissions"]["id-token"] == "write"


def test_pull_request_runs_tests_plan_check_and_a_commented_preview():
    doc = workflow("pull-request")
    assert doc["on"] == {"pull_request": {"branches": ["main"]}}
    runs = "\n".join(s.get("run", "") for s in steps(doc, "test"))
    assert ".ci/run" in runs and "tools.plan --stack \"$stack\" --check" in runs and "tools.scan" in runs
    preview = [s for s in steps(doc, "preview") if "pulumi/actions" in s.get("uses", "")][0]["with"]
    assert (preview["command"], preview["policyPacks"], preview["comment-on-pr"]) == ("preview", "policy", True)


def test_merge_applies_the_saved_plan_at_a_pinned_height():
    s = steps(workflow("deploy"), "up")
    names = [x.get("name", "") for x in s]
    assert names.index("Pin the chain read to the latest height") < names.index("pulumi preview --policy-pack policy --save-plan")
    preview = next(x for x in s if x.get("name") == "pulumi preview --policy-pack policy --save-plan")["with"]
    up = next(x for x in s if x.get("name") == "pulumi up --policy-pack policy --plan")["with"]
    assert (preview["command"], preview["plan"]) == ("preview", "plan.json")
    assert (up["command"], up["plan"], up["policyPacks"]) == ("up", "plan.json", "policy")


def test_schedule_reconciles_with_refresh_every_five_minutes():
    doc = workflow("reconcile")
    assert doc["on"]["schedule"] == [{"cron": "*/5 * * * *"}]
    up = [x for x in steps(doc, "up") if "pulumi/actions" in x.get("uses", "")][0]["with"]
    assert (up["command"], up["refresh"]) == ("up", True)


def test_daily_drift_check_expects_no_changes():
    doc = workflow("drift")
    assert len(doc["on"]["schedule"]) == 1
    preview = [x for x in steps(doc, "preview") if x.get("with", {}).get("command") == "preview"][0]["with"]
    assert (preview["refresh"], preview["expect-no-changes"]) == (True, True)
    assert preview["exclude"].endswith("::pegasus::pulumi-python:dynamic/pegasus:ChainState::chain-state")


def test_chainheight_reads_the_stacks_chain(tmp_path, capsys):
    assert chainheight.latest_height("dev") == 5457144
    state = ChainState(chainlets=[chainlet_record(i) for i in range(3)], height=777)
    with FakeChain(state) as chain:
        stack = tmp_path / "Pulumi.x.yaml"
        stack.write_text(yaml.safe_dump({"config": {"pegasus:chain": {"source": "rest", "endpoint": chain.endpoint},
                                                    "pegasus:spc": {"enabled": False}}}))
        assert chainheight.main(["--config-file", str(stack)]) == 0
    assert capsys.readouterr().out.strip() == "777"
    assert state.requests == 1
