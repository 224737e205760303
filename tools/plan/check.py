"""`--check`: the policy pack over the planned resources, in-process.

The resources are handed over as the analyzer sees them: engine property names, numbers
as doubles, secrets unwrapped, and `protect` from the resource options.
"""

from __future__ import annotations

import difflib
import json
from collections import defaultdict
from typing import Any, Mapping, Optional

from tools.plan.runner import Plan

MANDATORY_EXIT = 3


class PolicyConfigError(Exception):
    """A policy config file the pack cannot use (exit code 2, before anything is planned)."""


def _closest(word: str, choices) -> str:
    match = difflib.get_close_matches(word, list(choices), n=1)
    return f" (did you mean {match[0]}?)" if match else ""


def validate_config(config: Any) -> dict:
    """The config, checked more strictly than `pulumi preview --policy-pack-config` does: the
    CLI ignores entries for policies the pack lacks and properties a schema does not declare,
    so a typo there silently keeps the default. Here each is an error naming the entry."""
    from policy.policies import ALL_POLICIES, LEVELS, PACK_ENFORCEMENT_LEVEL, resolve_config

    if not isinstance(config, dict):
        raise PolicyConfigError("must be a JSON object of policy names, like {\"pegasus-nlb-listener-limit\": {\"maxListeners\": 50}}")
    policies = {p.name: p for p in ALL_POLICIES}
    for name, entry in config.items():
        if name != "all" and name not in policies:
            raise PolicyConfigError(f"{name}: unknown policy{_closest(name, policies)}; the pack's policies are {', '.join(sorted(policies))}")
        if isinstance(entry, str):
            if entry not in LEVELS:
                raise PolicyConfigError(f"{name}: enforcement level {entry!r} is not one of {', '.join(LEVELS)}")
            continue
        if not isinstance(entry, dict):
            raise PolicyConfigError(f"{name}: must be an enforcement level ({', '.join(LEVELS)}) or an object, got {json.dumps(entry)}")
        declared = {} if name == "all" or policies[name].config_schema is None else policies[name].config_schema.properties
        for prop in entry:
            if prop != "enforcementLevel" and prop not in declared:
                takes = f"{name} takes {', '.join(['enforcementLevel', *sorted(declared)])}"
                raise PolicyConfigError(f"{name}.{prop}: unknown property{_closest(prop, declared)}; {takes}")
    try:
        resolve_config(ALL_POLICIES, config, PACK_ENFORCEMENT_LEVEL)
    except ValueError as e:
        raise PolicyConfigError(str(e).removeprefix("policy config ")) from None
    return config


def load_config(path: str) -> dict:
    try:
        with open(path, encoding="utf-8") as f:
            doc = json.load(f)
    except OSError as e:
        raise PolicyConfigError(f"cannot read it: {e.strerror}") from None
    except ValueError as e:
        raise PolicyConfigError(f"is not valid JSON: {e}") from None
    return validate_config(doc)


def policy_resources(plan: Plan) -> list[dict[str, Any]]:
    return [
        {"urn": r.urn, "type": r.type, "name": r.name, "props": r.raw_inputs, "protect": r.options["protect"],
         # A provider reference is `<urn>::<id>`; stack policies pair resources of one cluster.
         **({"provider": r.provider.rsplit("::", 1)[0]} if r.provider else {})}
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
