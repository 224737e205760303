"""This network's entry in the discovery list (networks.json), and nothing else of it.

Spacecraft read networks.json, deleted the object and wrote a new one (gcp/gs.go
UploadWSConfig): two runs at once lost one network, and a failed write lost all of them. Here
each write is a read-modify-write of one entry, conditional on the generation that was read
(GCS `ifGenerationMatch`), so a concurrent writer makes the write fail with 412 and it is
retried on the new contents; nothing else in the list is touched. An object that cannot be
read, or whose contents are not a JSON list of objects, is never written: the run stops.

GCS JSON API subset used (https://cloud.google.com/storage/docs/json_api):
  GET  {endpoint}/storage/v1/b/{bucket}/o/{object}?alt=json          -> metadata (generation)
  GET  {endpoint}/storage/v1/b/{bucket}/o/{object}?alt=media&generation=G
  POST {endpoint}/upload/storage/v1/b/{bucket}/o?uploadType=media&name={object}&ifGenerationMatch=G
The endpoint is config (`spacemesh.discovery.endpoint`), so an emulator or a test server can
stand in for storage.googleapis.com. The access token is GOOGLE_OAUTH_ACCESS_TOKEN (what the
Google provider also reads) when set, else application default credentials (google-auth's
google.auth.default: GOOGLE_APPLICATION_CREDENTIALS, gcloud's login, or the metadata server),
scoped to devstorage.read_write; with neither, requests go unauthenticated (an emulator).
"""

from __future__ import annotations

import json
import os
import urllib.error
import urllib.parse
import urllib.request
from typing import Any, Optional

import pulumi
import pulumi.dynamic as dynamic

ATTEMPTS = 5
TIMEOUT = 20
SCOPE = "https://www.googleapis.com/auth/devstorage.read_write"
_ADC: dict[str, Any] = {}  # the credentials found, made on first use (never at import)


class DiscoveryError(Exception):
    pass


class PreconditionFailed(DiscoveryError):
    pass


def access_token() -> Optional[str]:
    token = os.environ.get("GOOGLE_OAUTH_ACCESS_TOKEN")
    if token:
        return token
    import google.auth
    import google.auth.exceptions
    import google.auth.transport.requests

    if "credentials" not in _ADC:
        try:
            _ADC["credentials"], _ = google.auth.default(scopes=[SCOPE])
        except google.auth.exceptions.DefaultCredentialsError:
            _ADC["credentials"] = None
    credentials = _ADC["credentials"]
    if credentials is None:
        return None
    if not credentials.valid:
        try:
            credentials.refresh(google.auth.transport.requests.Request())
        except google.auth.exceptions.GoogleAuthError as e:
            raise DiscoveryError(f"application default credentials gave no access token: {e}") from None
    return credentials.token


def _request(method: str, url: str, data: Optional[bytes] = None, content_type: Optional[str] = None) -> tuple[int, bytes]:
    req = urllib.request.Request(url, data=data, method=method)
    token = access_token()
    if token:
        req.add_header("Authorization", f"Bearer {token}")
    if content_type:
        req.add_header("Content-Type", content_type)
    try:
        with urllib.request.urlopen(req, timeout=TIMEOUT) as resp:
            return resp.status, resp.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()
    except (urllib.error.URLError, OSError) as e:
        raise DiscoveryError(f"cannot reach {url}: {e}") from None


def _object_url(endpoint: str, bucket: str, obj: str) -> str:
    return f"{endpoint}/storage/v1/b/{urllib.parse.quote(bucket, safe='')}/o/{urllib.parse.quote(obj, safe='')}"


def read_list(endpoint: str, bucket: str, obj: str) -> tuple[list, int]:
    """The list and the generation it was read at. Anything but a readable JSON list of
    objects raises: a list we cannot read is a list we must not write."""
    where = f"gs://{bucket}/{obj}"
    status, body = _request("GET", _object_url(endpoint, bucket, obj) + "?alt=json")
    if status != 200:
        hint = ". Create it with an empty list [] if it does not exist yet" if status == 404 else ""
        raise DiscoveryError(f"{where} is unreadable (metadata: HTTP {status}); not writing{hint}")
    try:
        generation = int(json.loads(body)["generation"])
    except (ValueError, KeyError, TypeError):
        raise DiscoveryError(f"{where}: the metadata has no generation; not writing") from None
    status, body = _request("GET", _object_url(endpoint, bucket, obj) + f"?alt=media&generation={generation}")
    if status != 200:
        raise DiscoveryError(f"{where} is unreadable (HTTP {status}); not writing")
    try:
        networks = json.loads(body)
    except ValueError:
        raise DiscoveryError(f"{where} is not JSON; not writing") from None
    if not isinstance(networks, list) or not all(isinstance(n, dict) for n in networks):
        raise DiscoveryError(f"{where} is not a JSON list of networks; not writing")
    return networks, generation


def write_list(endpoint: str, bucket: str, obj: str, networks: list, generation: int) -> int:
    query = urllib.parse.urlencode({"uploadType": "media", "name": obj, "ifGenerationMatch": str(generation)})
    url = f"{endpoint}/upload/storage/v1/b/{urllib.parse.quote(bucket, safe='')}/o?{query}"
    status, body = _request("POST", url, json.dumps(networks, indent=2).encode(), "application/json")
    if status == 412:
        raise PreconditionFailed(f"gs://{bucket}/{obj} changed since generation {generation}")
    if status != 200:
        raise DiscoveryError(f"writing gs://{bucket}/{obj} failed: HTTP {status} {body[:200]!r}")
    try:
        return int(json.loads(body)["generation"])
    except (ValueError, KeyError, TypeError):
        return generation + 1


def with_entry(networks: list, entry: dict) -> list:
    """Replace this network's entry where it is, or put it first (spacecraft prepends)."""
    name = entry["netName"]
    if any(n.get("netName") == name for n in networks):
        return [entry if n.get("netName") == name else n for n in networks]
    return [entry, *networks]


def without_entry(networks: list, name: str) -> list:
    return [n for n in networks if n.get("netName") != name]


def modify(endpoint: str, bucket: str, obj: str, change) -> int:
    """Read, change, write if different, conditional on the generation read; retried when
    another writer got there first."""
    last: Optional[Exception] = None
    for _ in range(ATTEMPTS):
        networks, generation = read_list(endpoint, bucket, obj)
        new = change(networks)
        if new == networks:
            return generation
        try:
            return write_list(endpoint, bucket, obj, new, generation)
        except PreconditionFailed as e:
            last = e
    raise DiscoveryError(f"{last}; gave up after {ATTEMPTS} attempts")


class NetworkEntryProvider(dynamic.ResourceProvider):
    def offline_create(self, props: dict[str, Any]) -> dynamic.CreateResult:
        """What the offline plan records: the entry, and no generation (nothing was read)."""
        return dynamic.CreateResult(id_=f"{props['bucket']}/{props['object']}#{props['netName']}", outs=dict(props))

    def create(self, props: dict[str, Any]) -> dynamic.CreateResult:
        gen = modify(props["endpoint"], props["bucket"], props["object"], lambda ns: with_entry(ns, props["entry"]))
        return dynamic.CreateResult(id_=f"{props['bucket']}/{props['object']}#{props['netName']}", outs={**props, "generation": gen})

    def diff(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> dynamic.DiffResult:
        keys = ("endpoint", "bucket", "object", "netName", "entry")
        changed = [k for k in keys if olds.get(k) != news.get(k)]
        replaces = [k for k in ("bucket", "object", "netName") if k in changed]
        return dynamic.DiffResult(changes=bool(changed), replaces=replaces, delete_before_replace=False)

    def update(self, _id: str, _olds: dict[str, Any], news: dict[str, Any]) -> dynamic.UpdateResult:
        gen = modify(news["endpoint"], news["bucket"], news["object"], lambda ns: with_entry(ns, news["entry"]))
        return dynamic.UpdateResult(outs={**news, "generation": gen})

    def delete(self, _id: str, props: dict[str, Any]) -> None:
        modify(props["endpoint"], props["bucket"], props["object"], lambda ns: without_entry(ns, props["netName"]))


class NetworkEntry(dynamic.Resource, module="pegasus", name="NetworkEntry"):
    def __init__(self, name: str, props: dict, opts: Optional[pulumi.ResourceOptions] = None):
        super().__init__(NetworkEntryProvider(), name, {**props, "generation": None}, opts)
