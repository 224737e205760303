"""Run the real program (`__main__.py`, unchanged) under Pulumi's official mocks and
collect what `pulumi up` would create."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import runpy
import sys
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, Optional

import pulumi
from pulumi.runtime import mocks as pmocks
from pulumi.runtime import settings as psettings
from pulumi.runtime.config import set_all_config
from pulumi.runtime.stack import run_pulumi_func
from pulumi.runtime.sync_await import _sync_await

from tools.plan.mocks import SECRET, PlanMocks, Placeholder, Registration, RecordingMonitor
from tools.plan.stackfile import StackConfig


@dataclass
class Plan:
    project: str
    stack: str
    resources: list[Registration]
    outputs: dict[str, Any]
    secret_outputs: list[str]
    warnings: list[str]
    placeholders: list[Placeholder]
    secure_placeholders: list[str] = field(default_factory=list)
    registration_order: list[str] = field(default_factory=list)  # URNs as the engine received them

    def by_type(self, typ: str) -> list[Registration]:
        return [r for r in self.resources if r.type == typ]


class ProgramError(Exception):
    """The program failed; `cause` is what it raised."""

    def __init__(self, cause: BaseException, warnings: list[str], registered: int):
        super().__init__(str(cause))
        self.cause = cause
        self.warnings = warnings
        self.registered = registered  # resources declared before the failure


class _Collect(logging.Handler):
    def __init__(self):
        super().__init__(logging.WARNING)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())


class _Progress(logging.Handler):
    """The program's info lines (a chain read retrying, for one) go to stderr as they happen,
    as `pulumi up` shows them; warnings wait for the summary."""

    def __init__(self):
        super().__init__(logging.INFO)
        self.addFilter(lambda record: record.levelno == logging.INFO)

    def emit(self, record: logging.LogRecord) -> None:
        print(f"info: {record.getMessage()}", file=sys.stderr, flush=True)


@contextlib.contextmanager
def _cwd(path: str):
    old = os.getcwd()
    os.chdir(path)
    try:
        yield
    finally:
        os.chdir(old)


@contextlib.contextmanager
def _event_loops():
    """One event loop for the run and its own worker threads, every loop closed at the end.

    The SDK registers resources from executor threads, and its mock monitor gives each thread
    an event loop of its own that nothing ever closes. Left to the garbage collector at exit,
    such a loop may be finalized after its self-pipe sockets and print `Exception ignored in:
    BaseEventLoop.__del__ ... Invalid file descriptor: -1` after a successful plan. Giving the
    threads their loops here, and closing them once the threads are gone, leaves nothing open.
    """
    created: list[asyncio.AbstractEventLoop] = []
    lock = threading.Lock()

    def thread_loop() -> None:
        loop = asyncio.new_event_loop()
        asyncio.set_event_loop(loop)
        with lock:
            created.append(loop)

    executor = ThreadPoolExecutor(thread_name_prefix="pegasus-plan", initializer=thread_loop)
    main_loop = asyncio.new_event_loop()
    main_loop.set_default_executor(executor)
    asyncio.set_event_loop(main_loop)
    try:
        yield main_loop
    finally:
        executor.shutdown(wait=True)
        for loop in [*created, main_loop]:
            loop.close()
        asyncio.set_event_loop(None)


async def _resolve(value: Any) -> tuple[Any, bool]:
    out = pulumi.Output.from_input(value)
    return await out.future(with_unknowns=True), await out.is_secret()


def _region(cfg: StackConfig) -> tuple[str, str]:
    cluster = cfg.values.get(f"{cfg.project}:cluster")
    if isinstance(cluster, dict):
        return str(cluster.get("region") or "us-east-1"), str(cluster.get("project") or "example-project")
    fleet = cfg.values.get(f"{cfg.project}:fleet")
    if isinstance(fleet, dict):
        # The fleet blueprint: placeholders name its first AWS region and its GCP project.
        clouds = fleet.get("clouds") if isinstance(fleet.get("clouds"), dict) else {}
        aws, gcp = clouds.get("aws") or {}, clouds.get("gcp") or {}
        regions = aws.get("regions") if isinstance(aws, dict) else None
        first = regions[0] if isinstance(regions, list) and regions and isinstance(regions[0], dict) else {}
        project = gcp.get("project") if isinstance(gcp, dict) else None
        return str(first.get("region") or "us-east-1"), str(project or "example-project")
    return "us-east-1", "example-project"


def run_plan(project_dir: str, cfg: StackConfig, *, main: str = "__main__.py", state: Optional[dict] = None,
             other_states: Optional[dict] = None, other_outputs: Optional[dict] = None) -> Plan:
    """`state`: the stack's last state ({urn: {type, outputs}}, see mocks.state_outputs);
    `other_states`: other stacks' (by stack name), which a shard stack reads its platform from."""
    region, gcp_project = _region(cfg)
    mocks = PlanMocks(region=region, project=gcp_project, state=state, other_states=other_states, other_outputs=other_outputs)
    monitor = RecordingMonitor(mocks)
    logger = logging.getLogger(f"pegasus.plan.{id(monitor)}")
    logger.propagate = False
    logger.setLevel(logging.INFO)
    collect, progress = _Collect(), _Progress()
    logger.addHandler(collect)
    logger.addHandler(progress)

    exported: dict[str, Any] = {}
    secret_outputs: list[str] = []

    async def program() -> None:
        runpy.run_path(os.path.join(project_dir, main), run_name="__main__")
        stack = psettings.get_root_resource()
        for key, value in stack.outputs.items():
            resolved, secret = await _resolve(value)
            exported[key] = SECRET if secret else resolved
            if secret:
                secret_outputs.append(key)

    try:
        with _cwd(project_dir), _event_loops() as main_loop:
            monitor.main_loop = main_loop
            psettings.ROOT.set(None)
            pmocks.set_mocks(mocks, project=cfg.project, stack=cfg.stack, preview=False, logger=logger, monitor=monitor)
            set_all_config(cfg.engine_config(), sorted(cfg.secret_keys))
            _sync_await(run_pulumi_func(program))
    except BaseException as e:  # noqa: BLE001 - reported to the caller with the warnings so far
        raise ProgramError(e, collect.messages, len(monitor.registrations)) from e
    finally:
        logger.removeHandler(collect)
        logger.removeHandler(progress)
    return Plan(
        project=cfg.project,
        stack=cfg.stack,
        # The SDK registers from worker threads, so arrival order varies from run to run; URN
        # order makes two plans of one config identical and two configs diff cleanly.
        resources=sorted(monitor.registrations, key=lambda r: r.urn),
        outputs=exported,
        secret_outputs=secret_outputs,
        warnings=list(collect.messages),
        placeholders=sorted(mocks.placeholders, key=lambda p: (p.urn, p.property)),
        secure_placeholders=list(cfg.secure_placeholders),
        registration_order=[r.urn for r in monitor.registrations],
    )


def deployed_state(plan: Plan) -> dict:
    """The stack state a deployment of `plan` leaves behind, as readStackResourceOutputs
    returns it: ChainState's outputs are what its provider's create returns, the rest none."""
    from pegasus.chainstate import ChainStateProvider

    out = {}
    for r in plan.resources:
        outputs = ChainStateProvider().create(r.inputs).outs if r.type == "pulumi-python:dynamic/pegasus:ChainState" else {}
        out[r.urn] = {"type": r.type, "outputs": outputs}
    return out


def plan_shard(project_dir: str, platform_cfg: StackConfig, shard_cfg: StackConfig, *,
               state: Optional[dict] = None) -> tuple[Plan, Plan]:
    """(the platform's plan, the shard stack's plan): the shard reads the platform's ChainState
    record and outputs as a deployment of the platform's plan would leave them. `state`: the
    platform's last state, which keeps its ledger's slots."""
    platform = run_plan(project_dir, platform_cfg, state=state)
    shard = run_plan(project_dir, shard_cfg, other_states={platform_cfg.stack: deployed_state(platform)},
                     other_outputs={platform_cfg.stack: platform.outputs})
    return platform, shard


def plan_stack(project_dir: str, stack: str = "dev", config_file: Optional[str] = None, sets: Optional[list[str]] = None,
               state: Optional[dict] = None, other_states: Optional[dict] = None, other_outputs: Optional[dict] = None) -> Plan:
    from tools.plan.stackfile import assemble

    cfg = assemble(project_dir, stack, config_file, sets or [])
    return run_plan(project_dir, cfg, state=state, other_states=other_states, other_outputs=other_outputs)
