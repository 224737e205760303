"""Lists of nodes the operator names: miners to delete (spacecraft's deleteMiner) and
bootnodes whose p2p key may be replaced on their volume. Checked before anything is declared."""

from __future__ import annotations

from typing import Mapping

from pegasus.config.fields import _Section, _describe
from pegasus.errors import ConfigError


def parse_deleted_miners(s: _Section, names: Mapping[str, tuple[str, ...]], miners: int) -> list[int]:
    """Plain miners only: the bootstrap node and the bootnodes are what the others dial."""
    deleted = s.get("deletedMiners", list, [])
    first_miner = len(names["bootstrap"]) + len(names["bootnodes"]) + 1
    for i, n in enumerate(deleted):
        if isinstance(n, bool) or not isinstance(n, int) or not first_miner <= n <= miners:
            raise ConfigError(f"{s.key('deletedMiners')}[{i}]", f"must be the number of a miner that is not a bootnode, {first_miner} to {miners}, "
                              f"got {_describe(n)}; the bootstrap node and bootnodes are what the others dial")
    if len(set(deleted)) == miners - first_miner + 1:
        raise ConfigError(s.key("deletedMiners"), "deletes every miner; lower spacemesh.miners instead")
    gone = {f"miner-{n}" for n in deleted}
    for key, used in (("coinbases", s.get("coinbases", dict, {})), ("pyroscope.miners", {f"miner-{n}": n for n in (s.get("pyroscope", dict, {}) or {}).get("miners", []) if isinstance(n, int)})):
        for n in sorted(set(used) & gone):
            raise ConfigError(f"{s.key(key)}", f"names {n}, which spacemesh.deletedMiners deletes; remove it from one of them")
    return deleted


def parse_rotate_p2p_keys(s: _Section, names: Mapping[str, tuple[str, ...]]) -> list[str]:
    rotate = s.str_list("rotateP2pKeys", [])
    for i, n in enumerate(rotate):
        if n not in names["bootstrap"] + names["bootnodes"]:
            raise ConfigError(f"{s.key('rotateP2pKeys')}[{i}]", f"{n!r} is not the bootstrap node or a bootnode; only they get their p2p key from spacemeshSecrets.p2pKeys")
    return rotate
