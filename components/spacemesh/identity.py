"""Keys and identities of a Spacemesh network, checked before anything is declared: each
PoET's key and the public key the nodes need, each bootnode's p2p key and its peer ID, and
the memory PoET's Merkle-tree cache takes. Pure functions, standard library only."""

from __future__ import annotations

import base64
import binascii
import json
from typing import Mapping, Optional

from pegasus.config.fields import Secret
from pegasus.errors import ConfigError

SECRETS = "spacemeshSecrets"  # the section the keys are set in (config.SECRETS_SECTION)


# PoET keeps the top --memory layers of its Merkle tree in memory, up to 2^(layers+1) - 1
# nodes of 32 bytes; the default is 26 layers, 4 GiB (spacemeshos/poet service/config.go).
POET_MEMORY_LAYERS = 26
POET_HEADROOM = 512 * 2**20


def poet_cache_bytes(layers: int) -> int:
    return (2 ** (layers + 1) - 1) * 32


_B58 = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"


def p2p_key_peer_id(key_file: str) -> Optional[str]:
    """The libp2p peer ID of go-spacemesh's p2p.key (p2p/identity.go: JSON {"Key": the
    libp2p-marshalled private key, base64; "ID": informational}), or None when the contents
    are not an ed25519 key in that form. The marshalled key is protobuf {Type: 1 (Ed25519),
    Data: seed || public key}; the peer ID is base58 of the identity multihash of the
    marshalled public key (libp2p peer-ids spec; go-libp2p's test vector is in
    tests/spacemesh/upstream/libp2p-peer-id.json)."""
    try:
        data = json.loads(key_file)
        raw = base64.b64decode(data["Key"], validate=True)
    except (ValueError, TypeError, KeyError, binascii.Error):
        return None
    if len(raw) != 68 or raw[:4] != bytes([0x08, 0x01, 0x12, 0x40]):
        return None
    public = bytes([0x08, 0x01, 0x12, 0x20]) + raw[36:]
    multihash = bytes([0x00, len(public)]) + public
    n, out = int.from_bytes(multihash, "big"), ""
    while n:
        n, r = divmod(n, 58)
        out = _B58[r] + out
    return "1" * (len(multihash) - len(multihash.lstrip(b"\0"))) + out


def poet_public_keys(keys: Mapping[str, Secret], poets: int) -> tuple[str, ...]:
    """Each PoET's public key, base64, from its POET_PRIVATE_KEY: PoET decodes the variable as
    base64 and requires ed25519.PrivateKeySize, 64 bytes (server/state.go); Go's
    ed25519.PrivateKey is seed || public key and Public() is its last 32 bytes, which PoET
    serves as its identity (server/server.go PublicKey). Known before `up`, so the nodes'
    poet-servers carry it from the start."""
    names = [f"poet-{i + 1}" for i in range(poets)]
    for name in keys:
        if name not in names:
            raise ConfigError(f"{SECRETS}.poetKeys.{name}", f"names no PoET of this network (poet-1..poet-{poets})")
    out = []
    for name in names:
        key = f"{SECRETS}.poetKeys.{name}"
        if name not in keys:
            raise ConfigError(key, "is required: the PoET's ed25519 key (base64 of 64 bytes: seed, then public key; PoET's POET_PRIVATE_KEY), so its public key is in the nodes' poet-servers before up; set it with --secret")
        try:
            raw = base64.b64decode(keys[name].value, validate=True)
        except (binascii.Error, ValueError):
            raw = b""
        if len(raw) != 64:
            raise ConfigError(key, "is not base64 of a 64-byte ed25519 private key (seed, then public key), which is what PoET's POET_PRIVATE_KEY reads")
        out.append(base64.b64encode(raw[32:]).decode())
    return tuple(out)
