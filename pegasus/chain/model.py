"""Typed, validated chain state: chainlets and their stacks, all read at one height.

Everything here is pure and uses only the standard library, because the ChainState
dynamic provider imports it inside Pulumi's provider host (see pegasus/chainstate.py).
Field names follow the chain's JSON (sagaxyz/ssc `proto/ssc/chainlet/chainlet.proto`,
rendered by the Cosmos SDK gateway with the proto field names).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any, Iterable, Mapping, Optional

from pegasus import names
from pegasus.errors import ChainDataError, InvalidName

ONLINE = "STATUS_ONLINE"
OFFLINE = "STATUS_OFFLINE"

_RFC3339 = re.compile(
    r"^(\d{4})-(\d{2})-(\d{2})[Tt](\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?([Zz]|[+-]\d{2}:\d{2})$"
)
_CHAIN_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
_PARAM_KEY = re.compile(r"^[A-Za-z][A-Za-z0-9]*$")
_DIGEST = re.compile(r"^sha256:[a-f0-9]{64}$")
_IMAGE = re.compile(r"^[a-z0-9][a-z0-9._/-]*(:[A-Za-z0-9_][A-Za-z0-9_.-]{0,127})?(@sha256:[a-f0-9]{64})?$")


@dataclass(frozen=True)
class StackVersion:
    version: str
    image: str
    checksum: str
    enabled: bool
    ccv_consumer: bool


@dataclass(frozen=True)
class ChainletStack:
    name: str  # displayName: what chainlets reference as chainletStackName
    creator: str
    description: str
    versions: tuple[StackVersion, ...]

    def version(self, version: str) -> Optional[StackVersion]:
        for v in self.versions:
            if v.version == version:
                return v
        return None


@dataclass(frozen=True)
class Chainlet:
    chain_id: str
    name: str
    launcher: str
    maintainers: tuple[str, ...]
    stack_name: str
    stack_version: str
    auto_upgrade: bool
    spawn_time: str  # as the chain wrote it; `spawn_key` orders it
    spawn_key: tuple[int, int]  # (UTC epoch seconds, nanoseconds)
    status: str
    denom: str
    params: tuple[tuple[str, str], ...]  # (param name, rendered value), in chain order
    genesis_validators: tuple[str, ...]
    tags: tuple[str, ...]
    is_service: bool

    @property
    def online(self) -> bool:
        return self.status == ONLINE

    @property
    def namespace(self) -> str:
        return names.chainlet_namespace(self.chain_id)


@dataclass(frozen=True)
class ChainView:
    """The chain as read at one height. `chainlets` is in slot order."""

    height: int
    source: str
    chainlets: tuple[Chainlet, ...]
    stacks: Mapping[str, ChainletStack]
    images: Mapping[str, str]  # chain ID -> pinned image reference
    warnings: tuple[str, ...] = ()


# --------------------------------------------------------------------------------------


def parse_time(value: Any, what: str) -> tuple[int, int]:
    """RFC 3339 to (epoch seconds, nanoseconds): exact, including the 9 fractional digits
    protobuf timestamps can carry, which datetime would round away."""
    if not isinstance(value, str):
        raise ChainDataError(f"{what}: spawnTime must be an RFC 3339 string, got {value!r}")
    m = _RFC3339.match(value)
    if not m:
        raise ChainDataError(f"{what}: spawnTime {value!r} is not RFC 3339 (like 2024-05-01T12:00:00Z)")
    y, mo, d, h, mi, s, frac, tz = m.groups()
    try:
        dt = datetime(int(y), int(mo), int(d), int(h), int(mi), int(s), tzinfo=timezone.utc)
    except ValueError as e:
        raise ChainDataError(f"{what}: spawnTime {value!r} is not a valid date ({e})") from None
    offset = 0
    if tz not in ("Z", "z"):
        sign = 1 if tz[0] == "+" else -1
        offset = sign * (int(tz[1:3]) * 3600 + int(tz[4:6]) * 60)
    seconds = int((dt - datetime(1970, 1, 1, tzinfo=timezone.utc)).total_seconds()) - offset
    nanos = int((frac or "").ljust(9, "0"))
    return seconds, nanos


def _str(obj: Mapping, key: str, what: str, *, required: bool = True) -> str:
    v = obj.get(key)
    if v is None and not required:
        return ""
    if not isinstance(v, str) or (required and not v):
        raise ChainDataError(f"{what}: field {key!r} must be a non-empty string, got {v!r}")
    return v


def _bool(obj: Mapping, key: str, what: str) -> bool:
    v = obj.get(key, False)
    if v is None:
        return False
    if not isinstance(v, bool):
        raise ChainDataError(f"{what}: field {key!r} must be a boolean, got {v!r}")
    return v


def _str_list(obj: Mapping, key: str, what: str) -> tuple[str, ...]:
    v = obj.get(key)
    if v is None:
        return ()
    if not isinstance(v, list) or not all(isinstance(x, str) and x for x in v):
        raise ChainDataError(f"{what}: field {key!r} must be a list of non-empty strings, got {v!r}")
    return tuple(v)


def render_param(value: Any) -> str:
    """A chain param as an environment value. Every validator derives the genesis from
    these, so the rendering must be deterministic and identical on every machine."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float, str)):
        return str(value)
    if isinstance(value, dict) and set(value) == {"list"} and isinstance(value["list"], list):
        # genAcctBalances {list: [{address, balance}]}: the `address=balance` form the
        # chainlet launch command takes, in chain order.
        items = []
        for entry in value["list"]:
            if not isinstance(entry, dict) or not isinstance(entry.get("address"), str):
                raise ValueError(f"account balance entry {entry!r} has no address")
            items.append(f"{entry['address']}={entry.get('balance', '')}")
        return ",".join(items)
    return json.dumps(value, sort_keys=True, separators=(",", ":"))


def parse_chainlet(obj: Any, index: int) -> Chainlet:
    if not isinstance(obj, dict):
        raise ChainDataError(f"chainlet record #{index} is not an object: {obj!r:.80}")
    chain_id = obj.get("chainId")
    if not isinstance(chain_id, str) or not chain_id:
        raise ChainDataError(f"chainlet record #{index} has no chainId")
    what = f"chainlet {chain_id}"
    if not _CHAIN_ID.match(chain_id):
        raise ChainDataError(f"{what}: chainId has characters a namespace cannot carry (allowed: letters, digits, '_', '-', '.')")
    try:
        names.chainlet_namespace(chain_id)
    except InvalidName as e:
        raise ChainDataError(f"{what}: {e}") from None
    status = obj.get("status")
    if status not in (ONLINE, OFFLINE):
        raise ChainDataError(f"{what}: status must be {ONLINE} or {OFFLINE}, got {status!r}")
    params_raw = obj.get("params")
    if params_raw is None:
        params_raw = {}
    if not isinstance(params_raw, dict):
        raise ChainDataError(f"{what}: params must be an object, got {params_raw!r:.80}")
    params = []
    for key, value in params_raw.items():
        if not _PARAM_KEY.match(key):
            raise ChainDataError(f"{what}: param name {key!r} cannot become an environment variable")
        try:
            params.append((key, render_param(value)))
        except ValueError as e:
            raise ChainDataError(f"{what}: param {key}: {e}") from None
    denom = obj.get("denom") or params_raw.get("denom") or ""
    if not isinstance(denom, str):
        raise ChainDataError(f"{what}: denom must be a string, got {denom!r}")
    if "denom" not in params_raw and denom:
        # Newer chains moved denom out of params; the genesis still needs SPCPARAM_DENOM.
        params.insert(0, ("denom", denom))
    return Chainlet(
        chain_id=chain_id,
        name=_str(obj, "chainletName", what, required=False),
        launcher=_str(obj, "launcher", what, required=False),
        maintainers=_str_list(obj, "maintainers", what),
        stack_name=_str(obj, "chainletStackName", what),
        stack_version=_str(obj, "chainletStackVersion", what),
        auto_upgrade=_bool(obj, "autoUpgradeStack", what),
        spawn_time=obj.get("spawnTime") if isinstance(obj.get("spawnTime"), str) else "",
        spawn_key=parse_time(obj.get("spawnTime"), what),
        status=status,
        denom=denom,
        params=tuple(params),
        genesis_validators=_str_list(obj, "genesisValidators", what),
        tags=_str_list(obj, "tags", what),
        is_service=_bool(obj, "isServiceChainlet", what),
    )


def parse_stack(obj: Any, index: int) -> ChainletStack:
    if not isinstance(obj, dict):
        raise ChainDataError(f"chainlet stack record #{index} is not an object: {obj!r:.80}")
    name = obj.get("displayName")
    if not isinstance(name, str) or not name:
        raise ChainDataError(f"chainlet stack record #{index} has no displayName")
    what = f"chainlet stack {name}"
    raw_versions = obj.get("versions")
    if not isinstance(raw_versions, list):
        raise ChainDataError(f"{what}: versions must be a list, got {raw_versions!r:.80}")
    versions = []
    seen = set()
    for i, v in enumerate(raw_versions):
        if not isinstance(v, dict):
            raise ChainDataError(f"{what}: version #{i} is not an object")
        version = _str(v, "version", f"{what} version #{i}")
        if version in seen:
            raise ChainDataError(f"{what}: version {version} is listed twice")
        seen.add(version)
        versions.append(
            StackVersion(
                version=version,
                image=_str(v, "image", f"{what} version {version}", required=False),
                checksum=_str(v, "checksum", f"{what} version {version}", required=False),
                enabled=_bool(v, "enabled", f"{what} version {version}"),
                ccv_consumer=_bool(v, "ccvConsumer", f"{what} version {version}"),
            )
        )
    return ChainletStack(
        name=name,
        creator=_str(obj, "creator", what, required=False),
        description=_str(obj, "description", what, required=False),
        versions=tuple(versions),
    )


def pinned_image(version: StackVersion, what: str) -> str:
    """The stack version's image, pinned by digest when its checksum is an image digest."""
    image = version.image
    if not image:
        raise ChainDataError(f"{what}: the stack version lists no image")
    if not _IMAGE.match(image):
        raise ChainDataError(f"{what}: image {image!r} is not a valid image reference")
    if "@" in image:
        digest = image.split("@", 1)[1]
        if _DIGEST.match(version.checksum) and version.checksum != digest:
            raise ChainDataError(f"{what}: image {image} carries digest {digest} but the stack's checksum is {version.checksum}")
        return image
    if _DIGEST.match(version.checksum):
        return f"{image}@{version.checksum}"
    last = image.rsplit("/", 1)[-1]
    if ":" not in last or last.endswith(":latest"):
        raise ChainDataError(f"{what}: image {image!r} has no version tag and the checksum {version.checksum!r} is not an image digest, so it cannot be pinned")
    return image


def build_view(height: int, source: str, chainlet_records: Iterable[Any], stack_records: Iterable[Any]) -> ChainView:
    """Validate everything and order the chainlets into slots.

    The slot of a chainlet is its position in (spawnTime, chainId) order over every chainlet
    the chain lists, online or offline. The chain only appends chainlets, so the order of the
    existing ones never changes; the ChainState guard refuses a run where it would.
    """
    stacks: dict[str, ChainletStack] = {}
    for i, rec in enumerate(stack_records):
        stack = parse_stack(rec, i)
        if stack.name in stacks:
            raise ChainDataError(f"chainlet stack {stack.name} is listed twice")
        stacks[stack.name] = stack

    chainlets: list[Chainlet] = []
    by_id: dict[str, Chainlet] = {}
    by_namespace: dict[str, str] = {}
    images: dict[str, str] = {}
    warnings: list[str] = []
    for i, rec in enumerate(chainlet_records):
        c = parse_chainlet(rec, i)
        if c.chain_id in by_id:
            raise ChainDataError(f"chainlet {c.chain_id} is listed twice")
        ns = c.namespace
        if ns in by_namespace:
            raise ChainDataError(
                f"chainlet {c.chain_id} collides with chainlet {by_namespace[ns]}: both map to namespace {ns}"
            )
        stack = stacks.get(c.stack_name)
        what = f"chainlet {c.chain_id}"
        if stack is None:
            raise ChainDataError(f"{what}: stack {c.stack_name!r} is not among the chain's stacks ({', '.join(sorted(stacks)) or 'none'})")
        version = stack.version(c.stack_version)
        if version is None:
            known = ", ".join(v.version for v in stack.versions) or "none"
            raise ChainDataError(f"{what}: stack {c.stack_name} has no version {c.stack_version!r} (known: {known})")
        images[c.chain_id] = pinned_image(version, f"{what} (stack {c.stack_name} {c.stack_version})")
        if not version.enabled:
            warnings.append(f"{what} runs stack {c.stack_name} {c.stack_version}, which the chain marks disabled")
        by_id[c.chain_id] = c
        by_namespace[ns] = c.chain_id
        chainlets.append(c)

    chainlets.sort(key=lambda c: (c.spawn_key, c.chain_id))
    return ChainView(
        height=height,
        source=source,
        chainlets=tuple(chainlets),
        stacks=stacks,
        images=images,
        warnings=tuple(warnings),
    )
