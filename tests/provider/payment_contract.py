"""trusted-pods' real Payment contract on an in-process EVM.

tests/provider/upstream/Payment.sol (comrade-coop/trusted-pods contracts/src/Payment.sol at
d0512a42e1cbafd60a0998ac4bc03a953f94f555, unmodified) is compiled at test time by the
JavaScript solc pinned in tests/provider/solc/package.json (`npm ci` there, no compiler
download at run time), with the OpenZeppelin 5.0.0 sources it imports from the same lock file.
It runs on eth-tester's py-evm backend behind tests/evm.py's JSON-RPC server, so the settler
talks to it as to a node: raw signed transactions, receipts, nonces.
"""

from __future__ import annotations

import functools
import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

from eth_tester import EthereumTester, PyEVMBackend
from eth_tester.exceptions import TransactionFailed

from tests.evm import encode

HERE = Path(__file__).parent
SOLC_DIR = HERE / "solc"
PAYMENT_SOL = HERE / "upstream" / "Payment.sol"
# Our own ERC-20 for the channel's token (the contract takes any IERC20); built on the same
# OpenZeppelin ERC20 the upstream MockToken uses.
TOKEN_SOL = """// SPDX-License-Identifier: MIT
pragma solidity ^0.8.22;
import {ERC20} from "@openzeppelin/contracts/token/ERC20/ERC20.sol";
contract TestToken is ERC20 {
    constructor() ERC20("Test", "TST") {}
    function mint(uint256 amount) public { _mint(msg.sender, amount); }
}
"""
PROVIDER_KEY = 0x4C0883A69102937D6231471B5DBB6204FE5129617082792AE468D01A3F362318


def _int(result: Any) -> int:
    return int.from_bytes(result, "big") if isinstance(result, bytes) else int(result, 16)


class SolcMissing(Exception):
    pass


@functools.lru_cache(maxsize=1)
def compiled() -> dict[str, dict]:
    node = shutil.which("node")
    if node is None or not (SOLC_DIR / "node_modules" / "solc").is_dir():
        raise SolcMissing("node or tests/provider/solc/node_modules is missing: run `npm ci` in tests/provider/solc (make unit does)")
    source = {
        "language": "Solidity",
        # The unit name keeps Payment.sol's relative imports ("../lib/openzeppelin-contracts/...").
        "sources": {"src/Payment.sol": {"content": PAYMENT_SOL.read_text()}, "test/TestToken.sol": {"content": TOKEN_SOL}},
        "settings": {"outputSelection": {"*": {"*": ["abi", "evm.bytecode.object"]}}},
    }
    proc = subprocess.run([node, str(SOLC_DIR / "compile.js")], input=json.dumps(source), capture_output=True, text=True,
                          timeout=300, check=True)
    out = json.loads(proc.stdout)
    errors = [e["formattedMessage"] for e in out.get("errors", []) if e["severity"] == "error"]
    assert not errors, errors
    return {"Payment": out["contracts"]["src/Payment.sol"]["Payment"], "TestToken": out["contracts"]["test/TestToken.sol"]["TestToken"]}


class PaymentChain:
    """The token, the Payment contract, a publisher and a provider whose key we hold."""

    def __init__(self):
        from components.provider.settler import address_of

        self.tester = EthereumTester(PyEVMBackend())
        accounts = self.tester.get_accounts()
        self.funder, self.publisher = accounts[0], accounts[1]
        self.provider = address_of(PROVIDER_KEY)
        self.tester.add_account("0x%064x" % PROVIDER_KEY)
        self.tester.send_transaction({"from": self.funder, "to": self.provider, "value": 10**18, "gas": 21000})
        self.token = self._deploy("TestToken", b"")
        self.contract = self._deploy("Payment", bytes.fromhex(self.token[2:]).rjust(32, b"\0"))
        self.chain_id = self.tester.backend.chain.chain_id
        self.send(self.publisher, self.token, "mint(uint256)", 10**21)
        self.send(self.publisher, self.token, "approve(address,uint256)", self.contract, 10**21)

    def _deploy(self, name: str, args: bytes) -> str:
        code = compiled()[name]["evm"]["bytecode"]["object"]
        tx = self.tester.send_transaction({"from": self.funder, "data": "0x" + code + args.hex(), "gas": 5_000_000})
        return self.tester.get_transaction_receipt(tx)["contract_address"].lower()

    def send(self, sender: str, to: str, signature: str, *args: Any) -> None:
        """A transaction; raises TransactionFailed if the contract reverts."""
        tx = self.tester.send_transaction({"from": sender, "to": to, "data": encode(signature, *args), "gas": 500_000})
        if self.tester.get_transaction_receipt(tx)["status"] != 1:
            raise TransactionFailed(f"{signature} reverted")

    def pay(self, signature: str, *args: Any) -> None:
        self.send(self.publisher, self.contract, signature, *args)

    def read(self, signature: str, *args: Any) -> int:
        return _int(self.tester.call({"from": self.funder, "to": self.contract, "data": encode(signature, *args)}, "latest"))

    def available(self, pod_id: str) -> int:
        return self.read("available(address,address,bytes32)", self.publisher, self.provider, pod_id)

    def withdrawn(self, pod_id: str) -> int:
        return self.read("withdrawn(address,address,bytes32)", self.publisher, self.provider, pod_id)

    def token_balance(self, who: str) -> int:
        return _int(self.tester.call({"from": self.funder, "to": self.token, "data": encode("balanceOf(address)", who)}, "latest"))

    def later(self, seconds: int) -> None:
        now = self.tester.get_block_by_number("latest")["timestamp"]
        self.tester.time_travel(now + seconds)

    # JSON-RPC as a node answers it (tests.evm.Server calls this).
    def rpc(self, method: str, params: list) -> Any:
        if method == "eth_chainId":
            return hex(self.chain_id)
        if method == "eth_blockNumber":
            return hex(self.tester.get_block_by_number("latest")["number"])
        if method == "eth_call":
            call, tag = params
            block = int(tag, 16) if tag.startswith("0x") else tag
            return self.tester.call({"from": self.funder, "to": call["to"], "data": call["data"]}, block)
        if method == "eth_getTransactionCount":
            return hex(self.tester.get_nonce(params[0]))
        if method == "eth_gasPrice":
            return hex(2 * self.tester.get_block_by_number("latest")["base_fee_per_gas"])
        if method == "eth_sendRawTransaction":
            return self.tester.send_raw_transaction(params[0])
        if method == "eth_getTransactionReceipt":
            receipt = self.tester.get_transaction_receipt(params[0])
            return {"status": hex(receipt["status"]), "transactionHash": params[0]}
        raise KeyError(method)


__all__ = ["PaymentChain", "SolcMissing", "TransactionFailed", "PROVIDER_KEY", "compiled"]
