"""Publisher signatures on manifests (components/provider/signing.py, issue 23 item 14): the
upstream layout (go-ethereum crypto.Sign: r || s || v over keccak256 of the signed bytes,
recovered with SigToPub, pkg/proto/protoconnect/interceptors.go), checked against eth-keys."""

from __future__ import annotations

import copy
import json

import pytest
import yaml
from eth_keys import keys

from components.provider import secp256k1, signing
from components.provider.manifests import ManifestError, read_manifests
from tests.provider.test_builder import PUB, PUB_KEY, SUFFIX, doc, signed

OTHER_KEY = 0x5DE4111AFA1A4B94908F83103EB1F1706367C2E68CA870FC3FB9A804CDAB365A  # anvil account #2


def test_the_signature_is_go_ethereums_layout_and_recovers_like_eth_keys():
    d = doc()
    signature = signing.sign_manifest(d, PUB_KEY)
    theirs = keys.PrivateKey(PUB_KEY.to_bytes(32, "big")).sign_msg_hash(signing.keccak256(signing.canonical(d)))
    assert signature == "0x" + theirs.to_bytes().hex()  # r || s || v, v in {0, 1}
    assert signing.signer_of(d, signature) == PUB
    wallet = signature[:-2] + f"{int(signature[-2:], 16) + 27:02x}"  # v 27/28 as wallets write it
    assert signing.signer_of(d, wallet) == PUB
    digest = signing.keccak256(b"x")
    rec, r, s = secp256k1.sign(OTHER_KEY, digest)
    assert secp256k1.public_address(secp256k1.recover(digest, rec, r, s)) == \
        keys.Signature(vrs=(rec, r, s)).recover_public_key_from_msg_hash(digest).to_checksum_address().lower()


def test_yaml_and_json_of_one_manifest_carry_one_signature():
    d = signed(doc())
    assert signing.signer_of(yaml.safe_load(yaml.safe_dump(d)), d["payment"]["signature"]) == PUB
    assert signing.signer_of(json.loads(json.dumps(d)), d["payment"]["signature"]) == PUB


def test_the_example_manifests_are_signed_by_their_publishers():
    assert [p.name for p in read_manifests("pods", ".", "pods.example.org")] == ["game", "hello", "idle"]


def read_one(tmp_path, d) -> str:
    folder = tmp_path / "pods"
    folder.mkdir(exist_ok=True)
    (folder / "web.json").write_text(json.dumps(d))
    with pytest.raises(ManifestError) as e:
        read_manifests("pods", str(tmp_path), SUFFIX)
    return str(e.value)


FIX = "sign it with `PUBLISHER_KEY=0x... python -m components.provider.signing pods/web.json`"


def test_a_manifest_without_a_signature_is_refused(tmp_path):
    assert read_one(tmp_path, doc()) == (
        f"pods/web.json: payment.signature: is required: the channel's publisher signs the manifest; {FIX}")


def test_someone_elses_channel_is_refused(tmp_path):
    d = doc()
    d["payment"]["signature"] = signing.sign_manifest(d, OTHER_KEY)
    assert read_one(tmp_path, d) == (
        "pods/web.json: payment.signature: was made by 0x3c44cdddb6a900fa2b585dd299e03d12fa4293bc, not by the channel's "
        f"publisher {PUB} (or the manifest changed since it was signed); {FIX}")


def test_a_manifest_changed_after_signing_is_refused(tmp_path):
    d = signed(doc())
    changed = copy.deepcopy(d)
    changed["pod"]["replicas"]["max"] = 100
    assert "(or the manifest changed since it was signed)" in read_one(tmp_path, changed)
    bad = copy.deepcopy(d)
    bad["payment"]["signature"] = "0x1234"
    assert read_one(tmp_path, bad) == f"pods/web.json: payment.signature: must be 0x and 65 bytes of hex (r, s, v); {FIX}"
