"""The stack watcher: polls the chain and asks the Pulumi Kubernetes Operator to reconcile only
the Stack objects a change affects. It decides nothing about the fleet: the program does.

How it asks: PKO v2.9.0 re-runs a Stack whose `pulumi.com/reconciliation-request` annotation
changed (operator/internal/controller/pulumi/stack_controller.go, ReconcileRequestedPredicate
and isSynced), even when the commit did not. A shard Stack lists the platform Stack as a
prerequisite, and PKO holds it until the platform's `status.lastUpdate.reconcileRequest` equals
the platform's current annotation (isRequirementSatisfied): asking both at once runs the
platform first, then the shard.

What it asks, per poll (`decide`):
- a chainlet the platform's `shardMembers` output does not list yet: the platform Stack, which
  assigns its slot. Once a later poll finds it in `shardMembers` (which PKO copies from the
  last successful update's outputs into `status.outputs`, markStackSucceeded), its shard Stack.
- a chainlet the platform lists whose chain record changed since the last read, or vanished:
  the platform Stack and that chainlet's shard Stack. The platform must run too: a shard reads
  the chain at the platform's pinned `chainHeight` (pegasus/sharding.py), so a shard run alone
  would re-apply the old record.

Nothing is asked when the chain read fails, or the platform Stack or its outputs cannot be read,
and a failed request leaves the watcher's memory as it was, so the next poll asks again. It
never deletes or changes anything but that one annotation.

Standard library only, with the chain reader (pegasus/chain/) and pegasus/sharding.py, which
are too: components/operator/watcher_code.py ships them to the pod in a ConfigMap.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import ssl
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass, field
from typing import Any, Callable, Mapping, Optional

from pegasus import sharding
from pegasus.chain.reader import RestSource, read_rest
from pegasus.errors import InvalidName, PegasusError

# operator/api/pulumi/shared/stack_types.go ReconcileRequestAnnotation (PKO v2.9.0).
RECONCILE_REQUEST = "pulumi.com/reconciliation-request"
GROUP, VERSION, PLURAL = "pulumi.com", "v1", "stacks"
FIELD_MANAGER = "pegasus-stack-watcher"
# What PKO writes for a secret output (markStackSucceeded): unreadable, so no membership.
SECRET_OUTPUT = "[secret]"
GONE = "gone"  # the fingerprint of a chainlet the chain no longer lists
SERVICE_ACCOUNT_DIR = "/var/run/secrets/kubernetes.io/serviceaccount"

_OBJECT_NAME = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
# PKO names a Stack's workspace StatefulSet `<Stack name>-workspace` (workspace_controller.go
# nameForStatefulSet); its pods get a `controller-revision-hash` label of that name plus `-`
# and a 10-character hash, and a label value holds at most 63 characters.
WORKSPACE_SUFFIX = "-workspace"
MAX_OBJECT_NAME = 63 - 11 - len(WORKSPACE_SUFFIX)


def stack_object_name(stack: str) -> str:
    """The Stack object's name for a Pulumi stack name: lowercase, `_` and `.` as `-`."""
    name = stack.lower().replace("_", "-").replace(".", "-")
    if not _OBJECT_NAME.match(name) or len(name) > MAX_OBJECT_NAME:
        raise InvalidName(f"stack {stack!r} gives the Stack object name {name!r}, which must be at most {MAX_OBJECT_NAME} "
                         "lowercase letters, digits and '-' (PKO names its workspace '<name>-workspace'); use a shorter stack name")
    return name


# --- what to ask -----------------------------------------------------------------------


def fingerprints(view: Any) -> dict[str, str]:
    """chain ID -> digest of what its workload is derived from (sharding.chainlet_digest)."""
    return {c.chain_id: sharding.chainlet_digest(c, view.images.get(c.chain_id, "")) for c in view.chainlets}


@dataclass(frozen=True)
class Membership:
    """What the platform Stack's outputs say: each placed chainlet's shard, and each shard's
    Stack object."""

    shard_of: Mapping[str, int]
    objects: Mapping[int, str]


def membership(stack: Mapping[str, Any]) -> Optional[Membership]:
    """From the platform Stack object's `status.outputs`; None when they are missing, secret
    or malformed: then nothing can be told apart, and nothing is asked."""
    outputs = ((stack.get("status") or {}).get("outputs")) or {}
    members, stacks = outputs.get(sharding.MEMBERS_OUTPUT), outputs.get(sharding.STACKS_OUTPUT)
    if not isinstance(members, dict) or not isinstance(stacks, list):
        return None
    shard_of: dict[str, int] = {}
    try:
        for index, chainlets in members.items():
            if not isinstance(chainlets, dict):
                return None
            for chain_id in chainlets:
                shard_of[chain_id] = int(index)
        objects = {}
        for name in stacks:
            parsed = sharding.parse_shard_stack(name) if isinstance(name, str) else None
            if parsed is None:
                return None
            objects[parsed[1]] = stack_object_name(name)
    except (TypeError, ValueError, InvalidName):
        return None
    return Membership(shard_of, objects)


@dataclass(frozen=True)
class Seen:
    """The last poll that was acted on: fingerprints read and the chainlets placed then."""

    fingerprints: Mapping[str, str]
    placed: frozenset


@dataclass(frozen=True)
class Plan:
    platform: Optional[str]  # the platform Stack's request value, None: not asked
    shards: Mapping[int, str]  # shard -> request value
    asked: Mapping[str, str]  # unplaced chainlets the platform has been asked about: chain ID -> fingerprint
    why: tuple[str, ...] = ()


def request_value(height: int, items: Mapping[str, str]) -> str:
    """A value that differs for every distinct ask: the height it was seen at and what changed
    (a chainlet that flips back to an earlier record is a new ask at a new height)."""
    digest = hashlib.sha256(json.dumps(sorted(items.items())).encode()).hexdigest()[:12]
    return f"watcher-h{height}-{digest}"


def decide(current: Mapping[str, str], members: Membership, seen: Optional[Seen], asked: Mapping[str, str], height: int) -> Plan:
    new = {cid: fp for cid, fp in current.items() if cid not in members.shard_of}
    changed: dict[str, str] = {}
    placed: set[str] = set()
    if seen is not None:
        for cid in members.shard_of:
            if cid in seen.placed:
                now = current.get(cid, GONE)
                if now != seen.fingerprints.get(cid, GONE):
                    changed[cid] = now
            elif cid in current:
                placed.add(cid)  # the platform assigned it since the last poll: its shard's turn
    why = [f"{cid}: not placed yet" for cid in sorted(new) if asked.get(cid) != new[cid]]
    why += [f"{cid}: {'gone from the chain' if fp == GONE else 'changed'} (shard {members.shard_of[cid]})" for cid, fp in sorted(changed.items())]
    why += [f"{cid}: placed in shard {members.shard_of[cid]}" for cid in sorted(placed)]
    # A new chainlet is asked about once: asking again at each poll's height would restart the
    # platform's run while it is still placing it.
    platform_items = {**new, **changed}
    ask_platform = bool(changed) or any(asked.get(cid) != fp for cid, fp in new.items())
    by_shard: dict[int, dict[str, str]] = {}
    for cid in [*changed, *placed]:
        by_shard.setdefault(members.shard_of[cid], {})[cid] = current.get(cid, GONE)
    return Plan(
        platform=request_value(height, platform_items) if ask_platform else None,
        shards={shard: request_value(height, items) for shard, items in sorted(by_shard.items())},
        asked=new,
        why=tuple(why),
    )


# --- the API server --------------------------------------------------------------------


class KubeError(Exception):
    pass


class Kube:
    """The few API calls the watcher makes, over urllib. In the pod: the ServiceAccount's token
    (re-read on every call, as the kubelet rotates it) and the cluster's CA."""

    def __init__(self, server: str, *, token: Optional[str] = None, token_file: Optional[str] = None,
                 ca_file: Optional[str] = None, cert_file: Optional[str] = None, key_file: Optional[str] = None,
                 timeout: float = 10):
        self.server = server.rstrip("/")
        self.token, self.token_file, self.timeout = token, token_file, timeout
        self.context = ssl.create_default_context(cafile=ca_file) if self.server.startswith("https://") else None
        if self.context is not None and cert_file:
            self.context.load_cert_chain(cert_file, key_file)

    @classmethod
    def in_cluster(cls) -> "Kube":
        host, port = os.environ["KUBERNETES_SERVICE_HOST"], os.environ.get("KUBERNETES_SERVICE_PORT", "443")
        if ":" in host:
            host = f"[{host}]"
        return cls(f"https://{host}:{port}", token_file=f"{SERVICE_ACCOUNT_DIR}/token", ca_file=f"{SERVICE_ACCOUNT_DIR}/ca.crt")

    def _call(self, method: str, path: str, body: Optional[dict] = None, content_type: str = "application/json") -> dict:
        headers = {"Accept": "application/json", "User-Agent": FIELD_MANAGER}
        token = self.token
        if self.token_file:
            with open(self.token_file, encoding="utf-8") as f:
                token = f.read().strip()
        if token:
            headers["Authorization"] = f"Bearer {token}"
        data = None
        if body is not None:
            data = json.dumps(body).encode()
            headers["Content-Type"] = content_type
        request = urllib.request.Request(self.server + path, data=data, method=method, headers=headers)
        try:
            with urllib.request.urlopen(request, timeout=self.timeout, context=self.context) as resp:
                return json.loads(resp.read() or b"{}")
        except urllib.error.HTTPError as e:
            detail = e.read()[:300].decode("utf-8", "replace") if e.fp else ""
            raise KubeError(f"{method} {path}: HTTP {e.code} {detail}") from None
        except (urllib.error.URLError, OSError, ValueError) as e:
            raise KubeError(f"{method} {path}: {getattr(e, 'reason', e)}") from None

    @staticmethod
    def stack_path(namespace: str, name: str) -> str:
        q = urllib.parse.quote
        return f"/apis/{GROUP}/{VERSION}/namespaces/{q(namespace)}/{PLURAL}/{q(name)}"

    def get_stack(self, namespace: str, name: str) -> dict:
        return self._call("GET", self.stack_path(namespace, name))

    def request_reconcile(self, namespace: str, name: str, value: str) -> None:
        """Set the one annotation, as a JSON merge patch: no other field is sent, so none changes."""
        path = self.stack_path(namespace, name) + "?" + urllib.parse.urlencode({"fieldManager": FIELD_MANAGER})
        self._call("PATCH", path, {"metadata": {"annotations": {RECONCILE_REQUEST: value}}}, "application/merge-patch+json")


# --- the loop --------------------------------------------------------------------------


@dataclass
class Watcher:
    kube: Kube
    namespace: str
    platform_stack: str
    read_chain: Callable[[], Any]
    log: Callable[[str], None] = lambda line: print(line, flush=True)
    seen: Optional[Seen] = None
    asked: dict = field(default_factory=dict)

    def poll(self) -> dict[str, str]:
        """One chain read and the requests it makes: Stack object name -> value set."""
        try:
            view = self.read_chain()
        except PegasusError as e:
            self.log(f"chain read failed, nothing requested: {e}")
            return {}
        platform = stack_object_name(self.platform_stack)
        try:
            members = membership(self.kube.get_stack(self.namespace, platform))
        except KubeError as e:
            self.log(f"cannot read Stack {self.namespace}/{platform}, nothing requested: {e}")
            return {}
        if members is None:
            self.log(f"Stack {self.namespace}/{platform} has no readable {sharding.MEMBERS_OUTPUT} and "
                     f"{sharding.STACKS_OUTPUT} outputs yet, nothing requested")
            return {}
        current = fingerprints(view)
        plan = decide(current, members, self.seen, self.asked, view.height)
        wanted: dict[str, str] = {}
        if plan.platform:
            wanted[platform] = plan.platform
        for shard, value in plan.shards.items():
            if shard not in members.objects:
                self.log(f"shard {shard} has no stack in {sharding.STACKS_OUTPUT}; asking again next poll")
                return {}
            wanted[members.objects[shard]] = value
        done: dict[str, str] = {}
        for name, value in wanted.items():
            try:
                self.kube.request_reconcile(self.namespace, name, value)
            except KubeError as e:
                # Memory stays as it was: the next poll asks for all of it again.
                self.log(f"requesting a reconcile of Stack {self.namespace}/{name} failed: {e}")
                return done
            done[name] = value
        for line in plan.why:
            self.log(f"height {view.height}: {line}")
        for name, value in done.items():
            self.log(f"requested a reconcile of Stack {self.namespace}/{name} ({value})")
        self.seen = Seen(dict(current), frozenset(cid for cid in members.shard_of))
        self.asked = dict(plan.asked)
        return done

    def run(self, interval: float, *, polls: Optional[int] = None, sleep: Callable[[float], None] = time.sleep) -> None:
        n = 0
        while polls is None or n < polls:
            self.poll()
            n += 1
            sleep(interval)


def from_config(cfg: Mapping[str, Any], kube: Kube) -> Watcher:
    chain = cfg["chain"]
    source = RestSource(chain["endpoint"], chain.get("apiPrefix", "/ssc/chainlet"), int(chain.get("pageLimit", 100)),
                        float(chain.get("timeoutSeconds", 10)), int(chain.get("retries", 3)))
    return Watcher(kube, cfg["namespace"], cfg["platformStack"], lambda: read_rest(source)[0])


def main() -> int:
    with open(os.environ.get("WATCHER_CONFIG", "config.json"), encoding="utf-8") as f:
        cfg = json.load(f)
    watcher = from_config(cfg, Kube.in_cluster())
    watcher.log(f"watching {cfg['chain']['endpoint']} every {cfg['intervalSeconds']}s for Stack objects in {cfg['namespace']}")
    watcher.run(float(cfg["intervalSeconds"]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
