"""Deterministic plans, and `python -m tools.plan --diff BASE.json`: what a change creates,
updates (with the changed input paths) and deletes, the way a Pulumi user reads a preview."""

from __future__ import annotations

import json

import pytest

from tests.conftest import PROJECT
from tools.plan.__main__ import main
from tools.plan.diff import changed_paths


def cli(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


@pytest.mark.parametrize("stack", ["eks", "gke"])
def test_two_plans_of_one_config_are_byte_identical(tmp_path, capsys, stack):
    first, second = tmp_path / "1.json", tmp_path / "2.json"
    assert cli(capsys, "--stack", stack, "--quiet", "--json", str(first))[0] == 0
    assert cli(capsys, "--stack", stack, "--quiet", "--json", str(second))[0] == 0
    assert first.read_bytes() == second.read_bytes()
    urns = [r["urn"] for r in json.loads(first.read_text())["resources"]]
    assert urns == sorted(urns)


@pytest.fixture
def grown_snapshot(tmp_path):
    doc = json.loads((PROJECT / "chain" / "snapshot.dev.json").read_text())
    new = dict(doc["Chainlets"][-1], chainId="newgame_2900000000000001-1", chainletName="newgame", spawnTime="2025-06-01T00:00:00Z")
    doc["Chainlets"].append(new)
    path = tmp_path / "snapshot.json"
    path.write_text(json.dumps(doc))
    return path


def test_diff_lists_creates_updates_with_paths_and_deletes(tmp_path, capsys, grown_snapshot):
    base = tmp_path / "base.json"
    assert cli(capsys, "--quiet", "--json", str(base))[0] == 0
    code, out, err = cli(capsys, "--quiet", "--diff", str(base), "--set", f"chain.snapshot={grown_snapshot}",
                         "--set", "spc.enabled=false", "--set", "ingress.controllerReplicas=3")
    assert code == 0, err
    report = out[out.index(f"Changes against {base}, as `pulumi preview` would show them:"):]
    lines = report.splitlines()
    assert "  + create chainlet-newgame_2900000000000001-1-data (kubernetes:core/v1:PersistentVolumeClaim)" in lines
    assert "  - delete spc-workload (kubernetes:apps/v1:StatefulSet)" in lines
    assert "  - delete spc-data (kubernetes:core/v1:PersistentVolumeClaim) [protected: pulumi up refuses to delete it]" in lines
    release = lines.index("  ~ update ingress-controller (kubernetes:helm.sh/v3:Release)")
    assert lines[release + 1] == "        ~ values.controller.replicaCount"
    tcp = lines.index("  ~ update ingress-tcp-services (kubernetes:core/v1:ConfigMap)")
    assert lines[tcp + 1] == '        + data["20006"]'
    assert "  outputs: ~chainlets, ~platformChainP2pAddress" in lines
    assert lines[-1] == "Resources: 5 to create, 5 to update, 7 to delete, 47 unchanged"


def test_diff_of_the_same_config_shows_no_changes(tmp_path, capsys):
    base = tmp_path / "base.json"
    assert cli(capsys, "--stack", "eks", "--quiet", "--json", str(base))[0] == 0
    code, out, err = cli(capsys, "--stack", "eks", "--quiet", "--diff", str(base))
    assert code == 0
    assert "\n  no resource changes\nResources: 0 to create, 0 to update, 0 to delete, " in out


@pytest.mark.parametrize("content, message", [
    (None, "cannot read it: No such file or directory"),
    ("{", "is not valid JSON: Expecting property name enclosed in double quotes: line 1 column 2 (char 1)"),
    ('{"stack": "dev"}', "is not a plan written by `python -m tools.plan --json` (no resources list with URNs)"),
])
def test_a_bad_diff_file_is_one_line_and_exit_2_before_planning(tmp_path, capsys, content, message):
    path = tmp_path / "base.json"
    if content is not None:
        path.write_text(content)
    code, out, err = cli(capsys, "--diff", str(path))
    assert (code, out, err) == (2, "", f"error: --diff {path}: {message}\n")


def test_changed_paths_quote_keys_that_are_not_names():
    before = {"metadata": {"labels": {"app.kubernetes.io/name": "a"}}, "spec": {"ports": [1, 2]}}
    after = {"metadata": {"labels": {"app.kubernetes.io/name": "b"}}, "spec": {"ports": [1]}, "data": {}}
    assert changed_paths(before, after) == [
        ("+", "data"), ("~", 'metadata.labels["app.kubernetes.io/name"]'), ("-", "spec.ports[1]"),
    ]
