"""The decisions the GitHub workflows delegate to tools.ci, tested without GitHub: the stack
selection, the reconcile tick, the one-run override, the lock check (against a file backend and
stand-ins for the aws and gcloud CLIs), the freshness check (against the fake chain), and the
alert and PR-failure helpers (against a local stand-in for GitHub's REST API)."""

from __future__ import annotations

import json
import os
import stat
import sys
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
import yaml

from tests.conftest import PROJECT
from tests.fake_github import FakeGitHub
from tools.ci import CIError, alert, freshness, locks, override, prfailure, stacks, tick
from tools.ci.github import GitHub
from tools.fakechain import ChainState, FakeChain, chainlet_record

NOW = datetime(2030, 5, 1, 12, 0, tzinfo=timezone.utc)


# --- stacks -------------------------------------------------------------------------------

def test_stacks_unset_fails_with_the_fix_instead_of_falling_back_to_an_example():
    with pytest.raises(CIError) as e:
        stacks.select(None)
    assert str(e.value) == (
        "PEGASUS_STACKS is not set: set the repository variable PEGASUS_STACKS to a JSON list of the stacks this "
        'repository deploys, e.g. ["prod-use1", "prod-euw1"] (Settings > Secrets and variables > Actions > Variables)')


@pytest.mark.parametrize("value, message", [
    ("eks", "PEGASUS_STACKS must be a JSON list of stack names"),
    ('{"a": 1}', "PEGASUS_STACKS must be a JSON list of stack names"),
    ('["ok", 3]', "PEGASUS_STACKS must be a JSON list of stack names"),
    ('["prod use1"]', "PEGASUS_STACKS: 'prod use1' is not a stack name"),
    ("[]", "PEGASUS_STACKS is an empty list"),
])
def test_stacks_refuses_a_malformed_list(value, message):
    with pytest.raises(CIError) as e:
        stacks.select(value)
    assert str(e.value).startswith(message)


def test_stacks_skip_paused_ones_only_where_asked_and_a_named_stack_runs_even_if_paused():
    listed, paused = '["a", "b", "c", "a"]', '["b"]'
    assert stacks.select(listed, paused) == ["a", "b", "c"]
    assert stacks.select(listed, paused, skip_paused=True) == ["a", "c"]
    assert stacks.select(listed, paused, only="b", skip_paused=True) == ["b"]
    with pytest.raises(CIError) as e:
        stacks.select(listed, only="d")
    assert str(e.value) == "stack 'd' (the run's stack input) is not in PEGASUS_STACKS [\"a\", \"b\", \"c\"]"
    with pytest.raises(CIError):
        stacks.select(listed, "b", skip_paused=True)


def test_stacks_main_sets_the_step_output(tmp_path, monkeypatch, capsys):
    out = tmp_path / "output"
    monkeypatch.setenv("GITHUB_OUTPUT", str(out))
    monkeypatch.setenv("PEGASUS_STACKS", '["prod-use1", "prod-euw1"]')
    monkeypatch.setenv("PEGASUS_PAUSED", '["prod-euw1"]')
    assert stacks.main(["--skip-paused"]) == 0
    assert out.read_text() == 'list=["prod-use1"]\n'
    monkeypatch.delenv("PEGASUS_STACKS")
    assert stacks.main([]) == 1
    assert "PEGASUS_STACKS is not set" in capsys.readouterr().err


# --- tick ---------------------------------------------------------------------------------

def test_a_scheduled_tick_that_waited_a_whole_interval_steps_aside():
    t = tick.decide("schedule", tick.TICK_CRON, queued_at=1000, now=1000 + tick.TICK_SECONDS)
    assert (t.skip, t.refresh) == (True, False)
    assert t.reason == "this tick waited 300 s behind another run on the stack; the newer tick queued behind it applies main instead"
    assert tick.decide("schedule", tick.TICK_CRON, 1000, 1000 + tick.TICK_SECONDS - 1).skip is False


def test_the_refresh_tick_pushes_and_dispatches_never_skip():
    late = 1000 + 10 * tick.TICK_SECONDS
    assert tick.decide("schedule", tick.REFRESH_CRON, 1000, late) == tick.Tick(False, True, "scheduled tick (2 * * * *), refresh on")
    assert tick.decide("push", "", 1000, late) == tick.Tick(False, False, "push: apply main, refresh off")
    assert tick.decide("workflow_dispatch", "", 1000, late, dispatch_refresh="true").refresh is True
    assert tick.decide("workflow_dispatch", "", 1000, late, dispatch_refresh="false") == tick.Tick(
        False, False, "dispatched by hand, refresh off")


def test_refresh_every_run_is_a_setting_and_a_typo_is_refused():
    assert tick.decide("schedule", tick.TICK_CRON, 1000, 1001, "every-run").refresh is True
    assert tick.decide("push", "", 1000, 1001, "every-run").refresh is True
    assert tick.decide("schedule", tick.TICK_CRON, 1000, 1001, "hourly").refresh is False
    with pytest.raises(CIError) as e:
        tick.decide("schedule", tick.TICK_CRON, 1000, 1001, "always")
    assert str(e.value) == "PEGASUS_REFRESH must be one of hourly, every-run (unset means hourly); got 'always'"


def test_tick_main_sets_skip_and_refresh(tmp_path, monkeypatch):
    out = tmp_path / "output"
    monkeypatch.setenv("GITHUB_OUTPUT", str(out))
    monkeypatch.delenv("PEGASUS_REFRESH", raising=False)
    assert tick.main(["--event", "schedule", "--schedule", tick.REFRESH_CRON, "--queued-at", "0"]) == 0
    assert out.read_text() == "skip=false\nrefresh=true\n"


# --- override -----------------------------------------------------------------------------

def test_override_takes_one_known_plain_key():
    assert override.parse(" chainlets.maxRemovals = 3 ") == ("chainlets.maxRemovals", "3")
    assert override.parse("cluster.adminRoleArns[0]=arn:aws:iam::1:role/x") == ("cluster.adminRoleArns[0]", "arn:aws:iam::1:role/x")
    assert override.command("prod", "chainlets.maxRemovals", "3") == [
        "pulumi", "config", "set", "--path", "chainlets.maxRemovals", "3", "--stack", "prod"]


@pytest.mark.parametrize("text, message", [
    ("chainlets.maxRemovals", "the override must look like KEY=VALUE, e.g. chainlets.maxRemovals=3; got 'chainlets.maxRemovals'"),
    ("chainlets.maxRemoval=3", "'chainlets.maxRemoval' is not a Pegasus config key (see the config reference in docs/config.md)"),
    ("alerting.slackWebhookUrl=https://hooks.slack.com/x",
     "alerting.slackWebhookUrl is a secret, and a workflow input is logged in plain text: set it with "
     "`pulumi config set --secret --path alerting.slackWebhookUrl ...` and commit the encrypted value instead"),
])
def test_override_refuses_unknown_secret_or_malformed(text, message):
    with pytest.raises(CIError) as e:
        override.parse(text)
    assert str(e.value) == message


def test_override_main_dry_run(capsys):
    assert override.main(["--stack", "prod", "--dry-run", "chainlets.allowSlotChanges=true"]) == 0
    assert capsys.readouterr().out.splitlines() == [
        "one-run override on prod: chainlets.allowSlotChanges = true",
        "pulumi config set --path chainlets.allowSlotChanges true --stack prod"]


# --- locks --------------------------------------------------------------------------------

def _lock(root: Path, stack: str, taken: datetime, name: str = "0f1e.json", nanos: bool = True) -> Path:
    d = root / locks.lock_dir("pegasus", stack)
    d.mkdir(parents=True, exist_ok=True)
    stamp = taken.strftime("%Y-%m-%dT%H:%M:%S") + (".123456789Z" if nanos else "Z")
    (d / name).write_text(json.dumps({"pid": 4242, "username": "runner", "hostname": "fv-az1", "timestamp": stamp}))
    return d / name


def test_no_lock_lets_the_run_start(tmp_path):
    store = locks.Store(f"file://{tmp_path}")
    assert locks.verdict("prod", locks.find(store, "pegasus", "prod"), NOW, 120) == (0, "prod: no backend lock, the update can take it")


def test_a_lock_older_than_the_job_timeout_is_named_with_how_to_clear_it(tmp_path):
    path = _lock(tmp_path, "prod", NOW - timedelta(minutes=180))
    found = locks.find(locks.Store(f"file://{tmp_path}"), "pegasus", "prod")
    assert found == [locks.Lock(f"file://{tmp_path}/.pulumi/locks/organization/pegasus/prod/0f1e.json",
                                "runner@fv-az1 (pid 4242)", datetime(2030, 5, 1, 9, 0, 0, 123456, tzinfo=timezone.utc))]
    code, message = locks.verdict("prod", found, NOW, 120)
    assert code == 1
    assert message.startswith("prod is locked by runner@fv-az1 (pid 4242) since 2030-05-01T09:00:00.123456+00:00, "
                              "179 minutes ago: longer than any run may last (120 minutes, the job timeout)")
    assert "`pulumi cancel --stack prod --yes`" in message and f"or delete file://{tmp_path}/.pulumi/locks/" in message
    assert path.exists(), "the check never deletes a lock"


def test_a_young_lock_means_another_operation_is_running(tmp_path):
    _lock(tmp_path, "prod", NOW - timedelta(minutes=20), nanos=False)
    _lock(tmp_path, "other", NOW - timedelta(days=3))
    code, message = locks.verdict("prod", locks.find(locks.Store(f"file://{tmp_path}"), "pegasus", "prod"), NOW, 120)
    assert code == 1
    assert message == ("prod is locked by runner@fv-az1 (pid 4242) since 2030-05-01T11:40:00+00:00, 20 minutes ago: another "
                       "pulumi operation is running on it, so this run stops before it starts. If that operation was "
                       "killed, its lock is stale after 120 minutes and a later run says how to clear it.")


def _fake_cli(bin_dir: Path, name: str, script: str) -> None:
    bin_dir.mkdir(exist_ok=True)
    path = bin_dir / name
    path.write_text(f"#!{sys.executable}\nimport json, sys\nargs = sys.argv[1:]\n{script}\n")
    path.chmod(path.stat().st_mode | stat.S_IEXEC)


def test_locks_read_through_the_aws_cli_honour_the_url_prefix_and_region(tmp_path, monkeypatch):
    lock = {"pid": 7, "username": "runner", "hostname": "h", "timestamp": "2030-05-01T08:00:00Z"}
    key = "state/.pulumi/locks/organization/pegasus/prod/ab.json"
    _fake_cli(tmp_path / "bin", "aws", f"""
open({str(tmp_path / 'calls')!r}, 'a').write(' '.join(args) + '\\n')
if args[:2] == ['s3api', 'list-objects-v2']:
    print(json.dumps({{'Contents': [{{'Key': {key!r}}}]}}))
elif args[:2] == ['s3', 'cp']:
    print(json.dumps({lock!r}))
""")
    monkeypatch.setenv("PATH", f"{tmp_path / 'bin'}{os.pathsep}{os.environ['PATH']}")
    found = locks.find(locks.Store("s3://bucket/state?region=eu-west-1"), "pegasus", "prod")
    assert [(l.url, l.who) for l in found] == [(f"s3://bucket/state/.pulumi/locks/organization/pegasus/prod/ab.json", "runner@h (pid 7)")]
    assert (tmp_path / "calls").read_text().splitlines() == [
        "s3api list-objects-v2 --bucket bucket --prefix state/.pulumi/locks/organization/pegasus/prod/ --output json --region eu-west-1",
        f"s3 cp s3://bucket/{key} - --region eu-west-1"]


def test_locks_through_gcloud_treat_no_match_as_no_lock(tmp_path, monkeypatch):
    _fake_cli(tmp_path / "bin", "gcloud", "print('ERROR: (gcloud.storage.ls) One or more URLs matched no objects.', file=sys.stderr); sys.exit(1)")
    monkeypatch.setenv("PATH", f"{tmp_path / 'bin'}{os.pathsep}{os.environ['PATH']}")
    assert locks.find(locks.Store("gs://bucket"), "pegasus", "prod") == []


def test_a_lock_file_that_is_not_a_pulumi_lock_stops_the_run(tmp_path):
    d = tmp_path / locks.lock_dir("pegasus", "prod")
    d.mkdir(parents=True)
    (d / "x.json").write_text('{"pid": 1}')
    with pytest.raises(CIError) as e:
        locks.find(locks.Store(f"file://{tmp_path}"), "pegasus", "prod")
    assert str(e.value).startswith(f"prod has a lock file that is not a Pulumi lock (file://{tmp_path}/.pulumi/locks/organization/pegasus/prod/x.json: ")


def test_locks_of_other_backends_are_not_guessed():
    with pytest.raises(CIError) as e:
        locks.Store("postgres://db/state")
    assert str(e.value) == "cannot read locks of a postgres:// backend; check it by hand before the run"


# --- freshness ----------------------------------------------------------------------------

def test_freshness_fails_when_the_loop_stopped_applying():
    assert freshness.verdict("prod", 5000, "4900", 1000) == (0, "prod: last applied height 4900, chain head 5000, 100 blocks behind (limit 1000)")
    code, message = freshness.verdict("prod", 6001, "5000", 1000)
    assert code == 1 and message.startswith("prod: the chain is at height 6001 but the last applied run read height 5000, 1001 blocks behind")
    with pytest.raises(CIError) as e:
        freshness.verdict("prod", 6001, "", 1000)
    assert str(e.value).startswith("prod has no chainHeight output (empty): no reconcile has applied it yet")


def test_freshness_reads_the_chain_head_through_the_stacks_settings(tmp_path, capsys):
    state = ChainState(chainlets=[chainlet_record(i) for i in range(2)], height=2500)
    with FakeChain(state) as chain:
        stack = tmp_path / "Pulumi.x.yaml"
        stack.write_text(yaml.safe_dump({"config": {
            "pegasus:chain": {"source": "rest", "endpoint": chain.endpoint},
            "pegasus:spc": {"env": {"DENOM": "usaga", "GENESIS": "https://example.org/genesis.json"}},
        }}))
        args = ["--stack", "x", "--config-file", str(stack), "--max-lag-blocks", "100"]
        assert freshness.main([*args, "--applied-height", "2450"]) == 0
        assert freshness.main([*args, "--applied-height", "2000"]) == 1
    assert capsys.readouterr().out.strip() == "x: last applied height 2450, chain head 2500, 50 blocks behind (limit 100)"


# --- alert --------------------------------------------------------------------------------

def _gh(fake: FakeGitHub) -> GitHub:
    return GitHub("t0ken", fake.repo, api=fake.url)


def test_the_first_failure_opens_an_issue_and_posts_to_slack():
    with FakeGitHub() as fake:
        done = alert.alert(_gh(fake), "reconcile", "https://github.invalid/run/1", ["Reconcile prod"], NOW, webhook=f"{fake.url}/slack")
    assert done == "opened issue #101 and posted to Slack"
    (issue,) = fake.issues
    assert issue["title"] == "pegasus: reconcile is failing"
    assert issue["body"].startswith("The reconcile workflow failed (Reconcile prod): https://github.invalid/run/1\n\n")
    assert fake.slack == [{"text": ":rotating_light: The reconcile workflow failed (Reconcile prod): https://github.invalid/run/1 "
                                   "(issue https://github.invalid/org/pegasus/issues/x)"}]


def test_while_the_issue_is_open_failures_comment_at_most_hourly_and_never_post_again():
    with FakeGitHub() as fake:
        fresh = fake.add_issue("pegasus: reconcile is failing", (NOW - timedelta(minutes=10)).isoformat())
        assert alert.alert(_gh(fake), "reconcile", "u", [], NOW, webhook=f"{fake.url}/slack") == (
            f"issue #{fresh['number']} is open and was updated within the hour; nothing sent")
        fresh["updated_at"] = (NOW - timedelta(hours=2)).strftime("%Y-%m-%dT%H:%M:%SZ")
        assert alert.alert(_gh(fake), "reconcile", "u", [], NOW, webhook=f"{fake.url}/slack") == f"commented on issue #{fresh['number']}"
    assert fake.comments[fresh["number"]] == [{"id": 102, "body": "Still failing. The reconcile workflow failed (see the run): u"}]
    assert fake.slack == [] and len(fake.issues) == 1


def test_alert_main_names_the_failed_jobs(monkeypatch, capsys):
    with FakeGitHub() as fake:
        fake.jobs = [{"id": 1, "name": "Reconcile prod-use1", "conclusion": "failure"},
                     {"id": 2, "name": "Reconcile prod-euw1", "conclusion": "success"}]
        for k, v in {"GITHUB_API_URL": fake.url, "GITHUB_TOKEN": "t", "GITHUB_REPOSITORY": fake.repo, "GITHUB_RUN_ID": "77",
                     "GITHUB_SERVER_URL": "https://github.invalid"}.items():
            monkeypatch.setenv(k, v)
        monkeypatch.delenv("PEGASUS_ALERT_WEBHOOK", raising=False)
        assert alert.main(["--workflow", "drift"]) == 0
    assert capsys.readouterr().out.strip() == "opened issue #101"
    assert fake.issues[0]["body"].startswith("The drift workflow failed (Reconcile prod-use1): https://github.invalid/org/pegasus/actions/runs/77")


# --- prfailure ----------------------------------------------------------------------------

LOG = """\ufeff2030-05-01T12:00:00.1234567Z ##[group]Run pulumi/actions@8e5e406f4007fca908480587cb9893c07090f58d
2030-05-01T12:00:05.0000000Z Error: code: 255
2030-05-01T12:00:05.0000000Z  stdout: Previewing update (prod):
2030-05-01T12:00:05.0000000Z     pulumi-python:dynamic:Resource (chain-state):
2030-05-01T12:00:05.0000000Z \x1b[31m      error: pulumi-python:dynamic:Resource resource 'chain-state' has a problem: the chain was read at height 90, below height 100 applied last time\x1b[0m
2030-05-01T12:00:05.0000000Z Policy Violations:
2030-05-01T12:00:05.0000000Z     [mandatory]  pegasus v0.1.0  pegasus-no-public-internal-ports (kubernetes:core/v1:Service: spc)
2030-05-01T12:00:05.0000000Z     Service spc exposes port 26657 <internal> publicly
2030-05-01T12:00:05.0000000Z 
2030-05-01T12:00:05.0000000Z Resources:
2030-05-01T12:00:05.0000000Z       error: pulumi-python:dynamic:Resource resource 'chain-state' has a problem: the chain was read at height 90, below height 100 applied last time
2030-05-01T12:00:06.0000000Z ##[error]Process completed with exit code 1.
"""


def test_the_failure_lines_are_the_errors_and_the_policy_violations():
    assert prfailure.extract(LOG) == [
        "error: pulumi-python:dynamic:Resource resource 'chain-state' has a problem: the chain was read at height 90, below height 100 applied last time",
        "Policy Violations:",
        "    [mandatory]  pegasus v0.1.0  pegasus-no-public-internal-ports (kubernetes:core/v1:Service: spc)",
        "    Service spc exposes port 26657 <internal> publicly",
    ]
    assert prfailure.extract("\n".join(f"error: {i}" for i in range(70)))[-1] == "... 10 more lines in the job log"


def test_a_failed_preview_replaces_the_stale_green_comment_and_the_action_can_edit_it_back(monkeypatch, capsys):
    green = f"{prfailure.heading('pegasus', 'prod')}\n\n<details>\n{prfailure.SUMMARY}\n<pre>Resources: 3 unchanged</pre>\n</details>"
    other = f"{prfailure.heading('pegasus', 'stage')}\n\n<details>\n{prfailure.SUMMARY}\n</details>"
    with FakeGitHub() as fake:
        fake.comments[12] = [{"id": 1, "body": green}, {"id": 2, "body": other}, {"id": 3, "body": "LGTM"}]
        fake.jobs = [{"id": 51, "name": "Preview prod", "conclusion": "failure", "html_url": "https://github.invalid/job/51"},
                     {"id": 52, "name": "Preview stage", "conclusion": "success"},
                     {"id": 53, "name": "Tests, offline plan and scans", "conclusion": "failure"}]
        fake.logs[51] = LOG
        for k, v in {"GITHUB_API_URL": fake.url, "GITHUB_TOKEN": "t", "GITHUB_REPOSITORY": fake.repo, "GITHUB_RUN_ID": "9",
                     "PR_NUMBER": "12"}.items():
            monkeypatch.setenv(k, v)
        assert prfailure.main() == 0
    assert capsys.readouterr().out.strip() == "prod: updated comment 1"
    updated = fake.comments[12][0]["body"]
    assert updated.startswith(prfailure.heading("pegasus", "prod") + "\n\n:x: **The preview failed**")
    assert prfailure.SUMMARY in updated and "[Job log](https://github.invalid/job/51)" in updated
    assert "exposes port 26657 &lt;internal&gt; publicly" in updated
    assert [c["body"] for c in fake.comments[12][1:]] == [other, "LGTM"]
    assert ("GET", "/blob/51", False) in fake.requests, "the signed log URL is fetched without the token"


def test_an_unreadable_log_still_replaces_the_green_comment(monkeypatch):
    with FakeGitHub() as fake:
        fake.jobs = [{"id": 61, "name": "Preview prod", "conclusion": "failure", "html_url": "u"}]  # no log stored: HTTP 500
        for k, v in {"GITHUB_API_URL": fake.url, "GITHUB_TOKEN": "t", "GITHUB_REPOSITORY": fake.repo, "GITHUB_RUN_ID": "9",
                     "PR_NUMBER": "12"}.items():
            monkeypatch.setenv(k, v)
        assert prfailure.main() == 0
    (comment,) = fake.comments[12]
    assert "The job log could not be read (" in comment["body"]


def test_without_an_earlier_comment_the_failure_is_posted():
    with FakeGitHub() as fake:
        assert prfailure.upsert(_gh(fake), 7, "pegasus", "prod", "body") == "prod: commented"
    assert fake.comments[7] == [{"id": 101, "body": "body"}]


def test_the_helpers_the_workflows_run_before_the_virtualenv_need_only_the_standard_library():
    import subprocess

    code = "import tools.ci.stacks, tools.ci.tick, tools.ci.locks, tools.ci.alert, tools.ci.prfailure"
    # -S: no site-packages, so a third-party import fails here as it would on a bare runner.
    out = subprocess.run([sys.executable, "-S", "-c", code], cwd=PROJECT,
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr


def test_mode_tells_a_sharded_platform_from_one_stack(tmp_path):
    from tools.ci.mode import sharded

    (tmp_path / "Pulumi.a.yaml").write_text("config:\n  pegasus:chainlets:\n    stacks: sharded\n")
    (tmp_path / "Pulumi.b.yaml").write_text("config:\n  pegasus:chainlets:\n    storageSize: 5Gi\n")
    assert sharded(tmp_path / "Pulumi.a.yaml") is True
    assert sharded(tmp_path / "Pulumi.b.yaml") is False
    assert sharded(tmp_path / "Pulumi.missing.yaml") is False
    (tmp_path / "Pulumi.c.yaml").write_text("config: [unclosed\n")
    from tools.ci import CIError
    with pytest.raises(CIError):
        sharded(tmp_path / "Pulumi.c.yaml")
