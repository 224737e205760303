"""Reading and validating config values: one structured key at a time, every error naming its key."""

from __future__ import annotations

import ipaddress
import json
import re
from dataclasses import dataclass, field
from typing import Any, Mapping, Optional

from pegasus.errors import ConfigError

from pegasus.config.keys import KEYS


@dataclass(frozen=True)
class Secret:
    """A config value that must stay secret. Its repr never shows the value."""

    value: str

    def __repr__(self) -> str:
        return "Secret(***)"


@dataclass(frozen=True)
class Resources:
    cpu_request: str
    memory_request: str
    cpu_limit: str
    memory_limit: str

    def as_k8s(self) -> dict:
        return {
            "requests": {"cpu": self.cpu_request, "memory": self.memory_request},
            "limits": {"cpu": self.cpu_limit, "memory": self.memory_limit},
        }


_DNS1123 = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
_QUANTITY = re.compile(r"^[0-9]+(\.[0-9]+)?(m|k|Ki|M|Mi|G|Gi|T|Ti|P|Pi|E|Ei)?$")
_DURATION = re.compile(r"^([0-9]+(s|m|h))+$")
_ARN_ROLE = re.compile(r"^arn:aws[a-z-]*:iam::[0-9]{12}:role/.+$")
_ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_TYPE_NAMES = {str: "a string", int: "an integer", bool: "a boolean", list: "a list", dict: "an object"}


class _Section:
    """Reads one structured key (`pegasus:<section>`), remembering which fields were used
    so that a misspelt field is an error rather than silently ignored."""

    def __init__(self, name: str, value: Any):
        if value is None:
            value = {}
        if not isinstance(value, dict):
            raise ConfigError(name, f"must be an object with fields {self._known(name)}, got {_describe(value)}")
        self.name = name
        self.value = value
        self.used: set[str] = set()

    @staticmethod
    def _known(name: str) -> str:
        return ", ".join(k.path[len(name) + 1:] for k in KEYS if k.path.startswith(name + "."))

    def key(self, field_: str) -> str:
        return f"{self.name}.{field_}"

    def raw(self, field_: str) -> Any:
        self.used.add(field_)
        return self.value.get(field_)

    def get(self, field_: str, typ: type, default: Any = None) -> Any:
        v = self.raw(field_)
        if v is None:
            return default
        # Values set with `pulumi config set --path` without --type arrive as strings.
        if typ is int and isinstance(v, str) and re.fullmatch(r"-?[0-9]+", v.strip()):
            v = int(v)
        if typ is bool and isinstance(v, str) and v.lower() in ("true", "false"):
            v = v.lower() == "true"
        if typ is int and isinstance(v, float) and v.is_integer():
            v = int(v)
        if typ is str and isinstance(v, (int, float)) and not isinstance(v, bool):
            v = str(v)
        if (typ is int and isinstance(v, bool)) or not isinstance(v, typ):
            raise ConfigError(self.key(field_), f"must be {_TYPE_NAMES[typ]}, got {_describe(v)}")
        return v

    def secret(self, field_: str, secret_keys: set[str]) -> Optional[Secret]:
        v = self.get(field_, str)
        if v is None or v == "":
            return None
        if self.name not in secret_keys:
            # A plaintext value would sit unencrypted in the stack file and in the state.
            raise ConfigError(
                self.key(field_),
                f"holds a secret but was stored in plain text; set it with "
                f"`pulumi config set --secret --path {self.key(field_)} <value>`",
            )
        return Secret(v)

    def choice(self, field_: str, allowed: tuple[str, ...], default: str) -> str:
        v = self.get(field_, str, default)
        if v not in allowed:
            raise ConfigError(self.key(field_), f"must be one of {', '.join(allowed)}; got {v!r}")
        return v

    def int_range(self, field_: str, default: int, lo: int, hi: int, why: str = "") -> int:
        v = self.get(field_, int, default)
        if not lo <= v <= hi:
            raise ConfigError(self.key(field_), f"must be between {lo} and {hi}{why}; got {v}")
        return v

    def str_list(self, field_: str, default: list) -> tuple[str, ...]:
        v = self.get(field_, list, default)
        for i, item in enumerate(v):
            if not isinstance(item, str) or not item:
                raise ConfigError(self.key(field_), f"item {i} must be a non-empty string, got {_describe(item)}")
        return tuple(v)

    def check_unknown(self) -> None:
        unknown = sorted(set(self.value) - self.used)
        if unknown:
            raise ConfigError(
                self.key(unknown[0]),
                f"unknown key; the known keys of pegasus:{self.name} are {self._known(self.name)}",
            )


def _describe(v: Any) -> str:
    if isinstance(v, bool):
        return f"the boolean {str(v).lower()}"
    if isinstance(v, str):
        return f"the string {v!r}"
    if isinstance(v, (int, float)):
        return f"the number {v}"
    if isinstance(v, list):
        return "a list"
    if isinstance(v, dict):
        return "an object"
    return repr(v)


def _cidr(key: str, value: str) -> str:
    try:
        return str(ipaddress.ip_network(value, strict=True))
    except ValueError:
        pass
    try:
        network = ipaddress.ip_network(value, strict=False)
    except ValueError:
        raise ConfigError(key, f"{value!r} is not a valid CIDR block; write it like 203.0.113.0/24") from None
    raise ConfigError(key, f"{value!r} has host bits set; write the network address, {network}") from None


def _quantity(key: str, value: Any) -> str:
    value = str(value)
    if not _QUANTITY.match(value):
        raise ConfigError(key, f"{value!r} is not a Kubernetes quantity; write it like 500m, 2, 1Gi or 100Gi")
    return value


def _duration(key: str, value: str, *, allow_never: bool = False) -> str:
    if allow_never and value == "Never":
        return value
    if not _DURATION.match(value):
        extra = " or Never" if allow_never else ""
        raise ConfigError(key, f"{value!r} is not a duration; write it like 30s, 10m or 720h{extra}")
    return value


def _resources(section: _Section, field_: str, default: dict) -> Resources:
    key = section.key(field_)
    raw = section.get(field_, dict, default)
    unknown = set(raw) - {"requests", "limits"}
    if unknown:
        raise ConfigError(f"{key}.{sorted(unknown)[0]}", "unknown key; use requests and limits")
    out = {}
    for kind in ("requests", "limits"):
        part = raw.get(kind, default[kind])
        if not isinstance(part, dict):
            raise ConfigError(f"{key}.{kind}", f"must be an object with cpu and memory, got {_describe(part)}")
        bad = set(part) - {"cpu", "memory"}
        if bad:
            raise ConfigError(f"{key}.{kind}.{sorted(bad)[0]}", "unknown key; use cpu and memory")
        for res in ("cpu", "memory"):
            out[(kind, res)] = _quantity(f"{key}.{kind}.{res}", part.get(res, default[kind][res]))
    return Resources(
        cpu_request=out[("requests", "cpu")],
        memory_request=out[("requests", "memory")],
        cpu_limit=out[("limits", "cpu")],
        memory_limit=out[("limits", "memory")],
    )


# The retention values CloudWatch Logs accepts (PutRetentionPolicy). 0, "never expire", is
# left out on purpose: logs that are kept forever are a cost nobody decided on.
LOG_RETENTION_DAYS = (1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653)


def log_retention_days(section: "_Section", field_: str, default: int) -> int:
    v = section.get(field_, int, default)
    if v not in LOG_RETENTION_DAYS:
        allowed = ", ".join(str(d) for d in LOG_RETENTION_DAYS)
        raise ConfigError(section.key(field_), f"must be one of CloudWatch Logs' retention values ({allowed}); got {v}")
    return v


def is_kubeconfig_content(value: str) -> bool:
    return "\n" in value or value.lstrip().startswith(("apiVersion", "{"))



def storage_class(s: "_Section") -> Optional[str]:
    """`storage.className`: the StorageClass of chain volumes; unset is the cluster's default."""
    name = s.get("className", str)
    if name is not None and not _DNS1123.match(name):
        raise ConfigError("storage.className", f"{name!r} is not a valid StorageClass name")
    return name


def charts_dir(s: "_Section") -> Optional[str]:
    """`charts.localDir`: a folder of packaged charts that releases install from instead of their repositories."""
    folder = s.get("localDir", str)
    if folder is not None and not folder.strip():
        raise ConfigError("charts.localDir", "is empty; set it to a folder of packaged charts, or unset it to use the chart repositories")
    return folder


def live_or_snapshot(s: "_Section", live: str, url_key: str, url_what: str, snapshot_example: str) -> tuple[str, Optional[str], Optional[str]]:
    """A `source` that is either a live endpoint (`live`, its URL in `url_key`) or a JSON
    snapshot file: the source, the URL and the snapshot path, each required for its source."""
    source = s.choice("source", (live, "snapshot"), live)
    url = s.get(url_key, str)
    snapshot = s.get("snapshot", str)
    if source == live:
        if not url:
            raise ConfigError(s.key(url_key), f"is required when {s.key('source')} is {live}; set it to {url_what}")
        if not re.match(r"^https?://[^/\s]+", url):
            raise ConfigError(s.key(url_key), f"{url!r} must be an http:// or https:// URL")
    if source == "snapshot" and not snapshot:
        raise ConfigError(s.key("snapshot"), f"is required when {s.key('source')} is snapshot; set it to a JSON file such as {snapshot_example}")
    return source, url, snapshot
