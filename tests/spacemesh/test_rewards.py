"""tools.rewards against a fake go-spacemesh JSON API on 127.0.0.1."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from tools import rewards

COINBASE = "stest1qqqqqqy0dd83jemjmfj3ghjndxm0ndh3sed8cxs9ns2ut"
OTHER = "stest1qqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqq"
# Balances by layer as the node would report them (0: now).
STATE = {0: {COINBASE: 9000, OTHER: 5}, 100: {COINBASE: 1000}, 200: {COINBASE: 4000, OTHER: 5}}


@pytest.fixture
def node():
    requests = []

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args):
            pass

        def do_POST(self):
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            requests.append((self.path, body))
            if self.path != "/v1/debug/accounts":
                self.send_response(404)
                self.end_headers()
                return
            state = STATE[body.get("layer", 0)]
            data = json.dumps({"accountWrapper": [
                {"accountId": {"address": a}, "stateCurrent": {"counter": "1", "balance": {"value": str(v)}}} for a, v in state.items()
            ]}).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}", requests
    server.shutdown()
    server.server_close()


def test_balances_and_managed_accounts_of_the_example_stack(node, capsys):
    url, requests = node
    assert rewards.main(["--stack", "spacemesh", "--url", url]) == 0
    out = capsys.readouterr().out.splitlines()
    miners = ", ".join(f"miner-{i}" for i in range(1, 21))
    assert out == [
        f"Account: {OTHER}", "Balance: 5", "Managed Miner Account: false", "",
        f"Account: {COINBASE}", "Balance: 9000", f"Managed Miner Account: true ({miners})",
    ]
    assert requests == [("/v1/debug/accounts", {"layer": 0})]


def test_rewards_between_two_layers(node, capsys):
    url, requests = node
    assert rewards.main(["--stack", "spacemesh", "--url", url, "--from-layer", "100", "--to-layer", "200", "--managed-only"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0] == f"Account: {COINBASE}" and out[-1] == "Rewards in layers: 3000"
    assert [b["layer"] for _, b in requests] == [0, 100, 200]


def test_an_unreachable_node_is_one_error_line(capsys):
    assert rewards.main(["--stack", "spacemesh", "--url", "http://127.0.0.1:9"]) == 1
    assert capsys.readouterr().err.startswith("error: cannot reach http://127.0.0.1:9:")


def test_a_validator_stack_is_refused(node, capsys):
    url, _ = node
    assert rewards.main(["--stack", "dev", "--url", url]) == 1
    assert capsys.readouterr().err == "error: stack dev runs blueprint validator, not spacemesh\n"
