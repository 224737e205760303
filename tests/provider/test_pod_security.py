"""Restricted Pod Security for tenant namespaces (issue 23 item 13), opted into per pod by the
operator (provider.restrictedPods). The built pods are evaluated against the restricted checks
of Pod Security Admission as kubernetes/kubernetes states them
(tests/provider/upstream/pod_security_restricted.json: fields and allowed values per check, with
the file and commit they were read at). The API server's own admission of such a pod is in
tests/e2e/test_provider_e2e.py."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from components.provider import builder as pb
from components.provider.manifests import read_manifests
from tests.conftest import run
from tools.plan.runner import ProgramError

RESTRICTED = json.loads((Path(__file__).parent / "upstream" / "pod_security_restricted.json").read_text())["checks"]
NS = "tpod-test"
MISSING = object()


def field(obj: dict, path: str):
    for part in path.split("."):
        if not isinstance(obj, dict) or part not in obj:
            return MISSING
        obj = obj[part]
    return obj


def violations(spec: dict) -> list[str]:
    """Every restricted check the pod spec fails, by upstream's check ID."""
    out = []
    containers = spec["containers"] + spec.get("initContainers", [])
    for check_id in ("runAsNonRoot", "allowPrivilegeEscalation", "seccompProfile_restricted"):
        check = RESTRICTED[check_id]
        pod_value = field(spec, check["podField"]) if "podField" in check else MISSING
        pod_ok = pod_value in check["allowed"] if pod_value is not MISSING else False
        if pod_value is not MISSING and not pod_ok:
            out.append(check_id)
            continue
        for c in containers:
            value = field(c, check["containerField"])
            if value is MISSING:
                if not (check["containerMayInheritFromPod"] and pod_ok):
                    out.append(check_id)
                    break
            elif value not in check["allowed"]:
                out.append(check_id)
                break
    caps = RESTRICTED["capabilities_restricted"]
    for c in containers:
        drop, add = field(c, caps["dropField"]), field(c, caps["addField"])
        if drop is MISSING or caps["dropMustInclude"] not in drop or (add is not MISSING and set(add) - set(caps["addAllowed"])):
            out.append("capabilities_restricted")
            break
    allowed = set(RESTRICTED["restrictedVolumes"]["allowedVolumeSources"])
    if any(not (set(v) - {"name"}) <= allowed for v in spec.get("volumes", [])):
        out.append("restrictedVolumes")
    return out


def example_pods():
    return read_manifests("pods", ".", "pods.example.org")


@pytest.mark.parametrize("pod", example_pods(), ids=lambda p: p.name)
def test_a_restricted_pod_passes_every_restricted_check_and_a_baseline_one_does_not(pod):
    restricted = pb.deployment(pod, NS, restricted=True)["spec"]["template"]["spec"]
    assert violations(restricted) == []
    # The evaluator is not vacuous: the baseline pod fails exactly the checks restricted adds.
    baseline = pb.deployment(pod, NS)["spec"]["template"]["spec"]
    assert violations(baseline) == ["runAsNonRoot", "capabilities_restricted"]


def test_the_namespace_enforces_the_level_the_pod_was_built_for():
    pod = example_pods()[0]
    label = "pod-security.kubernetes.io/enforce"
    assert pb.namespace(pod, NS, "{}", restricted=True)["metadata"]["labels"][label] == "restricted"
    assert pb.namespace(pod, NS, "{}")["metadata"]["labels"][label] == "baseline"


def _named(plan, prefix):
    return {r.name: r for r in plan.resources if r.name.startswith(prefix)}


def test_the_stack_restricts_only_the_pods_the_operator_names():
    plan = run("provider", ["provider.restrictedPods[0]=hello"])
    hello, game = _named(plan, "pod-hello"), _named(plan, "pod-game")
    assert hello["pod-hello-ns"].inputs["metadata"]["labels"]["pod-security.kubernetes.io/enforce"] == "restricted"
    assert violations(hello["pod-hello-deployment"].inputs["spec"]["template"]["spec"]) == []
    assert game["pod-game-ns"].inputs["metadata"]["labels"]["pod-security.kubernetes.io/enforce"] == "baseline"


def test_a_restricted_pod_that_is_no_manifest_is_one_error_line():
    with pytest.raises(ProgramError) as e:
        run("provider", ["provider.restrictedPods[0]=helo"])
    assert e.value.registered == 0  # refused before anything is declared
    assert str(e.value) == ("pegasus:provider.restrictedPods: names 'helo', which is no pod manifest in pods/; "
                            "remove it or fix the name")
