"""checkov over the example stacks' manifests: every failure fixed or explained."""

from __future__ import annotations

from tools import scan


def report(failed, passed=10):
    return {"summary": {"passed": passed, "failed": len(failed), "parsing_errors": 0},
            "results": {"failed_checks": [
                {"check_id": c, "check_name": n, "resource": r, "file_path": f"/{s}/x.yaml"} for c, n, r, s in failed]}}


SKIPS = [{"check": "CKV_K8S_23", "resources": ["StatefulSet.saga-*.chainlet"], "reason": "root image"},
         {"check": "CKV_K8S_15", "resources": ["StatefulSet.sagasrv-spc.spc"], "reason": "pinned"}]


def test_classify_explains_listed_failures_and_flags_the_rest():
    result = scan.classify(report([
        ("CKV_K8S_23", "root", "StatefulSet.saga-a-1-1.chainlet", "dev"),
        ("CKV_K8S_23", "root", "StatefulSet.kube-system.other", "dev"),
    ]), SKIPS)
    assert [f.resource for f, _ in result.explained] == ["StatefulSet.saga-a-1-1.chainlet"]
    assert [(f.check, f.resource, f.stack) for f in result.unexplained] == [("CKV_K8S_23", "StatefulSet.kube-system.other", "dev")]
    assert result.unused_skips == ["CKV_K8S_15 ['StatefulSet.sagasrv-spc.spc']"]
    assert not result.ok


def test_every_skip_has_a_reason():
    for skip in scan.load_skips():
        assert len(skip["reason"].split()) >= 8, skip["check"]


def test_checkov_on_the_example_stacks_passes_with_only_reasoned_skips():
    result = scan.scan()
    assert result.unexplained == []
    assert result.unused_skips == []
    assert result.parsing_errors == 0
    assert result.passed > 1500
    assert {f.stack for f in result.failed} <= set(scan.STACKS)
