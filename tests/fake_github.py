"""A local stand-in for the few GitHub REST endpoints (and a Slack webhook) that tools.ci calls.

It keeps issues, comments, jobs and logs in memory and records every request, so tests can
check what the helpers did against a real HTTP exchange."""

from __future__ import annotations

import json
import re
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit


class FakeGitHub:
    def __init__(self, repo: str = "org/pegasus"):
        self.repo = repo
        self.issues: list[dict] = []
        self.comments: dict[int, list[dict]] = {}
        self.jobs: list[dict] = []
        self.logs: dict[int, str] = {}
        self.slack: list[dict] = []
        self.requests: list[tuple[str, str, bool]] = []  # method, path, carried a token
        self._next = 100
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *a):
                pass

            def _send(self, code, body=None, headers=None):
                raw = body if isinstance(body, bytes) else json.dumps(body).encode() if body is not None else b""
                self.send_response(code)
                for k, v in (headers or {}).items():
                    self.send_header(k, v)
                self.send_header("Content-Length", str(len(raw)))
                self.end_headers()
                self.wfile.write(raw)

            def _handle(self, method):
                u = urlsplit(self.path)
                length = int(self.headers.get("Content-Length") or 0)
                data = json.loads(self.rfile.read(length)) if length else None
                fake.requests.append((method, u.path, "Authorization" in self.headers))
                with fake.lock:
                    code, body, headers = fake.route(method, u.path, parse_qs(u.query), data, self.headers)
                self._send(code, body, headers)

            def do_GET(self):
                self._handle("GET")

            def do_POST(self):
                self._handle("POST")

            def do_PATCH(self):
                self._handle("PATCH")

        self.lock = threading.Lock()
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()

    def _id(self) -> int:
        self._next += 1
        return self._next

    def add_issue(self, title: str, updated_at: str, **extra) -> dict:
        issue = {"number": self._id(), "title": title, "state": "open", "updated_at": updated_at, **extra}
        self.issues.append(issue)
        return issue

    def route(self, method, path, query, data, headers):
        base = f"/repos/{self.repo}"
        page = int(query.get("page", ["1"])[0])
        if path == "/slack" and method == "POST":
            self.slack.append(data)
            return 200, None, None
        if path.startswith("/blob/"):
            if "Authorization" in headers:
                return 400, {"message": "the signed URL takes no token"}, None
            job = int(path.rsplit("/", 1)[1])
            if job not in self.logs:
                return 500, {"message": "the log is not ready"}, None
            return 200, self.logs[job].encode(), None
        if path == f"{base}/issues" and method == "GET":
            open_ = [i for i in self.issues if i["state"] == query.get("state", ["open"])[0]]
            return 200, open_[(page - 1) * 100: page * 100], None
        if path == f"{base}/issues" and method == "POST":
            issue = {"number": self._id(), "title": data["title"], "body": data["body"], "state": "open",
                     "updated_at": "2030-01-01T00:00:00Z", "html_url": f"https://github.invalid/{self.repo}/issues/x"}
            self.issues.append(issue)
            return 201, issue, None
        m = re.fullmatch(rf"{base}/issues/(\d+)/comments", path)
        if m:
            number = int(m.group(1))
            if method == "GET":
                return 200, self.comments.get(number, [])[(page - 1) * 100: page * 100], None
            comment = {"id": self._id(), "body": data["body"]}
            self.comments.setdefault(number, []).append(comment)
            return 201, comment, None
        m = re.fullmatch(rf"{base}/issues/comments/(\d+)", path)
        if m and method == "PATCH":
            for comments in self.comments.values():
                for c in comments:
                    if c["id"] == int(m.group(1)):
                        c["body"] = data["body"]
                        return 200, c, None
            return 404, {"message": "Not Found"}, None
        if re.fullmatch(rf"{base}/actions/runs/\d+/attempts/\d+/jobs", path):
            return 200, {"total_count": len(self.jobs), "jobs": self.jobs[(page - 1) * 100: page * 100]}, None
        m = re.fullmatch(rf"{base}/actions/jobs/(\d+)/logs", path)
        if m:
            return 302, None, {"Location": f"{self.url}/blob/{m.group(1)}"}
        return 404, {"message": f"no route for {method} {path}"}, None
