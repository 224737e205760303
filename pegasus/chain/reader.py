"""Read chainlets and stacks from the chain, completely and at one height, or fail.

Two sources share one result shape:
- `rest`: the chain's REST (grpc-gateway) API. The first page is read at the latest height,
  which the node reports in the `x-cosmos-block-height` response header; every later page
  (and the stack listing) is pinned to that height with the same request header, and every
  response must echo it. A node that pruned the height answers with an error, which is an
  error here too, never an empty list.
- `snapshot`: a JSON file of the same shape, for the dev stack and offline planning.

Any failure raises ChainReadError or ChainDataError. There is no partial result: a caller
either gets every chainlet the chain lists or nothing, so a flaky node can never make
Pulumi plan deletions.

Standard library only: the ChainState dynamic provider calls this from Pulumi's provider host.
"""

from __future__ import annotations

import http.client
import json
import os
import re
import socket
import time
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from typing import Any, Callable, Optional

from pegasus.chain.model import ChainView, build_view
from pegasus.errors import ChainReadError

HEIGHT_HEADER = "x-cosmos-block-height"
MAX_BACKOFF_SECONDS = 8.0


@dataclass(frozen=True)
class RestSource:
    endpoint: str
    api_prefix: str = "/ssc/chainlet"
    page_limit: int = 100
    timeout_seconds: float = 10
    retries: int = 3


@dataclass(frozen=True)
class ReadStats:
    requests: int
    pages: int


class _Failure(Exception):
    """One failed request: what to tell the user, the config key to look at, and whether a
    retry could help (a 5xx, a timeout) or not (a 4xx, a pruned height, a height mismatch)."""

    def __init__(self, message: str, key: str = "chain.endpoint", *, retry: bool = False, short: str = ""):
        super().__init__(message)
        self.message, self.key, self.retry = message, key, retry
        self.short = short or message  # for the progress line of a retry


_TITLE = re.compile(r"<title[^>]*>(.*?)</title>", re.I | re.S)


def _is_html(body: bytes, content_type: str) -> bool:
    return "html" in content_type.lower() or body.lstrip()[:15].lower().startswith((b"<!doctype", b"<html"))


def _describe_error_body(body: bytes, content_type: str = "") -> str:
    """A short account of an error body: the SDK's code and message, an HTML page by its
    title (never the whole page), or the first 200 characters on one line."""
    if _is_html(body, content_type):
        m = _TITLE.search(body[:4096].decode("utf-8", "replace"))
        title = " ".join(m.group(1).split())[:80] if m else ""
        return f"an HTML page{f' titled {title!r}' if title else ''} ({len(body)} bytes), not the chain's JSON"
    try:
        doc = json.loads(body)
        if isinstance(doc, dict) and "message" in doc:
            return f"code {doc.get('code')}: {str(doc['message'])[:300]}"
    except (ValueError, UnicodeDecodeError):
        pass
    text = " ".join(body[:200].decode("utf-8", "replace").split())
    return text or "(empty body)"


def _network_reason(e: BaseException) -> str:
    reason = getattr(e, "reason", e)
    if isinstance(reason, ConnectionRefusedError):
        return "connection refused"
    if isinstance(reason, socket.gaierror):
        return f"cannot resolve the host name ({reason.strerror or reason})"
    return str(reason)


class RestReader:
    def __init__(self, source: RestSource, *, sleep: Callable[[float], None] = time.sleep,
                 progress: Optional[Callable[[str], None]] = None, pinned: Optional[int] = None):
        self.source = source
        self.sleep = sleep
        self.progress = progress
        self.pinned = pinned  # the height chain.height asked for, if any
        self.requests = 0
        self.pages = 0

    def _url(self, route: str, params: dict[str, str]) -> str:
        query = urllib.parse.urlencode(params)
        return f"{self.source.endpoint}{self.source.api_prefix}/{route}?{query}"

    def _http_error(self, url: str, code: int, body: bytes, content_type: str, height: Optional[int]) -> _Failure:
        detail = _describe_error_body(body, content_type)
        if "cannot query with height in the future" in detail:
            if self.pinned is not None:
                return _Failure(f"the node at {self.source.endpoint} has not reached height {height} yet ({detail}); "
                                "set chain.height to a height the chain has reached, or unset it to read the latest", "chain.height")
            # Learnt from the first page: a node behind a load balancer lags the one that answered it.
            return _Failure(f"{url} is behind height {height}, at which an earlier page was read ({detail}); "
                            "point chain.endpoint at a single node rather than a load balancer", retry=True,
                            short=f"not at height {height} yet")
        if "failed to load state at height" in detail or "version does not exist" in detail:
            at = f"at height {height}" if height is not None else "it was asked for"
            return _Failure(
                f"the node no longer has the state {at} (pruned): {detail}. "
                "Point chain.endpoint at an archive node, or one with longer pruning, and run again"
            )
        if code in (404, 405, 501):
            return _Failure(
                f"HTTP {code} from {url}: {detail}. The node does not serve {self.source.api_prefix}/; "
                "set chain.apiPrefix to where this node serves the chainlet module (older SPC nodes use another prefix), "
                "or check that chain.endpoint is the chain's REST API",
                "chain.apiPrefix",
            )
        return _Failure(f"HTTP {code} from {url}: {detail}", retry=code >= 500 or code == 429, short=f"HTTP {code}")

    def _get_once(self, url: str, height: Optional[int]) -> tuple[Any, int]:
        headers = {"Accept": "application/json", "User-Agent": "pegasus"}
        if height is not None:
            headers[HEIGHT_HEADER] = str(height)
        request = urllib.request.Request(url, headers=headers)
        self.requests += 1
        try:
            with urllib.request.urlopen(request, timeout=self.source.timeout_seconds) as resp:
                body = resp.read()
                header = resp.headers.get(HEIGHT_HEADER)
                content_type = resp.headers.get("Content-Type", "")
        except urllib.error.HTTPError as e:
            body = e.read() if e.fp else b""
            raise self._http_error(url, e.code, body, e.headers.get("Content-Type", "") if e.headers else "", height) from None
        except http.client.IncompleteRead as e:
            raise _Failure(f"the response from {url} was cut short after {len(e.partial)} bytes", retry=True,
                           short="the response was cut short") from None
        except (urllib.error.URLError, socket.timeout, TimeoutError, ConnectionError, http.client.HTTPException, OSError) as e:
            if isinstance(e, (socket.timeout, TimeoutError)) or isinstance(getattr(e, "reason", None), (socket.timeout, TimeoutError)):
                wait = f"{self.source.timeout_seconds:g}s"
                raise _Failure(f"no answer from {url} within chain.timeoutSeconds ({wait}); "
                               "check chain.endpoint, or raise chain.timeoutSeconds for a slow node", retry=True,
                               short=f"no answer within {wait}") from None
            raise _Failure(f"cannot reach {self.source.endpoint}: {_network_reason(e)} (GET {url}); "
                           "check chain.endpoint: the chain's REST API, usually port 1317", retry=True,
                           short=_network_reason(e)) from None

        if header is None:
            hint = f" It answered with {_describe_error_body(body, content_type)}." if _is_html(body, content_type) else ""
            raise _Failure(
                f"{url} answered without the {HEIGHT_HEADER} header, so the read cannot be pinned to one height.{hint} "
                "Is chain.endpoint a Cosmos SDK REST API?"
            )
        try:
            answered = int(header)
        except ValueError:
            raise _Failure(f"{url} answered with a malformed {HEIGHT_HEADER} header {header!r}") from None
        if height is not None and answered != height:
            raise _Failure(
                f"{url} answered at height {answered} although height {height} was requested; "
                "the node ignores height pinning, so a consistent read is impossible"
            )
        if _is_html(body, content_type):
            raise _Failure(f"{url} returned {_describe_error_body(body, content_type)}; is chain.endpoint the chain's REST API?")
        try:
            doc = json.loads(body)
        except ValueError as e:
            raise _Failure(f"{url} returned malformed JSON ({e}); the body starts with {body[:80]!r}", retry=True,
                           short="malformed JSON") from None
        if not isinstance(doc, dict):
            raise _Failure(f"{url} returned JSON that is not an object")
        return doc, answered

    def _get(self, url: str, height: Optional[int]) -> tuple[Any, int]:
        attempts = self.source.retries + 1
        attempt = 1
        while True:
            try:
                return self._get_once(url, height)
            except _Failure as e:
                if not e.retry:
                    raise ChainReadError(e.message, e.key) from None
                if attempt >= attempts:
                    tried = f"gave up after {attempt} attempt{'s' if attempt > 1 else ''}; chain.retries is {self.source.retries}"
                    raise ChainReadError(f"{e.message} ({tried})", e.key) from None
                self.sleep(min(MAX_BACKOFF_SECONDS, 0.25 * 2 ** (attempt - 1)))
                attempt += 1
                if self.progress is not None:
                    # A slow or failing node must never mean minutes of silence.
                    self.progress(f"reading chain at {url} (attempt {attempt}/{attempts}; the last one: {e.short})")

    def latest_height(self) -> int:
        """The height the node answers at now (one single-item page)."""
        _, height = self._get(self._url("list_chainlets", {"pagination.limit": "1"}), None)
        return height

    def list_all(self, route: str, field: str, height: Optional[int]) -> tuple[list, int]:
        """Every item of a paginated listing, all pages at one height."""
        items: list = []
        key: Optional[str] = None
        seen_keys: set[str] = set()
        total: Optional[int] = None
        while True:
            params = {"pagination.limit": str(self.source.page_limit)}
            if key:
                params["pagination.key"] = key
            else:
                # count_total only works without a key: ask once, check the sum at the end.
                params["pagination.count_total"] = "true"
            url = self._url(route, params)
            doc, answered = self._get(url, height)
            height = answered
            self.pages += 1
            page = doc.get(field)
            if not isinstance(page, list):
                raise ChainReadError(f"{url} returned no {field!r} list (keys: {', '.join(sorted(doc)) or 'none'})", "chain.endpoint")
            if len(page) > self.source.page_limit:
                raise ChainReadError(f"{url} returned {len(page)} items for a page limit of {self.source.page_limit}", "chain.endpoint")
            items.extend(page)
            pagination = doc.get("pagination")
            if pagination is None:
                pagination = {}
            if not isinstance(pagination, dict):
                raise ChainReadError(f"{url} returned a malformed pagination object", "chain.endpoint")
            if total is None and pagination.get("total") not in (None, "", "0", 0):
                try:
                    total = int(pagination["total"])
                except (TypeError, ValueError):
                    raise ChainReadError(f"{url} returned a malformed pagination.total {pagination['total']!r}", "chain.endpoint") from None
            next_key = pagination.get("next_key") or pagination.get("nextKey")
            if not next_key:
                break
            if not isinstance(next_key, str):
                raise ChainReadError(f"{url} returned a malformed pagination.next_key {next_key!r}", "chain.endpoint")
            if next_key in seen_keys:
                raise ChainReadError(f"{url} returned pagination.next_key {next_key!r} twice; the listing loops", "chain.endpoint")
            if len(page) == 0:
                raise ChainReadError(f"{url} returned an empty page with a next_key; the listing is truncated", "chain.endpoint")
            seen_keys.add(next_key)
            key = next_key
        if total is not None and total != len(items):
            raise ChainReadError(
                f"{self._url(route, {})} reported {total} {field} but the pages held {len(items)}; the listing is incomplete",
                "chain.endpoint",
            )
        assert height is not None
        return items, height


def read_rest(source: RestSource, *, height: Optional[int] = None, sleep: Callable[[float], None] = time.sleep,
              progress: Optional[Callable[[str], None]] = None) -> tuple[ChainView, ReadStats]:
    """Read at `height`, or at the latest height the node reports when it is None.
    `progress` hears a line before every retry."""
    reader = RestReader(source, sleep=sleep, progress=progress, pinned=height)
    chainlets, height = reader.list_all("list_chainlets", "Chainlets", height)
    stacks, _ = reader.list_all("list_chainlet_stack", "ChainletStacks", height)
    view = build_view(height, f"rest {source.endpoint}{source.api_prefix}", chainlets, stacks)
    return view, ReadStats(requests=reader.requests, pages=reader.pages)


def read_snapshot(path: str, base_dir: str = ".", height: Optional[int] = None) -> ChainView:
    full = path if os.path.isabs(path) else os.path.join(base_dir, path)
    try:
        with open(full, encoding="utf-8") as f:
            doc = json.load(f)
    except FileNotFoundError:
        raise ChainReadError(f"file {path!r} does not exist (looked in {os.path.abspath(base_dir)})", "chain.snapshot") from None
    except (OSError, ValueError) as e:
        raise ChainReadError(f"cannot read {path!r}: {e}", "chain.snapshot") from None
    if not isinstance(doc, dict):
        raise ChainReadError(f"{path!r} must hold a JSON object with height, Chainlets and ChainletStacks", "chain.snapshot")
    for key in ("height", "Chainlets", "ChainletStacks"):
        if key not in doc:
            raise ChainReadError(f"{path!r} has no {key!r} key", "chain.snapshot")
    try:
        snapshot_height = int(doc["height"])
    except (TypeError, ValueError):
        raise ChainReadError(f"{path!r} has a malformed height {doc['height']!r}", "chain.snapshot") from None
    if height is not None and height != snapshot_height:
        raise ChainReadError(f"asks for height {height} but the snapshot {path!r} was taken at height {snapshot_height}; unset it, or take a new snapshot", "chain.height")
    if not isinstance(doc["Chainlets"], list) or not isinstance(doc["ChainletStacks"], list):
        raise ChainReadError(f"{path!r}: Chainlets and ChainletStacks must be lists", "chain.snapshot")
    return build_view(snapshot_height, f"snapshot {path}", doc["Chainlets"], doc["ChainletStacks"])


def read(source: str, *, endpoint: Optional[str] = None, api_prefix: str = "/ssc/chainlet", page_limit: int = 100,
         timeout_seconds: float = 10, retries: int = 3, snapshot: Optional[str] = None, base_dir: str = ".",
         height: Optional[int] = None, progress: Optional[Callable[[str], None]] = None) -> ChainView:
    """Read from whichever source the settings name, at `height` or the latest."""
    if source == "rest":
        if not endpoint:
            raise ChainReadError("is not set", "chain.endpoint")
        view, _ = read_rest(RestSource(endpoint, api_prefix, page_limit, timeout_seconds, retries), height=height,
                            progress=progress)
        return view
    if source == "snapshot":
        if not snapshot:
            raise ChainReadError("is not set", "chain.snapshot")
        return read_snapshot(snapshot, base_dir, height)
    raise ChainReadError(f"unknown chain source {source!r}")
