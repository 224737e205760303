"""The errors Pegasus raises on bad input. `__main__` turns each into a `pulumi.RunError`,
so users see one clear sentence, not a traceback."""


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
    """The chain could not be read completely at one height. Nothing is planned from a partial read."""


class ChainDataError(PegasusError):
    """The chain answered, but a record is malformed or inconsistent. The message names the chainlet."""
