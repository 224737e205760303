"""One composition per deployment kind; `pegasus:blueprint` picks one."""

from __future__ import annotations

from typing import Callable

from stacks import fleet, provider, spacemesh, testnet, validator

BLUEPRINTS: dict[str, Callable[..., None]] = {
    "validator": validator.deploy,
    "spacemesh": spacemesh.deploy,
    "provider": provider.deploy,
    "testnet": testnet.deploy,
    "fleet": fleet.deploy,
}


def compose(settings) -> None:  # each blueprint parses its own settings type (pegasus.config.BLUEPRINT_PARSERS)
    BLUEPRINTS[settings.blueprint](settings)
