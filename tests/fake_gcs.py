"""A local server speaking the subset of the GCS JSON API that components/spacemesh/discovery.py uses:
object metadata, media download at a generation, and media upload with ifGenerationMatch.
Bound to 127.0.0.1 on a free port; the test starts and stops it."""

from __future__ import annotations

import json
import threading
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Optional


class FakeGcs:
    def __init__(self):
        self.objects: dict[tuple[str, str], tuple[bytes, int]] = {}
        self.fail_reads: Optional[int] = None  # an HTTP status every read answers with
        self.race: list[bytes] = []  # contents another writer puts in just before our next upload
        self.uploads: list[tuple[str, int]] = []  # (object, ifGenerationMatch) of every upload tried
        self.authorizations: list[Optional[str]] = []  # the Authorization header of every request
        self._server: Optional[ThreadingHTTPServer] = None

    def put(self, bucket: str, name: str, data: bytes) -> None:
        gen = self.objects.get((bucket, name), (b"", 0))[1] + 1
        self.objects[(bucket, name)] = (data, gen)

    def read(self, bucket: str, name: str):
        return json.loads(self.objects[(bucket, name)][0])

    @property
    def endpoint(self) -> str:
        assert self._server is not None
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def __enter__(self) -> "FakeGcs":
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def _send(self, status: int, body: bytes, ctype: str = "application/json"):
                self.send_response(status)
                self.send_header("Content-Type", ctype)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def do_GET(self):
                fake.authorizations.append(self.headers.get("Authorization"))
                url = urllib.parse.urlparse(self.path)
                q = dict(urllib.parse.parse_qsl(url.query))
                parts = url.path.split("/")  # '', storage, v1, b, <bucket>, o, <object>
                if fake.fail_reads is not None:
                    return self._send(fake.fail_reads, b'{"error": "unavailable"}')
                if len(parts) != 7 or parts[1:4] != ["storage", "v1", "b"] or parts[5] != "o":
                    return self._send(400, b"{}")
                key = (urllib.parse.unquote(parts[4]), urllib.parse.unquote(parts[6]))
                if key not in fake.objects:
                    return self._send(404, b'{"error": {"code": 404}}')
                data, gen = fake.objects[key]
                if q.get("alt") == "media":
                    if "generation" in q and int(q["generation"]) != gen:
                        return self._send(404, b'{"error": {"code": 404}}')
                    return self._send(200, data, "application/octet-stream")
                return self._send(200, json.dumps({"name": key[1], "bucket": key[0], "generation": str(gen)}).encode())

            def do_POST(self):
                fake.authorizations.append(self.headers.get("Authorization"))
                url = urllib.parse.urlparse(self.path)
                q = dict(urllib.parse.parse_qsl(url.query))
                parts = url.path.split("/")  # '', upload, storage, v1, b, <bucket>, o
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                if len(parts) != 7 or parts[1:5] != ["upload", "storage", "v1", "b"] or q.get("uploadType") != "media":
                    return self._send(400, b"{}")
                key = (urllib.parse.unquote(parts[5]), q["name"])
                match = int(q["ifGenerationMatch"])
                fake.uploads.append((q["name"], match))
                if fake.race:
                    fake.put(key[0], key[1], fake.race.pop(0))
                current = fake.objects.get(key, (b"", 0))[1]
                if match != current:
                    return self._send(412, b'{"error": {"code": 412, "message": "conditionNotMet"}}')
                fake.put(key[0], key[1], body)
                return self._send(200, json.dumps({"name": key[1], "generation": str(fake.objects[key][1])}).encode())

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc) -> None:
        assert self._server is not None
        self._server.shutdown()
        self._server.server_close()
