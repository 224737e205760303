"""`--check`: the policy pack over the planned resources, in-process.

The resources are handed over as the analyzer sees them: engine property names, numbers
as doubles, secrets unwrapped, and `protect` from the resource options.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any, Mapping, Optional

from tools.plan.runner import Plan

MANDATORY_EXIT = 3


def policy_resources(plan: Plan) -> list[dict[str, Any]]:
    return [
        {"urn": r.urn, "type": r.type, "name": r.name, "props": r.raw_inputs, "protect": r.options["protect"]}
        for r in plan.resources
    ]


def violations(plan: Plan, config: Optional[Mapping] = None) -> list:
    from policy.policies import evaluate

    return evaluate(policy_resources(plan), config)


def report(plan: Plan, config: Optional[Mapping] = None) -> int:
    found = violations(plan, config)
    print("")
    if not found:
        print("Policy check: no violations")
        return 0
    grouped: dict[tuple[str, str], list] = defaultdict(list)
    for v in found:
        grouped[(v.enforcement, v.policy_name)].append(v)
    mandatory = sum(1 for v in found if v.enforcement == "mandatory")
    print(f"Policy check: {len(found)} violation(s), {mandatory} mandatory")
    for (level, name), items in sorted(grouped.items(), key=lambda kv: (kv[0][0] != "mandatory", kv[0][1])):
        print(f"\n  {name} ({level}): {len(items)}")
        for v in items:
            print(f"    {v.urn.split('::')[-1]}: {v.message}")
    return MANDATORY_EXIT if mandatory else 0
