"""The slot ledger: every chainlet keeps its slot, and so its public address, forever.

Why a ledger. A slot used to be a chainlet's position in (spawnTime, chainId) order. Real SSC
data leaves spawnTime at zero for chainlets that are not CCV consumers, so their order falls
back to chainId, and a new chainlet whose ID sorts first would shift every later slot. Now a
slot, once given, is recorded and never changes; a new chainlet takes the next slot never
used (a vanished chainlet's slot stays taken, since peers may still dial its address).

Where it lives: in the ChainState resource's state (its `slots` input), for these reasons.
- It survives a lost runner: the state is in the stack's backend, not on a disk.
- It is written early: ChainState is registered before everything derived from the chain, so
  its update is recorded even when a later step of the same run fails. The stack's outputs,
  the other candidate, are written only when the whole program completes.
- It is guarded: the engine hands the previous state to ChainState's check (olds), which
  refuses any run whose ledger changes an existing entry (pegasus/chainstate.py). A ledger the
  program failed to read can therefore never "start fresh" silently.
- It is visible in preview: the ledger is an input, so a new slot shows in the diff.
- It is read before anything is declared, with the engine's builtin invoke
  `pulumi:pulumi:readStackResourceOutputs` on the stack itself (a synchronous invoke, not
  inside any apply), so slots, shards and the resources they imply are plain values. A
  ConfigMap would need the cluster (which may not exist yet on eks/gke) and a client of its own.

Import. The first run that has a ledger takes the slots the ChainState state recorded for each
chainlet (its `chainlets` entries), so no existing address moves; chainlets it never saw take
new slots after them, in (spawnTime, chainId) order. A stack without any ChainState starts
from that order.

Standard library only: the ChainState provider host imports it.
"""

from __future__ import annotations

from typing import Any, Iterable, Mapping, Optional

from pegasus.errors import PegasusError

CHAINSTATE_TYPE = "pulumi-python:dynamic/pegasus:ChainState"
CHAINLET_TYPE = "pegasus:chainlet:Chainlet"


class LedgerError(PegasusError):
    """The recorded ledger cannot be read or trusted; the run stops before declaring anything."""


def _as_slot(value: Any, what: str) -> int:
    # The engine hands numbers over as floats.
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value != int(value) or value < 0:
        raise LedgerError(f"{what} is {value!r}, not a slot number")
    return int(value)


def validate(slots: Mapping[str, Any], what: str) -> dict[str, int]:
    out: dict[str, int] = {}
    owner: dict[int, str] = {}
    for chain_id, raw in slots.items():
        slot = _as_slot(raw, f"{what}: the slot of {chain_id}")
        if slot in owner:
            raise LedgerError(f"{what}: chainlets {owner[slot]} and {chain_id} both hold slot {slot}")
        owner[slot] = chain_id
        out[chain_id] = slot
    return out


def assign(previous: Optional[Mapping[str, int]], order: Iterable[str]) -> dict[str, int]:
    """Slots for the chainlets in `order` ((spawnTime, chainId) order), keeping every entry
    of `previous` (None: no ledger yet) and giving new chainlets the next unused slots."""
    ledger = dict(validate(previous, "the slot ledger")) if previous else {}
    next_slot = max(ledger.values(), default=-1) + 1
    for chain_id in order:
        if chain_id not in ledger:
            ledger[chain_id] = next_slot
            next_slot += 1
    return ledger


def from_stack_resources(resources: Any, stack: str) -> Optional[dict[str, int]]:
    """The ledger recorded in the stack's last state, from the answer of
    readStackResourceOutputs ({urn: {type, outputs}}). None when the stack has never recorded
    a chain read; LedgerError when the state is there but unusable."""
    if not isinstance(resources, Mapping):
        raise LedgerError(f"the state of stack {stack} came back as {type(resources).__name__}, not a map of resources")
    records = [(urn, r) for urn, r in resources.items() if isinstance(r, Mapping) and r.get("type") == CHAINSTATE_TYPE]
    if len(records) > 1:
        raise LedgerError(f"stack {stack} holds {len(records)} ChainState records ({', '.join(sorted(u for u, _ in records))})")
    if not records:
        chainlets = [urn for urn, r in resources.items() if isinstance(r, Mapping) and r.get("type") == CHAINLET_TYPE]
        if chainlets:
            raise LedgerError(
                f"stack {stack} has {len(chainlets)} chainlet(s) but no ChainState record, so their slots are unknown; "
                "restore the ChainState resource (pulumi stack import of a backup) instead of assigning slots anew"
            )
        return None
    urn, record = records[0]
    outputs = record.get("outputs")
    if not isinstance(outputs, Mapping):
        raise LedgerError(f"the ChainState record {urn} has no outputs")
    slots = outputs.get("slots")
    if isinstance(slots, Mapping) and slots:
        return validate(slots, f"the slot ledger in {urn}")
    # Import: a record from before the ledger existed; its chainlet entries hold the slots
    # every existing chainlet advertises today.
    chainlets = outputs.get("chainlets")
    if not isinstance(chainlets, Mapping):
        if slots is None and chainlets is None:
            return None  # a record of an empty chain: nothing was ever placed
        raise LedgerError(f"the ChainState record {urn} has neither a slot ledger nor chainlet entries")
    imported = {}
    for chain_id, entry in chainlets.items():
        if not isinstance(entry, Mapping) or "slot" not in entry:
            raise LedgerError(f"the ChainState record {urn} has no slot for chainlet {chain_id}")
        imported[chain_id] = entry["slot"]
    return validate(imported, f"the chainlet entries in {urn}")
