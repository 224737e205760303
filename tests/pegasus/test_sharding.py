"""The platform/shard contract (pegasus/sharding.py) and the config that turns it on."""

from __future__ import annotations

import dataclasses

import pytest

from pegasus import sharding
from pegasus.chain.model import OFFLINE
from pegasus.errors import ConfigError

RAW = {"blueprint": "validator", "cluster": {"provider": "existing"},
       "spc": {"env": {"DENOM": "utsaga", "GENESIS": "https://example.org/genesis.json"}},
       "chain": {"source": "rest", "endpoint": "https://api.example.org"}}

@pytest.mark.parametrize("name, parsed", [
    ("dev-shard-0", ("dev", 0)),
    ("prod-eu-shard-12", ("prod-eu", 12)),
    ("a-shard-1-shard-2", ("a-shard-1", 2)),
    ("dev-shard-01", None),  # one name per shard: no leading zeros
    ("dev-shard-", None),
    ("-shard-3", None),
    ("dev", None),
])
def test_shard_stack_names_round_trip(name, parsed):
    assert sharding.parse_shard_stack(name) == parsed
    if parsed:
        assert sharding.shard_stack_name(*parsed) == name


ENTRIES = {
    "a-1": {"slot": 0, "shard": 0, "port": 1025, "status": "STATUS_ONLINE"},
    "b-1": {"slot": 1, "shard": 0, "port": 1026, "status": "STATUS_OFFLINE"},
    "c-1": {"slot": 4, "shard": 2, "port": 1025, "status": "STATUS_ONLINE"},
}


def test_members_group_by_shard_and_every_shard_is_published_even_empty():
    assert sharding.members(ENTRIES) == {0: {"a-1": ENTRIES["a-1"], "b-1": ENTRIES["b-1"]}, 2: {"c-1": ENTRIES["c-1"]}}
    assert sharding.members_output(ENTRIES, 3) == {"0": {"a-1": ENTRIES["a-1"], "b-1": ENTRIES["b-1"]}, "1": {},
                                                   "2": {"c-1": ENTRIES["c-1"]}}



def test_a_chainlets_digest_follows_its_record_and_image_only():
    from pegasus.chain import reader

    view = reader.read("snapshot", snapshot="chain/snapshot.dev.json")
    c = view.chainlets[0]
    image = view.images[c.chain_id]
    d = sharding.chainlet_digest(c, image)
    assert d == sharding.chainlet_digest(dataclasses.replace(c), image)
    assert d != sharding.chainlet_digest(dataclasses.replace(c, status=OFFLINE), image)
    assert d != sharding.chainlet_digest(c, image + "-other")
    assert d != sharding.chainlet_digest(dataclasses.replace(c, params=c.params + (("x", "1"),)), image)


def test_the_config_digest_sees_chainlet_settings_and_never_secrets():
    from pegasus import config

    raw = {**RAW, "chainlets": {"stacks": "sharded"}}
    one = config.parse(raw, project="pegasus", stack="dev")
    other = config.parse({**raw, "monitoring": {"grafanaAdminPassword": "hunter2"}}, project="pegasus", stack="dev",
                         secret_keys={"monitoring"})
    bigger = config.parse({**raw, "chainlets": {"stacks": "sharded", "storageSize": "80Gi"}}, project="pegasus", stack="dev")
    assert sharding.config_digest(one) == sharding.config_digest(other)
    assert sharding.config_digest(one) != sharding.config_digest(bigger)


def test_a_shard_stack_takes_every_name_derived_default_from_its_platform():
    from pegasus import config

    raw = {**RAW, "cluster": {"provider": "eks", "region": "us-east-1", "publicAccessCidrs": ["203.0.113.0/24"]},
           "chainlets": {"stacks": "sharded"}}
    platform = config.parse(raw, project="pegasus", stack="prod")
    shard = config.parse(raw, project="pegasus", stack="prod-shard-4")
    assert platform.shard is None and shard.shard == config.ShardRole("prod", 4)
    assert shard.cluster == platform.cluster and shard.spc == platform.spc
    assert sharding.config_digest(shard) == sharding.config_digest(platform)
    # Without sharded mode the same name is an ordinary stack.
    single = config.parse({**raw, "chainlets": {}}, project="pegasus", stack="prod-shard-4")
    assert single.shard is None and single.cluster.name != platform.cluster.name


def test_an_unknown_mode_is_one_clear_error():
    from pegasus import config

    raw = {**RAW, "chainlets": {"stacks": "per-shard"}}
    with pytest.raises(ConfigError) as info:
        config.parse(raw, project="pegasus", stack="dev")
    assert str(info.value).startswith("pegasus:chainlets.stacks:") and "sharded" in str(info.value)
