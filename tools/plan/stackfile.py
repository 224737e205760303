"""Assemble a stack's config the way the Pulumi CLI does: project defaults from Pulumi.yaml,
then the stack file, then `--set` overrides with `pulumi config set --path` semantics.

The result is what the engine hands the program: every value a string (JSON text for
objects, lists, numbers and booleans) plus the set of secret keys.
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass, field
from typing import Any, Optional

import yaml

from pegasus.config import KEYS_BY_PATH, NAMESPACE, decode, parse


class UsageError(Exception):
    """Bad command-line input (exit code 2)."""


@dataclass
class StackConfig:
    project: str
    stack: str
    values: dict[str, Any]  # full key (ns:key) -> decoded value
    secret_keys: set[str] = field(default_factory=set)
    secure_placeholders: list[str] = field(default_factory=list)  # paths planned with a placeholder

    def engine_config(self) -> dict[str, str]:
        return {k: _engine_string(v) for k, v in self.values.items()}

    def settings(self):
        """The stack's settings as the program parses them, for the tools that read a stack
        without planning it (tools.chainheight, tools.meter, tools.rewards)."""
        prefix = NAMESPACE + ":"
        raw = {k[len(prefix):]: decode(k[len(prefix):], v) for k, v in self.values.items() if k.startswith(prefix)}
        secret = {k[len(prefix):] for k in self.secret_keys if k.startswith(prefix)}
        return parse(raw, project=self.project, stack=self.stack, secret_keys=secret)


def _engine_string(value: Any) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    return json.dumps(value)


def load_project(project_dir: str) -> tuple[str, dict[str, Any]]:
    path = os.path.join(project_dir, "Pulumi.yaml")
    try:
        with open(path, encoding="utf-8") as f:
            doc = yaml.safe_load(f)
    except FileNotFoundError:
        raise UsageError(f"no Pulumi.yaml in {project_dir}") from None
    name = doc["name"]
    defaults = {}
    for key, decl in (doc.get("config") or {}).items():
        full = key if ":" in key else f"{name}:{key}"
        if isinstance(decl, dict) and "default" in decl:
            defaults[full] = decl["default"]
        elif not isinstance(decl, dict):
            defaults[full] = decl
    return name, defaults


def placeholder_for(full_key: str, path: list) -> str:
    """What a `secure:` value is planned as. Known secret keys get a value of the right
    shape, so validation still runs; the plan marks them as placeholders."""
    ns, _, top = full_key.partition(":")
    dotted = ".".join([top, *[str(p) for p in path]]) if path else top
    key = KEYS_BY_PATH.get(dotted) if ns == NAMESPACE else None
    if key is None and ns == NAMESPACE and path:
        # An entry of a map of secrets (spacemeshSecrets.poetKeys.<poet>): the map's own
        # placeholder, when it declares one, is the shape of each entry.
        parent = KEYS_BY_PATH.get(".".join([top, *[str(p) for p in path[:-1]]]))
        key = parent if parent is not None and parent.type == "object" else None
    if key is not None and key.placeholder is not None:
        return key.placeholder
    return "[secret]"


def _resolve_secure(full_key: str, value: Any, path: list, found: list[str]) -> Any:
    if isinstance(value, dict):
        if set(value) == {"secure"}:
            found.append(".".join([full_key, *[str(p) for p in path]]))
            return placeholder_for(full_key, path)
        return {k: _resolve_secure(full_key, v, path + [k], found) for k, v in value.items()}
    if isinstance(value, list):
        return [_resolve_secure(full_key, v, path + [i], found) for i, v in enumerate(value)]
    return value


def _duplicates(node: yaml.Node, path: str = "") -> Optional[tuple[str, int, int]]:
    """The first key set twice in one mapping, named like a config key, with both lines.
    YAML loaders keep the last value silently, so a hand-edited stack file could lose a
    setting without a word."""
    if isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            found = _duplicates(item, f"{path}[{i}]")
            if found:
                return found
    if not isinstance(node, yaml.MappingNode):
        return None
    seen: dict[str, int] = {}
    for key_node, value_node in node.value:
        key = str(key_node.value) if isinstance(key_node, yaml.ScalarNode) else "?"
        name = f"{path}.{key}" if path else key
        line = key_node.start_mark.line + 1
        if key in seen:
            return name, seen[key], line
        seen[key] = line
        # Keys under `config:` are named as config keys: pegasus:chain.source, not config.pegasus:chain.source.
        found = _duplicates(value_node, "" if not path and key == "config" else name)
        if found:
            return found
    return None


def load_stack_file(path: str, project: str) -> tuple[dict[str, Any], set[str], list[str]]:
    try:
        with open(path, encoding="utf-8") as f:
            text = f.read()
        duplicate = _duplicates(yaml.compose(text, Loader=yaml.SafeLoader))
        if duplicate:
            key, first, second = duplicate
            raise UsageError(f"stack file {path}: {key} is set twice, on lines {first} and {second}; keep one of them")
        doc = yaml.safe_load(text) or {}
    except FileNotFoundError:
        raise UsageError(f"stack file {path} does not exist") from None
    except yaml.YAMLError as e:
        raise UsageError(f"stack file {path} is not valid YAML: {e}") from None
    if not isinstance(doc, dict):
        raise UsageError(f"stack file {path} must be a mapping")
    values, secret_keys, placeholders = {}, set(), []
    for key, value in (doc.get("config") or {}).items():
        full = key if ":" in key else f"{project}:{key}"
        found: list[str] = []
        values[full] = _resolve_secure(full, value, [], found)
        if found:
            secret_keys.add(full)
            placeholders.extend(found)
    return values, secret_keys, placeholders


_SEGMENT = re.compile(r"([^.\[\]]+)|\[(\d+)\]")


def parse_path(key: str, project: str) -> tuple[str, list]:
    """`cluster.provider` -> ("pegasus:cluster", ["provider"]); `names[0]` -> (…, [0])."""
    ns, sep, rest = key.partition(":")
    if not sep:
        ns, rest = project, key
    pos, parts = 0, []
    while pos < len(rest):
        if rest[pos] == ".":
            pos += 1
            continue
        m = _SEGMENT.match(rest, pos)
        if not m:
            raise UsageError(f"--set: cannot parse the key {key!r}")
        parts.append(m.group(1) if m.group(1) is not None else int(m.group(2)))
        pos = m.end()
    if not parts or not isinstance(parts[0], str):
        raise UsageError(f"--set: the key {key!r} must start with a name")
    return f"{ns}:{parts[0]}", parts[1:]


_JSON_LIKE = re.compile(r"^\s*(\{|\[|true\s*$|false\s*$|null\s*$)")


def parse_value(text: str, declared: Optional[str] = None) -> Any:
    """VALUE as the user typed it. A quoted value is that string; otherwise the key's declared
    type decides (`1.30` stays the string "1.30" for cluster.kubernetesVersion). Keys without
    a declared type get JSON only for objects, arrays, booleans and null: numbers stay strings,
    as `pulumi config set --path` stores them, and the config module reads them by their key."""
    if len(text) >= 2 and text[0] == text[-1] == '"':
        try:
            return json.loads(text)
        except ValueError:
            return text
    if declared == "string":
        return text
    if declared == "integer":
        return int(text) if re.fullmatch(r"-?[0-9]+", text.strip()) else text
    if declared == "boolean":
        return {"true": True, "false": False}.get(text.strip().lower(), text)
    if declared in ("array", "object") or _JSON_LIKE.match(text):
        try:
            return json.loads(text)
        except ValueError:
            return text
    return text


def declared_type(full: str, path: list) -> Optional[str]:
    """The declared type of a `--set` key, from the key reference; None when it has none
    (another namespace, an item of a list, a field inside an object key)."""
    ns, _, top = full.partition(":")
    if ns != NAMESPACE or any(isinstance(p, int) for p in path):
        return None
    key = KEYS_BY_PATH.get(".".join([top, *path]))
    return key.type if key is not None else None


def apply_set(values: dict[str, Any], key: str, raw_value: str, project: str) -> str:
    full, path = parse_path(key, project)
    value = parse_value(raw_value, declared_type(full, path))
    if not path:
        values[full] = value
        return full
    node = values.get(full)
    if node is None:
        node = [] if isinstance(path[0], int) else {}
        values[full] = node
    for i, part in enumerate(path):
        last = i == len(path) - 1
        nxt = None if last else ([] if isinstance(path[i + 1], int) else {})
        if isinstance(part, int):
            if not isinstance(node, list):
                raise UsageError(f"--set {key}: {part} indexes something that is not a list")
            while len(node) <= part:
                node.append(None)
            if last:
                node[part] = value
            else:
                if not isinstance(node[part], (dict, list)):
                    node[part] = nxt
                node = node[part]
        else:
            if not isinstance(node, dict):
                raise UsageError(f"--set {key}: {part!r} is a field of something that is not an object")
            if last:
                node[part] = value
            else:
                if not isinstance(node.get(part), (dict, list)):
                    node[part] = nxt
                node = node[part]
    return full


_STACK_FILE = re.compile(r"^Pulumi\.(?P<stack>[A-Za-z0-9_.-]+)\.ya?ml$")


def stacks_in(project_dir: str) -> list[str]:
    return sorted(m.group("stack") for m in map(_STACK_FILE.match, os.listdir(project_dir)) if m)


def stack_path(project_dir: str, stack: Optional[str], config_file: Optional[str]) -> tuple[str, str]:
    """(stack name, stack file). A --config-file named like Pulumi.<stack>.yaml plans that
    stack, so its URNs are the ones `pulumi up --target` expects; --stack overrides it."""
    if config_file:
        if stack:
            return stack, config_file
        m = _STACK_FILE.match(os.path.basename(config_file))
        if not m:
            raise UsageError(f"--config-file {config_file}: cannot tell the stack from the file name "
                             "(Pulumi.<stack>.yaml); give --stack NAME as well")
        return m.group("stack"), config_file
    stack = stack or "dev"
    path = os.path.join(project_dir, f"Pulumi.{stack}.yaml")
    if not os.path.exists(path):
        known = stacks_in(project_dir)
        raise UsageError(f"no stack {stack!r}: {path} does not exist; the stacks here are {', '.join(known) or 'none'} "
                         "(or give --config-file PATH)")
    return stack, path


def assemble(project_dir: str, stack: Optional[str], config_file: Optional[str], sets: list[str]) -> StackConfig:
    project, defaults = load_project(project_dir)
    stack, path = stack_path(project_dir, stack, config_file)
    values = dict(defaults)
    file_values, secret_keys, placeholders = load_stack_file(path, project)
    values.update(file_values)
    for item in sets:
        key, sep, raw = item.partition("=")
        if not sep or not key:
            raise UsageError(f"--set expects KEY=VALUE, got {item!r}")
        full = apply_set(values, key.strip(), raw, project)
        # A value typed on the command line for a secret key is treated as a secret, as
        # `pulumi config set --secret` would store it.
        ns, _, top = full.partition(":")
        dotted = key.strip().split(":", 1)[-1]
        known = KEYS_BY_PATH.get(dotted)
        if ns == NAMESPACE and known is not None and known.secret:
            secret_keys.add(full)
    return StackConfig(project, stack, values, secret_keys, placeholders)
