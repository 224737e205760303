"""`python -m tools.plan` inputs and outputs as a user meets them: output paths, stack names,
stack files, `--set` values, and the small flags. Each checks the exit code and the message."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
import yaml

from tests.conftest import PROJECT
from tools.plan.__main__ import main


def cli(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


# ---------------------------------------------------------------------------- --json


def test_json_into_a_missing_folder_creates_it(tmp_path, capsys):
    path = tmp_path / "out" / "plans" / "dev.json"
    code, out, err = cli(capsys, "--quiet", "--json", str(path))
    assert code == 0, err
    assert json.loads(path.read_text())["stack"] == "dev"
    assert f"Plan written to {path}" in out


def test_json_that_cannot_be_written_is_one_line_before_planning(tmp_path, capsys):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    code, out, err = cli(capsys, "--json", str(blocker / "plan.json"))
    assert (code, out) == (2, "")
    assert err == f"error: --json {blocker / 'plan.json'}: cannot create its folder: File exists\n"
    code, out, err = cli(capsys, "--json", str(tmp_path))
    assert code == 2 and err == f"error: --json {tmp_path}: is a folder; give a file name, like {tmp_path / 'plan.json'}\n"


def test_json_dash_writes_pure_json_to_stdout_and_the_summary_to_stderr():
    out = subprocess.run([sys.executable, "-m", "tools.plan", "--quiet", "--json", "-"], cwd=PROJECT,
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    doc = json.loads(out.stdout)
    assert (doc["project"], doc["stack"]) == ("pegasus", "dev")
    assert out.stderr.startswith("Plan for stack dev of project pegasus")
    assert "Resources:" in out.stderr


# ---------------------------------------------------------------------------- --manifests


def test_manifests_refuse_a_folder_they_did_not_write(tmp_path, capsys):
    (tmp_path / "notes.txt").write_text("mine")
    code, out, err = cli(capsys, "--manifests", str(tmp_path))
    assert (code, out) == (2, "")
    assert err == (f"error: --manifests {tmp_path}: is not empty and was not written by tools.plan "
                   "(it has no .pegasus-manifests file); give an empty or new folder\n")
    assert (tmp_path / "notes.txt").read_text() == "mine"


def test_manifests_replace_their_own_earlier_output_completely(tmp_path, capsys):
    out_dir = tmp_path / "m"
    assert cli(capsys, "--quiet", "--manifests", str(out_dir))[0] == 0
    spc = out_dir / "sagasrv-spc" / "StatefulSet-spc.yaml"
    assert spc.exists()
    code, out, err = cli(capsys, "--quiet", "--manifests", str(out_dir), "--set", "spc.enabled=false")
    assert code == 0, err
    assert not spc.exists() and not (out_dir / "sagasrv-spc").exists()  # no stale object survives
    marker = json.loads((out_dir / ".pegasus-manifests").read_text())
    on_disk = sorted(str(p.relative_to(out_dir)) for p in out_dir.rglob("*") if p.is_file() and p.name != ".pegasus-manifests")
    assert marker["files"] == on_disk
    # A file added by hand among ours is not deleted, and the run is refused.
    (out_dir / "extra.yaml").write_text("kind: ConfigMap\n")
    code, out, err = cli(capsys, "--manifests", str(out_dir))
    assert code == 2 and err == f"error: --manifests {out_dir}: holds extra.yaml, which tools.plan did not write; move it away or give another folder\n"


# ---------------------------------------------------------------------------- stacks


def test_config_file_takes_the_stack_name_from_the_file_name(tmp_path, capsys):
    stack = tmp_path / "Pulumi.prod-use1.yaml"
    stack.write_text((PROJECT / "Pulumi.dev.yaml").read_text())
    path = tmp_path / "p.json"
    code, out, err = cli(capsys, "--config-file", str(stack), "--quiet", "--json", str(path))
    assert code == 0, err
    assert out.startswith("Plan for stack prod-use1 of project pegasus")
    doc = json.loads(path.read_text())
    assert doc["stack"] == "prod-use1"
    assert all(r["urn"].startswith("urn:pulumi:prod-use1::pegasus::") for r in doc["resources"])
    code, out, err = cli(capsys, "--config-file", str(stack), "--stack", "other", "--quiet")
    assert code == 0 and out.startswith("Plan for stack other of project pegasus")


def test_config_file_without_a_stack_name_needs_stack(tmp_path, capsys):
    stack = tmp_path / "mine.yaml"
    stack.write_text("config: {}\n")
    code, out, err = cli(capsys, "--config-file", str(stack))
    assert code == 2
    assert err == (f"error: --config-file {stack}: cannot tell the stack from the file name (Pulumi.<stack>.yaml); "
                   "give --stack NAME as well\n")


def test_an_unknown_stack_lists_the_stacks_that_exist(capsys):
    code, out, err = cli(capsys, "--stack", "nope")
    assert code == 2
    assert err == (f"error: no stack 'nope': {PROJECT / 'Pulumi.nope.yaml'} does not exist; the stacks here are dev, eks, fleet, gke, provider, spacemesh, testnet, testnet-cloud "
                   "(or give --config-file PATH)\n")


@pytest.mark.parametrize("text, key, lines", [
    ("config:\n  pegasus:chain:\n    source: snapshot\n    snapshot: chain/snapshot.dev.json\n    source: rest\n",
     "pegasus:chain.source", (3, 5)),
    ("config:\n  pegasus:ingress:\n    shardSize: 5\n  pegasus:ingress:\n    basePort: 2000\n", "pegasus:ingress", (2, 4)),
    ("config:\n  pegasus:karpenter:\n    disruptionBudgets:\n      - nodes: '1'\n        nodes: '2'\n",
     "pegasus:karpenter.disruptionBudgets[0].nodes", (4, 5)),
])
def test_a_key_set_twice_in_a_stack_file_is_an_error_naming_both_lines(tmp_path, capsys, text, key, lines):
    stack = tmp_path / "Pulumi.dup.yaml"
    stack.write_text(text)
    code, out, err = cli(capsys, "--config-file", str(stack))
    assert code == 2
    assert err == f"error: stack file {stack}: {key} is set twice, on lines {lines[0]} and {lines[1]}; keep one of them\n"


# ---------------------------------------------------------------------------- --set


@pytest.mark.parametrize("value, planned", [("1.30", "1.30"), ('"1.30"', "1.30"), ("1.35", "1.35")])
def test_set_keeps_a_string_key_as_typed(tmp_path, capsys, value, planned):
    path = tmp_path / "p.json"
    code, out, err = cli(capsys, "--stack", "eks", "--quiet", "--set", f"cluster.kubernetesVersion={value}", "--json", str(path))
    assert code == 0, err
    [cluster] = [r for r in json.loads(path.read_text())["resources"] if r["type"] == "eks:index:Cluster"]
    assert cluster["inputs"]["version"] == planned


def test_set_1_3_is_the_version_1_3_and_refused_as_such(capsys):
    code, out, err = cli(capsys, "--stack", "eks", "--set", "cluster.kubernetesVersion=1.3")
    assert code == 1
    assert "error: pegasus:cluster.kubernetesVersion: must be a minor version between 1.25 and 1.37, like 1.35; got '1.3'" in err


def test_set_types_values_by_the_declared_type(tmp_path, capsys):
    path = tmp_path / "p.json"
    code, out, err = cli(capsys, "--quiet", "--json", str(path), "--set", "ingress.shardSize=5", "--set", "spc.chainId=1.10",
                         "--set", "spc.env.GENESIS=12", "--set", "chainlets.allowSlotChanges=true")
    assert code == 0, err
    by_name = {r["name"]: r for r in json.loads(path.read_text())["resources"]}
    assert by_name["chain-state"]["inputs"]["shardSize"] == 5
    assert by_name["chain-state"]["inputs"]["allowSlotChanges"] is True
    env = {e["name"]: e.get("value") for e in by_name["spc-workload"]["inputs"]["spec"]["template"]["spec"]["containers"][0]["env"]}
    assert (env["CHAIN_ID"], env["GENESIS"]) == ("1.10", "12")  # strings stay the text typed, not 1.1


# ---------------------------------------------------------------------------- small flags


def test_quiet_keeps_the_header(capsys):
    code, out, err = cli(capsys, "--quiet")
    assert code == 0
    assert out.startswith("Plan for stack dev of project pegasus: what `pulumi up` would create\n\nResources: ")
    assert "(pulumi:pulumi:Stack)" not in out


def test_help_lists_the_exit_codes():
    out = subprocess.run([sys.executable, "-m", "tools.plan", "--help"], cwd=PROJECT, capture_output=True, text=True, timeout=60)
    assert out.returncode == 0
    assert "exit codes:\n  0  the plan ran" in out.stdout
    for line in ("  1  the program failed", "  2  usage error", "  3  --check: a mandatory policy is violated"):
        assert line in out.stdout


@pytest.mark.parametrize("sets", [
    ["cluster.provider=aks"],
    ["chain.snapshot=chain/nope.json"],
    ["chain.height=5"],
    ["chain.source=rest"],
    ["cluster.provider=eks", "cluster.region=us-east-1", "cluster.vpcCidr=10.0.0.0/24"],
    ["spc.env.MY_KEY=x"],
])
def test_program_errors_start_with_the_pegasus_key(capsys, sets):
    from pegasus.config import KEYS_BY_PATH

    code, out, err = cli(capsys, *[x for s in sets for x in ("--set", s)])
    assert code == 1
    [line] = [x for x in err.splitlines() if x.startswith("error: ")]
    key = line.removeprefix("error: pegasus:").split(": ", 1)[0]
    assert line.startswith("error: pegasus:"), line
    # The key itself, or the object key it is a field of (spc.env.MY_KEY).
    assert key.split("[")[0] in KEYS_BY_PATH or key.rsplit(".", 1)[0] in KEYS_BY_PATH, line


def test_a_marker_naming_files_outside_the_folder_is_refused(tmp_path, capsys):
    out_dir = tmp_path / "m"
    out_dir.mkdir()
    (tmp_path / "precious.txt").write_text("keep")
    (out_dir / ".pegasus-manifests").write_text(json.dumps({"files": ["../precious.txt"]}))
    code, out, err = cli(capsys, "--manifests", str(out_dir))
    assert code == 2
    assert err == f"error: --manifests {out_dir}: has a .pegasus-manifests file naming files outside the folder; give an empty or new folder\n"
    assert (tmp_path / "precious.txt").read_text() == "keep"
