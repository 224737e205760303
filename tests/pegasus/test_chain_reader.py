"""Reading chain state over real HTTP on 127.0.0.1, and from snapshot files."""

from __future__ import annotations

import json

import pytest

from pegasus.chain import reader
from pegasus.chain.model import ONLINE, build_view, parse_time
from pegasus.errors import ChainDataError, ChainReadError
from tools.fakechain import ChainState, FakeChain, chainlet_record, stack_record

NO_SLEEP = lambda _s: None  # noqa: E731 - backoff is not what these tests measure


def records(n, offline=()):
    return [chainlet_record(i, online=i not in offline) for i in range(n)]


def read(chain, **kw):
    source = reader.RestSource(chain.endpoint, kw.pop("prefix", "/ssc/chainlet"), kw.pop("limit", 7),
                               kw.pop("timeout", 5), kw.pop("retries", 2))
    return reader.read_rest(source, sleep=NO_SLEEP)


def test_paging_across_many_pages_at_one_pinned_height():
    state = ChainState(chainlets=records(250, offline={3, 40}), height=4242)
    with FakeChain(state) as chain:
        view, stats = read(chain)
    assert view.height == 4242
    assert [c.chain_id for c in view.chainlets] == [r["chainId"] for r in records(250)]
    assert [c.status for c in view.chainlets].count(ONLINE) == 248
    assert stats.pages == 36 + 1  # 250 / 7 chainlet pages, one stack page
    # The first request learns the height; every later one is pinned to it.
    assert state.seen_heights == [None] + ["4242"] * 36


def test_api_prefix_is_configurable_for_older_nodes():
    state = ChainState(chainlets=records(3))
    with FakeChain(state, prefix="/saga/spc/chainlet") as chain:
        view, _ = read(chain, prefix="/saga/spc/chainlet")
        assert len(view.chainlets) == 3
        with pytest.raises(ChainReadError, match="HTTP 501 from .*/ssc/chainlet/list_chainlets"):
            read(chain)


def test_missing_height_header_is_an_error():
    state = ChainState(chainlets=records(3), omit_height_header=1)
    with FakeChain(state) as chain, pytest.raises(ChainReadError) as e:
        read(chain)
    assert "answered without the x-cosmos-block-height header, so the read cannot be pinned to one height" in str(e.value)


def test_a_different_height_on_a_later_page_is_an_error():
    state = ChainState(chainlets=records(20), height=500, wrong_height_header=1, faults_after=1)
    with FakeChain(state) as chain, pytest.raises(ChainReadError) as e:
        read(chain)
    assert "answered at height 501 although height 500 was requested" in str(e.value)
    assert state.seen_heights == [None, "500"]


def test_5xx_is_retried_then_succeeds():
    state = ChainState(chainlets=records(10), fail_5xx=2)
    with FakeChain(state) as chain:
        view, stats = read(chain, retries=2)
    assert len(view.chainlets) == 10
    assert stats.requests == stats.pages + 2


def test_5xx_that_persists_is_an_error():
    state = ChainState(chainlets=records(10), fail_5xx=-1)
    with FakeChain(state) as chain, pytest.raises(ChainReadError) as e:
        read(chain, retries=2)
    assert str(e.value).startswith(f"pegasus:chain.endpoint: HTTP 503 from {chain.endpoint}/ssc/chainlet/list_chainlets?")
    assert str(e.value).endswith("code 14: unavailable (gave up after 3 attempts; chain.retries is 2)")
    assert state.requests == 3


def test_timeout_is_an_error():
    state = ChainState(chainlets=records(3), hang_seconds=2.0)
    with FakeChain(state) as chain, pytest.raises(ChainReadError) as e:
        read(chain, timeout=1, retries=0)
    assert str(e.value).startswith(f"pegasus:chain.endpoint: no answer from {chain.endpoint}/ssc/chainlet/list_chainlets?")
    assert str(e.value).endswith("within chain.timeoutSeconds (1s); check chain.endpoint, or raise chain.timeoutSeconds "
                                 "for a slow node (gave up after 1 attempt; chain.retries is 0)")


def test_malformed_json_is_an_error():
    state = ChainState(chainlets=records(3), malformed_json=-1)
    with FakeChain(state) as chain, pytest.raises(ChainReadError) as e:
        read(chain, retries=1)
    assert "returned malformed JSON" in str(e.value)


def test_truncated_page_is_an_error():
    state = ChainState(chainlets=records(30), truncate=-1)
    with FakeChain(state) as chain, pytest.raises(ChainReadError) as e:
        read(chain, retries=0, timeout=3)
    assert "pagination.count_total=true was cut short after" in str(e.value)


def test_a_looping_next_key_is_an_error():
    state = ChainState(chainlets=records(30), duplicate_page=True)
    with FakeChain(state) as chain, pytest.raises(ChainReadError) as e:
        read(chain)
    assert "twice; the listing loops" in str(e.value)


def test_pruned_height_is_an_error_not_an_empty_list():
    state = ChainState(chainlets=records(30), height=900, pruned_below=800)
    with FakeChain(state) as chain:
        r = reader.RestReader(reader.RestSource(chain.endpoint, page_limit=7, retries=3), sleep=NO_SLEEP)
        with pytest.raises(ChainReadError) as e:
            r.list_all("list_chainlets", "Chainlets", 700)
    assert str(e.value).startswith("pegasus:chain.endpoint: the node no longer has the state at height 700 (pruned): code 2: codespace sdk code 38")
    assert state.requests == 1  # retrying cannot bring pruned state back


def test_incomplete_listing_against_the_reported_total_is_an_error():
    state = ChainState(chainlets=records(30))
    with FakeChain(state) as chain:
        r = reader.RestReader(reader.RestSource(chain.endpoint, page_limit=7), sleep=NO_SLEEP)
        original = r._get

        def drop_one(url, height):
            doc, h = original(url, height)
            if "pagination.key" not in url:
                doc["Chainlets"] = doc["Chainlets"][:-1]
            return doc, h

        r._get = drop_one
        with pytest.raises(ChainReadError) as e:
            r.list_all("list_chainlets", "Chainlets", None)
    assert "reported 30 Chainlets but the pages held 29; the listing is incomplete" in str(e.value)


def test_duplicate_chain_ids_are_an_error_naming_the_chainlet():
    state = ChainState(chainlets=records(3) + [chainlet_record(1)])
    with FakeChain(state) as chain, pytest.raises(ChainDataError) as e:
        read(chain)
    assert str(e.value) == "chainlet chainlet00001_2700000000000001-1 is listed twice"


def test_invalid_chain_id_is_an_error_naming_the_chainlet():
    bad = chainlet_record(5)
    bad["chainId"] = "bad id!"
    state = ChainState(chainlets=records(2) + [bad])
    with FakeChain(state) as chain, pytest.raises(ChainDataError) as e:
        read(chain)
    assert str(e.value) == "chainlet bad id!: chainId has characters a namespace cannot carry (allowed: letters, digits, '_', '-', '.')"


def test_namespace_collisions_are_errors():
    a, b = chainlet_record(1), chainlet_record(2)
    a["chainId"], b["chainId"] = "game_1-1", "game-1-1"
    with pytest.raises(ChainDataError) as e:
        build_view(1, "t", [a, b], [stack_record()])
    assert str(e.value) == "chainlet game-1-1 collides with chainlet game_1-1: both map to namespace saga-game-1-1"


def test_unknown_stack_and_version_and_missing_image():
    c = chainlet_record(1)
    c["chainletStackVersion"] = "9.9.9"
    with pytest.raises(ChainDataError) as e:
        build_view(1, "t", [c], [stack_record()])
    assert str(e.value) == "chainlet chainlet00001_2700000000000001-1: stack SagaOS has no version '9.9.9' (known: 0.12.4, 0.13.1)"
    c = chainlet_record(1)
    c["chainletStackName"] = "Other"
    with pytest.raises(ChainDataError) as e:
        build_view(1, "t", [c], [stack_record()])
    assert str(e.value) == "chainlet chainlet00001_2700000000000001-1: stack 'Other' is not among the chain's stacks (SagaOS)"
    stack = stack_record()
    stack["versions"][1]["image"] = ""
    with pytest.raises(ChainDataError) as e:
        build_view(1, "t", [chainlet_record(1)], [stack])
    assert str(e.value) == "chainlet chainlet00001_2700000000000001-1 (stack SagaOS 0.13.1): the stack version lists no image"


def test_malformed_records():
    c = chainlet_record(1)
    c["status"] = "RUNNING"
    with pytest.raises(ChainDataError, match="chainlet chainlet00001_2700000000000001-1: status must be STATUS_ONLINE or STATUS_OFFLINE, got 'RUNNING'"):
        build_view(1, "t", [c], [stack_record()])
    c = chainlet_record(1)
    c["spawnTime"] = "yesterday"
    with pytest.raises(ChainDataError, match="spawnTime 'yesterday' is not RFC 3339"):
        build_view(1, "t", [c], [stack_record()])
    with pytest.raises(ChainDataError, match="chainlet record #0 has no chainId"):
        build_view(1, "t", [{"status": "STATUS_ONLINE"}], [stack_record()])


def test_image_pinned_by_digest_when_the_checksum_is_one():
    v = build_view(1, "t", [chainlet_record(1, version="0.13.1"), chainlet_record(2, version="0.12.4")], [stack_record()])
    assert v.images == {
        "chainlet00001_2700000000000001-1": "sagaxyz/sagaos:0.13.1@sha256:ced72e81e44926157e56d1c9dd3c0de5a5af50c2a87380f4be80d9d5196d86d3",
        "chainlet00002_2700000000000002-1": "sagaxyz/sagaos:0.12.4",
    }


def test_slots_follow_spawn_time_then_chain_id():
    a, b, c = chainlet_record(1), chainlet_record(2), chainlet_record(3)
    a["spawnTime"] = "2024-01-01T00:00:00.000000002Z"
    b["spawnTime"] = "2024-01-01T00:00:00.000000001Z"
    c["spawnTime"] = "2024-01-01T02:00:00+02:00"  # the same instant as b's second
    view = build_view(1, "t", [a, b, c], [stack_record()])
    assert [x.chain_id[:13] for x in view.chainlets] == ["chainlet00003", "chainlet00002", "chainlet00001"]
    assert parse_time("2024-01-01T00:00:00.5Z", "x") == (1704067200, 500000000)


def test_snapshot_source(tmp_path):
    path = tmp_path / "snap.json"
    path.write_text(json.dumps({"height": "77", "Chainlets": records(2), "ChainletStacks": [stack_record()]}))
    view = reader.read("snapshot", snapshot=str(path))
    assert (view.height, len(view.chainlets)) == (77, 2)


def test_snapshot_errors(tmp_path):
    with pytest.raises(ChainReadError, match=r"pegasus:chain.snapshot: file 'missing.json' does not exist"):
        reader.read("snapshot", snapshot="missing.json", base_dir=str(tmp_path))
    (tmp_path / "bad.json").write_text("{")
    with pytest.raises(ChainReadError, match=r"pegasus:chain.snapshot: cannot read 'bad.json'"):
        reader.read("snapshot", snapshot="bad.json", base_dir=str(tmp_path))
    (tmp_path / "partial.json").write_text(json.dumps({"height": 1, "Chainlets": []}))
    with pytest.raises(ChainReadError, match=r"pegasus:chain.snapshot: 'partial.json' has no 'ChainletStacks' key"):
        reader.read("snapshot", snapshot="partial.json", base_dir=str(tmp_path))


def test_a_pinned_height_is_sent_from_the_first_page():
    state = ChainState(chainlets=records(10), height=900)
    with FakeChain(state) as chain:
        view, _ = reader.read_rest(reader.RestSource(chain.endpoint, page_limit=7), height=850, sleep=NO_SLEEP)
    assert view.height == 850
    assert state.seen_heights == ["850", "850", "850"]


def test_a_pinned_height_must_match_a_snapshot(tmp_path):
    (tmp_path / "s.json").write_text(json.dumps({"height": 5, "Chainlets": [], "ChainletStacks": []}))
    assert reader.read("snapshot", snapshot="s.json", base_dir=str(tmp_path), height=5).height == 5
    with pytest.raises(ChainReadError, match="pegasus:chain.height: asks for height 6 but the snapshot 's.json' was taken at height 5; unset it"):
        reader.read("snapshot", snapshot="s.json", base_dir=str(tmp_path), height=6)
