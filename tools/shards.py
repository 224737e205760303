"""python -m tools.shards split|join --stack <stack>: move a running validator fleet between one
stack and sharded mode (pegasus/sharding.py) without touching a cluster object.

`split` moves, with `pulumi state move`, each chainlet (its component and children: namespace,
volume claim, StatefulSet, Service, route) and each shard's load balancer (Service or Gateway)
and probes from the stack into its shard stack `<stack>-shard-<N>`, copies the stack's config
into the shard stacks with `chainlets.stacks: sharded`, then runs `up` on every shard stack
before the platform: a shard's routing keys must have their new owner before the platform's
ConfigMap lets go of them. The shard program adopts the moved load balancers and probes through
aliases (components/p2p/shard.py), so nothing is replaced: same objects, same addresses.
`join` is the reverse: it moves the chainlets, load balancers and probes back, sets
`chainlets.stacks: single`, runs `up` on the stack (whose ConfigMap takes every routing key
back) and then destroys what is left in each shard stack: its guard record, its routing patch
(which hands its keys over) and its provider. The emptied shard stacks stay for you to remove.

Both refuse to start unless the last `up` of every stack involved succeeded, and they stop at
the first failed step with the state as it is (every step is a move of whole resources, so a
rerun continues where it stopped). Run it with no reconcile job running.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any, Callable, Mapping

from pulumi import automation as auto

from pegasus import ledger, sharding
from pegasus.errors import PegasusError
from tools.reconcile.runner import Reconciler

CHAINLET = ledger.CHAINLET_TYPE
# What a single stack holds per shard besides chainlets, by the type path its URN ends with.
SINGLE_SHARD_PARTS = {
    "pegasus:ingress:Ingress$kubernetes:core/v1:Service": "ingress-p2p-{i}",
    "pegasus:gateway:EnvoyGatewayIngress$kubernetes:gateway.networking.k8s.io/v1:Gateway": "ingress-p2p-{i}",
    "pegasus:monitoring:Monitoring$kubernetes:monitoring.coreos.com/v1alpha1:ScrapeConfig": "monitoring-pegasus-p2p-{i}",
}


class MoveError(PegasusError):
    pass


def _resources(export: Mapping[str, Any]) -> list[dict]:
    return list((export.get("deployment") or {}).get("resources") or [])


def shard_size_of(resources: list[dict]) -> int:
    records = [r for r in resources if r.get("type") == ledger.CHAINSTATE_TYPE]
    if len(records) != 1:
        raise MoveError("the stack holds no ChainState record, so its slots are unknown; run `pulumi up` on it first")
    return int((records[0].get("outputs") or {}).get("shardSize") or 0) or 25


def split_plan(resources: list[dict]) -> dict[int, list[str]]:
    """shard -> the URNs to move into its stack: chainlet components (their children follow)
    and the shard's load balancer and probes."""
    size = shard_size_of(resources)
    record = next(r for r in resources if r.get("type") == ledger.CHAINSTATE_TYPE)
    slots = ledger.validate((record.get("outputs") or {}).get("slots") or {}, "the slot ledger")
    out: dict[int, list[str]] = {}
    for r in resources:
        urn, typ = r["urn"], r["type"]
        if typ == CHAINLET:
            chain_id = _chain_id_of(r, slots)
            out.setdefault(slots[chain_id] // size, []).append(urn)
            continue
        type_path = urn.split("::")[2]
        name = urn.split("::")[3]
        pattern = SINGLE_SHARD_PARTS.get(type_path)
        if pattern is None:
            continue
        prefix = pattern.split("{i}")[0]
        rest = name[len(prefix):] if name.startswith(prefix) else ""
        index = rest.split("-", 1)[0]
        if index.isdigit():
            out.setdefault(int(index), []).append(urn)
    return {i: sorted(u) for i, u in sorted(out.items())}


def join_plan(resources: list[dict], index: int) -> list[str]:
    """The URNs of one shard stack to move back: chainlet components (their children follow),
    the shard's load balancer and its probes; not its guard, routing patch or provider."""
    out = []
    for r in resources:
        urn, typ = r["urn"], r["type"]
        name = urn.split("::")[3]
        if typ == CHAINLET:
            out.append(urn)
        elif name in (f"shard-{index}-service", f"shard-{index}-gateway") and "pegasus:p2p:Shard$" in urn.split("::")[2]:
            out.append(urn)
        elif typ.endswith(":ScrapeConfig") and name.startswith(f"shard-{index}-"):
            out.append(urn)
    return sorted(out)


def _chain_id_of(component: dict, slots: Mapping[str, int]) -> str:
    """A Chainlet component's chain ID: the one whose resource name it bears (pegasus/names.py)."""
    from pegasus import names

    name = component["urn"].split("::")[3]
    for chain_id in slots:
        if names.chainlet_resource_name(chain_id) == name:
            return chain_id
    raise MoveError(f"chainlet {name} is not in the stack's slot ledger; run `pulumi up` on the stack first")


class Mover:
    def __init__(self, project_dir: str, stack: str, env: dict[str, str], say: Callable[[str], None] = print):
        self.rec = Reconciler(project_dir, stack, env=env, say=say, parallel=1)
        self.stack = stack
        self.say = say

    def _pulumi(self, *args: str) -> str:
        result = self.rec.command.run(list(args), self.rec.project_dir, self.rec.env)
        return result.stdout

    def export(self, stack: str) -> dict:
        return json.loads(self._pulumi("stack", "export", "--stack", stack))

    def _check_last_update(self, stack: str) -> None:
        history = auto.Stack.select(stack, self.rec.ws).history(page_size=1)
        if history and history[0].result != "succeeded":
            raise MoveError(f"the last update of stack {stack} did not succeed ({history[0].result}); "
                            "run `pulumi up` on it until it does, then move")

    def split(self) -> list[str]:
        """The shard stacks it filled, in shard order."""
        self._check_last_update(self.stack)
        resources = _resources(self.export(self.stack))
        plan = split_plan(resources)
        if not plan:
            raise MoveError(f"stack {self.stack} declares no chainlet; set chainlets.stacks to sharded and run tools.reconcile")
        self.rec.ws.set_config(self.stack, "pegasus:chainlets.stacks", auto.ConfigValue("sharded"), path=True)
        config = self.rec.platform_config()
        names = []
        for index, urns in plan.items():
            name = sharding.shard_stack_name(self.stack, index)
            stack, created = self.rec.shard_stack(name)
            if not created and _resources(self.export(name)):
                raise MoveError(f"shard stack {name} already holds resources; `join` first or remove it")
            self.rec.sync_config(name, config)
            self._pulumi("state", "move", "--source", self.stack, "--dest", name, "--yes", *urns)
            self.say(f"{name}: moved {len(urns)} resource(s) with their children")
            names.append(name)
        for name in names:
            run = self.rec.run_stack(auto.Stack.select(name, self.rec.ws), preview=False, refresh=False, note="after the move")
            self.say(run.line)
            if not run.ok:
                raise MoveError(f"{run.line}; fix it and run `python -m tools.reconcile --stack {self.stack} --all`")
        run = self.rec.run_stack(self.rec.platform_stack, preview=False, refresh=False, note="platform")
        self.say(run.line)
        if not run.ok:
            raise MoveError(run.line)
        return names


    def join(self) -> list[str]:
        """The shard stacks it emptied, in shard order."""
        self._check_last_update(self.stack)
        outputs = {k: v.value for k, v in self.rec.platform_stack.outputs().items()}
        names = list(outputs.get(sharding.STACKS_OUTPUT) or [])
        if not names:
            raise MoveError(f"stack {self.stack} lists no shard stacks (output {sharding.STACKS_OUTPUT}); is it sharded?")
        for name in names:
            self._check_last_update(name)
        for name in names:
            index = sharding.parse_shard_stack(name)[1]
            urns = join_plan(_resources(self.export(name)), index)
            if urns:
                self._pulumi("state", "move", "--source", name, "--dest", self.stack, "--yes", *urns)
            self.say(f"{name}: moved {len(urns)} resource(s) with their children back to {self.stack}")
        self.rec.ws.set_config(self.stack, "pegasus:chainlets.stacks", auto.ConfigValue("single"), path=True)
        run = self.rec.run_stack(self.rec.platform_stack, preview=False, refresh=False, note="one stack again")
        self.say(run.line)
        if not run.ok:
            raise MoveError(f"{run.line}; fix it and run `pulumi up` on {self.stack}, then destroy the shard stacks' rest")
        for name in names:
            # What is left is the shard's guard record, its routing patch (deleting it hands its
            # keys to the stack's ConfigMap, which owns them again) and providers.
            auto.Stack.select(name, self.rec.ws).destroy(color="never", suppress_progress=True)
            self.say(f"{name}: emptied; remove it with `pulumi stack rm {name}`")
        return names


def main(argv: list[str]) -> int:
    p = argparse.ArgumentParser(prog="python -m tools.shards", description=__doc__.split("\n\n")[0])
    p.add_argument("action", choices=["split", "join"])
    p.add_argument("--stack", required=True)
    p.add_argument("--cwd", default=".")
    args = p.parse_args(argv)
    import os

    try:
        mover = Mover(args.cwd, args.stack, dict(os.environ))
        mover.split() if args.action == "split" else mover.join()
    except PegasusError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
