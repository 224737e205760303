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
from tools.ci import tick
from tools.fakechain import ChainState, FakeChain, chainlet_record

WORKFLOWS = PROJECT / ".github" / "workflows"
BIN = Path(sys.executable).parent
MAIN_ONLY = "github.ref == 'refs/heads/main'"
SAME_REPO = "github.event.pull_request.head.repo.full_name == github.repository"
ALERT = "$/.github/workflows/alert.yml"


def workflow(name: str) -> dict:
    doc = yaml.safe_load((WORKFLOWS / f"{name}.yml").read_text())
    doc["on"] = doc.pop(True, doc.get("on"))  # YAML 1.1 reads the key `on` as a boolean
    return doc


def steps(doc: dict, job: str) -> list[dict]:
    return doc["jobs"][job]["steps"]


def all_jobs():
    for path in sorted(WORKFLOWS.glob("*.yml")):
        for job_id, job in workflow(path.stem)["jobs"].items():
            yield path.stem, job_id, job


def pulumi_steps(job: dict) -> list[dict]:
    return [s for s in job.get("steps", []) if s.get("uses", "").startswith("pulumi/actions@")]


def command_steps(job: dict) -> list[dict]:
    return [s for s in pulumi_steps(job) if "command" in s.get("with", {})]


def index(job: dict, predicate) -> int:
    return next(i for i, s in enumerate(job["steps"]) if predicate(s))


def cron_minutes(cron: str) -> set[int]:
    minute = cron.split()[0]
    out: set[int] = set()
    for part in minute.split(","):
        rng, _, step = part.partition("/")
        lo, hi = (0, 59) if rng == "*" else (int(rng.split("-")[0]), int(rng.split("-")[-1]))
        if step and rng != "*" and "-" not in rng:
            hi = 59
        out.update(range(lo, hi + 1, int(step or 1)))
    return out


# --- schema, audit, pins -------------------------------------------------------------------

def test_workflows_validate_against_the_github_workflow_schema():
    files = sorted(str(p) for p in WORKFLOWS.glob("*.yml"))
    assert [Path(f).name for f in files] == ["alert.yml", "drift.yml", "pull-request.yml", "reconcile.yml"]
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
            if uses.startswith("$/"):
                continue  # this repository at the running commit
            assert re.fullmatch(r"[\w.-]+/[\w.-]+@[0-9a-f]{40}", uses), f"{path.name}: {uses}"


def _version(v: str) -> tuple[int, ...]:
    assert re.fullmatch(r"[0-9]+\.[0-9]+\.[0-9]+", v), f"not an exact version: {v!r}"
    return tuple(int(x) for x in v.split("."))


def test_the_pulumi_cli_is_pinned_in_one_file_never_older_than_the_sdk():
    """Without a version, pulumi/actions keeps whatever CLI the runner image ships (`^3`). The
    pin is the CLI the e2e toolchain builds and runs, and a CLI older than the SDK is refused."""
    pinned = (PROJECT / ".pulumi.version").read_text().strip()
    sdk = re.search(r"^pulumi==([0-9.]+)$", (PROJECT / "requirements.txt").read_text(), re.M).group(1)
    built = re.search(r"^PULUMI_VERSION=([0-9.]+)$", (PROJECT / "e2e" / "toolchain" / "build.sh").read_text(), re.M).group(1)
    assert _version(pinned) >= _version(sdk)
    assert pinned == built
    assert _version(pinned) >= (3, 158, 0), "--exclude (the drift check) needs 3.158.0 or newer"


def test_every_pulumi_actions_step_reads_the_pinned_cli_version():
    count = 0
    for name, job_id, job in all_jobs():
        for step in pulumi_steps(job):
            count += 1
            w = step.get("with", {})
            assert w.get("pulumi-version-file") == ".pulumi.version", f"{name}/{job_id}: {step.get('name')}"
            assert "pulumi-version" not in w, f"{name}/{job_id}: only one of the two inputs is allowed"
    assert count >= 6


def test_no_long_lived_cloud_keys():
    text = "\n".join(p.read_text() for p in WORKFLOWS.glob("*.yml"))
    for forbidden in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "credentials_json", "GOOGLE_CREDENTIALS"):
        assert forbidden not in text


def test_no_fallback_to_an_example_stack():
    for name, job_id, job in all_jobs():
        matrix = job.get("strategy", {}).get("matrix", {})
        if matrix:
            assert matrix["stack"] == "${{ fromJSON(needs.stacks.outputs.list) }}", f"{name}/{job_id}"
            assert "stacks" in job["needs"]
    text = "\n".join(p.read_text() for p in WORKFLOWS.glob("*.yml"))
    assert "PEGASUS_STACKS ||" not in text and "'[\"eks\"]'" not in text


# --- concurrency ---------------------------------------------------------------------------

def test_only_the_reconcile_updates_stacks_and_its_runs_queue_without_cancelling():
    up = workflow("reconcile")["jobs"]["up"]
    assert up["concurrency"] == {"group": "pulumi-${{ matrix.stack }}", "cancel-in-progress": False, "queue": "max"}
    groups = [(n, j, job.get("concurrency", {}).get("group", "")) for n, j, job in all_jobs()]
    assert [(n, j) for n, j, g in groups if g.startswith("pulumi-")] == [("reconcile", "up")]
    ups = [(n, j) for n, j, job in all_jobs() for s in command_steps(job) if s["with"]["command"] != "preview"]
    assert ups == [("reconcile", "up")], "every update runs in the one queue per stack"


def test_pull_request_comments_the_offline_plan_diff_against_the_base_branch():
    s = steps(workflow("pull-request"), "preview")
    base = next(x for x in s if x.get("with", {}).get("path") == "base")["with"]
    assert base["ref"] == "${{ github.event.pull_request.base.sha }}" and base["persist-credentials"] is False
    run = next(x for x in s if x.get("name") == "Offline plan diff against the base branch, commented on the PR")["run"]
    assert '--stack "$STACK" --quiet --json "$RUNNER_TEMP/base.json"' in run
    assert 'venv/bin/python -m tools.plan --stack "$STACK" --quiet --diff "$RUNNER_TEMP/base.json"' in run
    assert 'gh pr comment "$PR_NUMBER" --body-file' in run


def test_previews_and_drift_stay_out_of_the_update_queue():
    pr = workflow("pull-request")
    assert "concurrency" not in pr["jobs"]["preview"]
    assert pr["concurrency"] == {"group": "pull-request-${{ github.event.pull_request.number }}", "cancel-in-progress": True}
    drift = workflow("drift")["jobs"]
    assert drift["preview"]["concurrency"] == {"group": "drift-${{ matrix.stack }}", "cancel-in-progress": False}
    assert "concurrency" not in drift["freshness"]


def test_a_queued_run_applies_main_as_it_is_when_it_starts():
    checkout = steps(workflow("reconcile"), "up")[0]
    assert checkout["uses"].startswith("actions/checkout@") and checkout["with"]["ref"] == "refs/heads/main"


def test_stale_ticks_skip_everything_after_the_decision():
    up = workflow("reconcile")["jobs"]["up"]
    i = index(up, lambda s: s.get("id") == "tick")
    assert "python3 -m tools.ci.tick" in up["steps"][i]["run"]
    for step in up["steps"][i + 1:]:
        assert "steps.tick.outputs.skip == 'false'" in step.get("if", ""), step.get("name") or step.get("uses")
    (cmd,) = command_steps(up)
    assert cmd["with"]["refresh"] == "${{ steps.tick.outputs.refresh }}"


# --- deploy rights ---------------------------------------------------------------------------

def test_deploy_and_reconcile_run_only_on_main():
    doc = workflow("reconcile")
    assert doc["on"]["push"] == {"branches": ["main"]}
    for job in ("stacks", "up"):
        assert MAIN_ONLY in doc["jobs"][job]["if"], job
    deploy_envs = [(n, j) for n, j, job in all_jobs() if job.get("environment") == "pegasus-${{ matrix.stack }}"]
    assert deploy_envs == [("reconcile", "up")], "only the main-only job names the deploy environment"
    for name, job_id, job in all_jobs():
        if job.get("environment"):
            assert job["environment"] in ("pegasus-${{ matrix.stack }}", "pegasus-${{ matrix.stack }}-preview"), f"{name}/{job_id}"


def test_no_saved_plan():
    """`--plan` is experimental and a false violation fails an update half way; the review is the
    PR's preview, and every update runs the policy pack and the ChainState guard."""
    for name, job_id, job in all_jobs():
        for step in command_steps(job):
            assert "plan" not in step["with"], f"{name}/{job_id}"
            assert step["with"]["policyPacks"] == "policy"


def test_credentials_outlast_the_job():
    found = 0
    for name, job_id, job in all_jobs():
        for step in job.get("steps", []):
            if step.get("uses", "").startswith("aws-actions/configure-aws-credentials@"):
                found += 1
                assert step["with"]["role-duration-seconds"] >= job["timeout-minutes"] * 60, f"{name}/{job_id}"
    assert found == 4


def test_the_lock_check_runs_before_the_update_with_the_job_timeout():
    up = workflow("reconcile")["jobs"]["up"]
    i = index(up, lambda s: "tools.ci.locks" in s.get("run", ""))
    assert f"--max-age-minutes {up['timeout-minutes']}" in up["steps"][i]["run"]
    assert i < index(up, lambda s: s.get("with", {}).get("command") == "up")


def test_the_one_run_override_reaches_the_shell_through_the_environment():
    doc = workflow("reconcile")
    inputs = doc["on"]["workflow_dispatch"]["inputs"]
    assert set(inputs) == {"stack", "override", "refresh"}
    override = next(s for s in steps(doc, "up") if "tools.ci.override" in s.get("run", ""))
    assert override["env"] == {"OVERRIDE": "${{ inputs.override }}"} and "${{" not in override["run"]
    assert "--only \"$ONLY\"" in next(s for s in steps(doc, "stacks") if s.get("id") == "stacks")["run"]


# --- cadence and cost ------------------------------------------------------------------------

def test_the_reconcile_ticks_every_five_minutes_off_the_top_of_the_hour():
    crons = [c["cron"] for c in workflow("reconcile")["on"]["schedule"]]
    assert crons == [tick.REFRESH_CRON, tick.TICK_CRON]
    minutes = set().union(*(cron_minutes(c) for c in crons))
    assert minutes == set(range(2, 60, 5)) and 60 // len(minutes) * 60 == tick.TICK_SECONDS
    for name in ("reconcile", "drift"):
        for entry in workflow(name)["on"]["schedule"]:
            assert 0 not in cron_minutes(entry["cron"]), f"{name}: {entry['cron']}"


def test_pip_and_the_provider_plugins_are_cached():
    for name, job_id, job in all_jobs():
        if not pulumi_steps(job) and job_id != "test":
            continue
        setup = next(s for s in job["steps"] if s.get("uses", "").startswith("actions/setup-python@"))
        assert setup["with"]["cache"] == "pip", f"{name}/{job_id}"
        if command_steps(job):
            cache = next(s for s in job["steps"] if s.get("uses", "").startswith("actions/cache@"))
            assert cache["with"]["path"] == "~/.pulumi/plugins"
            assert cache["with"]["key"] == "pulumi-plugins-${{ runner.os }}-${{ steps.deps.outputs.hash }}-${{ hashFiles('.pulumi.version') }}"
            deps = next(s for s in job["steps"] if s.get("id") == "deps")
            assert "venv/bin/pip freeze | sha256sum" in deps["run"] and job["steps"].index(deps) < job["steps"].index(cache)


def test_the_reconcile_keeps_one_checkpoint_copy_per_update_and_summarises_it():
    up = workflow("reconcile")["jobs"]["up"]
    assert up["env"]["PULUMI_DIY_BACKEND_DISABLE_CHECKPOINT_BACKUPS"] == "true"
    (cmd,) = command_steps(up)
    assert (cmd["with"]["comment-on-summary"], cmd["with"]["message"]) == (True, "${{ github.event_name }} of main at ${{ steps.tick.outputs.sha }}")


# --- gke, forks, failures --------------------------------------------------------------------

def test_every_job_that_reaches_a_cluster_installs_the_gke_auth_plugin_after_the_auth_step():
    checked = 0
    for name, job_id, job in all_jobs():
        if not command_steps(job):
            continue
        checked += 1
        auth = index(job, lambda s: s.get("uses", "").startswith("google-github-actions/auth@"))
        plugin = index(job, lambda s: "apt-get install -y google-cloud-cli-gke-gcloud-auth-plugin" in s.get("run", ""))
        first = index(job, lambda s: "command" in s.get("with", {}))
        assert auth < plugin < first, f"{name}/{job_id}"
        assert "vars.GCP_WORKLOAD_IDENTITY_PROVIDER != ''" in job["steps"][plugin]["if"]
    assert checked == 3


def test_fork_prs_get_the_tests_and_offline_plan_but_no_cloud_preview():
    jobs = workflow("pull-request")["jobs"]
    assert "if" not in jobs["test"]
    runs = "\n".join(s.get("run", "") for s in jobs["test"]["steps"])
    assert ".ci/run" in runs and "tools.plan --stack \"$stack\" --check" in runs and "tools.scan" in runs
    for job in ("stacks", "preview"):
        assert jobs[job]["if"] == SAME_REPO, job
    (preview,) = command_steps(jobs["preview"])
    assert (preview["with"]["command"], preview["with"]["policyPacks"], preview["with"]["comment-on-pr"]) == ("preview", "policy", True)


def test_a_failed_preview_is_commented_too():
    job = workflow("pull-request")["jobs"]["preview-failed"]
    assert job["needs"] == "preview" and job["if"] == "failure() && needs.preview.result == 'failure'"
    assert job["permissions"] == {"contents": "read", "actions": "read", "pull-requests": "write"}
    assert job["steps"][-1]["run"] == "python3 -m tools.ci.prfailure"


@pytest.mark.parametrize("name", ["reconcile", "drift"])
def test_a_failure_alerts(name):
    jobs = workflow(name)["jobs"]
    alert = jobs["alert"]
    assert alert["uses"] == ALERT and alert["if"] == "failure()"
    assert set(alert["needs"]) == set(jobs) - {"alert"}
    assert alert["with"] == {"workflow": name}
    assert alert["secrets"] == {"PEGASUS_ALERT_WEBHOOK": "${{ secrets.PEGASUS_ALERT_WEBHOOK }}"}
    called = workflow("alert")
    assert set(called["on"]["workflow_call"]["secrets"]) == {"PEGASUS_ALERT_WEBHOOK"}
    assert called["jobs"]["alert"]["steps"][-1]["run"] == 'python3 -m tools.ci.alert --workflow "$WORKFLOW"'


def test_the_operations_page_names_every_setting_the_workflows_read():
    page = (PROJECT / "docs" / "operations.md").read_text()
    ops = page[page.index("# Operations"):page.index("## How the LB shards grow")]
    text = "\n".join(p.read_text() for p in WORKFLOWS.glob("*.yml"))
    settings = set(re.findall(r"\b(?:vars|secrets)\.([A-Z][A-Z0-9_]+)", text))
    assert {"PEGASUS_STACKS", "PEGASUS_PAUSED", "PEGASUS_REFRESH", "PEGASUS_MAX_LAG_BLOCKS", "PEGASUS_ALERT_WEBHOOK"} <= settings
    assert sorted(s for s in settings if f"`{s}`" not in ops) == []
    for phrase in ("queue: max", "refs/heads/main", "repo:<org>/<repo>:environment:pegasus-<stack>", "MaxSessionDuration",
                   "decrypt the stack's secrets", "server-side dry-run", ".pulumi.version", "gke-gcloud-auth-plugin"):
        assert phrase in " ".join(ops.split()), phrase


# --- drift and freshness ---------------------------------------------------------------------

def test_freshness_hourly_and_drift_daily_each_on_its_own_cron():
    doc = workflow("drift")
    crons = {c["cron"] for c in doc["on"]["schedule"]}
    jobs = doc["jobs"]
    fresh_cron = re.search(r"github.event.schedule == '([^']+)'", jobs["freshness"]["if"]).group(1)
    drift_cron = re.search(r"github.event.schedule == '([^']+)'", jobs["preview"]["if"]).group(1)
    assert crons == {fresh_cron, drift_cron} and len(cron_minutes(fresh_cron)) == 1 and fresh_cron.split()[1] == "*"
    run = jobs["freshness"]["steps"][-1]["run"]
    assert "pulumi stack output chainHeight" in run and "tools.ci.freshness" in run


def test_daily_drift_check_expects_no_changes():
    (preview,) = command_steps(workflow("drift")["jobs"]["preview"])
    assert (preview["with"]["refresh"], preview["with"]["expect-no-changes"]) == (True, True)
    assert preview["with"]["exclude"].endswith("::pegasus::pulumi-python:dynamic/pegasus:ChainState::chain-state")


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


def test_every_job_that_runs_the_policy_pack_gives_it_its_virtualenv():
    """`pulumi preview --policy-pack policy` runs the pack in policy/venv and does not create it
    (found by the e2e suite: the pack otherwise fails to load)."""
    checked = 0
    for name, job_name, job in all_jobs():
        runs = [s.get("run", "") for s in job.get("steps", [])]
        uses_pack = any("policy" in str((s.get("with") or {}).get("policyPacks", "")) for s in job.get("steps", []))
        if uses_pack:
            checked += 1
            assert any("ln -s ../venv policy/venv" in r for r in runs), (name, job_name)
    assert checked >= 3  # PR preview, reconcile, drift
