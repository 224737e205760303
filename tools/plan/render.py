"""The plan as text, as JSON, and as Kubernetes manifests on disk."""

from __future__ import annotations

import contextlib
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


MARKER = ".pegasus-manifests"


class OutputError(Exception):
    """An output folder that tools.plan must not write into."""


def _files_under(directory: str) -> list[str]:
    found = []
    for root, _dirs, files in os.walk(directory):
        for name in files:
            found.append(os.path.relpath(os.path.join(root, name), directory))
    return sorted(found)


def _own_files(directory: str) -> set[str]:
    with open(os.path.join(directory, MARKER), encoding="utf-8") as f:
        return set(json.load(f)["files"])


def check_manifest_dir(directory: str) -> None:
    """A folder is usable if it is missing, empty, or holds only what an earlier run wrote
    (listed in its marker file); anything else could be someone's work, or a stale object
    that a reviewer would take for part of the plan."""
    if not os.path.exists(directory):
        return
    if not os.path.isdir(directory):
        raise OutputError("is a file, not a folder")
    present = _files_under(directory)
    if not present:
        return
    if MARKER not in present:
        raise OutputError(f"is not empty and was not written by tools.plan (it has no {MARKER} file); "
                          "give an empty or new folder")
    try:
        own = _own_files(directory)
    except (OSError, ValueError, KeyError, TypeError):
        raise OutputError(f"has a {MARKER} file that is not ours; give an empty or new folder") from None
    if any(os.path.isabs(f) or os.path.normpath(f).startswith("..") for f in own):
        raise OutputError(f"has a {MARKER} file naming files outside the folder; give an empty or new folder")
    foreign = [f for f in present if f != MARKER and f not in own]
    if foreign:
        raise OutputError(f"holds {foreign[0]}, which tools.plan did not write; move it away or give another folder")


def provider_name(reference: str) -> str:
    """The name in a provider reference `<urn>::<id>` (the URN's last segment)."""
    return reference.rsplit("::", 1)[0].rsplit("::", 1)[-1]


def write_manifests(plan: Plan, directory: str) -> list[str]:
    """Write the plan's objects, replacing the folder's earlier output completely."""
    check_manifest_dir(directory)
    if os.path.isdir(directory) and os.path.exists(os.path.join(directory, MARKER)):
        for rel in _own_files(directory):
            with contextlib.suppress(FileNotFoundError):
                os.remove(os.path.join(directory, rel))
        for root, dirs, files in os.walk(directory, topdown=False):
            if root != directory and not os.listdir(root):
                os.rmdir(root)
    written = []
    # A stack over several clusters (a testnet's regions) has the same object in each: each
    # cluster's files go under its kubernetes provider's name. One cluster keeps the flat layout.
    per_cluster = len({r.urn for r in plan.resources if r.type == "pulumi:providers:kubernetes"}) > 1
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
        if per_cluster and r.provider:
            rel = os.path.join(provider_name(r.provider), rel)
        path = os.path.join(directory, rel)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        if rel in written:
            raise ValueError(f"two resources would write {rel}")
        with open(path, "w", encoding="utf-8") as f:
            f.write(content)
        written.append(rel)
    os.makedirs(directory, exist_ok=True)
    with open(os.path.join(directory, MARKER), "w", encoding="utf-8") as f:
        json.dump({"writtenBy": "python -m tools.plan --manifests", "stack": plan.stack, "files": sorted(written)}, f, indent=1)
    return written
