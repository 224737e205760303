"""python -m tools.plan: run the real program under Pulumi's mocks and print the plan.

Exit codes: 0 success; 1 the program failed (its message is printed; --debug adds the
traceback); 2 usage error; 3 a mandatory policy is violated (--check).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import traceback

PROJECT_DIR = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m tools.plan", description=__doc__.split("\n\n")[0])
    p.add_argument("--stack", default="dev", help="read Pulumi.STACK.yaml (default: dev)")
    p.add_argument("--config-file", help="read this stack file instead")
    p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                   help="override config like `pulumi config set --path`; VALUE is JSON when it parses")
    p.add_argument("--json", metavar="PATH", help="write the plan as JSON")
    p.add_argument("--manifests", metavar="DIR", help="write every Kubernetes object as YAML")
    p.add_argument("--check", action="store_true", help="run the policy pack over the plan")
    p.add_argument("--policy-config", metavar="FILE", help="policy pack config (JSON), with --check")
    p.add_argument("--state", metavar="FILE",
                   help="plan against this last state (`pulumi stack export` JSON): its slot ledger keeps addresses")
    p.add_argument("--quiet", action="store_true", help="print only the summary, not the resource tree")
    p.add_argument("--debug", action="store_true", help="print tracebacks")
    return p


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    if args.policy_config and not args.check:
        print("error: --policy-config needs --check", file=sys.stderr)
        return 2
    sys.path.insert(0, PROJECT_DIR)
    from tools.plan import render
    from tools.plan.runner import ProgramError, run_plan
    from tools.plan.stackfile import UsageError, assemble

    policy_config = None
    if args.policy_config:
        try:
            with open(args.policy_config, encoding="utf-8") as f:
                policy_config = json.load(f)
        except (OSError, ValueError) as e:
            print(f"error: --policy-config {args.policy_config}: {e}", file=sys.stderr)
            return 2
    try:
        cfg = assemble(PROJECT_DIR, args.stack, args.config_file, args.set)
    except UsageError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    state = None
    if args.state:
        from tools.plan.mocks import state_outputs

        try:
            with open(args.state, encoding="utf-8") as f:
                state = state_outputs(json.load(f))
        except (OSError, ValueError, KeyError, AttributeError) as e:
            print(f"error: --state {args.state}: {e}", file=sys.stderr)
            return 2
    try:
        plan = run_plan(PROJECT_DIR, cfg, state=state)
    except ProgramError as e:
        for w in e.warnings:
            print(f"warning: {w}", file=sys.stderr)
        if args.debug:
            traceback.print_exception(e.cause)
        print(f"error: {e.cause}", file=sys.stderr)
        return 1

    summary = render.text(plan)
    if args.quiet:
        summary = summary[summary.index("Resources:"):]
    print(summary)
    if args.json:
        with open(args.json, "w", encoding="utf-8") as f:
            json.dump(render.to_json(plan), f, indent=2, sort_keys=False)
        print(f"\nPlan written to {args.json}")
    if args.manifests:
        written = render.write_manifests(plan, args.manifests)
        print(f"{len(written)} manifests written to {args.manifests}")
    if args.check:
        from tools.plan import check

        return check.report(plan, policy_config)
    return 0


if __name__ == "__main__":
    sys.exit(main())
