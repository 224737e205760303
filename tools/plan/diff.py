"""Compare two plans resource by resource: what a change would create, delete or update."""

from __future__ import annotations

from dataclasses import dataclass

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
