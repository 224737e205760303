"""Shared helpers: run the real program under Pulumi's mocks for a stack."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Iterable, Optional

import pytest

PROJECT = Path(__file__).resolve().parent.parent
if str(PROJECT) not in sys.path:
    sys.path.insert(0, str(PROJECT))

from tools.plan.runner import Plan, deployed_state, plan_stack  # noqa: E402


def run(stack: str = "dev", sets: Iterable[str] = (), config_file: Optional[str] = None,
        state: Optional[dict] = None) -> Plan:
    return plan_stack(str(PROJECT), stack, config_file, list(sets), state=state)


state_of = deployed_state  # the state a deployment of a plan leaves behind

_EXAMPLES: dict[str, Plan] = {}


def example(stack: str) -> Plan:
    """The plan of an example stack, computed once per test session. Read it, never change it."""
    if stack not in _EXAMPLES:
        _EXAMPLES[stack] = run(stack)
    return _EXAMPLES[stack]


@pytest.fixture
def plan():
    return run


def k8s(plan: Plan, kind: str) -> list:
    """Every planned Kubernetes object of one kind, as manifests (inputs)."""
    return [r for r in plan.resources if r.type.startswith("kubernetes:") and r.inputs.get("kind") == kind]


def obj(plan: Plan, kind: str, name: str, namespace: Optional[str] = None):
    for r in k8s(plan, kind):
        meta = r.inputs.get("metadata") or {}
        if meta.get("name") == name and (namespace is None or meta.get("namespace") == namespace):
            return r
    raise AssertionError(f"no {kind} {namespace}/{name} in the plan")


def write_stack(tmp_path: Path, config: dict) -> str:
    path = tmp_path / "Pulumi.test.yaml"
    path.write_text(json.dumps({"config": config}))
    return str(path)
