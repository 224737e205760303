"""The watcher's API client against a local HTTP server on 127.0.0.1 that records what it is
sent: the token is re-read on every call (the kubelet rotates projected tokens), a request is
one JSON merge patch of the one annotation, and errors become KubeError."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from components.operator import watcher as w


@pytest.fixture
def server():
    seen: list[dict] = []

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args):
            return

        def _answer(self, code: int, doc: dict) -> None:
            data = json.dumps(doc).encode()
            self.send_response(code)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_GET(self):  # noqa: N802
            seen.append({"method": "GET", "path": self.path, "auth": self.headers.get("Authorization")})
            if self.path.endswith("/missing"):
                return self._answer(404, {"kind": "Status", "reason": "NotFound"})
            self._answer(200, {"kind": "Stack", "metadata": {"name": self.path.rsplit("/", 1)[1]}})

        def do_PATCH(self):  # noqa: N802
            body = self.rfile.read(int(self.headers["Content-Length"]))
            seen.append({"method": "PATCH", "path": self.path, "auth": self.headers.get("Authorization"),
                         "type": self.headers.get("Content-Type"), "body": json.loads(body)})
            self._answer(200, {})

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}", seen
    finally:
        httpd.shutdown()
        httpd.server_close()


def test_get_and_request_with_a_rotating_token(server, tmp_path):
    url, seen = server
    token = tmp_path / "token"
    token.write_text("first\n")
    kube = w.Kube(url, token_file=str(token))
    assert kube.get_stack("pulumi-stacks", "prod")["metadata"]["name"] == "prod"
    token.write_text("second")
    kube.request_reconcile("pulumi-stacks", "prod-shard-1", "watcher-h7-abc")
    assert seen == [
        {"method": "GET", "path": "/apis/pulumi.com/v1/namespaces/pulumi-stacks/stacks/prod", "auth": "Bearer first"},
        {"method": "PATCH", "path": "/apis/pulumi.com/v1/namespaces/pulumi-stacks/stacks/prod-shard-1?fieldManager=pegasus-stack-watcher",
         "auth": "Bearer second", "type": "application/merge-patch+json",
         "body": {"metadata": {"annotations": {"pulumi.com/reconciliation-request": "watcher-h7-abc"}}}},
    ]


def test_errors_are_kube_errors(server):
    url, _ = server
    with pytest.raises(w.KubeError) as e:
        w.Kube(url, token="t").get_stack("ns", "missing")
    assert str(e.value).startswith("GET /apis/pulumi.com/v1/namespaces/ns/stacks/missing: HTTP 404 ")
    with pytest.raises(w.KubeError):
        w.Kube("http://127.0.0.1:9", token="t", timeout=2).get_stack("ns", "x")


def test_in_cluster_reads_the_service_environment(monkeypatch):
    monkeypatch.setenv("KUBERNETES_SERVICE_HOST", "fd00::1")
    monkeypatch.setenv("KUBERNETES_SERVICE_PORT", "443")
    monkeypatch.setattr(w.ssl, "create_default_context", lambda cafile=None: ("context", cafile))
    kube = w.Kube.in_cluster()
    assert (kube.server, kube.token_file, kube.context) == (
        "https://[fd00::1]:443", "/var/run/secrets/kubernetes.io/serviceaccount/token",
        ("context", "/var/run/secrets/kubernetes.io/serviceaccount/ca.crt"))


def test_run_polls_then_sleeps():
    calls: list[str] = []

    class Once(w.Watcher):
        def poll(self):
            calls.append("poll")
            return {}

    Once(None, "ns", "prod", lambda: None).run(5, polls=2, sleep=lambda s: calls.append(f"sleep {s}"))
    assert calls == ["poll", "sleep 5", "poll", "sleep 5"]
