"""A local HTTP server that answers like a Saga chain's REST (grpc-gateway) API.

It serves `{prefix}/list_chainlets` and `{prefix}/list_chainlet_stack` with Cosmos SDK
pagination (`pagination.limit`, `pagination.key`, base64 `next_key`) and height pinning
(the `x-cosmos-block-height` header, echoed on every response; a pruned height answers
HTTP 500 with the SDK's error body). Faults can be switched on to test the reader.

Tests and benchmarks start it on 127.0.0.1 with a free port; it always stops by itself,
at the end of the `with` block or after `lifetime` seconds at the latest.

    python -m tools.fakechain --chainlets 60 --port 1317   # prints the chain.* settings to use
"""

from __future__ import annotations

import base64
import sys
import json
import threading
import time
import urllib.parse
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Optional

STACK = "SagaOS"
VERSIONS = (
    ("0.12.4", "sagaxyz/sagaos:0.12.4", "0.12.4-release"),
    ("0.13.1", "sagaxyz/sagaos:0.13.1", "sha256:ced72e81e44926157e56d1c9dd3c0de5a5af50c2a87380f4be80d9d5196d86d3"),
)


def chainlet_record(i: int, *, online: bool = True, version: str = "0.13.1",
                    start: datetime = datetime(2024, 1, 1, tzinfo=timezone.utc)) -> dict:
    chain_id = f"chainlet{i:05d}_{2700000000000000 + i}-1"
    spawn = start + timedelta(hours=i)
    return {
        "spawnTime": spawn.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "launcher": "saga1launcher",
        "maintainers": [f"saga1maintainer{i}"],
        "chainletStackName": STACK,
        "chainletStackVersion": version,
        "chainId": chain_id,
        "chainletName": f"chainlet{i}",
        "denom": "gas",
        "params": {
            "gasLimit": "10000000",
            "createEmptyBlocks": False,
            "dacEnable": False,
            "genAcctBalances": {"list": [{"address": f"saga1maintainer{i}", "balance": "1000"}]},
            "fixedBaseFee": "",
            "feeAccount": "",
            "evmDisable": False,
        },
        "status": "STATUS_ONLINE" if online else "STATUS_OFFLINE",
        "autoUpgradeStack": True,
        "genesisValidators": ["saga1validator0", "saga1validator1"],
        "tags": [],
        "isServiceChainlet": False,
    }


def stack_record() -> dict:
    return {
        "creator": "saga1creator",
        "displayName": STACK,
        "description": "SagaOS Chainlet Stack",
        "versions": [
            {"image": image, "version": version, "checksum": checksum, "enabled": True, "ccvConsumer": True}
            for version, image, checksum in VERSIONS
        ],
        "fees": [{"denom": "usaga", "epochFee": "100usaga", "setupFee": "100usaga"}],
    }


@dataclass
class ChainState:
    """What the fake chain holds. Tests mutate it between reads."""

    chainlets: list[dict] = field(default_factory=list)
    stacks: list[dict] = field(default_factory=lambda: [stack_record()])
    height: int = 1000
    pruned_below: int = 0  # heights below this answer like a pruned node
    # Faults: each counts down per request that it affects (-1 = always).
    fail_5xx: int = 0
    hang_seconds: float = 0.0
    malformed_json: int = 0
    truncate: int = 0
    omit_height_header: int = 0
    wrong_height_header: int = 0
    duplicate_page: bool = False
    html_not_found: bool = False  # unknown paths answer like a web server's HTML 404 page
    faults_after: int = 0  # serve this many requests normally before any fault applies
    requests: int = 0
    seen_heights: list = field(default_factory=list)


def _take(state: ChainState, name: str) -> bool:
    if state.requests <= state.faults_after:
        return False
    n = getattr(state, name)
    if n == 0:
        return False
    if n > 0:
        setattr(state, name, n - 1)
    return True


def _handler(state: ChainState, prefix: str, lock: threading.Lock):
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args: Any) -> None:  # keep test output clean
            return

        def _send(self, status: int, doc: Any, height: Optional[int], *, raw: Optional[bytes] = None,
                  truncate: bool = False, content_type: str = "application/json") -> None:
            data = raw if raw is not None else json.dumps(doc).encode()
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            length = len(data) + (100 if truncate else 0)
            self.send_header("Content-Length", str(length))
            if height is not None:
                self.send_header("X-Cosmos-Block-Height", str(height))
            self.end_headers()
            self.wfile.write(data)
            if truncate:
                self.close_connection = True

        def do_GET(self) -> None:  # noqa: N802 - the stdlib's name
            with lock:
                state.requests += 1
                url = urllib.parse.urlsplit(self.path)
                query = dict(urllib.parse.parse_qsl(url.query))
                asked = self.headers.get("x-cosmos-block-height")
                state.seen_heights.append(asked)
                height = int(asked) if asked is not None else state.height
                answer_height: Optional[int] = height
                if _take(state, "omit_height_header"):
                    answer_height = None
                elif _take(state, "wrong_height_header"):
                    answer_height = height + 1
                if _take(state, "fail_5xx"):
                    return self._send(503, {"code": 14, "message": "unavailable", "details": []}, answer_height)
                hang = state.hang_seconds if state.requests > state.faults_after else 0.0
            if hang:
                time.sleep(hang)
            with lock:
                if height > state.height:
                    # What the SDK's baseapp answers for a height it has not reached (sdk code 26).
                    return self._send(500, {
                        "code": 2,
                        "message": "codespace sdk code 26: invalid height: cannot query with height in the future; "
                                   "please provide a valid height",
                        "details": [],
                    }, None)
                if height < state.pruned_below:
                    return self._send(500, {
                        "code": 2,
                        "message": f"codespace sdk code 38: not found: failed to load state at height {height}; "
                                   f"version does not exist (latest height: {state.height})",
                        "details": [],
                    }, None)
                route = url.path[len(prefix):] if url.path.startswith(prefix) else None
                if route == "/list_chainlets":
                    items, field_name = state.chainlets, "Chainlets"
                elif route == "/list_chainlet_stack":
                    items, field_name = state.stacks, "ChainletStacks"
                elif state.html_not_found:
                    page = "<html><head><title>404 Not Found</title></head><body>" + "<p>nothing here</p>" * 200 + "</body></html>"
                    return self._send(404, None, None, raw=page.encode(), content_type="text/html")
                else:
                    return self._send(501, {"code": 12, "message": f"Not Implemented {url.path}", "details": []}, answer_height)
                limit = int(query.get("pagination.limit", "100"))
                offset = 0
                if query.get("pagination.key"):
                    offset = int(base64.b64decode(query["pagination.key"]).decode())
                page = items[offset:offset + limit]
                nxt = offset + limit
                next_key = base64.b64encode(str(nxt).encode()).decode() if nxt < len(items) else None
                if state.duplicate_page and offset > 0:
                    next_key = query["pagination.key"]
                total = str(len(items)) if query.get("pagination.count_total") == "true" else "0"
                doc = {field_name: page, "pagination": {"next_key": next_key, "total": total}}
                if _take(state, "malformed_json"):
                    return self._send(200, None, answer_height, raw=b'{"Chainlets": [{"chainId": ')
                return self._send(200, doc, answer_height, truncate=_take(state, "truncate"))

    return Handler


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request, client_address) -> None:
        # A client that gave up (a reader's timeout) is expected here, not a server fault.
        if not isinstance(sys.exc_info()[1], (BrokenPipeError, ConnectionResetError)):
            super().handle_error(request, client_address)


class FakeChain:
    """`with FakeChain(state) as chain: chain.endpoint`"""

    def __init__(self, state: Optional[ChainState] = None, *, prefix: str = "/ssc/chainlet",
                 port: int = 0, lifetime: float = 300.0):
        self.state = state or ChainState()
        self.prefix = prefix
        self.lock = threading.Lock()
        self.server = _Server(("127.0.0.1", port), _handler(self.state, prefix, self.lock))
        self._thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        # However a test ends, the server goes away.
        self._deadline = threading.Timer(lifetime, self.stop)
        self._deadline.daemon = True

    @property
    def endpoint(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> "FakeChain":
        self._thread.start()
        self._deadline.start()
        return self

    def stop(self) -> None:
        self._deadline.cancel()
        self.server.shutdown()
        self.server.server_close()

    def __enter__(self) -> "FakeChain":
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.stop()


def _count(text: str) -> int:
    import argparse

    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a whole number, got {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be 0 or more, got {value}")
    return value


def _positive(text: str) -> float:
    import argparse

    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a number, got {text!r}") from None
    if value <= 0:
        raise argparse.ArgumentTypeError(f"must be more than 0, got {text}")
    return value


def banner(chain: "FakeChain", lifetime: float) -> str:
    """What to paste: the exact chain.endpoint and chain.apiPrefix (the endpoint has no prefix)."""
    sets = f"--set chain.source=rest --set chain.endpoint={chain.endpoint} --set chain.apiPrefix={chain.prefix}"
    return "\n".join([
        f"fake chain: {len(chain.state.chainlets)} chainlets at height {chain.state.height}, "
        f"serving {chain.endpoint}{chain.prefix}/list_chainlets; stops in {lifetime:.0f}s (Ctrl-C stops it sooner)",
        "Plan against it:",
        f"  venv/bin/python -m tools.plan {sets}",
        "or point a stack at it:",
        "  pulumi config set --path chain.source rest",
        f"  pulumi config set --path chain.endpoint {chain.endpoint}",
        f"  pulumi config set --path chain.apiPrefix {chain.prefix}",
    ])


def main(argv: Optional[list[str]] = None) -> int:
    import argparse

    p = argparse.ArgumentParser(prog="python -m tools.fakechain", description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("--chainlets", type=_count, default=30, help="how many chainlets the chain lists")
    p.add_argument("--offline-every", type=_count, default=7, help="every Nth chainlet is offline (0: none)")
    p.add_argument("--height", type=_count, default=1000, help="the block height the chain answers at")
    p.add_argument("--prefix", default="/ssc/chainlet", help="path of the chainlet module (chain.apiPrefix)")
    p.add_argument("--port", type=int, default=1317, help="port on 127.0.0.1 (0: any free port)")
    p.add_argument("--lifetime", type=_positive, default=3600, help="seconds until the server stops by itself")
    args = p.parse_args(argv)
    state = ChainState(height=args.height, chainlets=[
        chainlet_record(i, online=not (args.offline_every and i % args.offline_every == args.offline_every - 1))
        for i in range(args.chainlets)
    ])
    try:
        chain = FakeChain(state, prefix=args.prefix, port=args.port, lifetime=args.lifetime)
    except OSError as e:
        print(f"error: --port {args.port}: cannot listen on 127.0.0.1:{args.port}: {e.strerror}; "
              "pick another port, or --port 0 for any free one", file=sys.stderr)
        return 1
    with chain:
        print(banner(chain, args.lifetime), flush=True)
        try:
            time.sleep(args.lifetime)
        except KeyboardInterrupt:
            pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
