"""One composition per deployment kind; `pegasus:blueprint` picks one."""

from __future__ import annotations

from typing import Callable

from pegasus.config import Settings
from stacks import provider, validator

BLUEPRINTS: dict[str, Callable[[Settings], None]] = {
    "validator": validator.deploy,
    "provider": provider.deploy,
}


def compose(settings: Settings) -> None:  # or ProviderStackSettings for the provider blueprint
    BLUEPRINTS[settings.blueprint](settings)
