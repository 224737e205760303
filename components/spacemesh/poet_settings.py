"""Settings of one PoET (`spacemesh.poetSettings.poet-N`): its own image (a PoET upgraded on
its own), extra flags after `poetArgs`, and its own requests and volume. Every PoET still runs
the nodes' round schedule: its flags pass the same check as `poetArgs` (node_config), and its
memory must hold the Merkle-tree cache its own --memory asks for."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Mapping, Optional

from components.spacemesh.identity import POET_HEADROOM, POET_MEMORY_LAYERS, poet_cache_bytes
from pegasus.config.fields import _Section, _describe
from pegasus.config.validator import image_reference
from pegasus.errors import ConfigError

KNOWN = ("image", "args", "resources")


@dataclass(frozen=True)
class PoetOverride:
    image: Optional[str]
    args: tuple[str, ...]
    size: object  # config.PodSize: this PoET's requests and volume


def memory_layers(key: str, args: tuple[str, ...]) -> int:
    """PoET's --memory (Merkle-tree layers kept in memory; the last one given wins, as go-flags
    parses it), 26 by default (spacemeshos/poet service/config.go)."""
    layers = POET_MEMORY_LAYERS
    for arg in args:
        flag, _, value = arg.lstrip("-").partition("=")
        if flag == "memory":
            if not value.isdigit() or not 0 < int(value) <= 40:
                raise ConfigError(key, f"--memory={value} must be a number of Merkle-tree layers, like 24")
            layers = int(value)
    return layers


def check_memory(memory_key: str, memory: str, memory_bytes: int, args_key: str, args: tuple[str, ...]) -> None:
    layers = memory_layers(args_key, args)
    cache = poet_cache_bytes(layers)
    if memory_bytes < cache + POET_HEADROOM:
        need = -(-(cache + POET_HEADROOM) // 2**30)
        raise ConfigError(memory_key, f"{memory} is below what PoET holds in memory with --memory={layers} "
                          f"({cache / 2**30:.1f}Gi of Merkle-tree cache, spacemeshos/poet service/config.go) plus headroom; "
                          f"set at least {need}Gi, or a lower --memory in {args_key.removeprefix('spacemesh.')}")


def parse_poet_settings(s: _Section, poets: int, default_size, global_args: tuple[str, ...],
                        pod_size: Callable) -> dict[int, PoetOverride]:
    """index -> override, for the PoETs that have one."""
    raw = s.get("poetSettings", dict, {})
    key = s.key("poetSettings")
    out = {}
    for name, value in raw.items():
        if name not in [f"poet-{i + 1}" for i in range(poets)]:
            raise ConfigError(f"{key}.{name}", f"names no PoET of this network (poet-1..poet-{poets})")
        if not isinstance(value, dict) or set(value) - set(KNOWN):
            bad = sorted(set(value) - set(KNOWN))[0] if isinstance(value, dict) else None
            raise ConfigError(f"{key}.{name}{'.' + bad if bad else ''}", f"must be an object of {', '.join(KNOWN)}, got {_describe(value if bad is None else bad)}")
        sub = _Section(f"{key}.{name}", value)
        image = sub.get("image", str)
        args = tuple(sub.str_list("args", []))
        size = pod_size(sub, "resources", {"cpu": default_size.cpu, "memory": default_size.memory, "disk": default_size.disk})
        check_memory(f"{key}.{name}.resources.memory", size.memory, size.memory_bytes, f"{key}.{name}.args", global_args + args)
        out[int(name.split("-")[1]) - 1] = PoetOverride(image_reference(sub.key("image"), image) if image else None, args, size)
    return out


def poet_image(default: str, overrides: Mapping[int, PoetOverride], index: int) -> str:
    o = overrides.get(index)
    return o.image if o is not None and o.image else default
