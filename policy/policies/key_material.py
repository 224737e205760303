"""Keys and mnemonics never sit in plain manifests.

A plain env `value` or ConfigMap entry is stored unencrypted in the Pulumi state, shown by
`pulumi preview --diff`, readable by anyone who may `get` the workload or ConfigMap, and
copied into every log of the manifest. A leaked validator key cannot be rotated without a
governance-visible change, and a leaked mnemonic is the stake itself. Key material belongs in
a Secret (referenced by valueFrom.secretKeyRef, envFrom.secretRef or a Secret volume), a
secrets-store CSI volume or an ExternalSecret; those references never carry the value.
"""

from __future__ import annotations

import base64
import binascii
import re

from pulumi_policy import EnforcementLevel, ResourceValidationArgs, ResourceValidationPolicy

from . import _util as u

NAME = "pegasus-no-plaintext-key-material"

CONFIG_MAP = "kubernetes:core/v1:ConfigMap"

# Matched against the end of a name split on non-alphanumerics, so `SPC_MNEMONIC` and
# `node_key.json` match while `P2P_SEEDS` (a public peer list) and `MNEMONIC_FILE` (a path)
# do not.
SENSITIVE_NAMES = (
    "MNEMONIC",
    "PRIV_KEY",
    "PRIVATE_KEY",
    "PRIV_VALIDATOR_KEY",
    "VALIDATOR_KEY",
    "NODE_KEY",
    "SEED",
    "SEED_PHRASE",
    "KEYPASSWD",
    "KEY_PASSWORD",
)
_SENSITIVE_TOKENS = tuple(tuple(n.split("_")) for n in SENSITIVE_NAMES)

_PEM_PRIVATE_KEY = re.compile(r"-----BEGIN [A-Z0-9 ]*PRIVATE KEY-----")
# BIP-39 English words are 3 to 8 lowercase letters; mnemonics have 12 to 24 of them.
_MNEMONIC_WORD = re.compile(r"[a-z]{3,8}")
MNEMONIC_LENGTHS = (12, 15, 18, 21, 24)


def _tokens(name: str) -> tuple[str, ...]:
    return tuple(t for t in re.split(r"[^A-Z0-9]+", name.upper()) if t)


def is_sensitive_name(name: str) -> bool:
    tokens = _tokens(name)
    return any(tokens[-len(s):] == s for s in _SENSITIVE_TOKENS if len(tokens) >= len(s))


def _is_sensitive_key(key: str) -> bool:
    # A ConfigMap key is often a file name: judge `priv_validator_key.json` by its stem.
    stem = key.rsplit(".", 1)[0] if "." in key.lstrip(".") else key
    return is_sensitive_name(stem)


def key_material_kind(value: str) -> str | None:
    """What kind of key material `value` looks like, or None."""
    if _PEM_PRIVATE_KEY.search(value):
        return "a PEM private key"
    if '"priv_key"' in value:
        return "a JSON private key (priv_key)"
    words = value.split()
    if len(words) in MNEMONIC_LENGTHS and all(_MNEMONIC_WORD.fullmatch(w) for w in words):
        return "a mnemonic"
    return None


def _check_env(label: str, env, report_violation) -> None:
    name = u.get(env, "name")
    value = u.get(env, "value")
    if not isinstance(name, str) or not isinstance(value, str) or not value:
        return
    if is_sensitive_name(name):
        report_violation(
            f"{label} env {name} has a plain value; "
            "reference a Secret through valueFrom.secretKeyRef instead"
        )
        return
    kind = key_material_kind(value)
    if kind:
        report_violation(
            f"{label} env {name} value looks like {kind}; "
            "reference a Secret through valueFrom.secretKeyRef instead "
            "(in Pegasus: move it out of spc.env into the Secret that spc.keySecret names)"
        )


def _validate_pod_spec(spec, report_violation) -> None:
    for role, index, container in u.containers(spec):
        label = f"{role} '{u.container_name(container, index)}'"
        with u.undecided():
            for env in u.get_list(container, "env"):
                with u.undecided():
                    _check_env(label, env, report_violation)


def _decode(value: str) -> str | None:
    try:
        return base64.b64decode(value, validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError, ValueError):
        return None


def _validate_config_map(props, report_violation) -> None:
    for field in ("data", "binaryData"):
        with u.undecided():
            entries = u.get_mapping(props, field)
            for key in u.keys(entries):
                with u.undecided():
                    if _is_sensitive_key(key):
                        report_violation(
                            f"ConfigMap {field} key '{key}' is named like key material; "
                            "move it to a Secret"
                        )
                        continue
                    value = u.get(entries, key)
                    text = value if field == "data" else _decode(value) if isinstance(value, str) else None
                    kind = key_material_kind(text) if isinstance(text, str) else None
                    if kind:
                        report_violation(
                            f"ConfigMap {field} key '{key}' value looks like {kind}; move it to a Secret"
                        )


def validate(args: ResourceValidationArgs, report_violation) -> None:
    if args.resource_type == CONFIG_MAP:
        _validate_config_map(args.props, report_violation)
        return
    spec = u.pod_spec(args.resource_type, args.props)
    if spec is not None:
        _validate_pod_spec(spec, report_violation)


POLICY = ResourceValidationPolicy(
    name=NAME,
    description=(
        "No private keys, mnemonics or key passwords in plain container env values or ConfigMaps, "
        "judged by name (MNEMONIC, PRIV_KEY, PRIVATE_KEY, PRIV_VALIDATOR_KEY, VALIDATOR_KEY, "
        "NODE_KEY, SEED, KEYPASSWD, KEY_PASSWORD) or by value (a PEM private key, a priv_key JSON, "
        "a 12-24 word mnemonic). Use Secrets, secrets-store CSI volumes or External Secrets."
    ),
    validate=u.skip_unknown(validate),
    enforcement_level=EnforcementLevel.MANDATORY,
)
