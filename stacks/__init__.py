"""One composition per deployment kind; `pegasus:blueprint` picks one."""

from __future__ import annotations

from typing import Callable

from pegasus.config import Settings
from stacks import fleet, validator

BLUEPRINTS: dict[str, Callable[[Settings], None]] = {
    "validator": validator.deploy,
    "fleet": fleet.deploy,
}


def compose(settings: Settings) -> None:
    BLUEPRINTS[settings.blueprint](settings)
