"""Pulumi.yaml, the stack files and the requirements, checked against their schemas and
against the config reference in pegasus/config/."""

from __future__ import annotations

import json
import re

import jsonschema
import pytest
import yaml

from pegasus import config
from tests.conftest import PROJECT

SCHEMA = PROJECT / "schemas" / "pulumi-project.schema.json"


def project() -> dict:
    return yaml.safe_load((PROJECT / "Pulumi.yaml").read_text())


def test_pulumi_yaml_validates_against_the_project_schema():
    schema = json.loads(SCHEMA.read_text())
    jsonschema.validate(project(), schema)


def test_pulumi_yaml_runtime():
    p = project()
    assert p["name"] == "pegasus"
    assert p["runtime"] == {"name": "python", "options": {"toolchain": "pip", "virtualenv": "venv"}}
    assert p["description"].strip()


def test_every_typeable_key_is_declared_with_description_and_default():
    declared = project()["config"]
    typeable = {k.path: k for k in config.KEYS if k.type != "object" and "." not in k.path}
    assert set(declared) == set(typeable)
    for path, key in typeable.items():
        decl = declared[path]
        assert decl["type"] == key.type
        assert decl["description"].strip()
        assert decl["default"] == key.default


def test_structured_keys_cannot_be_declared_so_they_are_sections():
    # Each dotted key lives under a section object, which the project schema cannot type.
    sections = {k.path.split(".")[0] for k in config.KEYS if "." in k.path}
    assert sections == set(config.SECTIONS)


@pytest.mark.parametrize("stack", ["dev", "eks", "gke"])
def test_stack_files_parse_with_the_config_module(stack):
    doc = yaml.safe_load((PROJECT / f"Pulumi.{stack}.yaml").read_text())
    raw = {k.split(":", 1)[1]: v for k, v in doc["config"].items() if k.startswith("pegasus:")}
    s = config.parse(raw, project="pegasus", stack=stack)
    assert s.cluster.provider == {"dev": "existing", "eks": "eks", "gke": "gke"}[stack]


def test_secrets_providers_in_stack_files():
    providers = {s: yaml.safe_load((PROJECT / f"Pulumi.{s}.yaml").read_text()).get("secretsprovider") for s in ("dev", "eks", "gke")}
    assert providers["dev"] == "passphrase"
    assert providers["eks"].startswith("awskms://")
    assert providers["gke"].startswith("gcpkms://")


# The engine-coupled SDKs are pinned exactly: the e2e toolchain builds the CLI and the
# kubernetes provider for these versions (e2e/toolchain/build.sh).
EXACT_PINS = {"pulumi", "pulumi-kubernetes"}


def test_requirements_have_major_version_bounds():
    required = {"pulumi", "pulumi-aws", "pulumi-eks", "pulumi-kubernetes", "pulumi-gcp", "pulumi-cloudflare", "pulumi-policy"}
    found = {}
    for line in (PROJECT / "requirements.txt").read_text().splitlines():
        line = line.split("#")[0].strip()
        if line:
            m = re.match(r"^([A-Za-z0-9_.-]+)(.*)$", line)
            found[m.group(1).lower()] = m.group(2)
    assert required <= set(found)
    for name, spec in found.items():
        if name in EXACT_PINS:
            assert re.fullmatch(r"==[0-9]+\.[0-9]+\.[0-9]+", spec), f"{name} is pinned exactly (the e2e toolchain runs it): {spec}"
            continue
        assert re.search(r">=\s*[0-9]", spec) and re.search(r"<\s*[0-9]+", spec), f"{name} needs a major-version bound: {spec}"
    assert "pytest" not in found, "test-only packages belong in requirements-dev.txt"


def _pins() -> dict:
    pins = {}
    for line in (PROJECT / "requirements.txt").read_text().splitlines():
        m = re.match(r"^([A-Za-z0-9_.-]+)==([0-9.]+)", line)
        if m:
            pins[m.group(1).lower()] = m.group(2)
    return pins


def _toolchain_versions() -> dict:
    text = (PROJECT / "e2e" / "toolchain" / "build.sh").read_text()
    return dict(re.findall(r"^([A-Z0-9_]+_VERSION)=([0-9.]+)$", text, re.M))


def test_e2e_toolchain_runs_the_pinned_sdks():
    """The kubernetes provider the e2e suite runs is the exact version the Python SDK asks for,
    and the CLI is never older than the Python SDK (a newer CLI supports older SDKs)."""
    pins, built = _pins(), _toolchain_versions()
    assert built["K8S_PROVIDER_VERSION"] == pins["pulumi-kubernetes"]
    as_tuple = lambda v: tuple(int(x) for x in v.split("."))
    assert as_tuple(built["PULUMI_VERSION"]) >= as_tuple(pins["pulumi"])


def test_docs_config_reference_is_the_generated_one():
    from tools import configdoc

    page = (PROJECT / "docs" / "config.md").read_text()
    start, end = page.index(configdoc.BEGIN), page.index(configdoc.END) + len(configdoc.END)
    assert page[start:end] == configdoc.block(), "run `venv/bin/python -m tools.configdoc` and paste it into docs/config.md"


def test_readme_gives_the_two_setup_commands_and_ci_runs_the_test_one():
    readme = (PROJECT / "README.md").read_text()
    assert "make plan" in readme and "make test" in readme
    ci = (PROJECT / ".ci" / "run").read_text()
    assert ci.strip().splitlines()[-1] == "make test"
    makefile = (PROJECT / "Makefile").read_text()
    assert "STACK ?= dev" in makefile and "venv/bin/python -m tools.plan --stack $(STACK)" in makefile
    # `make test` is the unit suite and the e2e suite, the toolchain built first when cold.
    test_rule = makefile.split("\ntest:", 1)[1].split("\n\n", 1)[0]
    assert "toolchain" in test_rule.splitlines()[0] and "venv/bin/python -m pytest -q\n" in test_rule + "\n"
