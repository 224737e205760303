"""The networks.json entry provider against a local GCS JSON API server: add, update,
remove, a concurrent writer (precondition failure) and an unreadable object."""

from __future__ import annotations

import json

import pytest

from components.spacemesh.discovery import DiscoveryError, NetworkEntryProvider
from tests.fake_gcs import FakeGcs

OTHER = {"netName": "testnet-06", "netID": 6, "conf": "https://example.org/testnet-06/config.json"}


def props(endpoint: str, **entry) -> dict:
    e = {"netName": "devnet-412", "netID": 412, "conf": "https://storage.googleapis.com/sm/devnet-412/config.json", **entry}
    return {"endpoint": endpoint, "bucket": "sm-discovery", "object": "networks.json", "netName": "devnet-412", "entry": e}


def test_add_update_and_remove_touch_only_this_entry():
    with FakeGcs() as gcs:
        gcs.put("sm-discovery", "networks.json", json.dumps([OTHER]).encode())
        p = NetworkEntryProvider()
        created = p.create(props(gcs.endpoint))
        assert gcs.read("sm-discovery", "networks.json") == [props(gcs.endpoint)["entry"], OTHER]
        assert created.outs["generation"] == 2 and created.id == "sm-discovery/networks.json#devnet-412"
        assert gcs.uploads == [("networks.json", 1)]

        new = props(gcs.endpoint, netID=413)
        diff = p.diff(created.id, created.outs, new)
        assert diff.changes and diff.replaces == []
        p.update(created.id, created.outs, new)
        assert gcs.read("sm-discovery", "networks.json") == [new["entry"], OTHER]

        # An unchanged entry is no write at all.
        p.update(created.id, new, new)
        assert len(gcs.uploads) == 2

        p.delete(created.id, new)
        assert gcs.read("sm-discovery", "networks.json") == [OTHER]


def test_a_concurrent_writer_is_never_clobbered():
    with FakeGcs() as gcs:
        gcs.put("sm-discovery", "networks.json", b"[]")
        third = {"netName": "other-net", "netID": 9}
        # Another writer adds its network between our read and our write: our first upload
        # fails its generation precondition, and the retry keeps their entry.
        gcs.race.append(json.dumps([third]).encode())
        NetworkEntryProvider().create(props(gcs.endpoint))
        assert gcs.uploads == [("networks.json", 1), ("networks.json", 2)]
        assert [n["netName"] for n in gcs.read("sm-discovery", "networks.json")] == ["devnet-412", "other-net"]


def test_precondition_failing_every_time_gives_up_without_writing():
    with FakeGcs() as gcs:
        gcs.put("sm-discovery", "networks.json", b"[]")
        gcs.race.extend([json.dumps([{"netName": f"n{i}"}]).encode() for i in range(5)])
        with pytest.raises(DiscoveryError, match="changed since generation 5; gave up after 5 attempts"):
            NetworkEntryProvider().create(props(gcs.endpoint))
        assert gcs.read("sm-discovery", "networks.json") == [{"netName": "n4"}]


@pytest.mark.parametrize("setup, message", [
    (lambda g: setattr(g, "fail_reads", 503), "gs://sm-discovery/networks.json is unreadable (metadata: HTTP 503); not writing"),
    (lambda g: g.put("sm-discovery", "networks.json", b"<html>"), "gs://sm-discovery/networks.json is not JSON; not writing"),
    (lambda g: g.put("sm-discovery", "networks.json", b'{"a": 1}'), "gs://sm-discovery/networks.json is not a JSON list of networks; not writing"),
    (lambda g: None, "gs://sm-discovery/networks.json is unreadable (metadata: HTTP 404); not writing. Create it with an empty list [] if it does not exist yet"),
])
def test_an_unreadable_object_is_never_written(setup, message):
    with FakeGcs() as gcs:
        setup(gcs)
        before = dict(gcs.objects)
        for call in (lambda p: p.create(props(gcs.endpoint)), lambda p: p.delete("id", props(gcs.endpoint))):
            with pytest.raises(DiscoveryError) as e:
                call(NetworkEntryProvider())
            assert str(e.value) == message
        assert gcs.uploads == [] and gcs.objects == before


def test_renaming_the_network_or_moving_the_list_replaces_the_entry():
    p = NetworkEntryProvider()
    old = props("http://x")
    moved = {**old, "object": "networks.private.json"}
    assert p.diff("id", old, moved).replaces == ["object"]
