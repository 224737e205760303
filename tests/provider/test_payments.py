"""The payment reader against a real EVM: eth-tester on py-evm, our payment contract compiled
by Vyper at test time, served over JSON-RPC on 127.0.0.1 (tests/evm.py)."""

from __future__ import annotations

import json

import pytest

from components.provider import payments
from components.provider.payments import Channel, PaymentReadError, PaymentView
from tests.evm import Chain, Server

POD_A = "0x" + "a1" * 32
POD_B = "0x" + "b2" * 32


@pytest.fixture(scope="module")
def chain():
    return Chain()


@pytest.fixture
def node(chain):
    server = Server(chain)
    yield server
    server.close()


def publishers(chain):
    return chain.accounts[1].lower(), chain.accounts[2].lower()


def read(chain, node, pods, block_tag="latest", chain_id=None):
    return payments.read_evm(node.url, chain_id=chain_id or chain.chain_id, contract=chain.contract,
                             provider=chain.provider, block_tag=block_tag, pods=pods, timeout=5)


def test_funded_and_exhausted_channels_at_one_pinned_block(chain, node):
    a, b = publishers(chain)
    chain.deposit(chain.accounts[1], POD_A, 700)
    chain.deposit(chain.accounts[2], POD_B, 300)
    chain.withdraw(b, POD_B, 300)  # B's channel ran dry
    block = chain.block
    view = read(chain, node, [("a", a, POD_A), ("b", b, POD_B)])
    assert view == PaymentView("evm", chain.chain_id, block, {
        "a": Channel(a, POD_A, 700),
        "b": Channel(b, POD_B, 0),
    })
    assert payments.statuses(view) == {"a": "funded", "b": "exhausted"}
    # The latest block is asked once; every call names that block, never "latest".
    methods = [m for m, _ in node.calls]
    assert methods == ["eth_chainId", "eth_blockNumber", "eth_call", "eth_call"]
    assert {params[1] for m, params in node.calls if m == "eth_call"} == {hex(block)}


def test_a_pinned_block_number_reads_the_past(chain, node):
    a, _ = publishers(chain)
    pod = "0x" + "c3" * 32
    chain.deposit(chain.accounts[1], pod, 50)
    before = chain.block
    chain.withdraw(a, pod, 50)
    assert read(chain, node, [("c", a, pod)]).channels["c"].status == "exhausted"
    node.calls.clear()
    view = read(chain, node, [("c", a, pod)], block_tag=before)
    assert view.block == before and view.channels["c"].available == 50
    assert [m for m, _ in node.calls] == ["eth_chainId", "eth_call"]


def test_the_call_data_is_the_abi_encoding_the_contract_answers(chain):
    from eth_utils import function_signature_to_4byte_selector

    assert payments.SELECTOR == "0x" + function_signature_to_4byte_selector(payments.SIGNATURE).hex()
    assert payments.selector() == payments.SELECTOR
    data = payments.call_data("0x" + "01" * 20, "0x" + "02" * 20, "0x" + "03" * 32)
    assert data == payments.SELECTOR + "00" * 12 + "01" * 20 + "00" * 12 + "02" * 20 + "03" * 32


def test_a_wrong_chain_id_is_refused_before_any_call(chain, node):
    node.chain_id_override = 1
    with pytest.raises(PaymentReadError) as e:
        read(chain, node, [("a", publishers(chain)[0], POD_A)])
    assert str(e.value) == (
        f"pegasus:provider.payments.chainId: the node at {node.url} serves chain 1, not chain {chain.chain_id}; "
        "point provider.payments.rpcUrl at a node of the payment chain (or fix provider.payments.chainId); nothing was planned"
    )
    assert [m for m, _ in node.calls] == ["eth_chainId"]


@pytest.mark.parametrize("fail, message", [
    ("http500", "eth_call at {url} failed with HTTP 500; nothing was planned"),
    ("rpc-error", "eth_call at {url} returned an error: header not found; nothing was planned"),
    ("garbage", "eth_call at {url} answered with something that is not JSON; nothing was planned"),
])
def test_an_rpc_failure_aborts_the_whole_read(chain, node, fail, message):
    node.fail = fail
    with pytest.raises(PaymentReadError) as e:
        read(chain, node, [("a", publishers(chain)[0], POD_A)])
    assert str(e.value) == "pegasus:provider.payments.rpcUrl: " + message.format(url=node.url)


def test_a_refused_connection_names_the_url(chain):
    with pytest.raises(PaymentReadError) as e:
        payments.read_evm("http://127.0.0.1:9", chain_id=1, contract=chain.contract, provider=chain.provider,
                          block_tag="latest", pods=[], timeout=2)
    assert str(e.value).startswith("pegasus:provider.payments.rpcUrl: eth_chainId at http://127.0.0.1:9 failed (")


def test_an_address_without_the_contract_does_not_answer(chain, node):
    with pytest.raises(PaymentReadError) as e:
        payments.read_evm(node.url, chain_id=chain.chain_id, contract="0x" + "99" * 20, provider=chain.provider,
                          block_tag="latest", pods=[("a", publishers(chain)[0], POD_A)])
    assert str(e.value).startswith("pegasus:provider.payments.contract: the payment contract 0x9999")


def test_a_block_the_chain_has_not_reached_is_an_rpc_error(chain, node):
    with pytest.raises(PaymentReadError) as e:
        read(chain, node, [("a", publishers(chain)[0], POD_A)], block_tag=chain.block + 1000)
    assert "eth_call at" in str(e.value) and "returned an error" in str(e.value)


# --- snapshot ----------------------------------------------------------------------------------


def snapshot(tmp_path, **overrides):
    doc = {"chainId": 5, "block": 10, "contract": "0x" + "cc" * 20, "provider": "0x" + "dd" * 20,
           "channels": [{"publisher": "0x" + "AA" * 20, "podId": POD_A, "available": "12"}], **overrides}
    (tmp_path / "p.json").write_text(json.dumps(doc))
    return payments.read_snapshot("p.json", str(tmp_path), chain_id=5, contract="0x" + "cc" * 20, provider="0x" + "dd" * 20,
                                  pods=[("a", "0x" + "aa" * 20, POD_A), ("b", "0x" + "aa" * 20, POD_B)])


def test_snapshot_channels_and_an_unknown_channel_reads_as_empty(tmp_path):
    view = snapshot(tmp_path)
    assert view.block == 10 and payments.statuses(view) == {"a": "funded", "b": "exhausted"}
    assert view.channels["a"].available == 12


def test_a_snapshot_of_another_chain_is_refused(tmp_path):
    with pytest.raises(PaymentReadError) as e:
        snapshot(tmp_path, chainId=6)
    assert str(e.value) == "pegasus:provider.payments.snapshot: p.json records chainId 6, not 5 as configured; nothing was planned"


def test_a_node_behind_the_last_applied_block_is_refused_before_anything_is_declared(chain, node):
    from pegasus import config
    from components.provider.paymentstate import guard_failures
    from components.provider.payment_state import PAYMENT_STATE_TYPE
    from stacks.provider import check_against_last_run

    a, _ = publishers(chain)
    settings = config.parse({"blueprint": "provider", "provider": {"httpHostSuffix": "pods.example.org", "payments": {
        "source": "evm", "rpcUrl": node.url, "chainId": chain.chain_id, "contract": chain.contract,
        "providerAddress": chain.provider, "allowInsecure": True}}}, project="pegasus", stack="t", secret_keys={"provider"})
    applied = read(chain, node, [("a", a, POD_A)])
    state = {"urn": {"type": PAYMENT_STATE_TYPE, "outputs": {"block": applied.block, "chainId": applied.chain_id}}}
    lagging = read(chain, node, [("a", a, POD_A)], block_tag=applied.block - 1)  # a node one block behind
    with pytest.raises(PaymentReadError) as e:
        check_against_last_run(settings, lagging, state)
    assert str(e.value).startswith(
        f"pegasus:provider.payments.rpcUrl: the payments were read at block {applied.block - 1}, below block {applied.block} applied last time")
    check_against_last_run(settings, applied, state)  # the same block again is fine
    assert [f.property for f in guard_failures({"pods": {}, "block": applied.block, "chainId": applied.chain_id},
                                               {"pods": {}, "block": lagging.block, "chainId": lagging.chain_id})] == ["block"]


def test_errors_name_the_node_by_host_never_by_its_secret_path():
    from components.provider.payments import read_evm, redact

    assert redact("https://user:pw@mainnet.example.org:8443/v3/KEY123?apikey=KEY456") == "https://mainnet.example.org:8443"
    with pytest.raises(PaymentReadError) as e:
        read_evm("http://127.0.0.1:9/v3/KEY123", chain_id=1, contract="0x" + "cc" * 20, provider="0x" + "dd" * 20,
                 block_tag="latest", pods=[], timeout=2)
    assert "KEY123" not in str(e.value) and str(e.value).startswith("pegasus:provider.payments.rpcUrl: eth_chainId at http://127.0.0.1:9 failed")


def test_the_guards_state_records_the_rpc_host_not_the_url():
    from pegasus import config
    from components.provider.payments import PaymentView
    from stacks.provider import guard_inputs

    settings = config.parse({"blueprint": "provider", "provider": {"httpHostSuffix": "pods.example.org", "payments": {
        "source": "evm", "rpcUrl": "https://rpc.example.org/v3/KEY123", "chainId": 1, "contract": "0x" + "cc" * 20,
        "providerAddress": "0x" + "dd" * 20}}}, project="pegasus", stack="t", secret_keys={"provider"})
    inputs = guard_inputs(settings, PaymentView("evm", 1, 10, {}), {})
    assert inputs["rpcHost"] == "https://rpc.example.org" and "KEY123" not in json.dumps(inputs)


def test_a_latest_read_is_pinned_below_the_head_by_the_confirmations(chain, node):
    a, _ = publishers(chain)
    pod = "0x" + "77" * 32
    chain.deposit(chain.accounts[1], pod, 500)  # in the head block
    head = chain.block
    view = payments.read_evm(node.url, chain_id=chain.chain_id, contract=chain.contract, provider=chain.provider,
                             block_tag="latest", pods=[("p", a, pod)], timeout=5, confirmations=1)
    # One block below the head: the deposit is not confirmed yet, so the channel reads empty.
    assert (view.block, view.channels["p"].available) == (head - 1, 0)
    assert read(chain, node, [("p", a, pod)]).channels["p"].available == 500
