"""Remaining credit (issue 23 item 1): available minus what the settler billed and has not
withdrawn, on trusted-pods' real Payment contract (tests/provider/payment_contract.py: the
upstream Payment.sol compiled by the pinned solc, run on py-evm behind a JSON-RPC server).

The settler's record (settler.billed_record) is what its ConfigMap holds; the plan reads it from
a file (provider.payments.billed) and withdrawn() at its pinned block. The chain here is this
module's own: one test takes the provider's gas away, which is how a settler really ends up owed
more than it withdrew."""

from __future__ import annotations

import json
import re

import pytest

from components.provider import payments
from components.provider import settler as st
from tests.evm import Server
from tests.provider.payment_contract import PROVIDER_KEY, PaymentChain, compiled

HOUR = 3600


@pytest.fixture(scope="module")
def chain():
    return PaymentChain()


@pytest.fixture(scope="module")
def server(chain):
    s = Server(chain)
    yield s
    s.close()


_ids = iter(range(1, 1000))


def open_channel(chain: PaymentChain, amount: int, pod_id: str | None = None, unlock_time: int = HOUR) -> str:
    pod_id = pod_id or "0x%064x" % (0xC0FFEE00 + next(_ids))
    chain.pay("createChannel(address,bytes32,uint256,uint256)", chain.provider, pod_id, unlock_time, amount)
    return pod_id


def settler_config(chain: PaymentChain, pod_id: str, tolerance: int = 0) -> dict:
    return {"contract": chain.contract, "provider": chain.provider, "chainId": chain.chain_id, "tolerance": tolerance,
            "pods": [{"name": "p", "publisher": chain.publisher, "podId": pod_id, "namespace": "tpod-p"}]}


def plan_read(chain: PaymentChain, server: Server, pod_id: str, record: dict, tmp_path, block_tag="latest") -> payments.Channel:
    """What the Pulumi program sees: the record saved to a file as the operator fetches it."""
    path = tmp_path / "billed.json"
    path.write_text(json.dumps(record))
    billed = payments.read_billed(path.name, str(tmp_path), chain_id=chain.chain_id, contract=chain.contract, provider=chain.provider)
    view = payments.read_evm(server.url, chain_id=chain.chain_id, contract=chain.contract, provider=chain.provider,
                             block_tag=block_tag, pods=[("p", chain.publisher, pod_id)], billed=billed)
    return view.channels["p"]


def drain_gas(chain: PaymentChain) -> None:
    """Send away all the provider's ETH but dust: its next withdrawUpTo cannot pay for gas."""
    tester = chain.tester
    price = 2 * tester.get_block_by_number("latest")["base_fee_per_gas"]
    balance = tester.get_balance(chain.provider)
    tester.send_transaction({"from": chain.provider, "to": chain.funder, "value": balance - 21000 * price,
                             "gas": 21000, "gas_price": price})


def refill_gas(chain: PaymentChain) -> None:
    chain.tester.send_transaction({"from": chain.funder, "to": chain.provider, "value": 10**18, "gas": 21000})


def test_the_withdrawn_read_is_the_contracts_function():
    functions = {f"{i['name']}({','.join(x['type'] for x in i['inputs'])})" for i in compiled()["Payment"]["abi"]
                 if i["type"] == "function"}
    assert payments.WITHDRAWN_SIGNATURE in functions and payments.WITHDRAWN_SIGNATURE == st.WITHDRAWN
    assert payments.selector(payments.WITHDRAWN_SIGNATURE) == payments.WITHDRAWN_SELECTOR


def test_usage_the_settler_could_not_withdraw_exhausts_the_pod_and_is_paid_once_it_can(chain, server, tmp_path):
    pod_id = open_channel(chain, 1000)
    config, owed, seen = settler_config(chain, pod_id), {}, {}
    assert st.settle_once(config, st.Rpc(server.url), PROVIDER_KEY, owed, lambda _p: 300, seen) == ["p: withdrew 300, still owed 0"]
    assert plan_read(chain, server, pod_id, st.billed_record(config, owed, seen), tmp_path).remaining == 700

    drain_gas(chain)
    [line] = st.settle_once(config, st.Rpc(server.url), PROVIDER_KEY, owed, lambda _p: 500, seen)
    assert line.startswith("p: eth_sendRawTransaction returned an error") and owed == {"p": 500}
    record = st.billed_record(config, owed, seen)
    assert record["channels"] == [{"publisher": chain.publisher.lower(), "podId": pod_id, "billed": "800", "withdrawn": "300"}]
    p = plan_read(chain, server, pod_id, record, tmp_path)
    assert (p.available, p.owed, p.remaining, p.status) == (700, 500, 200, "funded")

    st.settle_once(config, st.Rpc(server.url), PROVIDER_KEY, owed, lambda _p: 400, seen)
    stale = st.billed_record(config, owed, seen)
    p = plan_read(chain, server, pod_id, stale, tmp_path)
    # Before: available() alone said funded (700 > 0) while the pod owed 900.
    assert (p.available, p.owed, p.status) == (700, 900, "exhausted")
    before_withdrawal = chain.tester.get_block_by_number("latest")["number"]

    # A settler restarted from its record (its memory is gone) takes the debt back and collects it.
    refill_gas(chain)
    restored, seen2, lines = st.restore(config, json.loads(json.dumps(stale)))
    assert (restored, seen2, lines) == ({"p": 900}, {"p": 300}, [])
    paid = chain.token_balance(chain.provider)
    assert st.settle_once(config, st.Rpc(server.url), PROVIDER_KEY, restored, lambda _p: 0, seen2) == ["p: withdrew 700, still owed 200"]
    assert chain.token_balance(chain.provider) == paid + 700 and chain.withdrawn(pod_id) == 1000

    # The plan's file may lag the settler: read with the old record, before and after that
    # withdrawal, the remaining credit is the same (available + withdrawn is what was paid in).
    assert plan_read(chain, server, pod_id, stale, tmp_path, block_tag=before_withdrawal).remaining == -200
    assert plan_read(chain, server, pod_id, stale, tmp_path).remaining == -200


def test_usage_held_back_by_the_tolerance_counts_against_the_credit(chain, server, tmp_path):
    pod_id = open_channel(chain, 1000)
    config, owed, seen = settler_config(chain, pod_id, tolerance=400), {}, {}
    assert st.settle_once(config, st.Rpc(server.url), PROVIDER_KEY, owed, lambda _p: 300, seen) == [
        "p: owed 300, available 1000: nothing to withdraw"]
    p = plan_read(chain, server, pod_id, st.billed_record(config, owed, seen), tmp_path)
    assert (p.available, p.owed, p.remaining) == (1000, 300, 700)


def test_a_closed_and_reopened_channel_owes_nothing_from_before(chain, server, tmp_path):
    pod_id = open_channel(chain, 1000, unlock_time=60)
    config, owed, seen = settler_config(chain, pod_id, tolerance=10**6), {}, {}
    st.settle_once(config, st.Rpc(server.url), PROVIDER_KEY, owed, lambda _p: 100, seen)
    st.withdraw_up_to(st.Rpc(server.url), PROVIDER_KEY, chain.chain_id, chain.contract, chain.publisher, pod_id, 50, chain.provider)
    seen["p"] = 50
    old = st.billed_record(config, owed, seen)  # billed 150, withdrawn 50
    chain.pay("unlock(address,bytes32)", chain.provider, pod_id)
    chain.later(120)
    chain.pay("closeChannel(address,bytes32)", chain.provider, pod_id)
    open_channel(chain, 500, pod_id=pod_id)
    # withdrawn() now 0, below the 50 the record saw: the debt went with the closed channel.
    p = plan_read(chain, server, pod_id, old, tmp_path)
    assert (p.available, p.owed, p.status) == (500, 0, "funded")
    # The settler, running on or restarted from that record, drops the old debt at its next tick.
    assert st.settle_once(config, st.Rpc(server.url), PROVIDER_KEY, owed, lambda _p: 5, seen) == [
        "p: owed 5, available 500: nothing to withdraw"]
    owed2, seen2, _ = st.restore(config, old)
    assert st.settle_once(config, st.Rpc(server.url), PROVIDER_KEY, owed2, lambda _p: 5, seen2) == [
        "p: owed 5, available 500: nothing to withdraw"]


def test_a_record_of_another_contract_is_refused_with_one_line(chain, tmp_path):
    (tmp_path / "billed.json").write_text(json.dumps({"chainId": chain.chain_id, "contract": "0x" + "11" * 20,
                                                       "provider": chain.provider, "channels": []}))
    with pytest.raises(payments.PaymentReadError) as e:
        payments.read_billed("billed.json", str(tmp_path), chain_id=chain.chain_id, contract=chain.contract, provider=chain.provider)
    assert str(e.value).startswith("pegasus:provider.payments.billed: billed.json is the settler's record of contract ")
    assert "\n" not in str(e.value)


def test_a_settler_ignores_a_saved_record_of_another_contract(chain, server):
    config = settler_config(chain, "0x" + "01" * 32)
    saved = {"chainId": chain.chain_id, "contract": "0x" + "11" * 20, "provider": chain.provider,
             "channels": [{"publisher": chain.publisher, "podId": "0x" + "01" * 32, "billed": "5", "withdrawn": "0"}]}
    assert st.restore(config, saved) == ({}, {}, [
        "the saved record is of another chain, contract or provider: starting from nothing owed"])


@pytest.mark.parametrize("doc, message", [
    ("not json", "cannot read billed.json"),
    ({"chainId": 31337, "contract": "0x" + "cc" * 20, "provider": "0x" + "dd" * 20, "channels": [{"publisher": "0x" + "ab" * 20}]},
     "billed.json: channels[0] needs publisher, podId and whole-number billed and withdrawn"),
    ({"chainId": 1, "contract": "0x" + "cc" * 20, "provider": "0x" + "dd" * 20}, "billed.json is the settler's record of chainId 1"),
])
def test_a_bad_record_stops_the_plan(tmp_path, doc, message):
    (tmp_path / "billed.json").write_text(doc if isinstance(doc, str) else json.dumps(doc))
    with pytest.raises(payments.PaymentReadError, match="^" + re.escape("pegasus:provider.payments.billed: " + message)):
        payments.read_billed("billed.json", str(tmp_path), chain_id=31337, contract="0x" + "cc" * 20, provider="0x" + "dd" * 20)


def test_a_snapshot_with_withdrawn_and_a_record_gives_the_same_remaining_credit(tmp_path):
    publisher, pod_id = "0x" + "ab" * 20, "0x" + "01" * 32
    (tmp_path / "snap.json").write_text(json.dumps({"chainId": 31337, "block": 7, "contract": "0x" + "cc" * 20, "provider": "0x" + "dd" * 20,
                                                    "channels": [{"publisher": publisher, "podId": pod_id, "available": "700", "withdrawn": "300"}]}))
    billed = {(publisher, pod_id): (1000, 300)}
    view = payments.read_snapshot("snap.json", str(tmp_path), chain_id=31337, contract="0x" + "cc" * 20, provider="0x" + "dd" * 20,
                                  pods=[("p", publisher, pod_id)], billed=billed)
    assert view.channels["p"] == payments.Channel(publisher, pod_id, 700, 700) and view.channels["p"].status == "exhausted"


@pytest.mark.parametrize("billed, seen, now, owed", [
    (800, 300, 300, 500),   # nothing withdrawn since the record
    (800, 300, 700, 100),   # the settler withdrew 400 since: still owed 100
    (800, 300, 900, 0),     # withdrawn beyond the record (by hand): owes nothing back
    (800, 300, 0, 0),       # closed since (withdrawn() reset): the debt went with it
])
def test_unwithdrawn(billed, seen, now, owed):
    assert st.unwithdrawn(billed, seen, now) == owed


def test_a_failed_chain_read_keeps_the_ticks_usage_for_the_next(chain, server):
    pod_id = open_channel(chain, 1000)
    config, owed, seen = settler_config(chain, pod_id), {}, {}
    [line] = st.settle_once(config, st.Rpc("http://127.0.0.1:9", timeout=2), PROVIDER_KEY, owed, lambda _p: 120, seen)
    assert line.startswith("p: eth_call failed") and owed == {"p": 120} and seen == {}
    assert st.settle_once(config, st.Rpc(server.url), PROVIDER_KEY, owed, lambda _p: 30, seen) == ["p: withdrew 150, still owed 0"]
    assert chain.withdrawn(pod_id) == 150


def test_a_withdrawal_made_elsewhere_counts_as_paid(chain, server):
    """The provider withdrew by hand between two ticks: the settler does not ask for it again."""
    pod_id = open_channel(chain, 1000)
    config, owed, seen = settler_config(chain, pod_id, tolerance=10**6), {}, {}
    st.settle_once(config, st.Rpc(server.url), PROVIDER_KEY, owed, lambda _p: 300, seen)
    assert (owed, seen) == ({"p": 300}, {"p": 0})
    st.withdraw_up_to(st.Rpc(server.url), PROVIDER_KEY, chain.chain_id, chain.contract, chain.publisher, pod_id, 200, chain.provider)
    assert st.settle_once(config, st.Rpc(server.url), PROVIDER_KEY, owed, lambda _p: 50, seen) == [
        "p: owed 150, available 800: nothing to withdraw"]
    assert st.billed_record(config, owed, seen)["channels"][0] | {"publisher": "", "podId": ""} == {
        "publisher": "", "podId": "", "billed": "350", "withdrawn": "200"}
