"""docs/examples/ workflows: the same GitHub workflow schema, zizmor audit and pins as the
repository's own (tests/tools/test_workflows.py)."""

from __future__ import annotations

import re
import subprocess

import yaml

from tests.conftest import PROJECT
from tests.tools.test_workflows import BIN

EXAMPLES = PROJECT / "docs" / "examples"


def test_examples_validate_against_the_github_workflow_schema():
    files = sorted(str(p) for p in EXAMPLES.glob("*.yml"))
    assert [p.rsplit("/", 1)[-1] for p in files] == ["daemon-image.yml"]
    out = subprocess.run([str(BIN / "check-jsonschema"), "--builtin-schema", "vendor.github-workflows", *files],
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stdout + out.stderr


def test_examples_pass_zizmor_offline():
    # Given a folder, zizmor collects only .github/workflows under it: the files are named.
    files = sorted(str(p) for p in EXAMPLES.glob("*.yml"))
    out = subprocess.run([str(BIN / "zizmor"), "--offline", *files], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stdout + out.stderr
    assert "No findings to report" in out.stdout


def test_example_actions_are_pinned_and_credentials_are_oidc_only():
    text = (EXAMPLES / "daemon-image.yml").read_text()
    for uses in re.findall(r"uses:\s*(\S+)", text):
        assert re.fullmatch(r"[\w.-]+/[\w.-]+@[0-9a-f]{40}", uses), uses
    for forbidden in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "credentials_json", "GOOGLE_CREDENTIALS"):
        assert forbidden not in text
    doc = yaml.safe_load(text)
    assert doc["jobs"]["build"]["permissions"] == {"contents": "read", "id-token": "write"}


def test_daemon_image_builds_as_o1s_dockerfile_expects():
    """The example follows MinaProtocol/mina dockerfiles/Dockerfile-mina-daemon (read into the
    testnet fixture): context dockerfiles/, only the ARGs it declares, a published package
    version, and a network-less package whose image tag Pegasus accepts for testnet.image."""
    import json

    from components.testnet.config import _refuse_network_image

    build = json.loads((PROJECT / "tests" / "testnet" / "upstream" / "mina-daemon-3.1.0.json").read_text())["image_build"]
    text = (EXAMPLES / "daemon-image.yml").read_text()
    doc = yaml.safe_load(text)
    on = doc.get(True, doc.get("on"))
    inputs = on["workflow_dispatch"]["inputs"]
    assert inputs["deb_version"]["required"] is True
    steps = {s.get("name"): s for s in doc["jobs"]["build"]["steps"]}
    command = steps["Build"]["run"]
    # The build context is dockerfiles/ of the checked-out daemon repository, where the
    # Dockerfile's COPY sources live.
    checkout = doc["jobs"]["build"]["steps"][0]["with"]
    assert checkout["repository"] == "MinaProtocol/mina" and build["context"].startswith("dockerfiles/")
    assert command.split()[:4] == ["docker", "build", f"{checkout['path']}/dockerfiles", "--file"]
    assert command.split()[4] == f"{checkout['path']}/{build['dockerfile']['path']}"
    args = re.findall(r'--build-arg "([a-z_]+)=', command)
    assert sorted(args) == sorted(build["args"])
    # Every network offered is a network-less package, and the tag it produces is accepted.
    assert inputs["network"]["options"] == sorted(build["network_less_packages"], reverse=True)
    for network in inputs["network"]["options"]:
        _refuse_network_image("testnet.image", f"registry.example.org/mina-daemon:3.1.0-ae112d3-bullseye-{network}")
    tag = '"$REGISTRY/$REPOSITORY:$DEB_VERSION-$DEB_CODENAME-$NETWORK"'
    assert tag in command and tag in steps["Push"]["run"]
    # Inputs reach the shell through the environment only (no template injection).
    assert "${{ inputs" not in command and "${{ inputs" not in steps["Push"]["run"]
