"""Contract tests: every go-spacemesh config key and flag, and every PoET flag, env variable
and route that the builders emit exists upstream at the version the example stack pins.

The fixtures in tests/spacemesh/upstream/ are lists of names read from the upstream sources
(their headers name the repository, tag, commit and files); nothing here is derived from our
own code."""

from __future__ import annotations

import json
from pathlib import Path

import yaml

from components.spacemesh import builder as sb
from components.spacemesh import workload_builder as swb
from tests.spacemesh.test_builders import settings

UPSTREAM = Path(__file__).parent / "upstream"
PROJECT = Path(__file__).resolve().parents[2]


def fixture(name: str) -> dict:
    return json.loads((UPSTREAM / name).read_text())


GS = fixture("go-spacemesh-v1.7.6.json")
POET = fixture("poet-v0.10.8.json")


def example_settings():
    raw = yaml.safe_load((PROJECT / "Pulumi.spacemesh.yaml").read_text())["config"]
    return raw["pegasus:spacemesh"]


def flag_names(args) -> set[str]:
    return {a[2:].split("=", 1)[0] for a in args if a.startswith("--")}


def key_paths(config: dict, prefix: str = "") -> set[str]:
    out = set()
    for k, v in config.items():
        if isinstance(v, dict) and prefix == "":
            out |= key_paths(v, f"{k}.")
        else:
            out.add(prefix + k)
    return out


def variants():
    yield settings()
    yield settings(metrics=True, pyroscope={"miners": [4]}, bootnodeAddressing="hostPort")


def test_the_example_pins_the_versions_the_fixtures_were_read_at():
    sm = example_settings()
    assert sm["image"] == f"spacemeshos/go-spacemesh:{GS['tag']}"
    assert sm["poetImage"] == f"spacemeshos/poet:{POET['tag']}"


def test_every_config_key_the_builders_write_is_a_go_spacemesh_key():
    for s in variants():
        plans = sb.plan_nodes(s)
        ns = sb.namespace(s.network)
        rendered = list(sb.role_configs({}, s, plans, ns).values())
        rendered.append(sb.public_config({}, s, ["/dns4/a/tcp/1/p2p/x"], "http://poet"))
        for config in rendered:
            for path in key_paths(config):
                section, _, key = path.partition(".")
                assert section in GS["sections"], path
                assert key in GS["keys"][section], path
            for server in config["main"]["poet-servers"]:
                assert set(server) <= set(GS["poetServerFields"])


def test_every_node_flag_is_a_go_spacemesh_flag():
    emitted = set()
    for s in variants():
        ns = sb.namespace(s.network)
        for p in sb.plan_nodes(s):
            emitted |= flag_names(sb.node_args(s, p, ns, "http://pyroscope:4040"))
            spec = swb.node_spec(s, p, ns, "gke", "c", None)
            if spec.advertise_arg:
                emitted.add(spec.advertise_arg[2:])
    assert emitted - set(GS["flags"]) == set()
    assert {"config", "data-folder", "listen", "smeshing-coinbase", "poet-servers", "p2p-bootnode"} <= emitted


def test_every_poet_flag_is_a_poet_flag():
    for s in variants():
        for i in range(s.poets):
            spec = swb.poet_spec(s, i, sb.namespace(s.network), None)
            assert flag_names(spec.workload.args) - set(POET["flags"]) == set()


def test_nothing_calls_a_poet_route_that_does_not_exist():
    # The only PoET routes at the pinned tag; /v1/start is not one of them.
    assert {r["path"] for r in POET["routes"]} == {"/v1/pow_params", "/v1/submit", "/v1/info", "/v1/proofs/{round_id}"}
    sources = "".join(p.read_text() for p in (PROJECT / "components" / "spacemesh").glob("*.py"))
    assert "/v1/start" not in sources.replace("POST /v1/start", "")  # named only in a comment about its removal
