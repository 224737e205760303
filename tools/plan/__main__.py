"""python -m tools.plan: run the real program under Pulumi's mocks and print the plan.

Exit codes: 0 success; 1 the program failed (its message is printed; --debug adds the
traceback); 2 usage error; 3 a mandatory policy is violated (--check).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import sys
import traceback

PROJECT_DIR = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

EXIT_CODES = """exit codes:
  0  the plan ran (and --check found no mandatory violation)
  1  the program failed: bad config or a failed chain read, one `error:` line naming the key
  2  usage error: a bad flag, stack file, --set, --policy-config, --diff file or output path
  3  --check: a mandatory policy is violated"""


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m tools.plan", description=__doc__.split("\n\n")[0],
                                epilog=EXIT_CODES, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--stack", help="read Pulumi.STACK.yaml (default: dev, or the name in --config-file)")
    p.add_argument("--config-file", help="read this stack file instead; Pulumi.NAME.yaml plans stack NAME")
    p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                   help="override config like `pulumi config set --path`; VALUE is typed by the key's declared type")
    p.add_argument("--json", metavar="PATH", help="write the plan as JSON ('-': to stdout, the summary to stderr)")
    p.add_argument("--manifests", metavar="DIR", help="write every Kubernetes object as YAML (replaces its own earlier output)")
    p.add_argument("--diff", metavar="BASE.json", help="show what changes against a plan written earlier with --json")
    p.add_argument("--check", action="store_true", help="run the policy pack over the plan")
    p.add_argument("--policy-config", metavar="FILE", help="policy pack config (JSON), with --check")
    p.add_argument("--state", metavar="FILE",
                   help="plan against this last state (`pulumi stack export` JSON): its slot ledger keeps addresses")
    p.add_argument("--shard", type=int, metavar="N",
                   help="plan shard stack <stack>-shard-N of a sharded stack (chainlets.stacks: sharded), with the "
                        "platform's config and its plan's ledger; --state is then the platform's")
    p.add_argument("--quiet", action="store_true", help="print only the header and the summary, not the resource tree")
    p.add_argument("--debug", action="store_true", help="print tracebacks")
    return p


class _Usage(Exception):
    """A usage error found by main: printed as one line, exit code 2."""


def _prepare_outputs(args) -> None:
    """Refuse unusable output paths before the plan runs, not after."""
    from tools.plan import render

    if args.json and args.json != "-":
        if os.path.isdir(args.json):
            raise _Usage(f"--json {args.json}: is a folder; give a file name, like {os.path.join(args.json, 'plan.json')}")
        try:
            os.makedirs(os.path.dirname(os.path.abspath(args.json)), exist_ok=True)
        except OSError as e:
            raise _Usage(f"--json {args.json}: cannot create its folder: {e.strerror}") from None
    if args.manifests:
        try:
            render.check_manifest_dir(args.manifests)
        except render.OutputError as e:
            raise _Usage(f"--manifests {args.manifests}: {e}") from None


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    if args.policy_config and not args.check:
        print("error: --policy-config needs --check", file=sys.stderr)
        return 2
    sys.path.insert(0, PROJECT_DIR)
    from tools.plan import render
    from tools.plan.runner import ProgramError, run_plan
    from tools.plan.stackfile import UsageError, assemble

    policy_config = base = None
    try:
        if args.policy_config:
            from tools.plan.check import PolicyConfigError, load_config

            try:
                policy_config = load_config(args.policy_config)
            except PolicyConfigError as e:
                raise _Usage(f"--policy-config {args.policy_config}: {e}") from None
        if args.diff:
            from tools.plan.diff import PlanFileError, load_plan_json

            try:
                base = load_plan_json(args.diff)
            except PlanFileError as e:
                raise _Usage(f"--diff {args.diff}: {e}") from None
        cfg = assemble(PROJECT_DIR, args.stack, args.config_file, args.set)
        shard_cfg = None
        if args.shard is not None:
            from pegasus import sharding

            if args.shard < 0:
                raise _Usage(f"--shard {args.shard}: a shard index is 0 or more")
            chainlets = cfg.values.get("pegasus:chainlets")
            if not isinstance(chainlets, dict) or chainlets.get("stacks") != "sharded":
                raise _Usage(f"--shard {args.shard}: stack {cfg.stack} is not sharded; set pegasus:chainlets.stacks to "
                             "sharded (or add --set chainlets.stacks=sharded)")
            # The shard stack takes the platform's config, as tools.reconcile copies it.
            shard_cfg = assemble(PROJECT_DIR, sharding.shard_stack_name(cfg.stack, args.shard),
                                 args.config_file or os.path.join(PROJECT_DIR, f"Pulumi.{cfg.stack}.yaml"), args.set)
        _prepare_outputs(args)
    except (_Usage, UsageError) as e:
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
        if shard_cfg is not None:
            from tools.plan.runner import plan_shard

            _, plan = plan_shard(PROJECT_DIR, cfg, shard_cfg, state=state)
        else:
            plan = run_plan(PROJECT_DIR, cfg, state=state)
    except ProgramError as e:
        for w in e.warnings:
            print(f"warning: {w}", file=sys.stderr)
        if args.debug:
            traceback.print_exception(e.cause)
        print(f"error: {e.cause}", file=sys.stderr)
        return 1

    # With the JSON on stdout, everything meant for people goes to stderr.
    say = (lambda text: print(text, file=sys.stderr)) if args.json == "-" else print
    summary = render.text(plan)
    if args.quiet:
        header, _, _ = summary.partition("\n")
        summary = header + "\n\n" + summary[summary.index("Resources:"):]
    say(summary)
    doc = render.to_json(plan)
    try:
        if args.json == "-":
            json.dump(doc, sys.stdout, indent=2)
            sys.stdout.write("\n")
        elif args.json:
            with open(args.json, "w", encoding="utf-8") as f:
                json.dump(doc, f, indent=2)
            say(f"\nPlan written to {args.json}")
        if args.manifests:
            written = render.write_manifests(plan, args.manifests)
            say(f"{len(written)} manifests written to {args.manifests}")
    except (OSError, render.OutputError) as e:
        print(f"error: {getattr(e, 'filename', None) or args.manifests or args.json}: {getattr(e, 'strerror', None) or e}",
              file=sys.stderr)
        return 2
    if base is not None:
        from tools.plan.diff import compare, report

        say("")
        say(report(compare(base, doc), args.diff))
    if args.check:
        from tools.plan import check

        with contextlib.redirect_stdout(sys.stderr) if args.json == "-" else contextlib.nullcontext():
            return check.report(plan, policy_config)
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except BrokenPipeError:
        # `tools.plan | head`: the reader left; say nothing more (the recipe of Python's signal docs).
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        sys.exit(1)
