"""tools.meter against a fake Prometheus HTTP API on 127.0.0.1."""

from __future__ import annotations

import json
import threading
import urllib.parse
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from tools import meter

HELLO = "tpod-u6cyftauah6qpwzijba7tffjgs6od5ylxe5tzznkmflg4hmhfy3q"
GAME = "tpod-46wzekphnihawsvfabllzekusdg36agkkmvmb43r35fwalymqera"


class FakePrometheus:
    """Answers /api/v1/query_range with a canned matrix per query; records the requests."""

    def __init__(self, answers: dict, status: int = 200):
        self.answers, self.status, self.requests = answers, status, []
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *_):
                pass

            def do_GET(self):
                url = urllib.parse.urlparse(self.path)
                params = {k: v[0] for k, v in urllib.parse.parse_qs(url.query).items()}
                fake.requests.append((url.path, params))
                body = json.dumps({"status": "success", "data": {"resultType": "matrix", "result": fake.answers.get(params.get("query"), [])}})
                self.send_response(fake.status)
                self.send_header("Content-Type", "application/json")
                self.end_headers()
                self.wfile.write(body.encode())

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()


def series(ns, *values):
    return {"metric": {"namespace": ns}, "values": [[1000 + 60 * i, v] for i, v in enumerate(values)]}


ANSWERS = {
    "pegasus_tenant:cpu_usage:cores": [series(HELLO, "0.5", "0.25"), series(GAME, "2")],
    "pegasus_tenant:memory_usage:bytes": [series(HELLO, "1000", "1000")],
    "pegasus_tenant:cpu_reserved:cores": [series(HELLO, "0.1", "0.1")],
    "pegasus_tenant:memory_reserved:bytes": [series(HELLO, "134217728", "134217728"), series("tpod-gone", "10")],
}


@pytest.fixture
def prometheus():
    fake = FakePrometheus(ANSWERS)
    yield fake
    fake.close()


def test_usage_is_integrated_per_pod_and_priced(prometheus):
    prices = {"cpuSecond": "2", "memoryByteSecond": "0.001", "cpuReservedSecond": "1", "memoryReservedByteSecond": "0"}
    rows = meter.meter(prometheus.url, 1000, 1120, 60, prices, {HELLO: "hello", GAME: "game"})
    by_pod = {r.pod: r for r in rows}
    hello = by_pod["hello"]
    assert hello.quantities == {"cpuSecond": Decimal("45.00"), "memoryByteSecond": Decimal("120000"),
                                "cpuReservedSecond": Decimal("12.0"), "memoryReservedByteSecond": Decimal("16106127360")}
    assert hello.owed == Decimal("45") * 2 + Decimal("120000") * Decimal("0.001") + Decimal("12")
    assert by_pod["game"].quantities["cpuSecond"] == Decimal(120) and by_pod["game"].owed == Decimal(240)
    assert by_pod["(no manifest)"].namespace == "tpod-gone"
    assert [p for p, _ in prometheus.requests] == ["/api/v1/query_range"] * 4
    assert {q["step"] for _, q in prometheus.requests} == {"60"}
    assert {q["start"] for _, q in prometheus.requests} == {"1000.000"}


def test_the_cli_bills_the_example_stack(prometheus, capsys):
    assert meter.main(["--prometheus", prometheus.url, "--since", "1000", "--until", "1120", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["currency"] == "wei"
    hello = next(p for p in out["pods"] if p["pod"] == "hello")
    # Pulumi.provider.yaml: cpuSecond 2000000000, memoryByteSecond 0.000002, cpuReserved 1000000000, memoryReserved 0.000001
    assert hello["cpuSecond"] == "45" and hello["owed"] == str(45 * 2000000000 + Decimal("0.24") + 12 * 1000000000 + Decimal("16106.12736"))
    assert {p["pod"] for p in out["pods"]} == {"hello", "game", "idle", "(no manifest)"}


def test_prometheus_down_or_failing_is_one_line(capsys):
    assert meter.main(["--prometheus", "http://127.0.0.1:9", "--since", "24h"]) == 1
    assert capsys.readouterr().err.startswith("error: Prometheus at http://127.0.0.1:9 cannot be reached (")
    fake = FakePrometheus({}, status=503)
    try:
        assert meter.main(["--prometheus", fake.url, "--since", "24h"]) == 1
        assert capsys.readouterr().err == f"error: Prometheus at {fake.url} answered HTTP 503 to pegasus_tenant:cpu_usage:cores\n"
    finally:
        fake.close()


def test_times():
    assert meter.parse_time("24h", 100000) == 100000 - 86400
    assert meter.parse_time("2026-12-01T00:00:00Z", 0) == 1796083200
    with pytest.raises(meter.MeterError) as e:
        meter.parse_time("yesterday", 0)
    assert str(e.value) == "'yesterday' is not a time: use RFC 3339 (2026-12-01T00:00:00Z), Unix seconds or a duration like 24h"
