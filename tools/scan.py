"""python -m tools.scan: checkov's Kubernetes checks over the planned manifests of the
example stacks, with every failure either fixed or explained in security/checkov-skips.yaml.

Exit 0 when every failure is explained and every explanation is still needed (checked only
when all example stacks are scanned); 1 otherwise; 2 for an unknown stack.
checkov runs from its own virtualenv (venv-scan/, see requirements-scan.txt) or $CHECKOV.
"""

from __future__ import annotations

import argparse
import fnmatch
import json
import os
import subprocess
import sys
import tempfile
from collections import Counter
from dataclasses import dataclass, field

import yaml

PROJECT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SKIPS = os.path.join(PROJECT, "security", "checkov-skips.yaml")
STACKS = ("dev", "eks", "gke", "spacemesh")


@dataclass
class Finding:
    stack: str
    check: str
    name: str
    resource: str


@dataclass
class ScanResult:
    passed: int = 0
    failed: list[Finding] = field(default_factory=list)
    explained: list[tuple[Finding, str]] = field(default_factory=list)
    unexplained: list[Finding] = field(default_factory=list)
    unused_skips: list[str] = field(default_factory=list)
    parsing_errors: int = 0

    @property
    def ok(self) -> bool:
        return not self.unexplained and not self.unused_skips and not self.parsing_errors


def checkov_binary() -> str:
    path = os.environ.get("CHECKOV") or os.path.join(PROJECT, "venv-scan", "bin", "checkov")
    if not os.path.exists(path):
        raise FileNotFoundError(f"checkov not found at {path}; run `make test` (it creates venv-scan/) or set CHECKOV")
    return path


def load_skips(path: str = SKIPS) -> list[dict]:
    with open(path, encoding="utf-8") as f:
        skips = yaml.safe_load(f)["skips"]
    for s in skips:
        if not s.get("reason", "").strip():
            raise ValueError(f"skip {s['check']} has no reason")
    return skips


def write_manifests(directory: str, stacks=STACKS) -> None:
    sys.path.insert(0, PROJECT)
    from tools.plan import render
    from tools.plan.runner import plan_stack

    for stack in stacks:
        render.write_manifests(plan_stack(PROJECT, stack), os.path.join(directory, stack))


def run_checkov(directory: str) -> dict:
    out = subprocess.run(
        [checkov_binary(), "-d", directory, "--framework", "kubernetes", "--skip-download", "-o", "json", "--compact", "--quiet"],
        capture_output=True, text=True, timeout=600,
    )
    if out.returncode not in (0, 1):  # 1 means "some checks failed"
        raise RuntimeError(f"checkov exited {out.returncode}: {out.stderr[-2000:]}")
    report = json.loads(out.stdout)
    return report[0] if isinstance(report, list) else report


def classify(report: dict, skips: list[dict]) -> ScanResult:
    result = ScanResult(passed=report["summary"]["passed"], parsing_errors=report["summary"].get("parsing_errors", 0))
    used = set()
    for f in report["results"]["failed_checks"]:
        stack = f["file_path"].strip("/").split("/")[0]
        finding = Finding(stack, f["check_id"], f["check_name"], f["resource"])
        result.failed.append(finding)
        for i, skip in enumerate(skips):
            if skip["check"] == finding.check and any(fnmatch.fnmatchcase(finding.resource, p) for p in skip["resources"]):
                result.explained.append((finding, skip["reason"]))
                used.add(i)
                break
        else:
            result.unexplained.append(finding)
    result.unused_skips = [f"{s['check']} {s['resources']}" for i, s in enumerate(skips) if i not in used]
    return result


def scan(stacks=STACKS) -> ScanResult:
    with tempfile.TemporaryDirectory(prefix="pegasus-scan-") as tmp:
        write_manifests(tmp, stacks)
        result = classify(run_checkov(tmp), load_skips())
    if set(stacks) != set(STACKS):
        # A skip may be needed only by a stack not scanned now; only the full scan can tell.
        result.unused_skips = []
    return result


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="python -m tools.scan", description=__doc__.split("\n\n")[0])
    p.add_argument("--stack", action="append", metavar="NAME",
                   help=f"scan Pulumi.NAME.yaml (repeatable; default: the example stacks {', '.join(STACKS)})")
    args = p.parse_args(argv)
    stacks = tuple(args.stack or STACKS)
    sys.path.insert(0, PROJECT)
    from tools.plan.runner import ProgramError
    from tools.plan.stackfile import UsageError

    try:
        result = scan(stacks)
    except UsageError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    except ProgramError as e:
        print(f"error: {e.cause}", file=sys.stderr)
        return 1
    print(f"checkov (kubernetes) on the {', '.join(stacks)} stack{'s' if len(stacks) > 1 else ''}: "
          f"{result.passed} passed, {len(result.failed)} failed "
          f"({len(result.explained)} explained in security/checkov-skips.yaml, {len(result.unexplained)} unexplained)")
    by_check = Counter((f.check, f.name) for f in result.failed)
    for (check, name), n in sorted(by_check.items()):
        print(f"  {check:11} x{n:<3} {name}")
    for f in result.unexplained:
        print(f"UNEXPLAINED {f.check} {f.resource} ({f.stack}): {f.name}")
    for s in result.unused_skips:
        print(f"UNUSED SKIP {s}: remove it from security/checkov-skips.yaml")
    if result.parsing_errors:
        print(f"PARSING ERRORS: {result.parsing_errors}")
    return 0 if result.ok else 1


if __name__ == "__main__":
    sys.exit(main())
