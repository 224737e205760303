"""Shared helpers of the Pegasus policies: property access, unknowns, pod specs, labels, config.

Props reach a policy in two shapes, and every helper here accepts both:

- through the analyzer, wrapped by `pulumi_policy.proxy.unknown_checking_proxy`: dicts and
  lists are `Mapping`/`Sequence` proxies (not `dict`/`list`), and reading an unknown value
  raises `UnknownValueError`. Even `key in mapping` and `mapping.get(key)` raise, because
  `Mapping` implements both with `__getitem__`;
- raw, as plain dicts in which an unknown value is one of the engine's sentinel strings.

`get` turns both into the same thing, an `UnknownValueError`, and `undecided()` swallows it
around one check. An unknown value therefore means "cannot decide": the check is skipped and
never reported, and the other checks of the same resource still run.
"""

from __future__ import annotations

import contextlib
import functools
from collections.abc import Mapping, Sequence
from typing import Any, Callable, Iterator, Optional

from pulumi_policy import PolicyConfigSchema
from pulumi_policy.proxy import (
    UNKNOWN_ARCHIVE_VALUE,
    UNKNOWN_ARRAY_VALUE,
    UNKNOWN_ASSET_VALUE,
    UNKNOWN_BOOLEAN_VALUE,
    UNKNOWN_NUMBER_VALUE,
    UNKNOWN_OBJECT_VALUE,
    UNKNOWN_STRING_VALUE,
    UnknownValueError,
)

# Defaults of the labels our components set (pegasus/names.py: SIGNER_LABEL, CHAIN_DATA_LABEL).
# They are duplicated, not imported: the pack runs in its own virtualenv without the program.
SIGNER_LABEL = "pegasus.saga.xyz/signer"
CHAIN_DATA_LABEL = "pegasus.saga.xyz/chain-data"

UNKNOWN_SENTINELS = frozenset(
    {
        UNKNOWN_BOOLEAN_VALUE,
        UNKNOWN_NUMBER_VALUE,
        UNKNOWN_STRING_VALUE,
        UNKNOWN_ARRAY_VALUE,
        UNKNOWN_ASSET_VALUE,
        UNKNOWN_ARCHIVE_VALUE,
        UNKNOWN_OBJECT_VALUE,
    }
)


# --------------------------------------------------------------------------------------
# Unknown values and property access
# --------------------------------------------------------------------------------------


def is_unknown(value: Any) -> bool:
    return isinstance(value, str) and value in UNKNOWN_SENTINELS


def is_mapping(value: Any) -> bool:
    return isinstance(value, Mapping)


def is_list(value: Any) -> bool:
    return isinstance(value, Sequence) and not isinstance(value, (str, bytes))


def get(obj: Any, *path: Any, default: Any = None) -> Any:
    """The value at `path` (str keys and int indexes), `default` if absent, null or mistyped.

    Raises `UnknownValueError` if the value, or anything on the way to it, is unknown.
    """
    if is_unknown(obj):
        raise UnknownValueError(obj, [])
    cur = obj
    for depth, key in enumerate(path):
        if cur is None:
            return default
        if isinstance(key, int):
            if not is_list(cur) or not -len(cur) <= key < len(cur):
                return default
            cur = cur[key]
        else:
            if not is_mapping(cur):
                return default
            try:
                cur = cur[key]
            except KeyError:
                return default
        if is_unknown(cur):
            raise UnknownValueError(cur, [str(k) for k in path[: depth + 1]])
    return default if cur is None else cur


def get_list(obj: Any, *path: Any) -> list:
    """The list at `path` with its unknown elements left out; [] if absent or not a list.

    Dropping an unknown element is right for per-element checks. Checks that need the
    whole list (a count, "contains X") use `get_list_with_unknowns`.
    """
    return get_list_with_unknowns(obj, *path)[0]


def get_list_with_unknowns(obj: Any, *path: Any) -> tuple[list, bool]:
    """(known elements, whether some element was unknown) of the list at `path`."""
    value = get(obj, *path)
    if not is_list(value):
        return [], False
    pairs = indexed(value)
    return [element for _, element in pairs], len(pairs) < len(value)


def indexed(obj: Any, *path: Any) -> list[tuple[int, Any]]:
    """(index, element) of the known elements of the list at `path`, indexes as in the list."""
    value = get(obj, *path)
    if not is_list(value):
        return []
    pairs = []
    for index in range(len(value)):
        try:
            element = value[index]
        except UnknownValueError:
            continue
        if not is_unknown(element):
            pairs.append((index, element))
    return pairs


def get_mapping(obj: Any, *path: Any) -> Any:
    """The mapping at `path`, {} if absent or not a mapping."""
    value = get(obj, *path)
    return value if is_mapping(value) else {}


def keys(mapping: Any) -> list[str]:
    # Iterating a proxy's keys never touches values, so it never raises.
    return [k for k in mapping] if is_mapping(mapping) else []


@contextlib.contextmanager
def undecided() -> Iterator[None]:
    """Skip the rest of the block when it reads an unknown value: the check cannot decide."""
    try:
        yield
    except UnknownValueError:
        pass


def skip_unknown(validate: Callable) -> Callable:
    """Last line of defence around a whole validation.

    Checks guard their own reads with `undecided()`, so that one unknown field does not hide
    the verdict on the others. This catches whatever slips through, because the analyzer turns
    an escaped `UnknownValueError` into a "can't run policy" warning on every preview.
    """

    @functools.wraps(validate)
    def wrapper(args, report_violation):
        try:
            return validate(args, report_violation)
        except UnknownValueError:
            return None

    return wrapper


# --------------------------------------------------------------------------------------
# Scalars: the engine hands numbers over as floats and some providers type booleans as strings
# --------------------------------------------------------------------------------------


def as_int(value: Any) -> Optional[int]:
    """An int from 3, 3.0 or "3"; None for anything else (including bools and port names)."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str) and value.strip().isdigit():
        return int(value.strip())
    return None


def is_true(value: Any) -> bool:
    return value is True or (isinstance(value, str) and value.strip().lower() == "true")


def is_false(value: Any) -> bool:
    return value is False or (isinstance(value, str) and value.strip().lower() == "false")


def plain(value: Any) -> str:
    """A value as messages print it unquoted: 1.0 -> 1, "25%" -> 25%."""
    number = as_int(value)
    return str(number) if number is not None else str(value)


def show(value: Any) -> str:
    """A value as messages print it: numbers without '.0', strings quoted."""
    return f"'{value}'" if isinstance(value, str) else plain(value)


# --------------------------------------------------------------------------------------
# Kubernetes objects
# --------------------------------------------------------------------------------------

# Where each workload keeps its pod spec.
POD_SPEC_PATHS: dict[str, tuple[str, ...]] = {
    "kubernetes:core/v1:Pod": ("spec",),
    "kubernetes:core/v1:PodTemplate": ("template", "spec"),
    "kubernetes:core/v1:ReplicationController": ("spec", "template", "spec"),
    "kubernetes:apps/v1:Deployment": ("spec", "template", "spec"),
    "kubernetes:apps/v1:StatefulSet": ("spec", "template", "spec"),
    "kubernetes:apps/v1:DaemonSet": ("spec", "template", "spec"),
    "kubernetes:apps/v1:ReplicaSet": ("spec", "template", "spec"),
    "kubernetes:batch/v1:Job": ("spec", "template", "spec"),
    "kubernetes:batch/v1:CronJob": ("spec", "jobTemplate", "spec", "template", "spec"),
}


def kind_of(resource_type: str) -> str:
    """`kubernetes:apps/v1:StatefulSet` -> `StatefulSet`."""
    return resource_type.rsplit(":", 1)[-1]


def namespace_of(props: Any) -> str:
    # Without metadata.namespace the provider uses its default namespace, which a policy
    # cannot see; "default" is what a plain kubeconfig would use.
    with undecided():
        namespace = get(props, "metadata", "namespace")
        if isinstance(namespace, str) and namespace:
            return namespace
        return "default"
    return "?"


def name_of(props: Any, fallback: str = "?") -> str:
    with undecided():
        name = get(props, "metadata", "name")
        return name if isinstance(name, str) and name else fallback
    return fallback


def qualified_name(props: Any, fallback: str = "?") -> str:
    """`namespace/name` for messages, with "?" for what is unknown."""
    return f"{namespace_of(props)}/{name_of(props, fallback)}"


def object_key(props: Any) -> Optional[str]:
    """`namespace/name` to match allow-lists and references against; None without a name.

    Raises if either part is unknown: an unknown name may or may not be on the list.
    """
    name = get(props, "metadata", "name")
    if not isinstance(name, str) or not name:
        return None
    namespace = get(props, "metadata", "namespace")
    return f"{namespace if isinstance(namespace, str) and namespace else 'default'}/{name}"


def has_label(obj: Any, label: str) -> bool:
    """Whether `obj.metadata.labels[label]` is "true". Raises if that label is unknown."""
    return is_true(get(obj, "metadata", "labels", label))


def workload_has_label(resource_type: str, props: Any, label: str) -> Optional[bool]:
    """Whether the object or its pod template carries `label: "true"`; None if undecidable.

    Either place counts: our components label both, and either alone is enough for a human
    (or `kubectl -l`) to treat the workload as, say, a signer.
    """
    label_paths = [("metadata", "labels", label)]
    spec_path = POD_SPEC_PATHS.get(resource_type)
    if spec_path is not None and len(spec_path) > 1:
        label_paths.append((*spec_path[:-1], "metadata", "labels", label))
    undecidable = False
    for path in label_paths:
        try:
            if is_true(get(props, *path)):
                return True
        except UnknownValueError:
            undecidable = True
    return None if undecidable else False


def pod_spec(resource_type: str, props: Any) -> Any:
    """The pod spec of a workload, or None if the type has none. Raises if it is unknown."""
    path = POD_SPEC_PATHS.get(resource_type)
    if path is None:
        return None
    return get_mapping(props, *path)


def containers(spec: Any) -> Iterator[tuple[str, int, Any]]:
    """(role, index, container) for every known init container and container of a pod spec.

    role is "init container" or "container", as messages print it.
    """
    for field, role in (("initContainers", "init container"), ("containers", "container")):
        try:
            listed = get(spec, field)
        except UnknownValueError:
            continue
        if not is_list(listed):
            continue
        for index in range(len(listed)):
            try:
                container = listed[index]
            except UnknownValueError:
                continue
            if is_mapping(container):
                yield role, index, container


def container_name(container: Any, index: int) -> str:
    with undecided():
        name = get(container, "name")
        if isinstance(name, str) and name:
            return name
    return f"#{index}"


# --------------------------------------------------------------------------------------
# Config
# --------------------------------------------------------------------------------------


def schema(**properties: dict) -> PolicyConfigSchema:
    """A config schema whose properties each carry their "default".

    Defaults live in the schema so that the CLI (which fills them in) and `config()` (used when
    it does not, and by `evaluate`) agree on one value.
    """
    return PolicyConfigSchema(properties=properties)


def defaults(config_schema: Optional[PolicyConfigSchema]) -> dict[str, Any]:
    if config_schema is None:
        return {}
    return {k: v["default"] for k, v in config_schema.properties.items() if "default" in v}


def config(args: Any, config_schema: Optional[PolicyConfigSchema]) -> dict[str, Any]:
    """The policy's config: the user's values over the schema defaults."""
    merged = defaults(config_schema)
    given = args.get_config() or {}
    for key in given:
        merged[key] = given[key]
    return merged


def int_setting(value: Any, default: int) -> int:
    # The analyzer decodes config through protobuf Struct, so 50 arrives as 50.0.
    number = as_int(value)
    return default if number is None else number


def int_list_setting(value: Any) -> frozenset[int]:
    if not is_list(value):
        return frozenset()
    return frozenset(n for n in (as_int(v) for v in value) if n is not None)


def str_list_setting(value: Any) -> frozenset[str]:
    if not is_list(value):
        return frozenset()
    return frozenset(v for v in value if isinstance(v, str))


def label_setting(value: Any, default: str) -> str:
    return value if isinstance(value, str) and value else default


LABEL_SCHEMA = {
    "signerLabel": {
        "type": "string",
        "default": SIGNER_LABEL,
        "description": 'Label that marks a block-signing workload (value "true").',
    },
    "chainDataLabel": {
        "type": "string",
        "default": CHAIN_DATA_LABEL,
        "description": 'Label that marks a chain-data PersistentVolumeClaim (value "true").',
    },
}
