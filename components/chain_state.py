"""The ChainState resource: the chain read, recorded and guarded (see pegasus/chainstate.py)."""

from __future__ import annotations

from typing import Any, Optional

import pulumi
import pulumi.dynamic

from pegasus.chainstate import ChainStateProvider


class ChainState(pulumi.dynamic.Resource, module="pegasus", name="ChainState"):
    height: pulumi.Output[int]
    chainlet_count: pulumi.Output[int]

    def __init__(self, name: str, props: dict[str, Any], opts: Optional[pulumi.ResourceOptions] = None):
        super().__init__(
            ChainStateProvider(),
            name,
            {**props, "chainletCount": None, "onlineCount": None, "offlineCount": None},
            opts,
        )
