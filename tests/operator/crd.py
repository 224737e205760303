"""Validate objects against a CRD's openAPIV3Schema, shipped unchanged in schemas/crds/ (PKO
v2.9.0, schemas/README.md). The API server prunes unknown fields of a structural schema
instead of refusing them, so an unknown field would pass a plain JSON-schema check and vanish
in the cluster: here every object schema that lists properties, and does not preserve unknown
fields, refuses any other property, as a strict server-side apply does."""

from __future__ import annotations

import copy
from functools import lru_cache

import jsonschema
import yaml

from tests.conftest import PROJECT

CRDS = PROJECT / "schemas" / "crds"


def _strict(schema: dict) -> dict:
    if isinstance(schema, dict):
        out = {k: _strict(v) if isinstance(v, (dict, list)) else v for k, v in schema.items()}
        if ("properties" in out and "additionalProperties" not in out
                and not out.get("x-kubernetes-preserve-unknown-fields")):
            out["additionalProperties"] = False
        return out
    if isinstance(schema, list):
        return [_strict(v) for v in schema]
    return schema


@lru_cache(maxsize=None)
def crd(filename: str) -> dict:
    return yaml.safe_load((CRDS / filename).read_text())


def schema(filename: str, version: str) -> dict:
    for v in crd(filename)["spec"]["versions"]:
        if v["name"] == version:
            return copy.deepcopy(v["schema"]["openAPIV3Schema"])
    raise KeyError(f"{filename} has no version {version}")


def errors(obj: dict, filename: str) -> list[str]:
    """Every violation of the CRD's schema for the object's apiVersion, as 'path: message'."""
    doc = crd(filename)
    group, version = obj["apiVersion"].split("/")
    assert (group, obj["kind"]) == (doc["spec"]["group"], doc["spec"]["names"]["kind"]), "not this CRD's kind"
    validator = jsonschema.Draft7Validator(_strict(schema(filename, version)))
    return sorted(f"{'.'.join(map(str, e.absolute_path))}: {e.message}" for e in validator.iter_errors(obj))
