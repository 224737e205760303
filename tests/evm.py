"""A real in-process EVM (eth-tester on py-evm) with our payment contract (tests/data/payment.vy,
compiled by Vyper at test time), served over JSON-RPC on 127.0.0.1 so that the reader talks to
it exactly as to a node. `fail` makes the server misbehave one way."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Optional

from eth_tester import EthereumTester, PyEVMBackend
from eth_utils import function_signature_to_4byte_selector

CONTRACT = Path(__file__).parent / "data" / "payment.vy"


def _word(value: Any) -> bytes:
    if isinstance(value, int):
        return value.to_bytes(32, "big")
    raw = bytes.fromhex(value[2:])
    return raw.rjust(32, b"\0")


def encode(signature: str, *args: Any) -> str:
    return "0x" + (function_signature_to_4byte_selector(signature) + b"".join(_word(a) for a in args)).hex()


class Chain:
    def __init__(self):
        import vyper

        self.tester = EthereumTester(PyEVMBackend())
        self.accounts = self.tester.get_accounts()
        self.provider = self.accounts[0].lower()
        bytecode = vyper.compile_code(CONTRACT.read_text(), output_formats=["bytecode"])["bytecode"]
        tx = self.tester.send_transaction({"from": self.accounts[0], "data": bytecode, "gas": 2_000_000})
        self.contract = self.tester.get_transaction_receipt(tx)["contract_address"].lower()
        self.chain_id = self.tester.backend.chain.chain_id

    @property
    def block(self) -> int:
        return self.tester.get_block_by_number("latest")["number"]

    def transact(self, sender: str, signature: str, *args: Any) -> None:
        self.tester.send_transaction({"from": sender, "to": self.contract, "data": encode(signature, *args), "gas": 200_000})

    def deposit(self, publisher: str, pod_id: str, amount: int) -> None:
        self.transact(publisher, "deposit(address,bytes32,uint256)", self.provider, pod_id, amount)

    def withdraw(self, publisher: str, pod_id: str, amount: int) -> None:
        self.transact(self.accounts[0], "withdraw(address,bytes32,uint256)", publisher, pod_id, amount)

    def rpc(self, method: str, params: list) -> Any:
        if method == "eth_chainId":
            return hex(self.chain_id)
        if method == "eth_blockNumber":
            return hex(self.block)
        if method == "eth_call":
            call, tag = params
            block = int(tag, 16) if tag.startswith("0x") else tag
            return self.tester.call({"from": self.accounts[0], "to": call["to"], "data": call["data"]}, block)
        raise KeyError(method)


class Server:
    """JSON-RPC over HTTP in front of a Chain. Records every request."""

    def __init__(self, chain: Chain):
        self.chain, self.fail, self.calls = chain, None, []
        self.chain_id_override: Optional[int] = None
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *_):
                pass

            def do_POST(self):
                request = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                server.calls.append((request["method"], request["params"]))
                status, body = server.answer(request)
                payload = json.dumps(body).encode() if not isinstance(body, bytes) else body
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def answer(self, request: dict) -> tuple[int, Any]:
        method, params, rid = request["method"], request["params"], request["id"]
        if self.fail == "http500" and method == "eth_call":
            return 500, {"error": "internal"}
        if self.fail == "rpc-error" and method == "eth_call":
            return 200, {"jsonrpc": "2.0", "id": rid, "error": {"code": -32000, "message": "header not found"}}
        if self.fail == "garbage" and method == "eth_call":
            return 200, b"<html>bad gateway</html>"
        if method == "eth_chainId" and self.chain_id_override is not None:
            return 200, {"jsonrpc": "2.0", "id": rid, "result": hex(self.chain_id_override)}
        try:
            result = self.chain.rpc(method, params)
        except Exception as e:  # noqa: BLE001 - a node answers errors in-band
            return 200, {"jsonrpc": "2.0", "id": rid, "error": {"code": -32000, "message": str(e)}}
        return 200, {"jsonrpc": "2.0", "id": rid, "result": result}

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
