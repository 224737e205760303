"""python -m tools.ci.alert --workflow NAME: tell someone that a reconcile, deploy or drift run failed.

GitHub mails a failed scheduled run only to whoever last edited its cron. Instead, the first
failure opens an issue titled "pegasus: <workflow> is failing" and, when the secret
PEGASUS_ALERT_WEBHOOK holds a Slack incoming webhook, posts it there. While that issue stays open,
later failures add a comment at most once an hour and do not post again, so a loop that fails
every 5 minutes does not flood anyone. Closing the issue re-arms the alert.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import urllib.request
from datetime import datetime, timedelta, timezone
from typing import Optional

from tools.ci import CIError, fail
from tools.ci.github import GitHub

QUIET = timedelta(hours=1)


def title(workflow: str) -> str:
    return f"pegasus: {workflow} is failing"


def describe(workflow: str, run_url: str, failed: list[str]) -> str:
    jobs = ", ".join(failed) if failed else "see the run"
    return f"The {workflow} workflow failed ({jobs}): {run_url}"


def _time(stamp: str) -> datetime:
    return datetime.fromisoformat(stamp.replace("Z", "+00:00"))


def alert(gh: GitHub, workflow: str, run_url: str, failed: list[str], now: datetime,
          webhook: Optional[str] = None) -> str:
    """Open or update the alert issue, post to Slack on a new one; returns what it did."""
    line = describe(workflow, run_url, failed)
    issues = [i for i in gh.pages("/repos/{repo}/issues?state=open") if "pull_request" not in i]
    open_issue = next((i for i in issues if i.get("title") == title(workflow)), None)
    if open_issue:
        if now - _time(open_issue["updated_at"]) < QUIET:
            return f"issue #{open_issue['number']} is open and was updated within the hour; nothing sent"
        gh.call("POST", f"/repos/{{repo}}/issues/{open_issue['number']}/comments", {"body": f"Still failing. {line}"})
        return f"commented on issue #{open_issue['number']}"
    body = (f"{line}\n\nThis issue is the alert: while it is open, further failures only add a comment at most "
            "once an hour. Close it when the cause is fixed; the next failure opens a new one.\n\n"
            "Where to look: docs/operations.md (\"How to recover after a failed run\").")
    created = gh.call("POST", "/repos/{repo}/issues", {"title": title(workflow), "body": body})
    done = f"opened issue #{created['number']}"
    if webhook:
        post_slack(webhook, f":rotating_light: {line} (issue {created.get('html_url', '#' + str(created['number']))})")
        done += " and posted to Slack"
    return done


def post_slack(webhook: str, text: str, timeout: float = 30.0) -> None:
    req = urllib.request.Request(webhook, data=json.dumps({"text": text}).encode(), method="POST",
                                 headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            r.read()
    except OSError as e:
        raise CIError(f"the Slack webhook (PEGASUS_ALERT_WEBHOOK) did not take the alert: {e}")


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="python -m tools.ci.alert", description=__doc__.split("\n\n")[0])
    p.add_argument("--workflow", required=True)
    args = p.parse_args(argv)
    env = os.environ
    run_url = f"{env.get('GITHUB_SERVER_URL', 'https://github.com')}/{env.get('GITHUB_REPOSITORY')}/actions/runs/{env.get('GITHUB_RUN_ID')}"
    try:
        gh = GitHub.from_env()
        failed = [j["name"] for j in gh.failed_jobs(env.get("GITHUB_RUN_ID", ""), env.get("GITHUB_RUN_ATTEMPT", "1"))]
        print(alert(gh, args.workflow, run_url, failed, datetime.now(timezone.utc), env.get("PEGASUS_ALERT_WEBHOOK") or None))
    except CIError as e:
        return fail(str(e))
    return 0


if __name__ == "__main__":
    sys.exit(main())
