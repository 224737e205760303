"""tools.rewards against a fake go-spacemesh JSON API on 127.0.0.1 that serves the public
v2alpha1 routes as spacemeshos/api v1.55.0 defines them (tests/spacemesh/upstream/
spacemesh-api-v1.55.0.json: routes, message fields and their JSON types) and as go-spacemesh
v1.7.6 answers them (limit 1..100, layers filtered inclusively, api/grpcserver/v2alpha1)."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from tests.spacemesh.test_upstream import fixture
from tools import rewards

API = fixture("spacemesh-api-v1.55.0.json")
COINBASE = "stest1qqqqqqy0dd83jemjmfj3ghjndxm0ndh3sed8cxs9ns2ut"
OTHER = "stest1qqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqq"
# 150 accounts besides these two, so a listing takes two pages of at most 100.
BALANCES = {COINBASE: 9000, OTHER: 5, **{f"stest1filler{i:03d}": 1 for i in range(150)}}
# Rewards by layer: 120 to the coinbase (layers 1..120, 10 each), one to OTHER.
REWARDS = [{"layer": n, "total": "10", "layerReward": "9", "coinbase": COINBASE, "smesher": "AAAA"} for n in range(1, 121)] + \
    [{"layer": 50, "total": "7", "layerReward": "7", "coinbase": OTHER, "smesher": "AAAA"}]
REQUEST = {"/spacemesh.v2alpha1.AccountService/List": "AccountRequest", "/spacemesh.v2alpha1.RewardService/List": "RewardRequest"}


def check_body(message: str, body: dict) -> None:
    """Every field is one the request message has, in its proto3 JSON type."""
    fields = API["messages"][message]
    for name, value in body.items():
        assert name in fields, f"{message} has no field {name}"
        kind = fields[name]
        if kind == "string:uint64":
            assert isinstance(value, str) and value.isdigit(), f"{message}.{name} is a uint64: a decimal string"
        elif kind.startswith("integer"):
            assert isinstance(value, int) and not isinstance(value, bool), f"{message}.{name} is an integer"
        elif kind == "string":
            assert isinstance(value, str)


def page(items: list, body: dict) -> list:
    limit, offset = int(body.get("limit", "0")), int(body.get("offset", "0"))
    if not 0 < limit <= API["maxLimit"]:
        raise ValueError("limit is capped at 100" if limit else "limit must be set to <= 100")
    return items[offset:offset + limit]


@pytest.fixture
def node():
    requests = []

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args):
            pass

        def answer(self, code: int, data: dict) -> None:
            raw = json.dumps(data).encode()
            self.send_response(code)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(raw)))
            self.end_headers()
            self.wfile.write(raw)

        def do_POST(self):
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            requests.append((self.path, body))
            if self.path not in API["routes"] or "POST" not in API["routes"][self.path]:
                return self.answer(404, {"code": 5, "message": "Not Found"})
            if self.path not in REQUEST:
                return self.answer(501, {"code": 12, "message": "not faked"})
            check_body(REQUEST[self.path], body)
            try:
                if self.path.endswith("AccountService/List"):
                    items = [{"address": a, "current": {"counter": "1", "balance": str(b), "layer": 200}}
                             for a, b in sorted(BALANCES.items())]
                    return self.answer(200, {"accounts": page(items, body)})
                start, end = body.get("startLayer", 0), body.get("endLayer", 0)
                items = [r for r in REWARDS if (not body.get("coinbase") or r["coinbase"] == body["coinbase"])
                         and (not start or r["layer"] >= start) and (not end or r["layer"] <= end)]
                return self.answer(200, {"rewards": page(items, body)})
            except ValueError as e:
                return self.answer(400, {"code": 3, "message": str(e)})

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}", requests
    server.shutdown()
    server.server_close()


def test_the_fake_answers_only_the_pinned_apis_routes():
    assert {"/spacemesh.v2alpha1.AccountService/List", "/spacemesh.v2alpha1.RewardService/List"} <= set(API["routes"])
    assert "/v1/debug/accounts" not in API["routes"]
    # What the fake answers has only the response messages' fields.
    assert {"address", "current"} <= set(API["messages"]["Account"])
    assert {"counter", "balance", "layer"} <= set(API["messages"]["AccountState"])
    assert set(REWARDS[0]) <= set(API["messages"]["Reward"])


def test_balances_and_managed_accounts_of_the_example_stack(node, capsys):
    url, requests = node
    assert rewards.main(["--stack", "spacemesh", "--url", url, "--managed-only"]) == 0
    out = capsys.readouterr().out.splitlines()
    miners = ", ".join(f"miner-{i}" for i in range(1, 21))
    assert out == [f"Account: {COINBASE}", "Balance: 9000", f"Managed Miner Account: true ({miners})"]
    # Two pages of 100: the node refuses more.
    assert requests == [("/spacemesh.v2alpha1.AccountService/List", {"offset": "0", "limit": "100"}),
                        ("/spacemesh.v2alpha1.AccountService/List", {"offset": "100", "limit": "100"})]


def test_every_account_is_listed(node, capsys):
    url, _ = node
    assert rewards.main(["--stack", "spacemesh", "--url", url]) == 0
    out = capsys.readouterr().out.splitlines()
    assert sum(line.startswith("Account: ") for line in out) == 152
    assert out[out.index(f"Account: {OTHER}") + 1:out.index(f"Account: {OTHER}") + 3] == ["Balance: 5", "Managed Miner Account: false"]


def test_rewards_between_two_layers_both_included(node, capsys):
    url, requests = node
    assert rewards.main(["--stack", "spacemesh", "--url", url, "--from-layer", "11", "--to-layer", "120", "--managed-only"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0] == f"Account: {COINBASE}" and out[-1] == "Rewards in layers: 1100"  # layers 11..120, 10 each
    reward_requests = [b for p, b in requests if p.endswith("RewardService/List")]
    assert reward_requests == [
        {"coinbase": COINBASE, "startLayer": 11, "endLayer": 120, "offset": "0", "limit": "100"},
        {"coinbase": COINBASE, "startLayer": 11, "endLayer": 120, "offset": "100", "limit": "100"}]


def test_an_unreachable_node_is_one_error_line(capsys):
    assert rewards.main(["--stack", "spacemesh", "--url", "http://127.0.0.1:9"]) == 1
    assert capsys.readouterr().err.startswith("error: cannot reach http://127.0.0.1:9:")


def test_a_validator_stack_is_refused(node, capsys):
    url, _ = node
    assert rewards.main(["--stack", "dev", "--url", url]) == 1
    assert capsys.readouterr().err == "error: stack dev runs blueprint validator, not spacemesh\n"
