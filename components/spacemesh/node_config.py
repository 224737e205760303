"""The node's effective configuration, computed once: go-spacemesh's preset, then the user's
config file, then the keys Pegasus owns. Everything that must agree with the nodes (each
PoET's round schedule, the genesis, the coinbases' HRP) is derived from it here, and any
disagreement stops the plan with one line that names both values.

Upstream, go-spacemesh v1.7.6:
- node/node.go loadConfig: the config starts as config.MainnetConfig(); a `preset` (flag or
  file key) replaces it with config/presets/<name>.go; the file's keys then override it.
- node/node.go (standalone PoET): a PoET's round is genesis = genesis.genesis-time,
  epoch-duration = main.layer-duration * main.layers-per-epoch, phase-shift = poet.phase-shift,
  cycle-gap = poet.cycle-gap; activation/poet.go stops the node (Fatal) when a PoET's phase
  shift differs from its own.
- config/genesis.go: the genesis ID is blake3(unix seconds of genesis-time, as decimal text,
  then genesis-extra-data), first 20 bytes; it is the p2p handshake cookie.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timezone
from decimal import Decimal
from typing import Any, Mapping, Optional

from pegasus.errors import ConfigError

# What each preset sets of the values derived here (tests/spacemesh/upstream holds the same
# facts read from config/mainnet.go and config/presets/*.go at v1.7.6, and a test compares).
# "mainnet" is go-spacemesh's default when no preset is named. A preset without genesis-time
# leaves it zero: such a network needs it from the file or from spacemesh.genesisTime.
PRESETS: dict[str, dict] = {
    "mainnet": {"main": {"layer-duration": "5m", "layers-per-epoch": 4032, "network-hrp": "sm"},
                "poet": {"phase-shift": "240h", "cycle-gap": "12h"},
                "genesis": {"genesis-time": "2023-07-14T08:00:00Z",
                            "genesis-extra-data": "00000000000000000001a6bc150307b5c1998045752b3c87eccf3c013036f3cc"},
                "post": {"post-labels-per-unit": 4294967296, "post-min-numunits": 4, "post-max-numunits": 2**32 - 1},
                "smeshing": {"smeshing-opts": {"smeshing-opts-numunits": 2}}},
    "testnet": {"main": {"layer-duration": "5m", "layers-per-epoch": 288, "network-hrp": "stest"},
                "poet": {"phase-shift": "12h", "cycle-gap": "2h"},
                "genesis": {"genesis-time": "2023-09-13T18:00:00Z",
                            "genesis-extra-data": "0000000000000000000000c76c58ebac180989673fd6d237b40e66ed5c976ec3"},
                "post": {"post-labels-per-unit": 1024, "post-min-numunits": 2, "post-max-numunits": 2**32 - 1},
                "smeshing": {"smeshing-opts": {"smeshing-opts-numunits": 2}}},
    "fastnet": {"main": {"layer-duration": "15s", "layers-per-epoch": 4, "network-hrp": "stest"},
                "poet": {"phase-shift": "30s", "cycle-gap": "30s"},
                "genesis": {"genesis-extra-data": "fastnet"},
                "post": {"post-labels-per-unit": 128, "post-min-numunits": 2, "post-max-numunits": 4},
                "smeshing": {"smeshing-opts": {"smeshing-opts-numunits": 2}}},
    "standalone": {"main": {"layer-duration": "6s", "layers-per-epoch": 10, "network-hrp": "standalone"},
                   "poet": {"phase-shift": "30s", "cycle-gap": "30s"},
                   "genesis": {"genesis-extra-data": "standalone"},
                   "post": {"post-labels-per-unit": 64, "post-min-numunits": 1, "post-max-numunits": 2},
                   "smeshing": {"smeshing-opts": {"smeshing-opts-numunits": 1}}},
}
DEFAULT_PRESET = "mainnet"
# Bytes per PoST label: spacemeshos/post config/config.go BitsPerLabel = 8 * postrs.LabelLength,
# internal/postrs/initializer.go LabelLength = 16.
POST_LABEL_BYTES = 16
# PoET's flags for its round (spacemeshos/poet server/config.go: Config.Genesis, RoundConfig).
POET_SCHEDULE_FLAGS = ("genesis-time", "epoch-duration", "phase-shift", "cycle-gap")

_DURATION = re.compile(r"(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h)")
_UNIT = {"ns": Decimal("1e-9"), "us": Decimal("1e-6"), "µs": Decimal("1e-6"), "ms": Decimal("0.001"),
         "s": Decimal(1), "m": Decimal(60), "h": Decimal(3600)}


def deep_merge(base: Mapping[str, Any], overlay: Mapping[str, Any]) -> dict:
    out = dict(base)
    for k, v in overlay.items():
        out[k] = deep_merge(out[k], v) if isinstance(v, Mapping) and isinstance(out.get(k), Mapping) else v
    return out


def go_duration(key: str, value: Any) -> Decimal:
    """Seconds of a Go duration as mapstructure decodes it: a string like 5m or 1h30m, or an
    integer count of nanoseconds."""
    if isinstance(value, bool):
        raise ConfigError(key, f"{value!r} is not a duration; write it like 5m or 12h")
    if isinstance(value, int):
        return Decimal(value) * _UNIT["ns"]
    if isinstance(value, str) and value and _DURATION.sub("", value) == "":
        return sum((Decimal(n) * _UNIT[u] for n, u in _DURATION.findall(value)), Decimal(0))
    raise ConfigError(key, f"{value!r} is not a duration; write it like 5m or 12h")


def format_duration(seconds: Decimal) -> str:
    """A Go duration string PoET's flag parser (time.ParseDuration) reads back exactly."""
    if seconds == seconds.to_integral_value():
        return f"{int(seconds)}s"
    return f"{int(seconds * 1_000_000_000)}ns"


def utc(key: str, value: Any) -> datetime:
    if not isinstance(value, str):
        raise ConfigError(key, f"{value!r} is not an RFC 3339 time; write it like 2026-12-15T12:00:00Z")
    try:
        t = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise ConfigError(key, f"{value!r} is not an RFC 3339 time; write it like 2026-12-15T12:00:00Z") from None
    if t.tzinfo is None:
        raise ConfigError(key, f"{value!r} has no zone; write it like 2026-12-15T12:00:00Z")
    return t.astimezone(timezone.utc)


def preset_of(config: Mapping[str, Any], where: str) -> str:
    name = config.get("preset") or DEFAULT_PRESET
    if name not in PRESETS:
        raise ConfigError("spacemesh.configFile", f"{where} names preset {name!r}, which go-spacemesh v1.7.6 does not have; use one of {', '.join(sorted(PRESETS))}")
    return name


def effective(config: Mapping[str, Any], where: str = "the config file") -> dict:
    """go-spacemesh's view of `config` for the keys derived here: its preset under it."""
    return deep_merge(PRESETS[preset_of(config, where)], config)


@dataclass(frozen=True)
class Schedule:
    genesis_time: str  # RFC 3339, as written in the effective config
    genesis_extra_data: str
    epoch: Decimal  # seconds
    phase_shift: Decimal
    cycle_gap: Decimal
    hrp: str

    def poet_args(self) -> tuple[str, ...]:
        return (f"--genesis-time={self.genesis_time}", f"--epoch-duration={format_duration(self.epoch)}",
                f"--phase-shift={format_duration(self.phase_shift)}", f"--cycle-gap={format_duration(self.cycle_gap)}")


def schedule(config: Mapping[str, Any], where: str) -> Schedule:
    """The round schedule and genesis of an effective config; `where` names its source."""
    eff = effective(config, where)
    main, poet, genesis = eff.get("main") or {}, eff.get("poet") or {}, eff.get("genesis") or {}
    time_ = genesis.get("genesis-time")
    if not time_:
        raise ConfigError("spacemesh.genesisTime", f"no genesis.genesis-time in {where} or its preset; set spacemesh.genesisTime (a new network) or use the joined network's config file")
    utc("genesis.genesis-time", time_)
    extra = genesis.get("genesis-extra-data")
    if not extra:
        raise ConfigError("spacemesh.genesisExtraData", f"no genesis.genesis-extra-data in {where} or its preset; go-spacemesh waits forever without it")
    layers = main.get("layers-per-epoch")
    if isinstance(layers, bool) or not isinstance(layers, int) or layers <= 0:
        raise ConfigError("spacemesh.configFile", f"main.layers-per-epoch in {where} must be a positive integer, got {layers!r}")
    epoch = go_duration("main.layer-duration", main.get("layer-duration")) * layers
    phase = go_duration("poet.phase-shift", poet.get("phase-shift"))
    gap = go_duration("poet.cycle-gap", poet.get("cycle-gap"))
    if not 0 < gap < epoch:
        raise ConfigError("spacemesh.configFile", f"poet.cycle-gap {format_duration(gap)} must be shorter than the epoch {format_duration(epoch)} (main.layer-duration * main.layers-per-epoch) in {where}")
    return Schedule(str(time_), str(extra), epoch, phase, gap, str(main.get("network-hrp") or ""))


@dataclass(frozen=True)
class PostSize:
    num_units: int
    labels_per_unit: int
    min_units: int
    max_units: int

    @property
    def bytes(self) -> int:
        return self.num_units * self.labels_per_unit * POST_LABEL_BYTES


def _count(key: str, value: Any, where: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ConfigError("spacemesh.configFile", f"{key} in {where} must be a whole number, got {value!r}")
    return value


def post_size(config: Mapping[str, Any], where: str) -> PostSize:
    """The PoST a node initialises: smeshing-opts-numunits units of post-labels-per-unit
    labels, refused outside [post-min-numunits, post-max-numunits] as spacemeshos/post
    config.Validate refuses it (the node would stop at smeshing start)."""
    eff = effective(config, where)
    post = eff.get("post") or {}
    opts = (eff.get("smeshing") or {}).get("smeshing-opts") or {}
    size = PostSize(_count("smeshing.smeshing-opts.smeshing-opts-numunits", opts.get("smeshing-opts-numunits"), where),
                    _count("post.post-labels-per-unit", post.get("post-labels-per-unit"), where),
                    _count("post.post-min-numunits", post.get("post-min-numunits"), where),
                    _count("post.post-max-numunits", post.get("post-max-numunits"), where))
    if not size.min_units <= size.num_units <= size.max_units:
        raise ConfigError("spacemesh.configFile", f"smeshing.smeshing-opts.smeshing-opts-numunits is {size.num_units} in {where}, outside "
                          f"[{size.min_units}, {size.max_units}] (post.post-min-numunits, post-max-numunits); go-spacemesh refuses to smesh with it")
    return size


def genesis_id(genesis_time: str, extra_data: str) -> str:
    """go-spacemesh config/genesis.go GenesisID, hex. blake3 is a test dependency: the program
    never needs the ID, the tests compare it with the joined network's."""
    import blake3  # requirements-dev.txt

    seconds = int(utc("genesis.genesis-time", genesis_time).timestamp())
    return blake3.blake3(str(seconds).encode() + extra_data.encode()).digest()[:20].hex()


def check_poet_args(poet_args: tuple[str, ...], sched: Schedule, where: str, key: str = "spacemesh.poetArgs") -> tuple[str, ...]:
    """The user's extra PoET flags, refused where they set the schedule differently from the
    nodes; a flag equal to the derived one is dropped (it is emitted once, derived)."""
    derived = dict(a[2:].split("=", 1) for a in sched.poet_args())
    out = []
    for arg in poet_args:
        flag, _, value = arg.lstrip("-").partition("=")
        if flag in POET_SCHEDULE_FLAGS:
            parse = _time_or_none if flag == "genesis-time" else _duration_or_none
            if not value or parse(value) != parse(derived[flag]):
                raise ConfigError(key, f"--{flag}={value} differs from the nodes' {derived[flag]} ({where}); remove it, the PoETs' schedule is derived from the nodes' config")
            continue
        if flag in ("poetdir", "datadir", "dbdir", "logdir", "restlisten"):
            raise ConfigError(key, f"--{flag} is set by Pegasus (the PoET's state on its volume, its REST port); remove it")
        out.append(arg)
    return tuple(out)


def _duration_or_none(value: str) -> Optional[Decimal]:
    try:
        return go_duration("spacemesh.poetArgs", value)
    except ConfigError:
        return None


def _time_or_none(value: str) -> Optional[datetime]:
    try:
        return utc("spacemesh.poetArgs", value)
    except ConfigError:
        return None
