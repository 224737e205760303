"""The reconcile round on Pulumi's Automation API: the platform stack first, then the shard
stacks whose chainlets or config changed, in parallel.

Shard stacks take their config from the platform stack: before a shard runs, the platform's
config (secrets re-encrypted for the shard by the CLI) is copied into it, so there is one place
to edit. A shard stack that does not exist is created with the platform's secrets provider.
"""

from __future__ import annotations

import json
import os
import shutil
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, Callable, Mapping, Optional

from pulumi import automation as auto

from pegasus import config as pconfig
from pegasus import sharding
from pegasus.chain import reader
from pegasus.errors import PegasusError
from tools.reconcile import decide


class ReconcileError(PegasusError):
    """The platform stack is not in sharded mode, or its config cannot be read."""


@dataclass
class StackRun:
    stack: str
    ok: bool
    line: str
    changes: dict = field(default_factory=dict)
    seconds: float = 0.0
    outputs: Optional[dict] = None  # after an `up`: the stack's outputs, as the run returned them


@dataclass
class RoundResult:
    platform: StackRun
    shards: list[StackRun]
    skipped: list[str]
    settings: Any = None  # the platform's settings, as read at the round's start

    @property
    def ok(self) -> bool:
        return self.platform.ok and all(s.ok for s in self.shards)

    @property
    def touched(self) -> list[str]:
        """Stacks whose run changed something."""
        return [r.stack for r in [self.platform, *self.shards] if decide.changed(r.changes)]


# The engine's own wrappers and the echo of a program that stopped while it still registered
# resources: never the reason.
GENERIC = ("an unhandled error occurred", "update failed", "preview failed", "program exited with non-zero exit code",
           "resource monitor has terminated")


def _error_line(e: BaseException) -> str:
    """The one line that says why: the program's or the guard's own error, not the engine's wrapper."""
    text = str(e)  # a CommandError carries the command's stdout and stderr in its text
    lines = [ln.strip() for ln in text.splitlines() if ln.strip()]
    errors = [ln for ln in lines if "error:" in ln.lower() and not any(g in ln.lower() for g in GENERIC)]
    own = [ln for ln in errors if ln.lower().startswith("error:")]
    return (own or errors or [ln for ln in lines if "error" in ln.lower()] or lines or [type(e).__name__])[0][:600]


def _pulumi_command(env: dict[str, str]) -> auto.PulumiCommand:
    """The `pulumi` on the PATH the stacks run with (which may not be this process's)."""
    found = shutil.which("pulumi", path=env.get("PATH") or os.environ.get("PATH"))
    if found is None:
        raise ReconcileError("no `pulumi` CLI on PATH; install it (https://www.pulumi.com/docs/install/)")
    return auto.PulumiCommand(root=os.path.dirname(os.path.dirname(os.path.realpath(found))))


class ShardOutputs:
    """Each shard stack's last outputs, read again only when the stack was updated since.

    One `pulumi stack ls --json` gives every stack's last update (to the millisecond) and
    resource count; a stack whose pair is what it was when its outputs were read has the same
    outputs, so a round reads only the stacks that ran since (one `pulumi stack output` each,
    several at once) instead of every shard stack one after the other.
    """

    def __init__(self, list_stacks: Callable[[], Mapping[str, Any]], read: Callable[[str], Optional[dict]],
                 parallel: int = 4):
        self._list = list_stacks
        self._read = read
        self._parallel = max(1, parallel)
        self._cache: dict[str, tuple[Any, Optional[dict]]] = {}

    def get(self, wanted: Callable[[str], bool]) -> dict[str, Optional[dict]]:
        """name -> outputs (None when the stack has none) for every stack `wanted` accepts."""
        keys = {name: key for name, key in self._list().items() if wanted(name)}
        stale = [n for n, key in keys.items() if key is None or self._cache.get(n, (None,))[0] != key]
        with ThreadPoolExecutor(max_workers=self._parallel) as pool:
            fresh = dict(zip(stale, pool.map(self._read, stale)))
        for name in stale:
            self._cache[name] = (keys[name], fresh[name])
        for name in set(self._cache) - set(keys):
            del self._cache[name]  # a stack that is gone
        return {n: self._cache[n][1] for n in keys}


class Reconciler:
    def __init__(self, project_dir: str, platform: str, *, env: Optional[dict[str, str]] = None, parallel: int = 4,
                 say: Callable[[str], None] = print, policy_packs: Optional[list[str]] = None):
        self.project_dir = os.path.abspath(project_dir)
        self.platform = platform
        self.parallel = max(1, parallel)
        self.say = say
        self.policy_packs = policy_packs
        self.env = dict(env or {})
        self.command = _pulumi_command(self.env)
        self.ws = self._workspace()
        self.shard_outputs_cache = ShardOutputs(self._stack_keys, self.shard_outputs, parallel=4)
        try:
            self._platform_stack = auto.Stack.select(platform, self.ws)
        except auto.StackNotFoundError:
            raise ReconcileError(f"no stack {platform} in this backend; create it (`pulumi stack init {platform}`), set "
                                 "pegasus:chainlets.stacks to sharded, then run this again") from None

    def _workspace(self, **extra) -> auto.LocalWorkspace:
        return auto.LocalWorkspace(work_dir=self.project_dir, env_vars=self.env, pulumi_command=self.command, **extra)

    @property
    def platform_stack(self) -> auto.Stack:
        return self._platform_stack

    # -- config
    def platform_config(self) -> dict[str, auto.ConfigValue]:
        return self.ws.get_all_config(self.platform)

    def settings(self, config: Optional[dict[str, auto.ConfigValue]] = None):
        """The platform's validated settings, parsed as the program parses them."""
        prefix = pconfig.NAMESPACE + ":"
        raw, secret_keys = {}, set()
        for full, value in (self.platform_config() if config is None else config).items():
            if full.startswith(prefix):
                key = full[len(prefix):]
                raw[key] = pconfig.decode(key, value.value)
                if value.secret:
                    secret_keys.add(key)
        project = self.ws.project_settings().name
        settings = pconfig.parse(raw, project=project, stack=self.platform, secret_keys=secret_keys)
        if getattr(settings, "chainlets", None) is None or settings.chainlets.stacks != "sharded":
            raise ReconcileError(f"pegasus:chainlets.stacks: stack {self.platform} is not in sharded mode; set it to "
                                 "sharded (docs/sharding.md), or run `pulumi up` on it as usual")
        return settings

    def read_chain(self, settings, height: Optional[int] = None):
        c = settings.chain
        return reader.read(c.source, endpoint=c.endpoint, api_prefix=c.api_prefix, page_limit=c.page_limit,
                           timeout_seconds=c.timeout_seconds, retries=c.retries, snapshot=c.snapshot,
                           base_dir=self.project_dir, height=height if c.source == "rest" else None)

    def shard_stack(self, name: str) -> tuple[auto.Stack, bool]:
        """The shard stack, created with the platform's secrets provider if it is new."""
        try:
            return auto.Stack.select(name, self.ws), False
        except auto.StackNotFoundError:
            provider = self.ws.stack_settings(self.platform).secrets_provider
            ws = self._workspace(secrets_provider=provider)
            return auto.Stack.create(name, ws), True

    def sync_config(self, name: str, platform_config: dict[str, auto.ConfigValue]) -> None:
        current = self.ws.get_all_config(name)
        if {k: (v.value, v.secret) for k, v in current.items()} == {k: (v.value, v.secret) for k, v in platform_config.items()}:
            return
        for key in set(current) - set(platform_config):
            self.ws.remove_config(name, key)
        self.ws.set_all_config(name, platform_config)

    def _stack_keys(self) -> dict[str, Any]:
        """name -> (last update, resource count) of every stack of the project, in one call."""
        return {s.name: (s.last_update, s.resource_count) if s.last_update else None for s in self.ws.list_stacks()}

    def shard_outputs(self, name: str) -> Optional[dict]:
        """A stack's outputs in one CLI call (a shard's outputs hold no secret)."""
        try:
            result = self.command.run(["stack", "output", "--json", "--stack", name], self.project_dir, self.env)
        except auto.StackNotFoundError:
            return None
        outputs = json.loads(result.stdout or "{}")
        return outputs or None

    def _is_shard(self, name: str) -> bool:
        parsed = sharding.parse_shard_stack(name)
        return parsed is not None and parsed[0] == self.platform

    # -- one stack
    def run_stack(self, stack: auto.Stack, *, preview: bool, refresh: bool, note: str = "") -> StackRun:
        start, outputs = time.monotonic(), None
        try:
            if preview:
                result = stack.preview(refresh=refresh, policy_packs=self.policy_packs, color="never")
                changes = dict(result.change_summary)
            else:
                result = stack.up(refresh=refresh, policy_packs=self.policy_packs, color="never", suppress_progress=True)
                changes = dict(result.summary.resource_changes or {})
                outputs = {k: v.value for k, v in result.outputs.items()}
        except Exception as e:  # noqa: BLE001 - every failure becomes this stack's line, the others go on
            seconds = time.monotonic() - start
            return StackRun(stack.name, False, f"{stack.name}: FAILED ({seconds:.1f} s): {_error_line(e)}", {}, seconds)
        seconds = time.monotonic() - start
        return StackRun(stack.name, True, decide.change_line(stack.name, changes, seconds, note), changes, seconds,
                        outputs)

    # -- a round
    def round(self, *, run_all: bool = False, refresh: bool = False, preview: bool = False, view=None) -> RoundResult:
        start = time.monotonic()
        platform_config = self.platform_config()
        settings = self.settings(platform_config)
        with ThreadPoolExecutor(max_workers=1) as reader_pool:
            # The shard stacks' outputs do not depend on the platform's run: read them meanwhile.
            current_future = reader_pool.submit(self.shard_outputs_cache.get, self._is_shard)
            platform = self.run_stack(self._platform_stack, preview=preview, refresh=refresh, note="platform")
            self.say(platform.line)
            if not platform.ok:
                # The shards read the platform's ledger and height: nothing runs on a failed platform.
                return RoundResult(platform, [], [], settings)
            read_start = time.monotonic()
            current = current_future.result()
            waited = time.monotonic() - read_start
        outputs = platform.outputs
        if outputs is None:
            outputs = {k: v.value for k, v in self._platform_stack.outputs().items()}
        height = outputs.get(sharding.HEIGHT_OUTPUT)
        if view is None or view.height != height:
            view = self.read_chain(settings, int(height) if height is not None else None)
        names = list(outputs.get(sharding.STACKS_OUTPUT) or [])
        decisions = decide.decide(outputs, view, sharding.config_digest(settings), {n: current.get(n) for n in names},
                                  run_all)
        due = [d for d in decisions if d.reason]
        skipped = [d.stack for d in decisions if not d.reason]

        def run_shard(d: decide.ShardDecision) -> StackRun:
            try:
                stack = self._existing_or_none(d.stack) if preview else self.shard_stack(d.stack)[0]
                if stack is None:
                    return StackRun(d.stack, True, f"{d.stack}: would be created by the next up [{d.reason}]")
                # A preview takes the config it would run with, too (the pull request's).
                self.sync_config(d.stack, platform_config)
            except Exception as e:  # noqa: BLE001
                return StackRun(d.stack, False, f"{d.stack}: FAILED before running: {_error_line(e)}")
            return self.run_stack(stack, preview=preview, refresh=refresh, note=d.reason)

        runs: list[StackRun] = []
        shards_start = time.monotonic()
        with ThreadPoolExecutor(max_workers=self.parallel) as pool:
            for run in pool.map(run_shard, due):
                self.say(run.line)
                runs.append(run)
        if skipped:
            self.say(f"{len(skipped)} shard stack(s) unchanged, not run")
        self.say(f"round done in {time.monotonic() - start:.1f} s: platform {platform.seconds:.1f} s, then "
                 f"{waited:.1f} s more for {len(current)} shard stacks' outputs, {len(due)} shard stack(s) in "
                 f"{time.monotonic() - shards_start:.1f} s")
        return RoundResult(platform, runs, skipped, settings)

    def _existing_or_none(self, name: str) -> Optional[auto.Stack]:
        try:
            return auto.Stack.select(name, self.ws)
        except auto.StackNotFoundError:
            return None
