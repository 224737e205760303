"""spacemesh.poetSettings: one PoET's own image, flags and size. Its flags are checked against
PoET v0.10.8's own (tests/spacemesh/upstream/poet-v0.10.8.json), and it keeps the nodes'
schedule and a memory that holds its Merkle-tree cache."""

from __future__ import annotations

import pytest

from components.spacemesh import builder as sb
from components.spacemesh import workload_builder as swb
from pegasus.errors import ConfigError
from tests.conftest import example, run
from tests.spacemesh.test_builders import error, raw, settings
from tests.spacemesh.test_upstream import POET, flag_names

POET2 = {"image": "spacemeshos/poet:v0.10.7", "args": ["--max-round-members=500000", "--memory=24"],
         "resources": {"memory": "3Gi", "disk": "20Gi"}}


def spec(s, index: int):
    return swb.poet_spec(s, sb.node_config({"preset": "testnet"}, s), index, "ns", None).workload


def test_one_poet_gets_its_own_image_flags_and_size_and_the_others_keep_theirs():
    s = settings(poetArgs=["--max-submit-batch-size=100"], poetSettings={"poet-2": POET2})
    first, second = spec(s, 0), spec(s, 1)
    assert (first.image, first.storage_size, first.resources.memory_request) == ("spacemeshos/poet:v0.10.8", "10Gi", "5Gi")
    assert (second.image, second.storage_size, second.resources.memory_request, second.resources.cpu_request) == (
        "spacemeshos/poet:v0.10.7", "20Gi", "3Gi", "1")
    # The shared flags, then its own: PoET (go-flags) takes the last --memory it is given.
    assert second.args[-3:] == ("--max-submit-batch-size=100", "--max-round-members=500000", "--memory=24")
    assert first.args[-1] == "--max-submit-batch-size=100"
    assert flag_names(second.args) - set(POET["flags"]) == set()
    # The pool is sized for what each PoET asks.
    assert sb.pool_pods(s)[-2:] == [(1000, 5 * 2**30), (1000, 3 * 2**30)]


def test_its_flags_keep_the_nodes_schedule_and_its_memory_the_cache():
    with pytest.raises(ConfigError) as e:
        sb.node_config({"preset": "testnet"}, settings(poetSettings={"poet-2": {"args": ["--cycle-gap=1h"]}}), "c.json")
    assert str(e.value) == ("pegasus:spacemesh.poetSettings.poet-2.args: --cycle-gap=1h differs from the nodes' 7200s (c.json); "
                            "remove it, the PoETs' schedule is derived from the nodes' config")
    assert error(raw(poetSettings={"poet-2": {"resources": {"memory": "3Gi"}}})) == (
        "pegasus:spacemesh.poetSettings.poet-2.resources.memory: 3Gi is below what PoET holds in memory with --memory=26 "
        "(4.0Gi of Merkle-tree cache, spacemeshos/poet service/config.go) plus headroom; set at least 5Gi, or a lower --memory "
        "in poetSettings.poet-2.args")
    assert error(raw(poetSettings={"poet-3": {"image": "spacemeshos/poet:v0.10.7"}})) == (
        "pegasus:spacemesh.poetSettings.poet-3: names no PoET of this network (poet-1..poet-2)")
    assert error(raw(poetSettings={"poet-1": {"flags": []}})) == (
        "pegasus:spacemesh.poetSettings.poet-1.flags: must be an object of image, args, resources, got the string 'flags'")


def test_upgrading_one_poet_restarts_only_that_poet():
    from tools.plan.diff import diff

    changed = diff(example("spacemesh"), run("spacemesh", ["spacemesh.poetSettings.poet-2.image=spacemeshos/poet:v0.10.7"]))
    assert changed.created == () and changed.deleted == ()
    assert [u.rsplit("::", 1)[1] for u in changed.updated] == ["spacemesh-poet-2-workload"]
