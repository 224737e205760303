"""python -m tools.ci.locks --backend URL --stack S --max-age-minutes M: stop before `pulumi up`
when the stack's backend lock is held.

A self-managed backend takes a lock file per update, `.pulumi/locks/organization/<project>/<stack>/
<id>.json` holding who took it and when, and deletes it at the end. A killed `pulumi up` (a job
timeout, a cancelled run, a lost runner) leaves it behind, and every later update fails on it.

Runs on one stack are serialised by the workflows, so when this check runs no other run of ours
holds the lock. A lock older than the job timeout belongs to a run that was killed: the check
names it and says how to clear it. A younger one belongs to an operation still running (someone
by hand): the check stops this run. It never deletes a lock itself.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import urllib.parse
from dataclasses import dataclass
from datetime import datetime, timezone

from tools.ci import CIError, fail


@dataclass(frozen=True)
class Lock:
    url: str
    who: str
    taken: datetime


def lock_dir(project: str, stack: str) -> str:
    return f".pulumi/locks/organization/{project}/{stack}/"


class Store:
    """The part of a backend bucket this check reads: list keys under a prefix, read one."""

    def __init__(self, url: str):
        u = urllib.parse.urlsplit(url)
        self.scheme, self.url = u.scheme, url.split("?", 1)[0].rstrip("/")
        q = dict(urllib.parse.parse_qsl(u.query))
        if u.scheme == "file":
            self.root = os.path.expanduser(u.netloc + u.path)
        elif u.scheme in ("s3", "gs"):
            self.bucket, self.base = u.netloc, u.path.strip("/") + "/" if u.path.strip("/") else ""
            self.aws_args = [a for k, flag in (("region", "--region"), ("endpoint", "--endpoint-url")) if k in q for a in (flag, q[k])]
        else:
            raise CIError(f"cannot read locks of a {u.scheme or 'local'}:// backend; check it by hand before the run")

    def _run(self, cmd: list[str], empty_ok: str = "") -> str:
        out = subprocess.run(cmd, capture_output=True, text=True)
        if out.returncode != 0:
            if empty_ok and empty_ok in out.stderr + out.stdout:
                return ""
            raise CIError(f"{' '.join(cmd[:3])} failed: {(out.stderr or out.stdout).strip()}")
        return out.stdout

    def list(self, prefix: str) -> list[str]:
        if self.scheme == "file":
            d = os.path.join(self.root, prefix)
            return sorted(prefix + n for n in os.listdir(d)) if os.path.isdir(d) else []
        if self.scheme == "s3":
            out = self._run(["aws", "s3api", "list-objects-v2", "--bucket", self.bucket, "--prefix", self.base + prefix,
                             "--output", "json", *self.aws_args])
            keys = [o["Key"] for o in (json.loads(out) if out.strip() else {}).get("Contents") or []]
        else:
            out = self._run(["gcloud", "storage", "ls", f"gs://{self.bucket}/{self.base}{prefix}"], empty_ok="matched no objects")
            keys = [line.split(f"gs://{self.bucket}/", 1)[1] for line in out.splitlines() if line.strip()]
        return [k[len(self.base):] for k in keys if k.endswith(".json")]

    def read(self, key: str) -> bytes:
        if self.scheme == "file":
            with open(os.path.join(self.root, key), "rb") as f:
                return f.read()
        if self.scheme == "s3":
            return self._run(["aws", "s3", "cp", f"s3://{self.bucket}/{self.base}{key}", "-", *self.aws_args]).encode()
        return self._run(["gcloud", "storage", "cat", f"gs://{self.bucket}/{self.base}{key}"]).encode()


def find(store: Store, project: str, stack: str) -> list[Lock]:
    locks = []
    for key in store.list(lock_dir(project, stack)):
        url = f"{store.url}/{key}"
        try:
            content = json.loads(store.read(key))
            # Go writes RFC 3339 with nanoseconds; Python reads at most microseconds.
            stamp = content["timestamp"].replace("Z", "+00:00")
            if "." in stamp:
                whole, rest = stamp.split(".", 1)
                digits = len(rest) - len(rest.lstrip("0123456789"))
                stamp = f"{whole}.{rest[:min(digits, 6)].ljust(6, '0')}{rest[digits:]}"
            taken = datetime.fromisoformat(stamp)
        except (ValueError, KeyError, TypeError, AttributeError) as e:
            raise CIError(f"{stack} has a lock file that is not a Pulumi lock ({url}: {e}); look at it before any run")
        who = f"{content.get('username', '?')}@{content.get('hostname', '?')} (pid {content.get('pid', '?')})"
        locks.append(Lock(url, who, taken))
    return locks


def verdict(stack: str, locks: list[Lock], now: datetime, max_age_minutes: int) -> tuple[int, str]:
    if not locks:
        return 0, f"{stack}: no backend lock, the update can take it"
    lock = min(locks, key=lambda l: l.taken)
    age = int((now - lock.taken).total_seconds() // 60)
    held = f"{stack} is locked by {lock.who} since {lock.taken.isoformat()}, {age} minutes ago"
    if age > max_age_minutes:
        return 1, (f"{held}: longer than any run may last ({max_age_minutes} minutes, the job timeout), so the run "
                   f"that took it was killed and left it behind. First make sure no operation is active: no reconcile "
                   f"of {stack} is running in GitHub Actions and nobody runs pulumi on it by hand. Then clear it with "
                   f"`pulumi cancel --stack {stack} --yes` (on a self-managed backend it deletes the stack's lock files) "
                   f"or delete {lock.url}, and follow the recovery steps in docs/operations.md for an update that failed half way.")
    return 1, (f"{held}: another pulumi operation is running on it, so this run stops before it starts. If that "
               f"operation was killed, its lock is stale after {max_age_minutes} minutes and a later run says how to clear it.")


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="python -m tools.ci.locks", description=__doc__.split("\n\n")[0])
    p.add_argument("--backend", required=True, help="the backend URL (PULUMI_BACKEND_URL)")
    p.add_argument("--project", default="pegasus")
    p.add_argument("--stack", required=True)
    p.add_argument("--max-age-minutes", type=int, required=True, help="the longest a run may last (its job timeout)")
    args = p.parse_args(argv)
    try:
        code, message = verdict(args.stack, find(Store(args.backend), args.project, args.stack),
                                datetime.now(timezone.utc), args.max_age_minutes)
    except CIError as e:
        return fail(str(e))
    if code:
        return fail(message)
    print(message)
    return 0


if __name__ == "__main__":
    sys.exit(main())
