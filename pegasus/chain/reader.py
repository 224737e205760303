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


class _Fatal(Exception):
    """An answer that retrying cannot fix (a 4xx, a pruned height, a height mismatch)."""


def _describe_error_body(body: bytes) -> str:
    try:
        doc = json.loads(body)
        if isinstance(doc, dict) and "message" in doc:
            return f"code {doc.get('code')}: {doc['message']}"
    except (ValueError, UnicodeDecodeError):
        pass
    text = body[:200].decode("utf-8", "replace").strip()
    return text or "(empty body)"


class RestReader:
    def __init__(self, source: RestSource, *, sleep: Callable[[float], None] = time.sleep):
        self.source = source
        self.sleep = sleep
        self.requests = 0
        self.pages = 0

    def _url(self, route: str, params: dict[str, str]) -> str:
        query = urllib.parse.urlencode(params)
        return f"{self.source.endpoint}{self.source.api_prefix}/{route}?{query}"

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
        except urllib.error.HTTPError as e:
            body = e.read() if e.fp else b""
            detail = _describe_error_body(body)
            if "failed to load state at height" in detail or "version does not exist" in detail:
                at = f"at height {height}" if height is not None else "it was asked for"
                raise _Fatal(
                    f"the node no longer has the state {at} (pruned): {detail}. "
                    "Point chain.endpoint at an archive node, or one with longer pruning, and run again"
                ) from None
            if 400 <= e.code < 500 and e.code != 429:
                raise _Fatal(f"HTTP {e.code} from {url}: {detail}") from None
            raise ChainReadError(f"HTTP {e.code} from {url}: {detail}") from None
        except (urllib.error.URLError, socket.timeout, TimeoutError, ConnectionError, http.client.HTTPException, OSError) as e:
            reason = getattr(e, "reason", e)
            if isinstance(e, http.client.IncompleteRead):
                reason = f"the response was cut short after {len(e.partial)} bytes"
            raise ChainReadError(f"cannot read {url}: {reason}") from None

        if header is None:
            raise _Fatal(
                f"{url} answered without the {HEIGHT_HEADER} header, so the read cannot be pinned to one height. "
                "Is chain.endpoint a Cosmos SDK REST API?"
            )
        try:
            answered = int(header)
        except ValueError:
            raise _Fatal(f"{url} answered with a malformed {HEIGHT_HEADER} header {header!r}") from None
        if height is not None and answered != height:
            raise _Fatal(
                f"{url} answered at height {answered} although height {height} was requested; "
                "the node ignores height pinning, so a consistent read is impossible"
            )
        try:
            doc = json.loads(body)
        except ValueError as e:
            raise ChainReadError(f"{url} returned malformed JSON ({e}); the body starts with {body[:80]!r}") from None
        if not isinstance(doc, dict):
            raise ChainReadError(f"{url} returned JSON that is not an object")
        return doc, answered

    def _get(self, url: str, height: Optional[int]) -> tuple[Any, int]:
        attempt = 0
        while True:
            try:
                return self._get_once(url, height)
            except _Fatal as e:
                raise ChainReadError(str(e)) from None
            except ChainReadError as e:
                if attempt >= self.source.retries:
                    tries = attempt + 1
                    raise ChainReadError(f"{e} (gave up after {tries} attempt{'s' if tries > 1 else ''})") from None
                self.sleep(min(MAX_BACKOFF_SECONDS, 0.25 * 2**attempt))
                attempt += 1

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
                raise ChainReadError(f"{url} returned no {field!r} list (keys: {', '.join(sorted(doc)) or 'none'})")
            if len(page) > self.source.page_limit:
                raise ChainReadError(f"{url} returned {len(page)} items for a page limit of {self.source.page_limit}")
            items.extend(page)
            pagination = doc.get("pagination")
            if pagination is None:
                pagination = {}
            if not isinstance(pagination, dict):
                raise ChainReadError(f"{url} returned a malformed pagination object")
            if total is None and pagination.get("total") not in (None, "", "0", 0):
                try:
                    total = int(pagination["total"])
                except (TypeError, ValueError):
                    raise ChainReadError(f"{url} returned a malformed pagination.total {pagination['total']!r}") from None
            next_key = pagination.get("next_key") or pagination.get("nextKey")
            if not next_key:
                break
            if not isinstance(next_key, str):
                raise ChainReadError(f"{url} returned a malformed pagination.next_key {next_key!r}")
            if next_key in seen_keys:
                raise ChainReadError(f"{url} returned pagination.next_key {next_key!r} twice; the listing loops")
            if len(page) == 0:
                raise ChainReadError(f"{url} returned an empty page with a next_key; the listing is truncated")
            seen_keys.add(next_key)
            key = next_key
        if total is not None and total != len(items):
            raise ChainReadError(
                f"{self._url(route, {})} reported {total} {field} but the pages held {len(items)}; the listing is incomplete"
            )
        assert height is not None
        return items, height


def read_rest(source: RestSource, *, height: Optional[int] = None,
              sleep: Callable[[float], None] = time.sleep) -> tuple[ChainView, ReadStats]:
    """Read at `height`, or at the latest height the node reports when it is None."""
    reader = RestReader(source, sleep=sleep)
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
        raise ChainReadError(f"chain.snapshot: file {path!r} does not exist (looked in {os.path.abspath(base_dir)})") from None
    except (OSError, ValueError) as e:
        raise ChainReadError(f"chain.snapshot: cannot read {path!r}: {e}") from None
    if not isinstance(doc, dict):
        raise ChainReadError(f"chain.snapshot: {path!r} must hold a JSON object with height, Chainlets and ChainletStacks")
    for key in ("height", "Chainlets", "ChainletStacks"):
        if key not in doc:
            raise ChainReadError(f"chain.snapshot: {path!r} has no {key!r} key")
    try:
        snapshot_height = int(doc["height"])
    except (TypeError, ValueError):
        raise ChainReadError(f"chain.snapshot: {path!r} has a malformed height {doc['height']!r}") from None
    if height is not None and height != snapshot_height:
        raise ChainReadError(f"chain.height asks for height {height} but the snapshot {path!r} was taken at height {snapshot_height}")
    if not isinstance(doc["Chainlets"], list) or not isinstance(doc["ChainletStacks"], list):
        raise ChainReadError(f"chain.snapshot: {path!r}: Chainlets and ChainletStacks must be lists")
    return build_view(snapshot_height, f"snapshot {path}", doc["Chainlets"], doc["ChainletStacks"])


def read(source: str, *, endpoint: Optional[str] = None, api_prefix: str = "/ssc/chainlet", page_limit: int = 100,
         timeout_seconds: float = 10, retries: int = 3, snapshot: Optional[str] = None, base_dir: str = ".",
         height: Optional[int] = None) -> ChainView:
    """Read from whichever source the settings name, at `height` or the latest."""
    if source == "rest":
        if not endpoint:
            raise ChainReadError("chain.endpoint is not set")
        view, _ = read_rest(RestSource(endpoint, api_prefix, page_limit, timeout_seconds, retries), height=height)
        return view
    if source == "snapshot":
        if not snapshot:
            raise ChainReadError("chain.snapshot is not set")
        return read_snapshot(snapshot, base_dir, height)
    raise ChainReadError(f"unknown chain source {source!r}")
