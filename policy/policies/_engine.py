"""Run policies in-process, the way `pulumi preview --policy-pack` runs them.

The plan tool cannot start the Pulumi CLI, so it hands us the resources it recorded under
mocks. We build the same argument objects the analyzer builds (`pulumi_policy.policy.
_PolicyAnalyzerServicer.Analyze` and `AnalyzeStack`): deserialized props behind
`unknown_checking_proxy`, PolicyResourceOptions with only `protect` meaningful, and the
policy's config. Config follows the `--policy-config` file format, with the schema defaults
filled in as the CLI does.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from inspect import isawaitable
from typing import Any, Iterable, Optional

from pulumi_policy import (
    EnforcementLevel,
    Policy,
    PolicyCustomTimeouts,
    PolicyResource,
    PolicyResourceOptions,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    StackValidationArgs,
    StackValidationPolicy,
)
from pulumi_policy.deserialize import deserialize_properties
from pulumi_policy.policy import PolicyProviderResource, _NotApplicableError
from pulumi_policy.proxy import UnknownValueError, unknown_checking_proxy

from ._util import defaults

LEVELS = tuple(level.value for level in EnforcementLevel)


@dataclass(frozen=True)
class Violation:
    """One reported violation. `urn` is "" for a stack violation that names no resource."""

    policy_name: str
    enforcement: str  # "mandatory" | "advisory"
    urn: str
    message: str


@dataclass(frozen=True)
class PolicySettings:
    """A policy's effective enforcement level and config (schema defaults filled in)."""

    level: str
    config: dict


# --------------------------------------------------------------------------------------
# Config
# --------------------------------------------------------------------------------------


def _level(value: Any, where: str) -> str:
    if value not in LEVELS:
        raise ValueError(f"policy config {where}: enforcement level {value!r} is not one of {', '.join(LEVELS)}")
    return value


_JSON_TYPES = {
    "string": lambda v: isinstance(v, str),
    "boolean": lambda v: isinstance(v, bool),
    "integer": lambda v: not isinstance(v, bool) and (isinstance(v, int) or (isinstance(v, float) and v.is_integer())),
    "number": lambda v: not isinstance(v, bool) and isinstance(v, (int, float)),
    "array": lambda v: isinstance(v, Sequence) and not isinstance(v, (str, bytes)),
    "object": lambda v: isinstance(v, Mapping),
}


def _check_type(value: Any, spec: Mapping, where: str) -> None:
    expected = spec.get("type")
    if expected in _JSON_TYPES and not _JSON_TYPES[expected](value):
        raise ValueError(f"policy config {where}: expected {expected}, got {value!r}")
    if expected == "array" and "items" in spec:
        for index, item in enumerate(value):
            _check_type(item, spec["items"], f"{where}[{index}]")


def _properties(policy: Policy, given: Mapping) -> dict:
    # Like the CLI, validate declared properties against the schema and pass others through.
    schema = policy.config_schema.properties if policy.config_schema else {}
    for key, value in given.items():
        if key in schema:
            _check_type(value, schema[key], f"{policy.name}.{key}")
    return {**defaults(policy.config_schema), **given}


def resolve_config(
    policies: Sequence[Policy], config: Optional[Mapping], pack_level: EnforcementLevel
) -> dict[str, PolicySettings]:
    """Each policy's effective enforcement level and config.

    Precedence, as in the CLI (pkg/resource/analyzer/config.go, ReconcilePolicyPackConfig):
    the policy's own level (or the pack's), then "all", then the policy's own entry, either a
    bare level or an object with "enforcementLevel". Entries naming no policy of the pack are
    ignored, as the CLI ignores them.
    """
    config = dict(config or {})
    everything = config.get("all")
    if isinstance(everything, Mapping):
        everything = everything.get("enforcementLevel")
    if everything is not None:
        _level(everything, "all")
    settings = {}
    for policy in policies:
        level = (policy.enforcement_level or pack_level).value
        level = everything or level
        entry = config.get(policy.name)
        given: dict = {}
        if isinstance(entry, str):
            level = _level(entry, policy.name)
        elif isinstance(entry, Mapping):
            given = {k: v for k, v in entry.items() if k != "enforcementLevel"}
            if "enforcementLevel" in entry:
                level = _level(entry["enforcementLevel"], policy.name)
        elif entry is not None:
            raise ValueError(f"policy config {policy.name}: expected an enforcement level or an object")
        settings[policy.name] = PolicySettings(level, _properties(policy, given))
    return settings


# --------------------------------------------------------------------------------------
# Resources
# --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Resource:
    urn: str
    type: str
    name: str
    props: Any
    opts: PolicyResourceOptions
    provider: Optional[str] = None  # the URN of the resource's provider, where known


def _plain(value: Any) -> Any:
    """JSON-shaped copy: the proxy only wraps real dicts and lists."""
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value


def _resource(raw: Mapping, index: int) -> _Resource:
    if not isinstance(raw, Mapping) or not isinstance(raw.get("urn"), str) or not isinstance(raw.get("type"), str):
        raise ValueError(f"resources[{index}] must be a mapping with string 'urn' and 'type'")
    urn, props = raw["urn"], raw.get("props")
    props = {} if props is None else props
    if not isinstance(props, Mapping):
        raise ValueError(f"resources[{index}] ({urn}): 'props' must be a mapping")
    protect = raw.get("protect", False)
    if not isinstance(protect, bool):
        raise ValueError(f"resources[{index}] ({urn}): 'protect' must be a bool, not {protect!r}")
    name = raw.get("name") or urn.rsplit("::", 1)[-1]
    opts = PolicyResourceOptions(
        protect=protect,
        ignore_changes=[],
        delete_before_replace=None,
        aliases=[],
        custom_timeouts=PolicyCustomTimeouts(0, 0, 0),
        additional_secret_outputs=[],
        parent=None,
    )
    props = unknown_checking_proxy(deserialize_properties(_plain(props)))
    provider = raw.get("provider")
    if provider is not None and not isinstance(provider, str):
        raise ValueError(f"resources[{index}] ({urn}): 'provider' must be a provider URN string, not {provider!r}")
    return _Resource(urn, raw["type"], name, props, opts, provider)


def _provider(urn: Optional[str]) -> Optional[PolicyProviderResource]:
    """What the analyzer hands a stack policy as a resource's provider: which cluster (or
    account) it lands in. A stack over several clusters needs it to pair resources."""
    if urn is None:
        return None
    return PolicyProviderResource(urn.split("::")[-2], {}, urn, urn.rsplit("::", 1)[-1])


# --------------------------------------------------------------------------------------
# Running
# --------------------------------------------------------------------------------------


def _run(policy: Policy, args: Any, report) -> None:
    """One validation; a policy that is not applicable or meets an unknown is skipped.

    Like the analyzer, violations reported before such an exception are kept.
    """
    try:
        result = policy.validate(args, report)
        if isawaitable(result):
            loop = asyncio.new_event_loop()
            try:
                loop.run_until_complete(result)
            finally:
                loop.close()
    except (UnknownValueError, _NotApplicableError):
        pass


def _reported_level(level: str) -> str:
    # The analyzer reports remediation policies' violations as mandatory.
    return "mandatory" if level == "remediate" else level


def run_policies(
    policies: Sequence[Policy],
    resources: Iterable[Mapping],
    config: Optional[Mapping] = None,
    pack_level: EnforcementLevel = EnforcementLevel.ADVISORY,
) -> list[Violation]:
    settings = resolve_config(policies, config, pack_level)
    active = [p for p in policies if settings[p.name].level != "disabled"]
    parsed = [_resource(raw, i) for i, raw in enumerate(resources)]
    violations: list[Violation] = []

    def reporter(policy: Policy, fixed_urn: Optional[str]):
        level = _reported_level(settings[policy.name].level)

        def report_violation(message: str, urn: Optional[str] = None) -> None:
            # Resource policies always report against the resource being validated.
            violations.append(Violation(policy.name, level, fixed_urn or urn or "", message))

        return report_violation

    for resource in parsed:
        for policy in active:
            if isinstance(policy, ResourceValidationPolicy):
                args = ResourceValidationArgs(
                    resource.type, resource.props, resource.urn, resource.name, resource.opts, None,
                    settings[policy.name].config,
                )
                _run(policy, args, reporter(policy, resource.urn))

    stack = [PolicyResource(r.type, r.props, r.urn, r.name, r.opts, _provider(r.provider), None, [], {}) for r in parsed]
    for policy in active:
        if isinstance(policy, StackValidationPolicy):
            _run(policy, StackValidationArgs(stack, settings[policy.name].config), reporter(policy, None))
    return violations
