"""Contract tests: every go-spacemesh config key and flag, and every PoET flag, env variable
and route that the builders emit exists upstream at the version the example stack pins.

The fixtures in tests/spacemesh/upstream/ are lists of names read from the upstream sources
(their headers name the repository, tag, commit and files); nothing here is derived from our
own code."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest
import yaml

from pegasus.errors import ConfigError

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
    yield settings(metrics=True, pyroscope={"miners": [4]}, bootnodeAddressing="hostPort",
                   dns={"zoneId": "z", "domain": "spacemesh.example.org"})


def test_the_example_pins_the_versions_the_fixtures_were_read_at():
    sm = example_settings()
    assert sm["image"] == f"spacemeshos/go-spacemesh:{GS['tag']}"
    assert sm["poetImage"] == f"spacemeshos/poet:{POET['tag']}"


def test_every_config_key_the_builders_write_is_a_go_spacemesh_key():
    for s in variants():
        plans = sb.plan_nodes(s)
        ns = sb.namespace(s.network)
        # Only what the builders add: the user's own file is theirs (replace drops it).
        cfg = dataclasses.replace(sb.node_config({"preset": "testnet"}, s), base={})
        rendered = list(sb.role_configs(cfg, s, plans, ns).values())
        rendered.append(sb.public_config(cfg, s, ["/dns4/a/tcp/1/p2p/x"], "http://poet"))
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
    # The public API nodes of the web services run the same binary.
    from components.spacemesh import ops_builder as ob
    from pegasus.config import parse
    from tests.spacemesh.test_builders import WEB, raw, with_tls

    web = parse(with_tls(raw(webServices=WEB, dns={"zoneId": "z", "domain": "spacemesh.example.org"})),
                project="pegasus", stack="t", secret_keys={"spacemeshSecrets"}).spacemesh
    assert ob.web_services(web, "ns")  # the backends take no go-spacemesh flags
    emitted |= flag_names(swb.public_api_spec(web, 0, "ns", None).workload.args)
    assert emitted - set(GS["flags"]) == set()
    assert {"config", "data-folder", "listen", "smeshing-coinbase", "smeshing-start", "poet-servers", "p2p-bootnode"} <= emitted


def test_every_poet_flag_is_a_poet_flag():
    for s in variants():
        for i in range(s.poets):
            spec = swb.poet_spec(s, sb.node_config({"preset": "testnet"}, s), i, sb.namespace(s.network), None)
            assert flag_names(spec.workload.args) - set(POET["flags"]) == set()


def test_nothing_calls_a_poet_route_that_does_not_exist():
    # The only PoET routes at the pinned tag; /v1/start is not one of them.
    assert {r["path"] for r in POET["routes"]} == {"/v1/pow_params", "/v1/submit", "/v1/info", "/v1/proofs/{round_id}"}
    sources = "".join(p.read_text() for p in (PROJECT / "components" / "spacemesh").glob("*.py"))
    assert "/v1/start" not in sources.replace("POST /v1/start", "")  # named only in a comment about its removal


def go_seconds(value: str) -> int:
    """The fixture's durations are whole hours, minutes or seconds (5m, 240h, 30s)."""
    return int(value[:-1]) * {"h": 3600, "m": 60, "s": 1}[value[-1]]


def test_the_preset_table_is_go_spacemeshs():
    from components.spacemesh.node_config import PRESETS

    for name, facts in GS["presets"].items():
        table = PRESETS[name]
        assert (table["main"]["layer-duration"], table["main"]["layers-per-epoch"], table["main"]["network-hrp"]) == \
            (facts["layer-duration"], facts["layers-per-epoch"], facts["network-hrp"])
        assert (table["poet"]["phase-shift"], table["poet"]["cycle-gap"]) == (facts["phase-shift"], facts["cycle-gap"])
        assert table["genesis"].get("genesis-time") == facts["genesis-time"]
        assert table["genesis"]["genesis-extra-data"] == facts["genesis-extra-data"]
        assert table["post"] == {k: facts[k] for k in ("post-labels-per-unit", "post-min-numunits", "post-max-numunits")}
        assert table["smeshing"] == {"smeshing-opts": {"smeshing-opts-numunits": facts["smeshing-opts-numunits"]}}
        assert set(table["post"]) <= set(GS["keys"]["post"]) and "smeshing-opts-numunits" in GS["smeshingOptsKeys"]
    assert set(PRESETS) == set(GS["presets"])


@pytest.mark.parametrize("preset", sorted(GS["presets"]))
def test_the_poets_run_the_nodes_schedule_for_each_preset(preset):
    """go-spacemesh node/node.go: a PoET's round is the node's genesis time, an epoch of
    layer-duration * layers-per-epoch, and the node's poet.phase-shift and poet.cycle-gap."""
    facts = GS["presets"][preset]
    hrp = facts["network-hrp"]
    s = settings(coinbase=f"{hrp}1qqqqqqy0dd83jemjmfj3ghjndxm0ndh3sed8cxs9ns2ut", resources={"miner": {"disk": "300Gi"}})
    # mainnet's default of 2 units is below its minimum of 4 (post_size refuses it).
    base = {"smeshing": {"smeshing-opts": {"smeshing-opts-numunits": 4}}} if preset == "mainnet" else {"preset": preset}
    cfg = sb.node_config(base, s)
    node = sb.role_configs(cfg, s, sb.plan_nodes(s), "ns")["miner"]
    node_main, node_poet = {**facts, **node.get("main", {})}, {**facts, **node.get("poet", {})}
    expected = {
        "genesis-time": node["genesis"]["genesis-time"],
        "epoch-duration": f"{go_seconds(node_main['layer-duration']) * node_main['layers-per-epoch']}s",
        "phase-shift": f"{go_seconds(node_poet['phase-shift'])}s",
        "cycle-gap": f"{go_seconds(node_poet['cycle-gap'])}s",
    }
    args = dict(a[2:].split("=", 1) for a in swb.poet_spec(s, cfg, 0, "ns", None).workload.args if "=" in a)
    assert {k: args[k] for k in expected} == expected
    assert set(expected) <= set(POET["flags"])


def test_poet_state_is_on_its_volume_and_its_key_comes_from_a_secret():
    s = settings()
    spec = swb.poet_spec(s, sb.node_config({"preset": "testnet"}, s), 0, "ns", None)
    args = dict(a[2:].split("=", 1) for a in spec.workload.args if "=" in a)
    # --poetdir holds data/, db/ and logs/ (PoET server/config.go SetupConfig): on the volume.
    assert args["poetdir"].startswith(spec.workload.data_path + "/")
    env = {name: (secret, key) for name, secret, key in spec.workload.secret_env_refs}
    assert set(env) <= set(POET["env"]) and env["POET_PRIVATE_KEY"] == ("poet-1-key", "POET_PRIVATE_KEY")


def test_the_genesis_id_is_computed_as_go_spacemesh_computes_it():
    from components.spacemesh.node_config import genesis_id

    mainnet = GS["presets"]["mainnet"]
    # go-spacemesh node/relay_test.go at v1.7.6 uses mainnet's genesis ID as its Noise prologue.
    assert genesis_id(mainnet["genesis-time"], mainnet["genesis-extra-data"]) == GS["knownGenesisIds"]["mainnet"]
    assert genesis_id("2023-07-14T10:00:00+02:00", mainnet["genesis-extra-data"]) == GS["knownGenesisIds"]["mainnet"]


POST = fixture("post-v0.12.6.json")


@pytest.mark.parametrize("preset", sorted(GS["presets"]))
def test_the_post_must_fit_the_volume_for_each_preset(preset):
    """A PoST is numunits * labels-per-unit labels of 16 bytes (spacemeshos/post); the preset's
    own numunits must lie in its [min, max] and fit the miner's disk, or the plan stops."""
    facts = GS["presets"][preset]
    coinbase = f"{facts['network-hrp']}1qqqqqqy0dd83jemjmfj3ghjndxm0ndh3sed8cxs9ns2ut"
    base = {} if preset == "mainnet" else {"preset": preset}
    units = facts["smeshing-opts-numunits"]
    if not facts["post-min-numunits"] <= units <= facts["post-max-numunits"]:
        # mainnet: go-spacemesh's default numunits (post's DefaultInitOpts) is below the minimum.
        assert (preset, units, POST["defaultInitOptsNumUnits"]) == ("mainnet", 2, 2)
        with pytest.raises(ConfigError) as e:
            sb.node_config(base, settings(coinbase=coinbase), "c.json")
        assert str(e.value) == (f"pegasus:spacemesh.configFile: smeshing.smeshing-opts.smeshing-opts-numunits is {units} in c.json, outside "
                                f"[{facts['post-min-numunits']}, {facts['post-max-numunits']}] (post.post-min-numunits, post-max-numunits); "
                                "go-spacemesh refuses to smesh with it")
        units = facts["post-min-numunits"]
        base = {"smeshing": {"smeshing-opts": {"smeshing-opts-numunits": units}}}
    size = units * facts["post-labels-per-unit"] * POST["labelBytes"]
    fits = settings(coinbase=coinbase, resources={"miner": {"disk": str(size + 1)}})
    assert sb.node_config(base, fits, "c.json").schedule.hrp == facts["network-hrp"]
    too_small = settings(coinbase=coinbase, resources={"miner": {"disk": str(size)}})
    with pytest.raises(ConfigError) as e:
        sb.node_config(base, too_small, "c.json")
    assert str(e.value).startswith(f"pegasus:spacemesh.resources.miner.disk: {size} cannot hold the PoST the nodes initialise: "
                                   f"{units} units of {facts['post-labels-per-unit']} labels of 16 bytes is ")


def test_mainnet_with_the_default_disk_is_refused_with_the_size_it_needs():
    s = settings(coinbase="sm1qqqqqqy0dd83jemjmfj3ghjndxm0ndh3sed8cxs9ns2ut")
    with pytest.raises(ConfigError) as e:
        sb.node_config({"smeshing": {"smeshing-opts": {"smeshing-opts-numunits": 4}}}, s, "networks/main.json")
    assert str(e.value) == ("pegasus:spacemesh.resources.miner.disk: 100Gi cannot hold the PoST the nodes initialise: 4 units of "
                            "4294967296 labels of 16 bytes is 256.0Gi (networks/main.json), and the node's own state shares the volume; "
                            "raise the disk or lower smeshing.smeshing-opts.smeshing-opts-numunits")


def test_a_host_port_bootnode_advertises_an_address_of_the_form_go_spacemesh_documents():
    """cmd/root.go's usage example for --advertise-address is /dns4/<host>/tcp/<port>, with no
    /p2p part; p2p/host.go advertises exactly the given addresses instead of the pod's."""
    s = settings(bootnodeAddressing="hostPort", dns={"zoneId": "z", "domain": "spacemesh.example.org"})
    spec = GS["advertiseAddress"]
    protocols = spec["usageExample"].split("/")[1::2]
    for p in sb.plan_nodes(s):
        args = [a for a in sb.node_args(s, p, "ns") if a.startswith(f"--{spec['flag']}=")]
        if p.role == "miner":
            assert args == []
            continue
        (arg,) = args
        value = arg.split("=", 1)[1]
        assert value.split("/")[1::2] == protocols and int(value.rsplit("/", 1)[1]) == p.p2p_port
        assert spec["flag"] in GS["flags"] and spec["configKey"].split(".")[1] in GS["keys"]["p2p"]
