"""The annotations Pegasus puts on objects for pulumi-kubernetes, checked against its source at
the pinned tag (upstream/pulumi-kubernetes-v4.25.0.json: names and rules, with paths) and the
paths a waitFor selects against the Kubernetes API's own schema. The real provider runs them in
the e2e suite: a shard's Service that waited for nothing, or for a path that never appears,
would fail or time out there."""

from __future__ import annotations

import json
import re
from pathlib import Path

import kubernetes_validate
import pytest

from components.p2p import p2p_builder
from components.p2p import shard as p2p_shard
from pegasus import names
from tests.conftest import example

UPSTREAM = json.loads((Path(__file__).parent / "upstream" / "pulumi-kubernetes-v4.25.0.json").read_text())
KUBERNETES = "1.35"


def test_the_annotation_names_are_the_providers():
    a = UPSTREAM["annotations"]
    assert names.SKIP_AWAIT == a["AnnotationSkipAwait"]
    assert names.WAIT_FOR == a["AnnotationWaitFor"]
    assert p2p_shard.PATCH_FORCE == a["AnnotationPatchForce"]


def parse(expr: str) -> tuple[str, str]:
    """(path, value) by the rules of the provider's jsonpath.Parse (the fixture lists them)."""
    prefix = UPSTREAM["jsonpath"]["prefix"]
    assert expr.startswith(prefix), expr
    parts = expr[len(prefix):].replace("==", "\0").split("=")
    assert len(parts) <= 2, expr
    path, value = parts[0].replace("\0", "=="), (parts[1].replace("\0", "==") if len(parts) == 2 else "")
    assert not (len(parts) == 2 and not value), expr
    assert not (path.startswith("'") and path.endswith("'")), expr
    m = re.fullmatch(r"\{\s*(.*?)\s*\}", path)
    assert m, expr
    return m.group(1), value


def object_with(path: str, leaf) -> dict:
    """A minimal object in which `path` (.a.b[0].c) selects `leaf`."""
    root: dict = {}
    node: dict = root
    steps = re.findall(r"\.(\w+)(\[0\])?", path)
    for i, (key, index) in enumerate(steps):
        last = i == len(steps) - 1
        child = leaf if last and not index else {}
        node[key] = [child if not (last and index) else leaf] if index else child
        node = node[key][0] if index else node[key]
    return root


def wait_for_objects():
    """Every object of the example stacks that carries a waitFor annotation."""
    for stack in ("dev", "eks", "gke"):
        for r in example(stack).resources:
            meta = (r.inputs or {}).get("metadata") or {}
            value = (meta.get("annotations") or {}).get(names.WAIT_FOR)
            if value:
                yield stack, r, value


def test_every_wait_for_parses_and_selects_a_field_of_the_kinds_schema():
    seen = set()
    for stack, r, expr in wait_for_objects():
        path, value = parse(expr)
        assert value == "", f"{r.urn}: waits for any value at {path}"
        obj = {k: v for k, v in r.inputs.items() if k in ("apiVersion", "kind", "metadata", "spec")}
        if obj["kind"] == "Service":
            # The Kubernetes API's own Service schema (strict: unknown fields are errors) takes
            # the status the path selects, as a load-balancer controller writes it.
            status = object_with(path, {"ip": "203.0.113.10"})
            kubernetes_validate.validate({**obj, **status}, KUBERNETES, strict=True)
            assert status["status"]["loadBalancer"]["ingress"][0]
        seen.add((stack, obj["kind"]))
    # Each p2p shard Service of every cloud is awaited for its address, and only for it.
    assert {("dev", "Service"), ("eks", "Service"), ("gke", "Service")} <= seen


def test_a_path_that_is_not_in_the_schema_is_refused_by_the_same_check():
    obj = {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "x"}, "spec": {"ports": [{"port": 1}]}}
    path, _ = parse("jsonpath={.status.loadBalancer.ingresses[0]}")
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate({**obj, **object_with(path, {"ip": "203.0.113.10"})}, KUBERNETES, strict=True)


def test_the_shard_service_waits_for_its_address():
    assert p2p_builder.LB_ADDRESS_WAIT.startswith(UPSTREAM["jsonpath"]["prefix"])
    assert parse(p2p_builder.LB_ADDRESS_WAIT) == (".status.loadBalancer.ingress[0]", "")
