"""secp256k1 as Ethereum uses it: addresses, deterministic signatures, public key recovery.

Pure Python and standard library only, like pegasus/keccak.py: the settler signs a handful
of transactions per hour from a stock Python image (components/provider/settler.py), and the
program recovers a few manifest signers per run (components/provider/signing.py). Checked
against eth-keys in tests/provider/test_payment_contract.py and test_signing.py. Not
constant-time: the settler's host is the provider's own cluster, and signing is rare.
"""

from __future__ import annotations

import hashlib
import hmac
from typing import Optional

try:
    from pegasus.keccak import keccak256
except ImportError:  # in the cluster: keccak.py sits next to this file
    from keccak import keccak256  # type: ignore[no-redef]

# secp256k1 (SEC 2): y^2 = x^3 + 7 over F_p, generator G of order N.
P = 2**256 - 2**32 - 977
N = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141
G = (0x79BE667EF9DCBBAC55A06295CE870B07029BFCDB2DCE28D959F2815B16F81798,
     0x483ADA7726A3C4655DA4FBFC0E1108A8FD17B448A68554199C47D08FFB10D4B8)


def _add(a: Optional[tuple[int, int]], b: Optional[tuple[int, int]]) -> Optional[tuple[int, int]]:
    if a is None:
        return b
    if b is None:
        return a
    if a[0] == b[0] and (a[1] + b[1]) % P == 0:
        return None
    if a == b:
        m = 3 * a[0] * a[0] * pow(2 * a[1], -1, P) % P
    else:
        m = (b[1] - a[1]) * pow(b[0] - a[0], -1, P) % P
    x = (m * m - a[0] - b[0]) % P
    return x, (m * (a[0] - x) - a[1]) % P


def _mul(k: int, point: tuple[int, int] = G) -> tuple[int, int]:
    out: Optional[tuple[int, int]] = None
    while k:
        if k & 1:
            out = _add(out, point)
        point = _add(point, point)  # type: ignore[assignment]
        k >>= 1
    assert out is not None
    return out


def address_of(key: int) -> str:
    x, y = _mul(key)
    return "0x" + keccak256(x.to_bytes(32, "big") + y.to_bytes(32, "big"))[12:].hex()


def _nonce_k(key: int, digest: bytes) -> int:
    """RFC 6979 deterministic nonce with HMAC-SHA256: no randomness source to get wrong."""
    x, h = key.to_bytes(32, "big"), int.from_bytes(digest, "big") % N
    v, k = b"\x01" * 32, b"\x00" * 32
    k = hmac.new(k, v + b"\x00" + x + h.to_bytes(32, "big"), hashlib.sha256).digest()
    v = hmac.new(k, v, hashlib.sha256).digest()
    k = hmac.new(k, v + b"\x01" + x + h.to_bytes(32, "big"), hashlib.sha256).digest()
    v = hmac.new(k, v, hashlib.sha256).digest()
    while True:
        v = hmac.new(k, v, hashlib.sha256).digest()
        candidate = int.from_bytes(v, "big")
        if 1 <= candidate < N:
            return candidate
        k = hmac.new(k, v + b"\x00", hashlib.sha256).digest()
        v = hmac.new(k, v, hashlib.sha256).digest()


def sign(key: int, digest: bytes) -> tuple[int, int, int]:
    """(recovery id, r, s) with low s, as Ethereum requires (EIP-2)."""
    k = _nonce_k(key, digest)
    rx, ry = _mul(k)
    r = rx % N
    s = pow(k, -1, N) * (int.from_bytes(digest, "big") + r * key) % N
    recovery = (ry & 1) | (2 if rx >= N else 0)
    if s > N // 2:
        s, recovery = N - s, recovery ^ 1
    return recovery, r, s




def recover(digest: bytes, recovery: int, r: int, s: int) -> tuple[int, int]:
    """The public key that signed `digest` (SEC 1, 4.1.6)."""
    if not (1 <= r < N and 1 <= s < N) or recovery not in (0, 1, 2, 3):
        raise ValueError("not a secp256k1 signature")
    x = r + (N if recovery & 2 else 0)
    if x >= P:
        raise ValueError("not a secp256k1 signature")
    y = pow((x * x * x + 7) % P, (P + 1) // 4, P)
    if (y * y - x * x * x - 7) % P:
        raise ValueError("not a secp256k1 signature")
    if (y & 1) != (recovery & 1):
        y = P - y
    e = int.from_bytes(digest, "big") % N
    r_inv = pow(r, -1, N)
    q = _add(_mul(s * r_inv % N, (x, y)), _mul((-e * r_inv) % N))
    if q is None:
        raise ValueError("not a secp256k1 signature")
    return q


def public_address(point: tuple[int, int]) -> str:
    return "0x" + keccak256(point[0].to_bytes(32, "big") + point[1].to_bytes(32, "big"))[12:].hex()
