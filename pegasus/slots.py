"""Slots, shards and public ports: the arithmetic every other part agrees on.

A chainlet's slot is its position in the chain's (spawnTime, chainId) order, over every
chainlet ever listed, online or offline (see pegasus.chain.model.build_view). The slot fixes
the public address for the chainlet's whole life:

    shard = slot // shard_size      -> Service ingress-nginx-controller-p2p-<shard>
    port  = base_port + slot % shard_size

Inside the ingress-nginx pods every slot listens on its own port, internal_base_port + slot,
because the shards reuse the same public ports and one controller serves them all.
Standard library only: the ChainState provider host imports it.
"""

from __future__ import annotations

from typing import NamedTuple

from pegasus.errors import ConfigError


class Address(NamedTuple):
    slot: int
    shard: int
    port: int


def address(slot: int, shard_size: int, base_port: int) -> Address:
    if slot < 0 or shard_size < 1:
        raise ValueError(f"invalid slot {slot} or shard size {shard_size}")
    return Address(slot, slot // shard_size, base_port + slot % shard_size)


def internal_port(slot: int, internal_base_port: int) -> int:
    port = internal_base_port + slot
    if port > 65535:
        raise ConfigError(
            "ingress.internalBasePort",
            f"slot {slot} would listen on controller port {port}, above 65535; lower it so that "
            f"internalBasePort + number of chainlets stays below 65536",
        )
    return port


def shard_count(slots: int, shard_size: int) -> int:
    return (slots + shard_size - 1) // shard_size
