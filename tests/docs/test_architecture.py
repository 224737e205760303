"""docs/architecture.md stays true: every package under components/ and pegasus/ is in its map."""

from __future__ import annotations

from tests.conftest import PROJECT


def packages(root: str) -> list[str]:
    return sorted(str(p.parent.relative_to(PROJECT)) + "/" for p in (PROJECT / root).rglob("__init__.py"))


def test_every_package_is_in_the_architecture_map():
    page = (PROJECT / "docs" / "architecture.md").read_text()
    rows = {line.split("|")[1].strip().strip("`") for line in page.splitlines() if line.startswith("| `")}
    found = packages("components") + packages("pegasus")
    assert "components/testnet/" in found and "pegasus/chain/" in found
    missing = [p for p in found if p not in rows and p != "components/"]  # components/ itself is only a folder of packages
    assert missing == [], f"add these packages to docs/architecture.md's package map: {missing}"


def test_every_blueprint_with_parts_of_its_own_has_one_package_and_one_stack():
    from stacks import BLUEPRINTS

    for bp in BLUEPRINTS:
        assert (PROJECT / "stacks" / f"{bp}.py").is_file()
        if bp != "validator":  # the core blueprint is built from the shared packages only
            assert (PROJECT / "components" / bp / "__init__.py").is_file()
            assert (PROJECT / "components" / bp / "config.py").is_file(), f"{bp}'s config parser belongs in components/{bp}/"
