"""What the Stack objects and the watcher hand to PKO, checked against PKO v2.9.0 itself:
tests/operator/upstream/pko-v2.9.0.json holds names read from pulumi/pulumi-kubernetes-operator
at tag v2.9.0 (each entry names its path), cross-checked here against the CRDs of the chart we
pin (charts/pulumi-kubernetes-operator-2.9.0.tgz) and their copies in schemas/crds/."""

from __future__ import annotations

import json
import re
import tarfile

import pytest
import yaml

from components.operator import config as oc
from components.operator import pko_builder as pb
from components.operator import watcher
from pegasus import sharding
from tests.conftest import PROJECT
from tests.operator.crd import crd, schema
from tests.operator.test_pko_builder import settings

UPSTREAM = json.loads((PROJECT / "tests" / "operator" / "upstream" / "pko-v2.9.0.json").read_text())
CHART = PROJECT / "charts" / "pulumi-kubernetes-operator-2.9.0.tgz"
CRD_FILES = ("pulumi.com_stacks.yaml", "pulumi.com_programs.yaml", "auto.pulumi.com_workspaces.yaml", "auto.pulumi.com_updates.yaml")


def all_variants() -> list[dict]:
    full = settings(branch=None, commit="0" * 40, repoDir="x", repoToken={"secret": "g", "key": "t"})
    return (pb.stack_objects(settings(), "prod", ["prod-shard-0"])
            + pb.stack_objects(full, "prod", ["prod-shard-0"], config={"k": "v"}))


def test_fixture_names_its_source():
    assert UPSTREAM["_source"]["repository"] == "pulumi/pulumi-kubernetes-operator"
    assert UPSTREAM["_source"]["tag"] == "v2.9.0"
    assert all(entry["path"].startswith("operator/") for name, entry in UPSTREAM.items() if name != "_source")


def test_the_chart_ships_the_crds_we_validate_against():
    with tarfile.open(CHART) as tar:
        chart = yaml.safe_load(tar.extractfile("pulumi-kubernetes-operator/Chart.yaml").read())
        assert (chart["version"], chart["appVersion"]) == ("2.9.0", UPSTREAM["_source"]["tag"])
        for name in CRD_FILES:
            shipped = tar.extractfile(f"pulumi-kubernetes-operator/crds/{name}").read()
            assert shipped == (PROJECT / "schemas" / "crds" / name).read_bytes(), name


def test_fixture_agrees_with_the_crd():
    # Two artifacts of the same release: the Go types and the CRD generated from them.
    spec = schema("pulumi.com_stacks.yaml", "v1")["properties"]["spec"]
    assert sorted(UPSTREAM["stackSpec"]["fields"]) == sorted(spec["properties"])
    status = schema("pulumi.com_stacks.yaml", "v1")["properties"]["status"]["properties"]
    assert sorted(UPSTREAM["stackStatus"]["fields"]) == sorted(status)
    assert sorted(UPSTREAM["stackUpdateState"]["fields"]) == sorted(status["lastUpdate"]["properties"])


def test_every_spec_field_we_emit_is_pkos():
    for obj in all_variants():
        spec = obj["spec"]
        assert set(spec) <= set(UPSTREAM["stackSpec"]["fields"]), obj["metadata"]["name"]
        for prereq in spec.get("prerequisites", []):
            assert set(prereq) <= set(UPSTREAM["prerequisiteRef"]["fields"])
            assert set(prereq["requirement"]) <= set(UPSTREAM["requirementSpec"]["fields"])
        refs = list(spec.get("envRefs", {}).values()) + list(spec.get("gitAuth", {}).values())
        assert set(spec.get("gitAuth", {})) <= set(UPSTREAM["gitAuthConfig"]["fields"])
        for ref in refs:
            assert set(ref) <= set(UPSTREAM["resourceRef"]["fields"])
            assert ref["type"] in UPSTREAM["resourceRef"]["types"]
            # A namespace in a SecretSelector is refused while PKO isolates namespaces.
            assert set(ref["secret"]) == set(UPSTREAM["secretSelector"]["fields"]) - {"namespace"}


def test_the_variants_use_every_field_they_claim():
    emitted = set().union(*(obj["spec"] for obj in all_variants()))
    assert {"gitAuth", "commit", "branch", "repoDir", "config", "prerequisites", "envRefs"} <= emitted


def test_the_reconcile_request_annotation_is_pkos():
    assert watcher.RECONCILE_REQUEST == UPSTREAM["reconcileRequestAnnotation"]["value"] == "pulumi.com/reconciliation-request"


def test_the_watcher_reads_status_fields_pko_writes():
    assert "outputs" in UPSTREAM["stackStatus"]["fields"]
    assert watcher.SECRET_OUTPUT == UPSTREAM["secretOutputValue"]["value"]
    assert (watcher.GROUP, watcher.VERSION, watcher.PLURAL) == (
        crd("pulumi.com_stacks.yaml")["spec"]["group"], "v1", crd("pulumi.com_stacks.yaml")["spec"]["names"]["plural"])


def test_object_names_leave_room_for_pkos_workspace_names():
    suffix = UPSTREAM["workspaceStatefulSetSuffix"]["value"]
    assert UPSTREAM["workspaceNameIsStackName"]["value"] is True
    assert watcher.WORKSPACE_SUFFIX == suffix
    longest = "a" * watcher.MAX_OBJECT_NAME
    assert watcher.stack_object_name(longest) == longest
    # <name>-workspace-<10-char revision hash>: a label value, at most 63 characters.
    assert len(f"{longest}{suffix}-0123456789") == 63


def test_resync_minimum_is_pkos():
    assert oc.MIN_RESYNC_SECONDS == UPSTREAM["minResyncFrequencySeconds"]["value"]


@pytest.mark.parametrize("output", sharding.PLATFORM_OUTPUTS)
def test_platform_outputs_are_valid_output_names(output):
    # PKO copies outputs through a Secret keyed by output name, replacing what a Secret key
    # cannot hold (outputsToSecret); the watcher reads them under their own names.
    assert re.search(UPSTREAM["outputKeyReplaced"]["pattern"], output) is None
