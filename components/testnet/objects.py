"""The nested-object reader of pegasus:testnet (regions, pools, the archive), shared by
components/testnet/config.py and the modules it delegates to."""

from __future__ import annotations

from typing import Any

from pegasus.config.fields import _Section, _describe
from pegasus.errors import ConfigError


class _Object(_Section):
    """A nested object (a region, a pool): errors name its full path, unknown fields list the
    fields it documents."""

    def __init__(self, path: str, value: Any, fields: tuple[str, ...]):
        if value is not None and not isinstance(value, dict):
            raise ConfigError(path, f"must be an object with fields {', '.join(fields)}, got {_describe(value)}")
        self.fields = fields
        super().__init__(path, value or {})

    def check_unknown(self) -> None:
        unknown = sorted(set(self.value) - self.used)
        if unknown:
            raise ConfigError(self.key(unknown[0]), f"unknown key; use {', '.join(self.fields)}")

    def required(self, field_: str, typ: type = str) -> Any:
        v = self.get(field_, typ)
        if v is None or v == "":
            raise ConfigError(self.key(field_), "is required")
        return v
