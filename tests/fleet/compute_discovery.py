"""The Compute Engine API's own definition, as google-api-python-client ships it
(googleapiclient/discovery_cache/documents/compute.v1.json), used as a contract: a request
body must name only fields the schema declares, with the declared JSON types, and no field
the API marks output-only. `$ref`s are followed; maps (`additionalProperties`) and arrays
are walked. Requests are matched to a method of the document by HTTP verb and path, and
their query parameters must be ones that method declares.

This is not our fake's idea of the API: a misspelt field (Terraform's `minReplicas` for the
REST API's `minNumReplicas`) fails here whatever the fake says.
"""

from __future__ import annotations

import functools
import json
import os
import re
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import googleapiclient

DOCUMENT = os.path.join(os.path.dirname(googleapiclient.__file__), "discovery_cache", "documents", "compute.v1.json")
INT32 = (-(2**31), 2**31 - 1)
UINT32 = (0, 2**32 - 1)


@functools.lru_cache(maxsize=None)
def document() -> dict:
    with open(DOCUMENT, encoding="utf-8") as f:
        return json.load(f)


def _errors(value: Any, schema: dict, where: str, out: list[str]) -> None:
    doc = document()
    if "$ref" in schema:
        schema = doc["schemas"][schema["$ref"]]
    kind = schema.get("type")
    if kind == "object":
        if not isinstance(value, dict):
            out.append(f"{where}: an object is declared, got {type(value).__name__}")
            return
        props = schema.get("properties")
        extra = schema.get("additionalProperties")
        for key, item in value.items():
            path = f"{where}.{key}"
            if props is not None and key in props:
                if props[key].get("readOnly"):
                    out.append(f"{path}: output only, a request may not set it")
                    continue
                _errors(item, props[key], path, out)
            elif extra is not None:
                _errors(item, extra, path, out)
            else:
                known = ", ".join(sorted(props or {}))
                out.append(f"{path}: no such field in {schema.get('id', 'the schema')} (it has {known})")
        return
    if kind == "array":
        if not isinstance(value, list):
            out.append(f"{where}: an array is declared, got {type(value).__name__}")
            return
        for i, item in enumerate(value):
            _errors(item, schema["items"], f"{where}[{i}]", out)
        return
    if kind == "boolean":
        if not isinstance(value, bool):
            out.append(f"{where}: a boolean is declared, got {value!r}")
        return
    if kind == "integer":
        if isinstance(value, bool) or not isinstance(value, int):
            out.append(f"{where}: an integer is declared, got {value!r}")
            return
        lo, hi = UINT32 if schema.get("format") == "uint32" else INT32
        if not lo <= value <= hi:
            out.append(f"{where}: {value} is outside {schema.get('format', 'int32')}")
        return
    if kind == "number":
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            out.append(f"{where}: a number is declared, got {value!r}")
        return
    if kind == "string":
        if not isinstance(value, str):
            # int64/uint64 are strings in JSON too.
            out.append(f"{where}: a string is declared, got {value!r}")
            return
        if "enum" in schema and value not in schema["enum"]:
            out.append(f"{where}: {value!r} is not one of {', '.join(schema['enum'])}")
        if "pattern" in schema and not re.fullmatch(schema["pattern"], value):
            out.append(f"{where}: {value!r} does not match {schema['pattern']}")
        return
    if kind == "any" or kind is None:
        return
    out.append(f"{where}: unhandled schema type {kind}")


def errors(body: Any, schema: str) -> list[str]:
    """Every way `body` breaks the document's schema `schema` (empty: it validates)."""
    out: list[str] = []
    _errors(body, {"$ref": schema}, schema, out)
    return out


_BASE = "https://compute.googleapis.com/compute/v1/"


def method(verb: str, url: str) -> tuple[str, dict]:
    """The document's method for a request (its id and its declaration), by verb and path; the
    query parameters must be ones the method declares. Raises AssertionError otherwise."""
    assert url.startswith(_BASE), url
    parts = urlsplit(url)
    path = parts.path[len("/compute/v1/"):]
    query = dict(parse_qsl(parts.query))

    def walk(resources: dict):
        for resource in resources.values():
            yield from resource.get("methods", {}).values()
            yield from walk(resource.get("resources", {}))

    for m in walk(document()["resources"]):
        if m["httpMethod"] != verb:
            continue
        pattern = re.sub(r"\\\{(\w+)\\\}", r"(?P<\1>[^/]+)", re.escape(m["path"]))
        found = re.fullmatch(pattern, path)
        if not found:
            continue
        params = m.get("parameters", {})
        unknown = [q for q in query if q not in params or params[q]["location"] != "query"]
        assert not unknown, f"{m['id']} takes no query parameter {unknown}"
        for name, value in {**found.groupdict(), **query}.items():
            if "pattern" in params[name]:
                assert re.fullmatch(params[name]["pattern"], value), f"{m['id']}: {name}={value!r}"
        return m["id"], m
    raise AssertionError(f"the Compute API has no {verb} {path}")


def check_request(verb: str, url: str, body: Any) -> str:
    """Asserts the request is one the API declares and its body validates; returns the method id."""
    mid, m = method(verb, url)
    if body is not None:
        assert "request" in m, f"{mid} takes no body"
        problems = errors(body, m["request"]["$ref"])
        assert not problems, f"{mid}: " + "; ".join(problems)
    return mid


def merge_patch(target: Any, patch: Any) -> Any:
    """RFC 7386 JSON merge patch, as the Compute API applies a PATCH."""
    if not isinstance(patch, dict):
        return patch
    result = dict(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            result.pop(key, None)
        else:
            result[key] = merge_patch(result.get(key), value)
    return result
