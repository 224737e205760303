"""Joining a network by the URL its config is published at (spacemesh.configFile as an http(s)
URL), against a real HTTP server on 127.0.0.1 that each test starts and stops.

What is served is upstream's or another stack's, not something shaped after our reader: the
config.json a Pegasus bootstrap stack publishes (its publicConfig output), and mainnet's
genesis as go-spacemesh v1.7.6 config/mainnet.go sets it, whose genesis ID node/relay_test.go
names."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from components.spacemesh.config_source import MAX_BYTES, read_config
from components.spacemesh.node_config import genesis_id
from pegasus.errors import ConfigError
from tests.conftest import example, obj, run, write_stack
from tests.spacemesh.test_program import BOOT, MAINNET_COINBASE
from tests.spacemesh.test_upstream import GS


class Server:
    """path -> (status, body); anything else is a 404. `hold` makes /slow wait until released."""

    def __init__(self):
        self.routes: dict[str, tuple[int, bytes]] = {}
        self.hold = threading.Event()
        self.requests: list[str] = []
        routes, hold, requests = self.routes, self.hold, self.requests

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):
                requests.append(self.path)
                if self.path == "/slow":
                    hold.wait(10)
                status, body = routes.get(self.path, (404, b"not found"))
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}{path}"


@pytest.fixture
def server():
    s = Server()
    s.thread.start()
    try:
        yield s
    finally:
        s.hold.set()
        s.httpd.shutdown()
        s.httpd.server_close()
        s.thread.join(5)


def url_join_stack(tmp_path, url: str, coinbase: str = MAINNET_COINBASE, disk: str = "100Gi") -> str:
    ids = {f"miner-{i}": f"12D3KooW{'B' * 44}{i}z" for i in (1, 2)}
    return write_stack(tmp_path, {
        "pegasus:blueprint": "spacemesh",
        "pegasus:cluster": {"provider": "existing"},
        "pegasus:spacemesh": {"network": "join-1", "image": "spacemeshos/go-spacemesh:v1.7.6", "poetImage": "spacemeshos/poet:v0.10.8",
                              "bootstrap": False, "existingBootnodes": [BOOT], "bootnodes": 2, "miners": 3, "poets": 1,
                              "configFile": url, "identities": ids, "coinbase": coinbase, "resources": {"miner": {"disk": disk}}},
        "pegasus:spacemeshSecrets": {"p2pKeys": {k: {"secure": "x"} for k in ids}, "poetKeys": {"poet-1": {"secure": "x"}}},
    })


def node_genesis_id(plan, role: str) -> str:
    """The genesis ID a node computes from its ConfigMap: the preset it names (mainnet without
    one), then the file; the preset facts are the fixture's (go-spacemesh v1.7.6 config/)."""
    config = json.loads(obj(plan, "ConfigMap", f"config-{role}", "spacemesh-join-1").inputs["data"]["config.json"])
    preset = GS["presets"][config.get("preset", "mainnet")]
    genesis = {"genesis-time": preset["genesis-time"], "genesis-extra-data": preset["genesis-extra-data"], **config.get("genesis", {})}
    return genesis_id(genesis["genesis-time"], genesis["genesis-extra-data"])


def test_joining_a_pegasus_network_by_the_url_of_its_public_config(server, tmp_path):
    # What the example bootstrap stack publishes at gs://<bucket>/<network>/config.json.
    published = example("spacemesh").outputs["publicConfig"]
    server.routes["/devnet-412/config.json"] = (200, json.dumps(published).encode())
    plan = run("test", config_file=url_join_stack(tmp_path, server.url("/devnet-412/config.json"),
                                                  coinbase="stest1qqqqqqy0dd83jemjmfj3ghjndxm0ndh3sed8cxs9ns2ut"))
    assert server.requests == ["/devnet-412/config.json"]  # read once per run
    joined = genesis_id(published["genesis"]["genesis-time"], published["genesis"]["genesis-extra-data"])
    for role in ("bootnode", "miner"):
        assert node_genesis_id(plan, role) == joined
    # The joined network's own PoET schedule: testnet's 5m x 288 layers, 12h phase shift, 2h cycle gap.
    poet = obj(plan, "StatefulSet", "poet-1", "spacemesh-join-1").inputs["spec"]["template"]["spec"]["containers"][0]["args"]
    assert [a for a in poet if a.split("=")[0] in ("--genesis-time", "--epoch-duration", "--phase-shift", "--cycle-gap")] == [
        "--genesis-time=2026-12-15T12:00:00Z", "--epoch-duration=86400s", "--phase-shift=43200s", "--cycle-gap=7200s"]
    bootnode = json.loads(obj(plan, "ConfigMap", "config-bootnode", "spacemesh-join-1").inputs["data"]["config.json"])
    assert bootnode["p2p"]["bootnodes"] == [BOOT]


def test_joining_mainnet_by_url_renders_mainnets_genesis_id(server, tmp_path):
    mainnet = GS["presets"]["mainnet"]
    served = {"genesis": {"genesis-time": mainnet["genesis-time"], "genesis-extra-data": mainnet["genesis-extra-data"]},
              "smeshing": {"smeshing-opts": {"smeshing-opts-numunits": 4}}}
    server.routes["/config.mainnet.json"] = (200, json.dumps(served).encode())
    plan = run("test", config_file=url_join_stack(tmp_path, server.url("/config.mainnet.json"), disk="300Gi"))
    assert node_genesis_id(plan, "miner") == GS["knownGenesisIds"]["mainnet"]


@pytest.mark.parametrize("route, body, status, message", [
    ("/gone.json", None, 404, "cannot fetch {url}: HTTP 404 Not Found; check the URL (the joined network's conf), or use a file"),
    ("/broken.json", b"<html>maintenance</html>", 200, "{url} is not JSON: Expecting value: line 1 column 1 (char 0)"),
    ("/list.json", b"[]", 200, "{url} must hold a JSON object (go-spacemesh's config)"),
    ("/error.json", b"{}", 503, "cannot fetch {url}: HTTP 503 Service Unavailable; check the URL (the joined network's conf), or use a file"),
])
def test_a_failed_read_stops_the_plan_in_one_line_before_anything_is_declared(server, tmp_path, route, body, status, message):
    from tools.plan.runner import ProgramError

    if body is not None:
        server.routes[route] = (status, body)
    url = server.url(route)
    with pytest.raises(ProgramError) as e:
        run("test", config_file=url_join_stack(tmp_path, url))
    assert str(e.value.cause) == f"pegasus:spacemesh.configFile: {message.format(url=url)}"
    assert "\n" not in str(e.value.cause)
    # Nothing declared: the engine deletes nothing of a program that fails.
    assert e.value.registered == 0


def test_unreachable_slow_and_oversized_sources_are_refused(server, tmp_path):
    import socket

    with socket.socket() as s:  # a port nothing listens on once closed
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with pytest.raises(ConfigError) as e:
        read_config(f"http://127.0.0.1:{port}/c.json", str(tmp_path))
    assert str(e.value) == (f"pegasus:spacemesh.configFile: cannot fetch http://127.0.0.1:{port}/c.json: [Errno 111] Connection refused; "
                            "check the URL and the network, or use a file")
    with pytest.raises(ConfigError) as e:
        read_config(server.url("/slow"), str(tmp_path), timeout=0.5)
    assert str(e.value).startswith(f"pegasus:spacemesh.configFile: cannot fetch {server.url('/slow')}: timed out")
    server.hold.set()
    server.routes["/big.json"] = (200, b" " * (MAX_BYTES + 1))
    with pytest.raises(ConfigError) as e:
        read_config(server.url("/big.json"), str(tmp_path))
    assert str(e.value) == f"pegasus:spacemesh.configFile: {server.url('/big.json')} is larger than 1024 KiB, which no go-spacemesh config is; check the URL"


def test_only_http_and_https_urls_are_taken():
    from tests.spacemesh.test_builders import error, raw

    assert error(raw(configFile="ftp://example.org/config.json")) == (
        "pegasus:spacemesh.configFile: 'ftp://example.org/config.json' is neither a file path nor an http(s) URL; write it like "
        "networks/devnet/config.json or https://configs.spacemesh.network/config.mainnet.json")


def test_a_file_still_reads_as_before(tmp_path):
    (tmp_path / "c.json").write_text('{"preset": "testnet"}')
    assert read_config("c.json", str(tmp_path)) == {"preset": "testnet"}
    assert read_config(None, str(tmp_path)) == {}
    with pytest.raises(ConfigError) as e:
        read_config("missing.json", str(tmp_path))
    assert str(e.value) == "pegasus:spacemesh.configFile: cannot read missing.json: No such file or directory"
