"""The go-spacemesh config.json the nodes start from (`spacemesh.configFile`): a file in the
project, or the URL a network publishes it at. Joining an existing network takes its genesis
from that config, so `configFile` may be the `conf` URL of the network's discovery entry
(spacemeshos/docs docs/start/CLI/config.md: `networks.json | jq '.[0].conf'`), for example
https://configs.spacemesh.network/config.mainnet.json, or the config.json another Pegasus stack
publishes (spacemesh.bucket).

Read once, at plan time, before anything is declared: a read that fails (unreachable, an HTTP
error, not JSON, not an object, too large) stops the program with one line naming the key and
the source. Nothing has been declared then, so nothing is changed or deleted; a config that
reads but carries another genesis is the genesis guard's to refuse (genesis_guard.py).
"""

from __future__ import annotations

import json
import os
import socket
import urllib.error
import urllib.parse
import urllib.request

from pegasus.errors import ConfigError

KEY = "spacemesh.configFile"
# go-spacemesh's published configs are a few kilobytes; a megabyte is not a config.
MAX_BYTES = 1 << 20
TIMEOUT_SECONDS = 30


def is_url(source: str) -> bool:
    return "://" in source


def check_source(source: str) -> str:
    """Config-time check of the value's form (config.py), before anything is fetched."""
    if is_url(source):
        u = urllib.parse.urlsplit(source)
        if u.scheme not in ("http", "https") or not u.hostname:
            raise ConfigError(KEY, f"{source!r} is neither a file path nor an http(s) URL; write it like networks/devnet/config.json "
                                   "or https://configs.spacemesh.network/config.mainnet.json")
    return source


def _fetch(url: str, timeout: float) -> bytes:
    request = urllib.request.Request(url, headers={"Accept": "application/json", "User-Agent": "pegasus-spacemesh"})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310 - the scheme is checked (http, https)
            data = response.read(MAX_BYTES + 1)
    except urllib.error.HTTPError as e:
        raise ConfigError(KEY, f"cannot fetch {url}: HTTP {e.code} {e.reason}; check the URL (the joined network's conf), or use a file") from None
    except urllib.error.URLError as e:
        reason = "timed out" if isinstance(e.reason, (socket.timeout, TimeoutError)) else str(e.reason)
        raise ConfigError(KEY, f"cannot fetch {url}: {reason}; check the URL and the network, or use a file") from None
    except (socket.timeout, TimeoutError):
        raise ConfigError(KEY, f"cannot fetch {url}: timed out after {timeout:g}s; check the URL and the network, or use a file") from None
    except OSError as e:
        raise ConfigError(KEY, f"cannot fetch {url}: {e.strerror or e}; check the URL and the network, or use a file") from None
    if len(data) > MAX_BYTES:
        raise ConfigError(KEY, f"{url} is larger than {MAX_BYTES // 1024} KiB, which no go-spacemesh config is; check the URL")
    return data


def read_config(source: str | None, base_dir: str, *, timeout: float = TIMEOUT_SECONDS) -> dict:
    """The config as a JSON object: {} without a source (go-spacemesh's defaults, mainnet's)."""
    if source is None:
        return {}
    if is_url(source):
        raw = _fetch(check_source(source), timeout)
    else:
        full = source if os.path.isabs(source) else os.path.join(base_dir, source)
        try:
            with open(full, "rb") as f:
                raw = f.read()
        except OSError as e:
            raise ConfigError(KEY, f"cannot read {source}: {e.strerror}") from None
    try:
        data = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as e:
        raise ConfigError(KEY, f"{source} is not JSON: {e}") from None
    if not isinstance(data, dict):
        raise ConfigError(KEY, f"{source} must hold a JSON object (go-spacemesh's config)")
    return data
