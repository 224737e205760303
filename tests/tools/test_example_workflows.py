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
    on = doc.get(True, doc.get("on"))
    assert on["push"]["branches"] == ["main", "release/**", "testnet/**"]
    assert doc["jobs"]["build"]["permissions"] == {"contents": "read", "id-token": "write"}
    # The image is tagged by its commit: one image per commit of the designated branches.
    assert '"$REGISTRY/$REPOSITORY:$GITHUB_SHA"' in text
