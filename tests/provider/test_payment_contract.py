"""Settlement against trusted-pods' real Payment contract (tests/provider/payment_contract.py):
compiled from the upstream source by the pinned solc, run on py-evm, the settler
(components/provider/settler.py) signing its own transactions over JSON-RPC.

Every way a channel empties is exercised: a funded channel, one owing more than it holds, a
publisher unlocking and withdrawing, the provider's withdrawUpTo, closeChannel. In each case
the provider ends up paid wherever the contract allows it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from components.provider import payments
from components.provider import settler as st
from tests.evm import Server
from tests.provider.payment_contract import PROVIDER_KEY, PaymentChain, TransactionFailed, compiled

UPSTREAM = json.loads((Path(__file__).parent / "upstream" / "trusted_pods.json").read_text())
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


def channel(chain: PaymentChain, amount: int, unlock_time: int = HOUR) -> str:
    pod_id = "0x%064x" % next(_ids)
    chain.pay("createChannel(address,bytes32,uint256,uint256)", chain.provider, pod_id, unlock_time, amount)
    return pod_id


def settle(chain: PaymentChain, server: Server, pod_id: str, owed: dict, usage: int, tolerance: int = 0) -> list[str]:
    config = {"contract": chain.contract, "provider": chain.provider, "chainId": chain.chain_id, "tolerance": tolerance,
              "pods": [{"name": "p", "publisher": chain.publisher, "podId": pod_id, "namespace": "tpod-p"}]}
    return st.settle_once(config, st.Rpc(server.url), PROVIDER_KEY, owed, lambda _pod: usage)


def abi_signatures() -> set[str]:
    out = set()
    for item in compiled()["Payment"]["abi"]:
        if item["type"] == "function":
            out.add(f"{item['name']}({','.join(i['type'] for i in item['inputs'])})")
    return out


# --- the contract is the one upstream names --------------------------------------------------


def test_every_call_we_make_is_in_the_compiled_contract():
    functions = abi_signatures()
    assert set(UPSTREAM["paymentFunctions"]) <= functions
    for signature in (st.WITHDRAW_UP_TO, st.AVAILABLE, st.WITHDRAWN, payments.SIGNATURE):
        assert signature in functions
    assert st.selector(payments.SIGNATURE).hex() == payments.SELECTOR[2:]


def test_the_payment_reader_reads_the_real_contract(chain, server):
    pod_id = channel(chain, 700)
    view = payments.read_evm(server.url, chain_id=chain.chain_id, contract=chain.contract, provider=chain.provider,
                             block_tag="latest", pods=[("p", chain.publisher, pod_id), ("q", chain.publisher, "0x" + "ee" * 32)])
    assert (view.channels["p"].available, view.channels["p"].status) == (700, "funded")
    assert view.channels["q"].status == "exhausted"  # no channel: the mapping's zero


# --- settlement in each way a channel empties --------------------------------------------------


def test_a_funded_channel_pays_what_is_owed(chain, server):
    pod_id, before = channel(chain, 1000), chain.token_balance(chain.provider)
    owed: dict = {}
    assert settle(chain, server, pod_id, owed, 300) == ["p: withdrew 300, still owed 0"]
    assert (chain.withdrawn(pod_id), chain.available(pod_id)) == (300, 700)
    assert chain.token_balance(chain.provider) == before + 300
    # The next tick adds its usage to the cumulative total withdrawUpTo takes.
    assert settle(chain, server, pod_id, owed, 200) == ["p: withdrew 200, still owed 0"]
    assert (chain.withdrawn(pod_id), chain.available(pod_id)) == (500, 500)


def test_owing_more_than_the_channel_holds_takes_all_of_it(chain, server):
    pod_id, before = channel(chain, 1000), chain.token_balance(chain.provider)
    # What upstream's monitor sends (withdrawUpTo the whole amount owed) reverts: InsufficientFunds.
    with pytest.raises(TransactionFailed):
        chain.send(chain.provider, chain.contract, st.WITHDRAW_UP_TO, chain.publisher, pod_id, 1500, "0x" + "00" * 20)
    owed: dict = {}
    assert settle(chain, server, pod_id, owed, 1500) == ["p: withdrew 1000, still owed 500"]
    assert chain.available(pod_id) == 0 and chain.token_balance(chain.provider) == before + 1000
    # Exhausted now: the reader's status follows, and the next tick sends nothing.
    assert settle(chain, server, pod_id, owed, 10) == ["p: owed 510, available 0: nothing to withdraw"]


def test_a_publisher_unlocking_cannot_take_what_the_provider_settles_first(chain, server):
    pod_id, before = channel(chain, 1000), chain.token_balance(chain.provider)
    chain.pay("unlock(address,bytes32)", chain.provider, pod_id)
    with pytest.raises(TransactionFailed):  # ChannelLocked: the unlock time has not passed
        chain.pay("withdrawUnlocked(address,bytes32)", chain.provider, pod_id)
    assert settle(chain, server, pod_id, {}, 400) == ["p: withdrew 400, still owed 0"]
    # The provider's withdrawal ends the lock (unlockedAt = now): the publisher takes the rest.
    publisher_before = chain.token_balance(chain.publisher)
    chain.pay("withdrawUnlocked(address,bytes32)", chain.provider, pod_id)
    assert chain.token_balance(chain.publisher) == publisher_before + 600
    assert chain.available(pod_id) == 0 and chain.token_balance(chain.provider) == before + 400


def test_a_publisher_who_waits_out_the_unlock_leaves_nothing_and_settlement_does_not_fail(chain, server):
    pod_id = channel(chain, 1000, unlock_time=60)
    chain.pay("unlock(address,bytes32)", chain.provider, pod_id)
    chain.later(120)
    chain.pay("withdrawUnlocked(address,bytes32)", chain.provider, pod_id)
    assert settle(chain, server, pod_id, {}, 300) == ["p: owed 300, available 0: nothing to withdraw"]


def test_the_provider_withdraws_up_to_a_cumulative_total(chain, server):
    pod_id, before = channel(chain, 1000), chain.token_balance(chain.provider)
    rpc = st.Rpc(server.url)
    st.withdraw_up_to(rpc, PROVIDER_KEY, chain.chain_id, chain.contract, chain.publisher, pod_id, 250, chain.provider)
    st.withdraw_up_to(rpc, PROVIDER_KEY, chain.chain_id, chain.contract, chain.publisher, pod_id, 600, chain.provider)
    assert (chain.withdrawn(pod_id), chain.token_balance(chain.provider)) == (600, before + 600)
    with pytest.raises(st.SettleError, match="reverted"):  # AmountRequired: not above what was withdrawn
        st.withdraw_up_to(rpc, PROVIDER_KEY, chain.chain_id, chain.contract, chain.publisher, pod_id, 600, chain.provider)


def test_a_closed_channel_pays_what_was_settled_and_then_nothing(chain, server):
    pod_id, before = channel(chain, 1000, unlock_time=60), chain.token_balance(chain.provider)
    assert settle(chain, server, pod_id, {}, 100) == ["p: withdrew 100, still owed 0"]
    chain.pay("unlock(address,bytes32)", chain.provider, pod_id)
    chain.later(120)
    chain.pay("closeChannel(address,bytes32)", chain.provider, pod_id)
    # The channel is deleted: withdrawn and available read 0, and settling sends nothing.
    assert (chain.withdrawn(pod_id), chain.available(pod_id)) == (0, 0)
    assert settle(chain, server, pod_id, {}, 100) == ["p: owed 100, available 0: nothing to withdraw"]
    assert chain.token_balance(chain.provider) == before + 100


def test_a_failed_read_on_one_pod_is_logged_without_the_url(chain):
    config = {"contract": chain.contract, "provider": chain.provider, "chainId": chain.chain_id,
              "pods": [{"name": "p", "publisher": chain.publisher, "podId": "0x" + "01" * 32, "namespace": "tpod-p"}]}
    lines = st.settle_once(config, st.Rpc("http://127.0.0.1:9/secret-api-key", timeout=2), PROVIDER_KEY, {}, lambda _pod: 5)
    assert lines == ["p: eth_call failed (URLError)"]


# --- the pure parts ---------------------------------------------------------------------------------


@pytest.mark.parametrize("owed, withdrawn, available, tolerance, total", [
    (300, 0, 1000, 0, 300),
    (1500, 0, 1000, 0, 1000),      # owed more than available: all of it
    (0, 100, 900, 0, None),
    (50, 100, 0, 0, None),         # nothing left
    (5, 100, 900, 10, None),       # dust below the tolerance
    (5, 100, 5, 10, 105),          # ...unless it empties the channel
])
def test_plan_withdrawal(owed, withdrawn, available, tolerance, total):
    assert st.plan_withdrawal(owed, withdrawn, available, tolerance) == total


def test_owed_for_prices_in_decimal_and_rounds_down():
    from decimal import Decimal

    assert st.owed_for({"cpuSecond": Decimal("1.5"), "memoryByteSecond": Decimal(3)}, {"cpuSecond": "3", "memoryByteSecond": "0.1"}) == 4


def test_signatures_match_eth_keys_and_the_address_is_the_keys():
    from eth_keys import keys

    key = keys.PrivateKey(PROVIDER_KEY.to_bytes(32, "big"))
    assert st.address_of(PROVIDER_KEY) == key.public_key.to_checksum_address().lower()
    digest = st.keccak256(b"settle")
    theirs = key.sign_msg_hash(digest)
    assert st.sign(PROVIDER_KEY, digest) == (theirs.v, theirs.r, theirs.s)


def test_the_config_the_stack_mounts_settles_on_the_real_contract(chain, server):
    from components.provider import settlement_builder as sb

    pod_id, before = channel(chain, 1000), chain.token_balance(chain.provider)
    config = sb.config(contract=chain.contract, provider=chain.provider, chain_id=chain.chain_id, interval_seconds=300,
                       tolerance=0, transfer_to=None, prices={"cpuSecond": "2"},
                       pods=[{"name": "p", "namespace": "tpod-p", "publisher": chain.publisher, "podId": pod_id}])
    # What settler.main does per tick, with the metered quantities given instead of read from Prometheus.
    usage = lambda _pod: st.owed_for({"cpuSecond": 60}, config["prices"])  # noqa: E731
    lines = st.settle_once(json.loads(json.dumps(config)), st.Rpc(server.url), PROVIDER_KEY, {}, usage)
    assert lines == ["p: withdrew 120, still owed 0"] and chain.token_balance(chain.provider) == before + 120
