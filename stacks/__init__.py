"""One composition per deployment kind; `pegasus:blueprint` picks one."""

from __future__ import annotations

from typing import Callable

from pegasus.config import Settings
from stacks import testnet, validator

BLUEPRINTS: dict[str, Callable[[Settings], None]] = {
    "validator": validator.deploy,
    "testnet": testnet.deploy,  # type: ignore[dict-item]  (takes the testnet's own settings)
}


def compose(settings: Settings) -> None:
    BLUEPRINTS[settings.blueprint](settings)
