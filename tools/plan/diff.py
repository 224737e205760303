"""Compare two plans resource by resource: what a change would create, delete or update.

`diff` compares Plan objects (the benchmarks and scenario tests). `compare` and `report`
compare plans in their `--json` form, for `python -m tools.plan --diff BASE.json`: the
offline counterpart of reading a `pulumi preview`, used for pull-request reviews.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

from tools.plan.runner import Plan


@dataclass(frozen=True)
class PlanDiff:
    created: tuple[str, ...]
    deleted: tuple[str, ...]
    updated: tuple[str, ...]  # same URN, different inputs

    @property
    def touched(self) -> tuple[str, ...]:
        return self.created + self.deleted + self.updated


def _inputs(plan: Plan) -> dict[str, dict]:
    return {r.urn: r.inputs for r in plan.resources}


def diff(before: Plan, after: Plan) -> PlanDiff:
    a, b = _inputs(before), _inputs(after)
    return PlanDiff(
        created=tuple(sorted(set(b) - set(a))),
        deleted=tuple(sorted(set(a) - set(b))),
        updated=tuple(sorted(u for u in set(a) & set(b) if a[u] != b[u])),
    )


def short(urn: str) -> str:
    return urn.rsplit("::", 1)[-1]


# ----------------------------------------------------------------------- --diff BASE.json

_IDENTIFIER = re.compile(r"^[A-Za-z_$][A-Za-z0-9_$]*$")


def _join(path: str, key: Any) -> str:
    if isinstance(key, int):
        return f"{path}[{key}]"
    if _IDENTIFIER.match(key):
        return f"{path}.{key}" if path else key
    return f"{path}[{json.dumps(key)}]"  # property paths as Pulumi writes them: labels["app.kubernetes.io/name"]


def changed_paths(before: Any, after: Any, path: str = "") -> list[tuple[str, str]]:
    """(`+` added, `-` removed or `~` changed, property path) for every leaf that differs."""
    if isinstance(before, dict) and isinstance(after, dict):
        keys: list = sorted(set(before) | set(after))
    elif isinstance(before, list) and isinstance(after, list):
        keys = list(range(max(len(before), len(after))))
    else:
        return [] if before == after else [("~", path or "(value)")]
    out = []
    for key in keys:
        sub = _join(path, key)
        has_before = key in before if isinstance(before, dict) else key < len(before)
        has_after = key in after if isinstance(after, dict) else key < len(after)
        if not has_before:
            out.append(("+", sub))
        elif not has_after:
            out.append(("-", sub))
        else:
            out.extend(changed_paths(before[key], after[key], sub))
    return out


@dataclass
class Change:
    op: str  # create | update | delete
    urn: str
    type: str
    name: str
    paths: list[tuple[str, str]] = field(default_factory=list)
    protected: bool = False  # `pulumi up` refuses to delete it


@dataclass
class Comparison:
    changes: list[Change]
    unchanged: int
    outputs: list[tuple[str, str]]  # (op, output name)

    def count(self, op: str) -> int:
        return sum(1 for c in self.changes if c.op == op)


class PlanFileError(Exception):
    """A --diff file that is not a plan written by --json."""


def load_plan_json(path: str) -> dict:
    try:
        with open(path, encoding="utf-8") as f:
            doc = json.load(f)
    except OSError as e:
        raise PlanFileError(f"cannot read it: {e.strerror}") from None
    except ValueError as e:
        raise PlanFileError(f"is not valid JSON: {e}") from None
    resources = doc.get("resources") if isinstance(doc, dict) else None
    if not isinstance(resources, list) or not all(isinstance(r, dict) and isinstance(r.get("urn"), str) for r in resources):
        raise PlanFileError("is not a plan written by `python -m tools.plan --json` (no resources list with URNs)")
    return doc


def _state(resource: dict) -> dict:
    return {"inputs": resource.get("inputs") or {}, "options": resource.get("options") or {}}


def compare(before: dict, after: dict) -> Comparison:
    """Changes from the plan `before` to the plan `after`, both in their --json form."""
    a = {r["urn"]: r for r in before["resources"]}
    b = {r["urn"]: r for r in after["resources"]}
    changes, unchanged = [], 0
    for urn in sorted(set(a) | set(b)):
        r = b.get(urn) or a[urn]
        if urn not in a:
            changes.append(Change("create", urn, r.get("type", ""), r.get("name", short(urn))))
        elif urn not in b:
            protected = bool((r.get("options") or {}).get("protect"))
            changes.append(Change("delete", urn, r.get("type", ""), r.get("name", short(urn)), protected=protected))
        else:
            paths = changed_paths(_state(a[urn]), _state(b[urn]))
            if paths:
                changes.append(Change("update", urn, r.get("type", ""), r.get("name", short(urn)), paths))
            else:
                unchanged += 1
    out_a, out_b = before.get("outputs") or {}, after.get("outputs") or {}
    outputs = [("+" if k not in out_a else "-" if k not in out_b else "~", k)
               for k in sorted(set(out_a) | set(out_b))
               if (k in out_a) != (k in out_b) or out_a[k] != out_b[k]]
    return Comparison(changes, unchanged, outputs)


_SYMBOL = {"create": "+", "update": "~", "delete": "-"}
MAX_PATHS = 20  # per resource; a long list is summarised, the count stays exact


def report(comparison: Comparison, base: str) -> str:
    lines = [f"Changes against {base}, as `pulumi preview` would show them:"]
    if not comparison.changes:
        lines.append("  no resource changes")
    for c in comparison.changes:
        flag = " [protected: pulumi up refuses to delete it]" if c.protected else ""
        lines.append(f"  {_SYMBOL[c.op]} {c.op:<6} {c.name} ({c.type}){flag}")
        for op, path in c.paths[:MAX_PATHS]:
            lines.append(f"        {op} {path.replace('inputs.', '', 1) if path.startswith('inputs.') else path}")
        if len(c.paths) > MAX_PATHS:
            lines.append(f"        ... and {len(c.paths) - MAX_PATHS} more changed properties")
    if comparison.outputs:
        lines.append("  outputs: " + ", ".join(f"{op}{name}" for op, name in comparison.outputs))
    lines.append(
        f"Resources: {comparison.count('create')} to create, {comparison.count('update')} to update, "
        f"{comparison.count('delete')} to delete, {comparison.unchanged} unchanged"
    )
    return "\n".join(lines)
