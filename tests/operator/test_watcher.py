"""The watcher's decisions: a real chain read from the fake chain server (tools/fakechain.py),
the platform Stack's outputs as PKO v2.9.0 writes them, and a small in-memory stand-in for the
API server that records requests (tests/e2e/test_operator_e2e.py runs the same loop against a
real kube-apiserver)."""

from __future__ import annotations

import copy

import pytest

from components.operator import watcher as w
from pegasus.chain.reader import RestSource, read_rest
from tools.fakechain import ChainState, FakeChain, chainlet_record

NS = "pulumi-stacks"


def chain_id(i: int) -> str:
    return chainlet_record(i)["chainId"]


def platform_object(members: dict[int, list[int]], shards: int = 3) -> dict:
    """The platform Stack as PKO leaves it after a successful update (status.outputs)."""
    return {"apiVersion": "pulumi.com/v1", "kind": "Stack", "metadata": {"name": "prod", "namespace": NS},
            "status": {"outputs": {
                "chainHeight": 1000,
                "shardMembers": {str(s): {chain_id(i): {"slot": i, "shard": s} for i in members.get(s, [])} for s in range(shards)},
                "shardStacks": [f"prod-shard-{s}" for s in range(shards)]},
                "lastUpdate": {"state": "succeeded", "reconcileRequest": ""}}}


class MemoryKube:
    def __init__(self, platform: dict):
        self.objects = {"prod": platform}
        self.requests: list[tuple[str, str]] = []
        self.fail_patch = False
        self.fail_get = False

    def get_stack(self, namespace, name):
        assert namespace == NS
        if self.fail_get:
            raise w.KubeError("GET: HTTP 503")
        return copy.deepcopy(self.objects[name])

    def request_reconcile(self, namespace, name, value):
        assert namespace == NS
        if self.fail_patch:
            raise w.KubeError("PATCH: HTTP 500")
        self.requests.append((name, value))


@pytest.fixture
def chain():
    state = ChainState(chainlets=[chainlet_record(i) for i in range(4)])
    with FakeChain(state, lifetime=60) as fake:
        yield fake


def make(chain, platform: dict) -> tuple[w.Watcher, MemoryKube, list[str]]:
    kube = MemoryKube(platform)
    lines: list[str] = []
    source = RestSource(chain.endpoint, retries=0, timeout_seconds=5)
    return w.Watcher(kube, NS, "prod", lambda: read_rest(source)[0], log=lines.append), kube, lines


def targets(requests) -> list[str]:
    return [name for name, _ in requests]


PLACED = {0: [0, 1], 1: [2, 3]}


def test_nothing_changed_nothing_requested(chain):
    watcher, kube, _ = make(chain, platform_object(PLACED))
    assert watcher.poll() == {}
    chain.state.height += 5
    assert watcher.poll() == {}
    assert kube.requests == []


def test_a_changed_chainlet_asks_the_platform_and_its_shard_only(chain):
    watcher, kube, lines = make(chain, platform_object(PLACED))
    watcher.poll()
    chain.state.chainlets[2] = chainlet_record(2, online=False)
    chain.state.height = 1007
    done = watcher.poll()
    assert sorted(done) == ["prod", "prod-shard-1"]
    assert done["prod"] == done["prod-shard-1"] and done["prod"].startswith("watcher-h1007-")
    assert f"height 1007: {chain_id(2)}: changed (shard 1)" in lines
    assert watcher.poll() == {}  # asked once


def test_a_new_chainlet_asks_the_platform_then_its_shard_once_placed(chain):
    watcher, kube, _ = make(chain, platform_object(PLACED))
    watcher.poll()
    chain.state.chainlets.append(chainlet_record(4))
    assert targets(watcher.poll().items()) == ["prod"]
    # Not placed yet: the platform was asked; asking at every new height would restart its run.
    chain.state.height += 3
    assert watcher.poll() == {}
    kube.objects["prod"] = platform_object({0: [0, 1], 1: [2, 3], 2: [4]})
    assert targets(watcher.poll().items()) == ["prod-shard-2"]
    assert watcher.poll() == {}
    assert targets(kube.requests) == ["prod", "prod-shard-2"]


def test_a_chainlet_gone_from_the_chain_asks_the_platform_and_its_shard(chain):
    watcher, kube, lines = make(chain, platform_object(PLACED))
    watcher.poll()
    gone = chain.state.chainlets.pop(1)
    assert sorted(watcher.poll()) == ["prod", "prod-shard-0"]
    assert f"height 1000: {gone['chainId']}: gone from the chain (shard 0)" in lines


def test_a_chainlet_that_changes_back_is_asked_again(chain):
    watcher, kube, _ = make(chain, platform_object(PLACED))
    watcher.poll()
    chain.state.chainlets[0] = chainlet_record(0, online=False)
    chain.state.height = 1001
    first = watcher.poll()
    chain.state.chainlets[0] = chainlet_record(0)
    chain.state.height = 1002
    second = watcher.poll()
    assert sorted(second) == ["prod", "prod-shard-0"]
    assert second["prod-shard-0"] != first["prod-shard-0"]  # a new value, or PKO would not see a request


def test_a_failed_chain_read_requests_nothing_and_forgets_nothing(chain):
    watcher, kube, lines = make(chain, platform_object(PLACED))
    watcher.poll()
    chain.state.chainlets[3] = chainlet_record(3, online=False)
    chain.state.fail_5xx = -1
    assert watcher.poll() == {}
    assert kube.requests == []
    assert lines[-1].startswith("chain read failed, nothing requested: pegasus:chain.endpoint: HTTP 503")
    chain.state.fail_5xx = 0
    assert sorted(watcher.poll()) == ["prod", "prod-shard-1"]


def test_a_half_read_chain_requests_nothing(chain):
    watcher, kube, _ = make(chain, platform_object(PLACED))
    watcher.poll()
    chain.state.chainlets.append(chainlet_record(4))
    chain.state.omit_height_header = 1
    assert watcher.poll() == {}
    assert kube.requests == []


@pytest.mark.parametrize("outputs", [
    {},
    {"shardMembers": "[secret]", "shardStacks": ["prod-shard-0"]},
    {"shardMembers": {"0": {}}, "shardStacks": "[secret]"},
    {"shardMembers": {"zero": {"a": {}}}, "shardStacks": ["prod-shard-0"]},
    {"shardMembers": {"0": {}}, "shardStacks": ["staging-0"]},
], ids=["none", "secret-members", "secret-stacks", "bad-index", "bad-stack"])
def test_unreadable_platform_outputs_request_nothing(chain, outputs):
    platform = {"metadata": {"name": "prod"}, "status": {"outputs": outputs}}
    watcher, kube, lines = make(chain, platform)
    chain.state.chainlets.append(chainlet_record(4))
    assert watcher.poll() == {}
    assert kube.requests == []
    assert "nothing requested" in lines[-1]


def test_an_unreadable_platform_stack_requests_nothing(chain):
    watcher, kube, lines = make(chain, platform_object(PLACED))
    kube.fail_get = True
    assert watcher.poll() == {}
    assert lines[-1] == "cannot read Stack pulumi-stacks/prod, nothing requested: GET: HTTP 503"


def test_a_failed_request_is_made_again_next_poll(chain):
    watcher, kube, _ = make(chain, platform_object(PLACED))
    watcher.poll()
    chain.state.chainlets[0] = chainlet_record(0, online=False)
    kube.fail_patch = True
    assert watcher.poll() == {}
    kube.fail_patch = False
    assert sorted(watcher.poll()) == ["prod", "prod-shard-0"]


def test_a_shard_without_a_stack_waits(chain):
    platform = platform_object({0: [0, 1], 1: [2, 3], 3: [4]}, shards=4)
    platform["status"]["outputs"]["shardStacks"] = platform["status"]["outputs"]["shardStacks"][:3]
    watcher, kube, lines = make(chain, platform_object(PLACED))
    watcher.poll()
    chain.state.chainlets.append(chainlet_record(4))
    watcher.poll()
    kube.objects["prod"] = platform
    assert watcher.poll() == {}
    assert lines[-1] == "shard 3 has no stack in shardStacks; asking again next poll"
    kube.objects["prod"] = platform_object({0: [0, 1], 1: [2, 3], 3: [4]}, shards=4)
    assert targets(watcher.poll().items()) == ["prod-shard-3"]


def test_first_poll_asks_only_for_what_is_not_placed(chain):
    # Nothing to compare with yet: changes while the watcher was down wait for PKO's resync.
    watcher, kube, _ = make(chain, platform_object({0: [0, 1], 1: [2]}))
    assert targets(watcher.poll().items()) == ["prod"]


# --- decide, without a chain -----------------------------------------------------------


def members(shard_of: dict[str, int]) -> w.Membership:
    return w.Membership(shard_of, {s: f"p-shard-{s}" for s in set(shard_of.values())})


def test_decide_groups_requests_by_shard():
    seen = w.Seen({"a": "1", "b": "1", "c": "1"}, frozenset("abc"))
    plan = w.decide({"a": "2", "b": "2", "c": "1", "d": "1"}, members({"a": 0, "b": 0, "c": 1}), seen, {}, 50)
    assert plan.platform == w.request_value(50, {"a": "2", "b": "2", "d": "1"})
    assert plan.shards == {0: w.request_value(50, {"a": "2", "b": "2"})}
    assert plan.asked == {"d": "1"}


def test_decide_asks_the_platform_again_when_an_unplaced_chainlet_changes():
    seen = w.Seen({"a": "1", "d": "1"}, frozenset("a"))
    plan = w.decide({"a": "1", "d": "2"}, members({"a": 0}), seen, {"d": "1"}, 51)
    assert plan.platform == w.request_value(51, {"d": "2"}) and plan.shards == {}


def test_stack_object_names():
    assert w.stack_object_name("Prod_EU.1-shard-2") == "prod-eu-1-shard-2"
    with pytest.raises(w.InvalidName):
        w.stack_object_name("-prod")
