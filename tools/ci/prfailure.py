"""python -m tools.ci.prfailure: a failed preview shows up in its PR comment.

pulumi/actions comments only after a successful command, so a failed `pulumi preview` posts
nothing and the last green comment stays on the PR. After the run's preview jobs, this finds
those that failed, takes the error lines from each job's log (the guard's refusal, the policy
violations, the program's error) and writes them into that stack's comment, which the action
finds and edits again once a preview passes (same heading, same `<summary>`).
"""

from __future__ import annotations

import html
import os
import re
import sys

from tools.ci import CIError, fail
from tools.ci.github import GitHub

SUMMARY = "<summary>Pulumi report</summary>"
MAX_LINES = 60
JOB_PREFIX = "Preview "

_STAMP = re.compile(r"^\ufeff?\d{4}-\d\d-\d\dT[0-9:.]+Z ?")
_ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")


def heading(project: str, stack: str) -> str:
    # Exactly the heading pulumi/actions v7.0.0 writes (src/libs/pr.ts), so that each edits the other's comment.
    return f"#### :tropical_drink: `preview` on {project}/{stack}"


def extract(log: str) -> list[str]:
    """The lines that say why the preview failed: `error:` lines and the policy violations."""
    found: list[str] = []
    in_violations = False
    for raw in log.splitlines():
        line = _ANSI.sub("", _STAMP.sub("", raw)).rstrip()
        text = line.replace("##[error]", "").strip()
        if text.startswith("Policy Violations:"):
            in_violations = True
            found.append(text)
            continue
        if in_violations:
            if line[:1] in (" ", "\t") and text:
                found.append(line)
                continue
            in_violations = False
        if "error:" in text and not text.startswith("Process completed with exit code"):
            found.append(text)
    unique = list(dict.fromkeys(found))
    if len(unique) > MAX_LINES:
        unique = unique[:MAX_LINES] + [f"... {len(unique) - MAX_LINES} more lines in the job log"]
    return unique


def body(project: str, stack: str, lines: list[str], job_url: str) -> str:
    shown = "\n".join(html.escape(l) for l in lines) or "No error line was found in the job log; open it."
    return (f"{heading(project, stack)}\n\n:x: **The preview failed**, so the last preview of this stack no longer "
            f"describes this pull request. [Job log]({job_url})\n\n<details open>\n{SUMMARY}\n\n<pre>\n{shown}\n</pre>\n</details>\n")


def upsert(gh: GitHub, pr: int, project: str, stack: str, text: str) -> str:
    head = heading(project, stack)
    comments = gh.pages(f"/repos/{{repo}}/issues/{pr}/comments")
    mine = next((c for c in comments if c.get("body", "").startswith(head) and SUMMARY in c.get("body", "")), None)
    if mine:
        gh.call("PATCH", f"/repos/{{repo}}/issues/comments/{mine['id']}", {"body": text})
        return f"{stack}: updated comment {mine['id']}"
    gh.call("POST", f"/repos/{{repo}}/issues/{pr}/comments", {"body": text})
    return f"{stack}: commented"


def project_name(path: str = "Pulumi.yaml") -> str:
    with open(path) as f:
        m = re.search(r"^name:\s*['\"]?([A-Za-z0-9_.-]+)", f.read(), re.M)
    return m.group(1) if m else "pegasus"


def main(argv=None) -> int:
    env = os.environ
    try:
        pr = int(env.get("PR_NUMBER", ""))
    except ValueError:
        return fail("PR_NUMBER must be the pull request's number")
    try:
        gh = GitHub.from_env()
        project = project_name()
        for job in gh.failed_jobs(env.get("GITHUB_RUN_ID", ""), env.get("GITHUB_RUN_ATTEMPT", "1")):
            if not job["name"].startswith(JOB_PREFIX):
                continue
            stack = job["name"][len(JOB_PREFIX):].strip()
            try:
                lines = extract(gh.text(f"/repos/{{repo}}/actions/jobs/{job['id']}/logs"))
            except CIError as e:
                # The stale green comment must go even when the log cannot be read.
                lines = [f"The job log could not be read ({e})."]
            print(upsert(gh, pr, project, stack, body(project, stack, lines, job.get("html_url", ""))))
    except CIError as e:
        return fail(str(e))
    return 0


if __name__ == "__main__":
    sys.exit(main())
