"""The one place Pegasus reads config.

`load()` reads the `pegasus` namespace once, `parse()` turns it into frozen settings, and
everything else receives those settings. Components never call `pulumi.Config`.

Most keys are structured (`pulumi config set --path cluster.provider eks` stores the object
`pegasus:cluster`), and Pulumi's project schema cannot type objects, so `Pulumi.yaml`
declares only the scalar keys. `KEYS` below is the reference for all of them: the
config table in docs/config.md and the Pulumi.yaml declarations are checked against it by the tests.
"""

from __future__ import annotations

import dataclasses
import importlib
import json
from typing import Any, Mapping, Optional

from pegasus.config.fields import Resources, Secret, _Section, _DNS1123  # noqa: F401  (re-exported)
from pegasus.config.keys import (  # noqa: F401  (re-exported)
    BLUEPRINT_SECTIONS, BLUEPRINTS, DEFAULT_CHAINLET_RESOURCES, DEFAULT_SPC_RESOURCES, INGRESS_RESERVED_PORTS, KEYS,
    KEYS_BY_PATH, NAMESPACE, PROVIDER_ONLY_SECTIONS, SECTIONS, SHARD_LIMITS, TOP_LEVEL_SCALARS, Key,
)
from pegasus.config.validator import *  # noqa: F401,F403  (the validator's settings types)
from pegasus.config.validator import (
    Settings, require_spc_env, shard_role, _alerting, _chain, _chainlets, _ingress, _logging, _monitoring, _spc, image_reference,
)
from pegasus.config import advice as advisories
from pegasus.config.platform import _cluster, _karpenter
from pegasus.config import fields
from pegasus.errors import ConfigError
from pegasus.sharding import parse_shard_stack

# Keys of other namespaces that the warnings compare with.
PROVIDER_KEYS = ("aws:region", "gcp:region")

# The blueprints with settings of their own: (module, function) parsing them. Imported only when chosen.
BLUEPRINT_PARSERS = {
    "spacemesh": ("components.spacemesh.config", "parse_spacemesh"),
    "provider": ("components.provider.config", "parse_provider"),
    "testnet": ("components.testnet.config", "parse_blueprint"),
    "fleet": ("components.fleet.config", "parse_fleet"),
}


def parse(raw: Mapping[str, Any], *, project: str, stack: str, secret_keys: Optional[set[str]] = None,
          provider_config: Optional[Mapping[str, Any]] = None) -> "Settings":  # or the blueprint's own type (BLUEPRINT_PARSERS)
    """Turn the `pegasus` namespace (keys without the `pegasus:` prefix, objects already
    decoded) into Settings, or raise ConfigError naming the first bad key.
    `provider_config`: other namespaces' keys the warnings compare with (`aws:region`, `gcp:region`)."""
    secret_keys = secret_keys or set()
    known_top = set(SECTIONS) | set(TOP_LEVEL_SCALARS)
    for key in sorted(raw):
        if key not in known_top:
            hint = ""
            if "." in key and key.split(".", 1)[0] in SECTIONS:
                hint = f"; set it as a path with `pulumi config set --path {key} <value>` so it is stored under pegasus:{key.split('.', 1)[0]}"
            raise ConfigError(key, f"unknown key{hint}. Known keys: {', '.join(sorted(known_top))}")
    blueprint = raw.get("blueprint", "validator")
    if blueprint not in BLUEPRINTS:
        raise ConfigError("blueprint", f"must be one of {', '.join(BLUEPRINTS)}; got {blueprint!r}")
    for other, names in BLUEPRINT_SECTIONS.items():
        for name in names:
            if other != blueprint and name in raw:
                raise ConfigError(name, f"applies to the {other} blueprint only, and this stack's blueprint is {blueprint}; remove it, or set pegasus:blueprint to {other}")
    if blueprint in BLUEPRINT_PARSERS:
        # Its own settings type: no validator section (spc, chain, chainlets) is required or read.
        module, function = BLUEPRINT_PARSERS[blueprint]
        return getattr(importlib.import_module(module), function)(raw, project=project, stack=stack, secret_keys=secret_keys)

    # pegasus:operator is parsed by its own module (components/operator/config.py).
    sections = {name: _Section(name, raw.get(name)) for name in SECTIONS if name != "operator"}
    # A shard stack of sharded mode (pegasus/sharding.py) is part of its platform's fleet: every
    # default derived from the stack's name (cluster name, tags, moniker) is the platform's.
    own_stack = stack
    stack = platform_of(raw, stack)
    cluster = _cluster(sections["cluster"], stack, secret_keys)
    ingress = _ingress(sections["ingress"], cluster.provider)
    karpenter = _karpenter(sections["karpenter"], cluster.provider)
    monitoring = _monitoring(sections["monitoring"], secret_keys)
    alerting = _alerting(sections["alerting"], secret_keys)
    logging_ = _logging(sections["logging"], cluster.provider)
    storage_class = fields.storage_class(sections["storage"])
    charts_dir = fields.charts_dir(sections["charts"])
    spc = _spc(sections["spc"], stack)
    chain = _chain(sections["chain"])
    chainlets = _chainlets(sections["chainlets"])
    from components.operator.config import parse_operator

    operator = parse_operator(raw.get("operator"))
    if operator.enabled and chainlets.stacks != "sharded":
        raise ConfigError("operator.enabled", "runs the stacks of sharded mode; set chainlets.stacks to sharded first (docs/sharding.md)")
    for section in sections.values():
        section.check_unknown()
    require_spc_env(spc)

    warnings = []
    if chain.source == "snapshot" and cluster.provider != "existing":
        warnings.append(
            f"chain.source is snapshot on the {cluster.provider} cluster: chainlets come from {chain.snapshot}, "
            "not from the chain. Switch to chain.source rest before the first real `pulumi up`."
        )
    if alerting.runbook_base_url is None and cluster.provider != "existing":
        warnings.append(
            "alerting.runbookBaseUrl is unset: alerts carry no runbook link. Publish docs/runbooks.md and set its absolute URL."
        )
    if karpenter.enabled and karpenter.ami_alias.endswith("@latest"):
        warnings.append(
            "karpenter.amiAlias is @latest: every new AMI release drifts all nodes. Pin it (al2023@vYYYYMMDD) in production."
        )
    settings = Settings(
        project=project,
        stack=stack,
        blueprint=blueprint,
        cluster=cluster,
        ingress=ingress,
        karpenter=karpenter,
        monitoring=monitoring,
        alerting=alerting,
        logging=logging_,
        storage_class=storage_class,
        spc=spc,
        chain=chain,
        chainlets=chainlets,
        charts_dir=charts_dir,
        warnings=tuple(warnings),
        shard=shard_role(chainlets, own_stack),
        operator=operator,
    )
    advice = advisories.ignored_settings(raw, settings) + advisories.operational_gaps(settings, provider_config or {})
    return dataclasses.replace(settings, warnings=settings.warnings + tuple(advice))


def platform_of(raw: Mapping[str, Any], stack: str) -> str:
    chainlets = raw.get("chainlets")
    parsed = parse_shard_stack(stack)
    if isinstance(chainlets, Mapping) and chainlets.get("stacks") == "sharded" and parsed is not None:
        return parsed[0]
    return stack


def decode(key: str, value: Any) -> Any:
    """Config arrives from the engine as strings: JSON text for objects, lists, numbers and
    booleans. Decode a top-level value the way `Config.get_object` would."""
    if not isinstance(value, str):
        return value
    if key in SECTIONS:
        try:
            return json.loads(value)
        except json.JSONDecodeError:
            raise ConfigError(key, "must be an object; set its fields with `pulumi config set --path <key>.<field> <value>`") from None
    return value


def load() -> Settings:
    """Read the `pegasus` namespace from the running Pulumi program and parse it."""
    import pulumi
    from pulumi.runtime import config as runtime_config

    prefix = NAMESPACE + ":"
    keys = set(runtime_config.CONFIG.get()) | set(runtime_config.get_config_env())
    raw = {}
    secret_keys = set()
    for full in sorted(keys):
        if not full.startswith(prefix):
            continue
        key = full[len(prefix):]
        raw[key] = decode(key, runtime_config.get_config(full))
        if runtime_config.is_config_secret(full):
            secret_keys.add(key)
    provider_config = {k: runtime_config.get_config(k) for k in PROVIDER_KEYS if runtime_config.get_config(k)}
    return parse(raw, project=pulumi.get_project(), stack=pulumi.get_stack(), secret_keys=secret_keys,
                 provider_config=provider_config)
