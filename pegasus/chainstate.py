"""The ChainState dynamic provider: the guard between a chain read and the fleet.

A ChainState resource is registered before any chainlet resource, and everything derived
from the chain depends on it. Its inputs are the chain read (source, height, and every
chainlet with its slot, public address and status) and the slot ledger (pegasus/ledger.py:
chain ID -> slot, for every chainlet ever placed). During `pulumi preview` and
`pulumi up` the engine calls `check` with the last applied inputs and the new ones, and
`check` refuses a run that would lose data or addresses:

- the height went backwards (a stale or lagging node would replay old state);
- more chainlets vanished than `chainlets.maxRemovals` allows (the chain never deletes
  chainlets, so a disappearance means a wrong endpoint or a bad read);
- a chainlet that exists already would change slot, shard or port (its advertised public
  address would break), e.g. because `ingress.shardSize` changed;
- the ledger would lose or change an entry (a misread ledger must never start afresh).

Each refusal names the config flag that overrides it. `read` re-reads the chain, so
`pulumi refresh` shows chain drift.

Serialization: Pulumi pickles the provider instance with dill. A class from an importable
module is pickled by reference (pulumi/pulumi#7453), so the provider host re-imports this
module from the project directory. Hence: standard library and pulumi.dynamic only, no
clients or state created at import time, and no fields on the instance.
"""

from __future__ import annotations

from typing import Any

from pulumi.dynamic import CheckFailure, ReadResult

from pegasus import ledger
from pegasus.guard import GuardRecordProvider
from pegasus import slots as slot_math
from pegasus.chain import reader
from pegasus.chain.model import ChainView
from pegasus.config import ChainletSettings, ChainSettings, IngressSettings

# Inputs that describe the chain read; the guard flags are inputs too, so an override is
# visible in the preview diff and in the state of the run that used it.
INPUT_KEYS = (
    "source",
    "endpoint",
    "apiPrefix",
    "snapshot",
    "pageLimit",
    "timeoutSeconds",
    "retries",
    "height",
    "shardSize",
    "basePort",
    "chainlets",
    "slots",
    "maxRemovals",
    "allowSlotChanges",
    "allowHeightRegression",
)
MAX_LISTED = 10


def chainlet_entries(view: ChainView, slots: dict[str, int], shard_size: int, base_port: int) -> dict[str, dict[str, Any]]:
    """What the guard remembers of each chainlet: its slot, public address and status."""
    out = {}
    for c in view.chainlets:
        slot = slots[c.chain_id]
        addr = slot_math.address(slot, shard_size, base_port)
        out[c.chain_id] = {"slot": slot, "shard": addr.shard, "port": addr.port, "status": c.status}
    return out


def _listed(ids: list[str]) -> str:
    shown = ", ".join(ids[:MAX_LISTED])
    return shown + (f" and {len(ids) - MAX_LISTED} more" if len(ids) > MAX_LISTED else "")


def _as_int(v: Any, default: int = 0) -> int:
    # The engine hands numbers over as floats.
    try:
        return int(v)
    except (TypeError, ValueError):
        return default


def guard_failures(olds: dict[str, Any], news: dict[str, Any]) -> list[CheckFailure]:
    """Why this run must not proceed, or [] if it may. Pure: unit-tested directly."""
    if not olds or "chainlets" not in olds:
        return []  # first run: nothing to protect yet
    failures: list[CheckFailure] = []
    old_height, new_height = _as_int(olds.get("height")), _as_int(news.get("height"))
    if new_height < old_height and not news.get("allowHeightRegression"):
        failures.append(
            CheckFailure(
                "height",
                f"the chain was read at height {new_height}, below height {old_height} applied last time: "
                f"the node behind {news.get('endpoint') or news.get('snapshot')} is stale or lagging, and planning "
                "from it could undo newer state. Point chain.endpoint at a synced node. If the lower height is "
                "expected (a chain restart), run once with `pulumi config set --path chainlets.allowHeightRegression true`, "
                "then remove the flag.",
            )
        )
    old_chainlets = olds.get("chainlets") or {}
    new_chainlets = news.get("chainlets") or {}
    removed = sorted(set(old_chainlets) - set(new_chainlets))
    max_removals = _as_int(news.get("maxRemovals"))
    if len(removed) > max_removals:
        failures.append(
            CheckFailure(
                "chainlets",
                f"{len(removed)} chainlet(s) vanished from the chain's list since the last run ({_listed(removed)}), "
                f"more than chainlets.maxRemovals={max_removals} allows. The chain never deletes chainlets, so this "
                "usually means a wrong endpoint, another network or a partial read. If the removal is real, run once "
                f"with `pulumi config set --path chainlets.maxRemovals {len(removed)}`, then set it back to 0; the "
                "volumes and namespaces of removed chainlets are retained, not deleted.",
            )
        )
    if not news.get("allowSlotChanges"):
        old_slots, new_slots = olds.get("slots") or {}, news.get("slots") or {}
        changed = [
            f"{chain_id} (slot {_as_int(old_slots[chain_id], -1)} -> "
            + (f"slot {_as_int(new_slots[chain_id], -1)})" if chain_id in new_slots else "gone)")
            for chain_id in sorted(old_slots)
            if _as_int(new_slots.get(chain_id), -1) != _as_int(old_slots[chain_id], -1)
        ]
        if changed:
            failures.append(
                CheckFailure(
                    "slots",
                    f"the slot ledger would lose or change {len(changed)} entry(ies): {_listed(changed)}. A slot, once "
                    "given, is never taken back or reused; this run read a different ledger than the one applied last "
                    "(a restored or edited state, another stack's state). Find out why before going on. Only to "
                    "re-address the fleet on purpose, run once with `pulumi config set --path chainlets.allowSlotChanges true`.",
                )
            )
        moved = []
        for chain_id in sorted(set(old_chainlets) & set(new_chainlets)):
            old, new = old_chainlets[chain_id], new_chainlets[chain_id]
            before = tuple(_as_int(old.get(k), -1) for k in ("slot", "shard", "port"))
            after = tuple(_as_int(new.get(k), -1) for k in ("slot", "shard", "port"))
            if before != after:
                moved.append(f"{chain_id} (slot {before[0]} shard {before[1]} port {before[2]} -> slot {after[0]} shard {after[1]} port {after[2]})")
        if moved:
            failures.append(
                CheckFailure(
                    "chainlets",
                    f"{len(moved)} existing chainlet(s) would change slot or public address: {_listed(moved)}. "
                    "Chainlets advertise that address on chain, so moving them cuts them off from their peers. "
                    "This happens when ingress.shardSize or ingress.basePort changes, or when a chainlet vanishes "
                    "or a new one sorts before existing ones. Restore the previous settings. Only to re-address the "
                    "fleet on purpose, run once with `pulumi config set --path chainlets.allowSlotChanges true`.",
                )
            )
    return failures


def _summary(props: dict[str, Any]) -> dict[str, Any]:
    chainlets = props.get("chainlets") or {}
    online = sum(1 for c in chainlets.values() if c.get("status") == "STATUS_ONLINE")
    return {"chainletCount": len(chainlets), "onlineCount": online, "offlineCount": len(chainlets) - online}


class ChainStateProvider(GuardRecordProvider):
    INPUT_KEYS = INPUT_KEYS
    RECORD_ID = "chainstate"

    def failures(self, olds: dict[str, Any], news: dict[str, Any]) -> list[CheckFailure]:
        return guard_failures(olds, news)

    def summary(self, props: dict[str, Any]) -> dict[str, Any]:
        return _summary(props)

    def read(self, id_: str, props: dict[str, Any]) -> ReadResult:
        """Re-read the chain so that `pulumi refresh` shows what changed on chain."""
        view = reader.read(
            props.get("source") or "rest",
            endpoint=props.get("endpoint"),
            api_prefix=props.get("apiPrefix") or "/ssc/chainlet",
            page_limit=_as_int(props.get("pageLimit"), 100),
            timeout_seconds=_as_int(props.get("timeoutSeconds"), 10),
            retries=_as_int(props.get("retries"), 3),
            snapshot=props.get("snapshot"),
        )
        live = dict(props)
        live["height"] = view.height
        slots = ledger.assign(props.get("slots") or None, [c.chain_id for c in view.chainlets])
        live["chainlets"] = chainlet_entries(view, slots, _as_int(props.get("shardSize"), 25), _as_int(props.get("basePort"), 1025))
        live.update(_summary(live))
        return ReadResult(id_, live)


def guard_config(chain: ChainSettings, ingress: IngressSettings, chainlets: ChainletSettings, view: ChainView,
                 slots: dict[str, int]) -> dict[str, Any]:
    """The ChainState inputs for one chain read and the ledger that places it."""
    return {
        "source": chain.source,
        "endpoint": chain.endpoint,
        "apiPrefix": chain.api_prefix,
        "snapshot": chain.snapshot,
        "pageLimit": chain.page_limit,
        "timeoutSeconds": chain.timeout_seconds,
        "retries": chain.retries,
        "height": view.height,
        "shardSize": ingress.shard_size,
        "basePort": ingress.base_port,
        "chainlets": chainlet_entries(view, slots, ingress.shard_size, ingress.base_port),
        "slots": dict(sorted(slots.items(), key=lambda kv: kv[1])),
        "maxRemovals": chainlets.max_removals,
        "allowSlotChanges": chainlets.allow_slot_changes,
        "allowHeightRegression": chainlets.allow_height_regression,
    }


# Sharded mode (pegasus/sharding.py): each shard stack keeps its own record of the chainlets it
# applied, guarded like the platform's, so no read that failed or looks wrong changes anything
# in any stack. The platform's ChainState guards the fleet and the ledger; this guards the shard.
SHARD_INPUT_KEYS = ("platform", "shard", "source", "endpoint", "snapshot", "height", "chainlets", "slots",
                    "maxRemovals", "allowSlotChanges", "allowHeightRegression")


class ShardStateProvider(ChainStateProvider):
    INPUT_KEYS = SHARD_INPUT_KEYS
    RECORD_ID = "shardstate"

    def read(self, id_: str, props: dict[str, Any]) -> ReadResult:
        # The shard reads the chain at the platform's pinned height: a refresh re-reading the
        # latest height here would report drift that the platform has not applied yet.
        return ReadResult(id_, dict(props))


def shard_guard_config(platform: str, index: int, chain: ChainSettings, chainlets: ChainletSettings, height: int,
                       entries: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """The ShardState inputs: this shard's chainlet entries and their slots, at the platform's height."""
    return {
        "platform": platform,
        "shard": index,
        "source": chain.source,
        "endpoint": chain.endpoint,
        "snapshot": chain.snapshot,
        "height": height,
        "chainlets": entries,
        "slots": {c: e["slot"] for c, e in sorted(entries.items(), key=lambda kv: kv[1]["slot"])},
        "maxRemovals": chainlets.max_removals,
        "allowSlotChanges": chainlets.allow_slot_changes,
        "allowHeightRegression": chainlets.allow_height_regression,
    }
