"""The errors Pegasus raises on bad input. `__main__` turns each into a `pulumi.RunError`,
so users see one clear sentence, not a traceback."""

from __future__ import annotations


class PegasusError(Exception):
    """Base of every error caused by input (config, chain data, files), never by a bug."""


class ConfigError(PegasusError):
    """A config value is missing, malformed or out of range.

    The message always starts with the full key, `pegasus:<path>`, and says what is allowed.
    """

    def __init__(self, key: str, message: str):
        self.key = key
        super().__init__(f"pegasus:{key}: {message}")


class InvalidName(PegasusError):
    """A name that Kubernetes would reject."""


class ChainReadError(PegasusError):
    """The chain could not be read completely at one height. Nothing is planned from a partial read.

    `key` is the config key to look at (`chain.endpoint`, `chain.apiPrefix`, ...); the message
    then starts with `pegasus:<key>:`, like a ConfigError's.
    """

    def __init__(self, message: str, key: str | None = None):
        self.key = key
        self.detail = message
        super().__init__(f"pegasus:{key}: {message}" if key else message)


class ChainDataError(PegasusError):
    """The chain answered, but a record is malformed or inconsistent. The message names the chainlet."""
