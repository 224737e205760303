"""Publisher signatures on pod manifests: only a channel's publisher may name its channel.

Upstream authenticates a publisher per request (comrade-coop/trusted-pods
pkg/proto/protoconnect/interceptors.go at d0512a42e1cbafd60a0998ac4bc03a953f94f555): a token
is signed as 65 bytes r || s || v over keccak256 of its bytes (go-ethereum crypto.Sign, v 0 or
1), the public key is recovered (SigToPub) and its address must be the publisher of the
payment channel the request names. A manifest here is a file, not a request, so the signed
bytes are the manifest itself: its canonical JSON (keys sorted, no spaces, UTF-8) without
`payment.signature`, so a YAML file and its JSON twin carry the same signature, and changing
any field of the pod needs a new one.

    PUBLISHER_KEY=0x... python -m components.provider.signing pods/hello.yaml
"""

from __future__ import annotations

import copy
import json
import os
import sys
from typing import Any

from components.provider import secp256k1
from pegasus.keccak import keccak256


def canonical(doc: Any) -> bytes:
    body = copy.deepcopy(doc)
    if isinstance(body, dict) and isinstance(body.get("payment"), dict):
        body["payment"].pop("signature", None)
    return json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def sign_manifest(doc: Any, key: int) -> str:
    recovery, r, s = secp256k1.sign(key, keccak256(canonical(doc)))
    return "0x" + r.to_bytes(32, "big").hex() + s.to_bytes(32, "big").hex() + f"{recovery:02x}"


def signer_of(doc: Any, signature: str) -> str:
    """The address that signed the manifest; ValueError if `signature` is not a signature."""
    raw = bytes.fromhex(signature[2:]) if signature.startswith("0x") else b""
    if len(raw) != 65:
        raise ValueError("must be 0x and 65 bytes of hex (r, s, v)")
    v = raw[64] - 27 if raw[64] >= 27 else raw[64]  # 27/28 (wallets) or 0/1 (go-ethereum)
    point = secp256k1.recover(keccak256(canonical(doc)), v, int.from_bytes(raw[:32], "big"), int.from_bytes(raw[32:64], "big"))
    return secp256k1.public_address(point)


def main(argv: list[str]) -> int:  # pragma: no cover - a thin CLI over sign_manifest
    import yaml

    if len(argv) != 1 or "PUBLISHER_KEY" not in os.environ:
        print("usage: PUBLISHER_KEY=0x... python -m components.provider.signing <manifest>", file=sys.stderr)
        return 2
    with open(argv[0], encoding="utf-8") as f:
        doc = json.load(f) if argv[0].endswith(".json") else yaml.safe_load(f)
    print(sign_manifest(doc, int(os.environ["PUBLISHER_KEY"].removeprefix("0x"), 16)))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
