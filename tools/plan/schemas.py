"""Validate every planned Kubernetes object in strict mode: built-in kinds against the
upstream OpenAPI schema of the cluster's Kubernetes version (kubernetes-validate), custom
resources against the CRDs in schemas/crds and those a chart ships itself (the Gateway API and
Envoy Gateway CRDs, read from the packaged gateway-helm chart in charts/). Unknown
fields are errors in both."""

from __future__ import annotations

import copy
import glob
import os
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import yaml

from tools.plan.render import kubernetes_object
from tools.plan.runner import Plan

DEFAULT_CRD_DIR = os.path.join(os.path.dirname(__file__), "..", "..", "schemas", "crds")
DEFAULT_CHART_DIR = os.path.join(os.path.dirname(__file__), "..", "..", "charts")


def _chart_crd_archives() -> tuple[str, ...]:
    from components.p2p import gateway_builder
    from components.provider import builder as provider_builder
    from components.testnet import archive_builder

    return (gateway_builder.CHART.archive, provider_builder.HTTP_ADDON_CHART.archive, archive_builder.CNPG_CHART.archive)


@dataclass(frozen=True)
class SchemaError:
    urn: str
    kind: str
    name: str
    message: str


def _strict(schema: Any) -> Any:
    """A CRD schema with unknown fields forbidden wherever the CRD does not allow them."""
    if isinstance(schema, dict):
        out = {k: _strict(v) for k, v in schema.items()}
        if out.get("x-kubernetes-int-or-string"):
            out.pop("type", None)
            out["anyOf"] = [{"type": "integer"}, {"type": "string"}]
        if "properties" in out and "additionalProperties" not in out and not out.get("x-kubernetes-preserve-unknown-fields"):
            out["additionalProperties"] = False
        return out
    if isinstance(schema, list):
        return [_strict(v) for v in schema]
    return schema


class _CrdLoader(yaml.SafeLoader):
    """PyYAML resolves a bare `=` (an enum value in AlertmanagerConfig's matchType) to the
    YAML 1.1 "value" type it cannot construct; in YAML 1.2, as Kubernetes reads it, it is a string."""


_CrdLoader.add_constructor("tag:yaml.org,2002:value", lambda loader, node: loader.construct_scalar(node))


def _add_crds(out: dict, text: str) -> None:
    for doc in yaml.load_all(text, Loader=_CrdLoader):
        if not doc or doc.get("kind") != "CustomResourceDefinition":
            continue
        group, kind = doc["spec"]["group"], doc["spec"]["names"]["kind"]
        for version in doc["spec"]["versions"]:
            schema = copy.deepcopy(version["schema"]["openAPIV3Schema"])
            # metadata is validated by the API server's ObjectMeta, not the CRD.
            schema.setdefault("properties", {})["metadata"] = {"type": "object"}
            out.setdefault((f"{group}/{version['name']}", kind), _strict(schema))


def chart_crd_texts(archive: str) -> list[str]:
    """The CRD files a packaged chart carries (its and its subcharts' crds/ folders), and
    those it templates under templates/crds/ (keda-add-ons-http), whose only template lines
    are a whole-file `{{- if .Values.crds.install }}` guard: those lines are dropped."""
    import tarfile

    with tarfile.open(archive, "r:gz") as tar:
        out = []
        for m in sorted(tar.getmembers(), key=lambda m: m.name):
            if not (m.isfile() and "/crds/" in m.name and m.name.endswith(".yaml")):
                continue
            text = tar.extractfile(m).read().decode("utf-8")
            if "/templates/" in m.name:
                if "/templates/crds/" not in m.name:
                    continue
                text = "\n".join(line for line in text.splitlines() if not line.lstrip().startswith("{{"))
            out.append(text)
        return out


@lru_cache(maxsize=None)
def crd_schemas(crd_dir: str, chart_dir: str = os.path.abspath(DEFAULT_CHART_DIR)) -> dict[tuple[str, str], dict]:
    """(apiVersion, kind) -> strict JSON schema. The CRD folder wins over a chart's copy."""
    out: dict = {}
    for path in sorted(glob.glob(os.path.join(crd_dir, "*.yaml"))):
        with open(path, encoding="utf-8") as f:
            _add_crds(out, f.read())
    for archive in _chart_crd_archives():
        path = os.path.join(chart_dir, archive)
        if os.path.isfile(path):
            for text in chart_crd_texts(path):
                _add_crds(out, text)
    return out


def validate_object(obj: dict, kubernetes_version: str, crd_dir: str) -> list[str]:
    import jsonschema
    import kubernetes_validate

    key = (obj["apiVersion"], obj["kind"])
    schemas = crd_schemas(os.path.abspath(crd_dir))
    if "/" in obj["apiVersion"] and key in schemas:
        validator = jsonschema.Draft7Validator(schemas[key])
        return sorted(f"{'/'.join(str(p) for p in e.absolute_path) or '(root)'}: {e.message}" for e in validator.iter_errors(obj))
    try:
        kubernetes_validate.validate(obj, kubernetes_version, strict=True)
    except kubernetes_validate.SchemaNotFoundError:
        return [f"no schema for {obj['apiVersion']} {obj['kind']}: neither Kubernetes {kubernetes_version} nor a CRD in {crd_dir}"]
    except kubernetes_validate.ValidationError as e:
        path = "/".join(str(p) for p in e.path) or "(root)"
        return [f"{path}: {e.message}"]
    return []


def validate_plan(plan: Plan, kubernetes_version: str, crd_dir: str = DEFAULT_CRD_DIR) -> tuple[int, list[SchemaError]]:
    """(objects checked, errors)."""
    errors, checked = [], 0
    for r in plan.resources:
        obj = kubernetes_object(r, raw=True)
        if obj is None:
            continue
        checked += 1
        for message in validate_object(obj, kubernetes_version, crd_dir):
            errors.append(SchemaError(r.urn, obj["kind"], (obj.get("metadata") or {}).get("name", ""), message))
    return checked, errors
