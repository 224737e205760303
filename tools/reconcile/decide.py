"""What one reconcile round must run, decided from plain data (no engine, no network).

The platform stack runs every round: it pins the chain height the shards read at, and it
alone assigns slots. A shard stack runs when what it applied differs from what it would apply
now: its chainlets (the digests it published, `chainletDigests`, against the chain read at
the platform's height), its config (`configDigest`), or it has never run.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Any, Mapping, Optional

from pegasus import sharding


@dataclass(frozen=True)
class ShardDecision:
    stack: str
    index: int
    reason: str  # why it runs; "" when it does not


def expected_digests(view: Any, members: Mapping[str, Any]) -> dict[str, str]:
    """chain ID -> digest for the chainlets `members` names, from a chain read (ChainView)."""
    by_id = {c.chain_id: c for c in view.chainlets}
    out = {}
    for chain_id in members:
        c = by_id.get(chain_id)
        if c is None:
            # The platform placed it from this very read; its absence means the read is not
            # the one the platform applied. Run the shard: its own guard checks the read.
            out[chain_id] = "missing"
        else:
            out[chain_id] = sharding.chainlet_digest(c, view.images[chain_id])
    return out


def decide(platform_outputs: Mapping[str, Any], view: Any, config_digest: str,
           shard_outputs: Mapping[str, Optional[Mapping[str, Any]]], run_all: bool = False) -> list[ShardDecision]:
    """One decision per shard stack the platform lists, in shard order. `shard_outputs`: each
    shard stack's last outputs, None for a stack that does not exist yet."""
    members = platform_outputs.get(sharding.MEMBERS_OUTPUT) or {}
    out = []
    for name in platform_outputs.get(sharding.STACKS_OUTPUT) or []:
        parsed = sharding.parse_shard_stack(name)
        if parsed is None:
            raise ValueError(f"the platform lists {name!r}, which is not a shard stack name")
        index = parsed[1]
        current = shard_outputs.get(name)
        want = expected_digests(view, members.get(str(index)) or {})
        if run_all:
            reason = "all shards asked for"
        elif current is None:
            reason = "new shard stack"
        elif (current.get(sharding.CONFIG_DIGEST_OUTPUT) or "") != config_digest:
            reason = "config changed"
        elif dict(current.get(sharding.DIGESTS_OUTPUT) or {}) != want:
            before = dict(current.get(sharding.DIGESTS_OUTPUT) or {})
            changed = sorted(c for c in set(before) | set(want) if before.get(c) != want.get(c))
            reason = f"{len(changed)} chainlet(s) changed: {', '.join(changed[:3])}" + (" ..." if len(changed) > 3 else "")
        else:
            reason = ""
        out.append(ShardDecision(name, index, reason))
    return out


def fingerprint(view: Any) -> str:
    """The chain's chainlets as one digest, height left out: the watch loop acts only when it changes."""
    digests = sorted((c.chain_id, sharding.chainlet_digest(c, view.images[c.chain_id])) for c in view.chainlets)
    return hashlib.sha256(json.dumps(digests).encode()).hexdigest()


# Steps that change nothing: a StackReference is read on every run.
UNCHANGED_OPS = ("same", "read")


def changed(changes: Mapping[str, int]) -> dict[str, int]:
    return {op: n for op, n in sorted(changes.items()) if op not in UNCHANGED_OPS and n}


def change_line(stack: str, changes: Mapping[str, int], seconds: float, note: str = "") -> str:
    """`dev-shard-2: 1 create, 4 update (12.3 s)`; "no changes" when only `same` and `read` steps ran."""
    moved = changed(changes)
    what = ", ".join(f"{n} {op}" for op, n in moved.items()) or "no changes"
    return f"{stack}: {what} ({seconds:.1f} s)" + (f" [{note}]" if note else "")
