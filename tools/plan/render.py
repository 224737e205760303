"""The plan as text, as JSON, and as Kubernetes manifests on disk."""

from __future__ import annotations

import json
import os
from collections import Counter
from typing import Any

import yaml

from tools.plan.mocks import Registration, integral
from tools.plan.runner import Plan

PLACEHOLDER_NOTE = "placeholder: known only after a real deployment"


def to_json(plan: Plan) -> dict:
    return {
        "project": plan.project,
        "stack": plan.stack,
        "resources": [
            {
                "urn": r.urn,
                "type": r.type,
                "name": r.name,
                "parent": r.parent,
                "custom": r.custom,
                "provider": r.provider,
                "inputs": r.inputs,
                "options": {k: r.options[k] for k in ("protect", "retainOnDelete", "deleteBeforeReplace", "ignoreChanges", "dependsOn", "aliases")},
                "placeholders": r.placeholders,
            }
            for r in plan.resources
        ],
        "outputs": plan.outputs,
        "secretOutputs": plan.secret_outputs,
        "warnings": plan.warnings,
        "placeholders": [{"urn": p.urn, "property": p.property, "value": p.value} for p in plan.placeholders],
        "securePlaceholders": plan.secure_placeholders,
    }


def _flags(r: Registration) -> str:
    flags = []
    if r.options["protect"]:
        flags.append("protect")
    if r.options["retainOnDelete"]:
        flags.append("retain")
    return f" [{', '.join(flags)}]" if flags else ""


def tree(plan: Plan) -> list[str]:
    children: dict[str, list[Registration]] = {}
    roots: list[Registration] = []
    known = {r.urn for r in plan.resources}
    for r in plan.resources:
        if r.parent and r.parent in known:
            children.setdefault(r.parent, []).append(r)
        else:
            roots.append(r)
    lines = [f"{plan.project}-{plan.stack} (pulumi:pulumi:Stack)"]

    def walk(nodes: list[Registration], prefix: str) -> None:
        for i, r in enumerate(nodes):
            last = i == len(nodes) - 1
            lines.append(f"{prefix}{'└─ ' if last else '├─ '}{r.name} ({r.type}){_flags(r)}")
            walk(children.get(r.urn, []), prefix + ("   " if last else "│  "))

    walk(roots, "")
    return lines


def counts(plan: Plan) -> list[tuple[str, int]]:
    return sorted(Counter(r.type for r in plan.resources).items(), key=lambda kv: (-kv[1], kv[0]))


def text(plan: Plan) -> str:
    out = [f"Plan for stack {plan.stack} of project {plan.project}: what `pulumi up` would create", ""]
    out.extend(tree(plan))
    out.append("")
    out.append(f"Resources: {len(plan.resources)} ({sum(1 for r in plan.resources if r.custom)} custom, "
               f"{sum(1 for r in plan.resources if not r.custom)} components)")
    width = max((len(t) for t, _ in counts(plan)), default=10)
    for typ, n in counts(plan):
        out.append(f"  {typ.ljust(width)}  {n}")
    out.append("")
    out.append("Outputs:")
    for key, value in plan.outputs.items():
        shown = json.dumps(value, sort_keys=True)
        if len(shown) > 160:
            shown = shown[:157] + "..."
        out.append(f"  {key}: {shown}")
    if plan.placeholders:
        out.append("")
        out.append(f"Placeholders ({PLACEHOLDER_NOTE}): {len(plan.placeholders)}")
        shown_props = Counter(p.property for p in plan.placeholders)
        for prop, n in sorted(shown_props.items()):
            example = next(p for p in plan.placeholders if p.property == prop)
            shown_value = repr(example.value)
            out.append(f"  {prop} x{n}, e.g. {shown_value if len(shown_value) <= 100 else shown_value[:97] + '...'}")
    if plan.secure_placeholders:
        out.append("")
        out.append("Secure config planned with placeholders: " + ", ".join(plan.secure_placeholders))
    out.append("")
    if plan.warnings:
        out.append(f"Warnings: {len(plan.warnings)}")
        out.extend(f"  warning: {w}" for w in plan.warnings)
    else:
        out.append("Warnings: none")
    return "\n".join(out)


# ------------------------------------------------------------------------- manifests


def kubernetes_object(r: Registration, *, raw: bool = False) -> dict | None:
    """The Kubernetes object a resource would apply, or None for providers and charts.
    `raw`: with secrets in clear and integral numbers as integers, as the provider would send it."""
    if not r.type.startswith("kubernetes:") or r.type.startswith("kubernetes:helm.sh"):
        return None
    inputs = integral(r.raw_inputs) if raw else r.inputs
    if "apiVersion" not in inputs or "kind" not in inputs:
        return None
    obj: dict[str, Any] = {"apiVersion": inputs["apiVersion"], "kind": inputs["kind"]}
    for key, value in inputs.items():
        if key not in obj:
            obj[key] = value
    return obj


def manifest_path(obj: dict) -> str:
    meta = obj.get("metadata") or {}
    ns = meta.get("namespace") or "_cluster"
    return os.path.join(ns, f"{obj['kind']}-{meta.get('name', 'unnamed')}.yaml")


def helm_values(r: Registration) -> tuple[str, str] | None:
    if r.type != "kubernetes:helm.sh/v3:Release":
        return None
    release = r.inputs.get("name") or r.name
    repo = (r.inputs.get("repositoryOpts") or {}).get("repo", "")
    header = (
        f"# Helm release {release} in namespace {r.inputs.get('namespace', 'default')}\n"
        f"# chart: {r.inputs.get('chart')}\n"
        f"# version: {r.inputs.get('version')}\n"
        f"# repository: {repo or '(OCI reference in chart)'}\n"
    )
    body = yaml.safe_dump(r.inputs.get("values") or {}, sort_keys=True, default_flow_style=False)
    return os.path.join("helm", f"{release}.values.yaml"), header + body


def write_manifests(plan: Plan, directory: str) -> list[str]:
    written = []
    for r in plan.resources:
        obj = kubernetes_object(r)
        if obj is not None:
            rel = manifest_path(obj)
            content = yaml.safe_dump(obj, sort_keys=False, default_flow_style=False)
        else:
            hv = helm_values(r)
            if hv is None:
                continue
            rel, content = hv
        path = os.path.join(directory, rel)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        if rel in written:
            raise ValueError(f"two resources would write {rel}")
        with open(path, "w", encoding="utf-8") as f:
            f.write(content)
        written.append(rel)
    return written
