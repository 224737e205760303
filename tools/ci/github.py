"""The few GitHub REST calls the workflow helpers make, with the run's GITHUB_TOKEN."""

from __future__ import annotations

import json
import os
import urllib.error
import urllib.parse
import urllib.request
from typing import Any, Optional

from tools.ci import CIError


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


class GitHub:
    def __init__(self, token: str, repo: str, api: Optional[str] = None, timeout: float = 30.0):
        if not token or not repo:
            raise CIError("GITHUB_TOKEN and GITHUB_REPOSITORY must be set")
        self.token, self.repo, self.timeout = token, repo, timeout
        self.api = (api or os.environ.get("GITHUB_API_URL") or "https://api.github.com").rstrip("/")

    @classmethod
    def from_env(cls) -> "GitHub":
        return cls(os.environ.get("GITHUB_TOKEN", ""), os.environ.get("GITHUB_REPOSITORY", ""))

    def _request(self, method: str, path: str, body: Any = None, follow: bool = True):
        url = path if path.startswith("http") else f"{self.api}{path.replace('{repo}', self.repo)}"
        data = json.dumps(body).encode() if body is not None else None
        req = urllib.request.Request(url, data=data, method=method, headers={
            "Authorization": f"Bearer {self.token}", "Accept": "application/vnd.github+json",
            "X-GitHub-Api-Version": "2022-11-28", "Content-Type": "application/json"})
        opener = urllib.request.build_opener() if follow else urllib.request.build_opener(_NoRedirect)
        try:
            return opener.open(req, timeout=self.timeout)
        except urllib.error.HTTPError as e:
            if not follow and e.code in (301, 302, 303, 307, 308):
                return e
            raise CIError(f"GitHub API {method} {urllib.parse.urlsplit(url).path}: HTTP {e.code} {e.read()[:300]!r}")
        except OSError as e:
            raise CIError(f"GitHub API {method} {urllib.parse.urlsplit(url).path}: {e}")

    def call(self, method: str, path: str, body: Any = None) -> Any:
        with self._request(method, path, body) as r:
            raw = r.read()
        return json.loads(raw) if raw else None

    def pages(self, path: str, key: Optional[str] = None, limit: int = 10) -> list:
        """Every item of a paginated list (at most `limit` pages of 100)."""
        items: list = []
        sep = "&" if "?" in path else "?"
        for page in range(1, limit + 1):
            got = self.call("GET", f"{path}{sep}per_page=100&page={page}")
            batch = got[key] if key else got
            items.extend(batch)
            if len(batch) < 100:
                break
        return items

    def text(self, path: str) -> str:
        """A document GitHub serves through a redirect to signed storage (job logs): the
        redirect is followed without the token, which is not for that host."""
        r = self._request("GET", path, follow=False)
        location = r.headers.get("Location")
        if location:
            try:
                with urllib.request.urlopen(location, timeout=self.timeout) as doc:
                    return doc.read().decode("utf-8", "replace")
            except OSError as e:
                raise CIError(f"GitHub API GET {urllib.parse.urlsplit(path).path}: {e}")
        with r:
            return r.read().decode("utf-8", "replace")

    def failed_jobs(self, run_id: str, attempt: str = "1") -> list[dict]:
        jobs = self.pages(f"/repos/{{repo}}/actions/runs/{run_id}/attempts/{attempt}/jobs", key="jobs")
        return [j for j in jobs if j.get("conclusion") == "failure"]
