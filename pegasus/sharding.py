"""Sharded mode: one platform stack and one small stack per p2p shard.

Past a few hundred chainlets one stack is too slow (docs/benchmarks.md): the engine's cost per
resource grows with the stack, and a self-managed backend rewrites the whole checkpoint after
every step. The p2p shards (pegasus/slots.py: shard = slot // shardSize) are already
independent, so with `chainlets.stacks: sharded` each becomes its own stack:

- the platform stack `<stack>` keeps everything but the chainlets, plus the ChainState guard
  and the slot ledger, and publishes the contract below as stack outputs;
- a shard stack `<stack>-shard-<N>` (the same program; its name gives the platform and N)
  declares the chainlets of shard N, the shard's load balancer and its routing.

The contract between them, the platform's outputs (PLATFORM_OUTPUTS):
- `chainHeight`: the height the platform read the chain at; shards read the chain there too;
- `ledger`: chain ID -> slot, every chainlet ever placed;
- `shardMembers`: "<N>" -> {chain ID: {slot, shard, port, status}} for every shard;
- `shardStacks`: the shard stack names, in shard order.

Standard library only: the reconcile tool and the in-cluster watcher import it.
"""

from __future__ import annotations

import re
from typing import Any, Mapping, Optional

MODES = ("single", "sharded")
SHARD_SUFFIX = "-shard-"
_SHARD_STACK = re.compile(r"^(?P<platform>.+)-shard-(?P<index>0|[1-9][0-9]*)$")

HEIGHT_OUTPUT = "chainHeight"
LEDGER_OUTPUT = "ledger"
MEMBERS_OUTPUT = "shardMembers"
STACKS_OUTPUT = "shardStacks"
PLATFORM_OUTPUTS = (HEIGHT_OUTPUT, LEDGER_OUTPUT, MEMBERS_OUTPUT, STACKS_OUTPUT)


def shard_stack_name(platform: str, index: int) -> str:
    return f"{platform}{SHARD_SUFFIX}{index}"


def parse_shard_stack(stack: str) -> Optional[tuple[str, int]]:
    """(platform stack, shard index) of a shard stack's name, None for any other name."""
    m = _SHARD_STACK.match(stack)
    return (m.group("platform"), int(m.group("index"))) if m else None


def members(entries: Mapping[str, Mapping[str, Any]]) -> dict[int, dict[str, dict[str, Any]]]:
    """ChainState's chainlet entries grouped by shard: {shard: {chain ID: entry}}."""
    out: dict[int, dict[str, dict[str, Any]]] = {}
    for chain_id, entry in sorted(entries.items(), key=lambda kv: int(kv[1]["slot"])):
        out.setdefault(int(entry["shard"]), {})[chain_id] = dict(entry)
    return out


def members_output(entries: Mapping[str, Mapping[str, Any]], shard_count: int) -> dict[str, dict[str, dict[str, Any]]]:
    """`shardMembers` as published: every shard up to shard_count, even an empty one, so a
    shard stack always finds its entry."""
    grouped = members(entries)
    return {str(i): grouped.get(i, {}) for i in range(shard_count)}



def chainlet_digest(chainlet: Any, image: str) -> str:
    """What a chainlet's workload is derived from, as one short digest: its chain record
    (pegasus.chain.model.Chainlet, a frozen dataclass) and its image. A shard stack publishes
    the digests it applied (`chainletDigests`), so the reconcile tool knows which shards a new
    chain read changes without running them."""
    import dataclasses
    import hashlib
    import json

    record = dataclasses.asdict(chainlet) if dataclasses.is_dataclass(chainlet) else dict(chainlet)
    blob = json.dumps({"chainlet": record, "image": image}, sort_keys=True, default=list).encode()
    return hashlib.sha256(blob).hexdigest()[:16]


DIGESTS_OUTPUT = "chainletDigests"
CONFIG_DIGEST_OUTPUT = "configDigest"


def config_digest(settings: Any) -> str:
    """What every chainlet of a shard is built from besides chain data (a validator Settings):
    when it changes, every shard stack changes, and the reconcile tool runs them all."""
    import dataclasses
    import hashlib
    import json

    m = settings.monitoring
    relevant = {"chainlets": dataclasses.asdict(settings.chainlets), "ingress": dataclasses.asdict(settings.ingress),
                "storage": settings.storage_class, "cluster": [settings.cluster.provider, settings.cluster.name],
                "karpenter": settings.karpenter.enabled,
                # Probe settings only: the monitoring section also holds secrets, which stay out of any digest.
                "probes": [m.probe_interval, m.external_prober_url, m.external_prober_auth_secret]}
    blob = json.dumps(relevant, default=str, sort_keys=True).encode()
    return hashlib.sha256(blob).hexdigest()[:16]
