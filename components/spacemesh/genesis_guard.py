"""The genesis guard of a Spacemesh network: a record of the genesis the nodes run, whose
`check` refuses a run that would change it, the way ChainState guards the validator's chain
read (pegasus/chainstate.py).

A node keeps its genesis in its data: go-spacemesh stores the genesis ID (blake3 of the
genesis time and extra data, config/genesis.go) and refuses to start with data of another
one, and the ID is the p2p handshake cookie. Changing genesis time or extra data on a running
network would update the ConfigMaps, and each node would then fail at its next restart, one
by one. So the change is refused unless `spacemesh.allowGenesisChange` is true, which is an
input too: the override is visible in the preview and recorded in the state of that run.

The engine calls `check` with the last applied inputs (empty on the first `up`) during
preview and up, before anything that depends on the guard changes. Pickled by reference into
the provider host: standard library and pulumi.dynamic only.
"""

from __future__ import annotations

from typing import Any, Optional

import pulumi
from pulumi.dynamic import CheckFailure

from pegasus.guard import GuardRecordProvider

INPUT_KEYS = ("network", "genesisTime", "genesisExtraData", "allowGenesisChange")


def guard_failures(olds: dict[str, Any], news: dict[str, Any]) -> list[CheckFailure]:
    if not olds.get("genesisTime") or news.get("allowGenesisChange"):
        return []
    before = (olds.get("genesisTime"), olds.get("genesisExtraData"))
    after = (news.get("genesisTime"), news.get("genesisExtraData"))
    if before == after:
        return []
    return [CheckFailure(
        "genesisTime" if before[0] != after[0] else "genesisExtraData",
        f"network {news.get('network')}: genesis would change from {before[0]} / {before[1]!r} to {after[0]} / {after[1]!r}; "
        "every node would refuse to start at its next restart. Restore spacemesh.genesisTime, genesisExtraData or the "
        "config file, or set spacemesh.allowGenesisChange: true to start a new network (the nodes' data must then be wiped)")]


class GenesisGuardProvider(GuardRecordProvider):
    INPUT_KEYS = INPUT_KEYS
    RECORD_ID = "genesis"

    def failures(self, olds: dict[str, Any], news: dict[str, Any]) -> list[CheckFailure]:
        return guard_failures(olds or {}, news)


class GenesisGuard(pulumi.dynamic.Resource, module="pegasus", name="SpacemeshGenesis"):
    def __init__(self, name: str, props: dict[str, Any], opts: Optional[pulumi.ResourceOptions] = None):
        super().__init__(GenesisGuardProvider(), name, props, opts)
