"""The reconcile round on Pulumi's Automation API: the platform stack first, then the shard
stacks whose chainlets or config changed, in parallel.

Shard stacks take their config from the platform stack: before a shard runs, the platform's
config (secrets re-encrypted for the shard by the CLI) is copied into it, so there is one place
to edit. A shard stack that does not exist is created with the platform's secrets provider.
"""

from __future__ import annotations

import os
import shutil
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Callable, Optional

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


@dataclass
class RoundResult:
    platform: StackRun
    shards: list[StackRun]
    skipped: list[str]

    @property
    def ok(self) -> bool:
        return self.platform.ok and all(s.ok for s in self.shards)

    @property
    def touched(self) -> list[str]:
        """Stacks whose run changed something."""
        return [r.stack for r in [self.platform, *self.shards] if decide.changed(r.changes)]


GENERIC = ("an unhandled error occurred", "update failed", "preview failed", "program exited with non-zero exit code")


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
        try:
            self._platform_stack = auto.Stack.select(platform, self.ws)
        except auto.StackNotFoundError:
            raise ReconcileError(f"no stack {platform} in this backend; create it (`pulumi stack init {platform}`), set "
                                 "pegasus:chainlets.stacks to sharded, then run this again") from None

    def _workspace(self, **extra) -> auto.LocalWorkspace:
        return auto.LocalWorkspace(work_dir=self.project_dir, env_vars=self.env, pulumi_command=self.command, **extra)

    # -- config
    def platform_config(self) -> dict[str, auto.ConfigValue]:
        return self.ws.get_all_config(self.platform)

    def settings(self):
        """The platform's validated settings, parsed as the program parses them."""
        prefix = pconfig.NAMESPACE + ":"
        raw, secret_keys = {}, set()
        for full, value in self.platform_config().items():
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

    def _shard_stack(self, name: str) -> tuple[auto.Stack, bool]:
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

    def shard_outputs(self, name: str) -> Optional[dict]:
        try:
            outputs = auto.Stack.select(name, self.ws).outputs()
        except auto.StackNotFoundError:
            return None
        return {k: v.value for k, v in outputs.items()} if outputs else None

    # -- one stack
    def _run(self, stack: auto.Stack, *, preview: bool, refresh: bool, note: str = "") -> StackRun:
        start = time.monotonic()
        try:
            if preview:
                result = stack.preview(refresh=refresh, policy_packs=self.policy_packs, color="never")
                changes = dict(result.change_summary)
            else:
                result = stack.up(refresh=refresh, policy_packs=self.policy_packs, color="never", suppress_progress=True)
                changes = dict(result.summary.resource_changes or {})
        except Exception as e:  # noqa: BLE001 - every failure becomes this stack's line, the others go on
            seconds = time.monotonic() - start
            return StackRun(stack.name, False, f"{stack.name}: FAILED ({seconds:.1f} s): {_error_line(e)}", {}, seconds)
        seconds = time.monotonic() - start
        return StackRun(stack.name, True, decide.change_line(stack.name, changes, seconds, note), changes, seconds)

    # -- a round
    def round(self, *, run_all: bool = False, refresh: bool = False, preview: bool = False, view=None) -> RoundResult:
        settings = self.settings()
        platform_config = self.platform_config()
        platform = self._run(self._platform_stack, preview=preview, refresh=refresh, note="platform")
        self.say(platform.line)
        if not platform.ok:
            # The shards read the platform's ledger and height: nothing runs on a failed platform.
            return RoundResult(platform, [], [])
        outputs = {k: v.value for k, v in self._platform_stack.outputs().items()}
        height = outputs.get(sharding.HEIGHT_OUTPUT)
        if view is None or view.height != height:
            view = self.read_chain(settings, int(height) if height is not None else None)
        names = list(outputs.get(sharding.STACKS_OUTPUT) or [])
        current = {n: self.shard_outputs(n) for n in names}
        decisions = decide.decide(outputs, view, sharding.config_digest(settings), current, run_all)
        due = [d for d in decisions if d.reason]
        skipped = [d.stack for d in decisions if not d.reason]

        def run_shard(d: decide.ShardDecision) -> StackRun:
            try:
                stack = self._existing_or_none(d.stack) if preview else self._shard_stack(d.stack)[0]
                if stack is None:
                    return StackRun(d.stack, True, f"{d.stack}: would be created by the next up [{d.reason}]")
                # A preview takes the config it would run with, too (the pull request's).
                self.sync_config(d.stack, platform_config)
            except Exception as e:  # noqa: BLE001
                return StackRun(d.stack, False, f"{d.stack}: FAILED before running: {_error_line(e)}")
            return self._run(stack, preview=preview, refresh=refresh, note=d.reason)

        runs: list[StackRun] = []
        with ThreadPoolExecutor(max_workers=self.parallel) as pool:
            for run in pool.map(run_shard, due):
                self.say(run.line)
                runs.append(run)
        if skipped:
            self.say(f"{len(skipped)} shard stack(s) unchanged, not run")
        return RoundResult(platform, runs, skipped)

    def _existing_or_none(self, name: str) -> Optional[auto.Stack]:
        try:
            return auto.Stack.select(name, self.ws)
        except auto.StackNotFoundError:
            return None
