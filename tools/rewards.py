"""python -m tools.rewards --stack NAME --url http://HOST:7000: the accounts of a Spacemesh
network, their balances and whether each is one of the stack's coinbase accounts.

This is spacecraft's `rewards` (go-spacecraft network/rewards.go): it asks one node for every
account (DebugService.Accounts) and prints each account, its balance
(`stateCurrent.balance.value`) and "Managed Miner Account: true|false" for the accounts the
network's miners smesh to. Spacecraft read those from its miner-N-coinbase Secrets; here they
are the stack's own `spacemesh.coinbase` and `spacemesh.coinbases`.

It talks to the node's JSON API (go-spacemesh's grpc-json-listener, port 7000): the
grpc-gateway route of DebugService.Accounts is `POST /v1/debug/accounts` with body
`{"layer": N}` (spacemeshos/api spacemesh/v1/debug.proto; layer 0 is the current state, any
other layer is the state at that layer, go-spacemesh api/grpcserver/debug_service.go). With
`--from-layer A --to-layer B` it also prints what each account gained between the two layers,
the rewards of that range for a coinbase that only receives rewards. That range is an addition
to spacecraft, which printed balances only.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import urllib.error
import urllib.request

PROJECT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


class RewardsError(Exception):
    pass


def accounts(url: str, layer: int = 0, timeout: float = 30) -> dict[str, int]:
    """address -> balance at `layer` (0: now), from one node's JSON API."""
    req = urllib.request.Request(url.rstrip("/") + "/v1/debug/accounts", data=json.dumps({"layer": layer}).encode(),
                                 headers={"Content-Type": "application/json"}, method="POST")
    try:
        with urllib.request.urlopen(req, timeout=timeout) as resp:
            body = json.loads(resp.read())
    except urllib.error.HTTPError as e:
        raise RewardsError(f"{url}/v1/debug/accounts answered HTTP {e.code}: {e.read()[:200]!r}") from None
    except (urllib.error.URLError, OSError) as e:
        raise RewardsError(f"cannot reach {url}: {e}") from None
    except ValueError:
        raise RewardsError(f"{url}/v1/debug/accounts did not answer JSON") from None
    out = {}
    for wrapper in body.get("accountWrapper") or []:
        address = ((wrapper.get("accountId") or {}).get("address"))
        # proto3 JSON writes uint64 as a string; a missing balance is zero.
        value = (((wrapper.get("stateCurrent") or {}).get("balance") or {}).get("value")) or "0"
        if not address:
            raise RewardsError(f"{url}/v1/debug/accounts returned an account without an address")
        out[address] = int(value)
    return out


def managed_accounts(stack: str | None, config_file: str | None, sets: list[str]) -> dict[str, list[str]]:
    """coinbase address -> the stack's miners smeshing to it."""
    sys.path.insert(0, PROJECT)
    from components.spacemesh.builder import plan_nodes
    from tools.plan.stackfile import assemble

    cfg = assemble(PROJECT, stack, config_file, sets)
    settings = cfg.settings()
    if settings.blueprint != "spacemesh":
        raise RewardsError(f"stack {cfg.stack} runs blueprint {settings.blueprint}, not spacemesh")
    out: dict[str, list[str]] = {}
    for node in plan_nodes(settings.spacemesh):
        out.setdefault(node.coinbase, []).append(node.name)
    return out


def report(now: dict[str, int], managed: dict[str, list[str]], start: dict[str, int] | None = None,
           end: dict[str, int] | None = None, managed_only: bool = False) -> list[str]:
    lines = []
    for address in sorted(now):
        is_managed = address in managed
        if managed_only and not is_managed:
            continue
        lines.append(f"Account: {address}")
        lines.append(f"Balance: {now[address]}")
        lines.append(f"Managed Miner Account: {str(is_managed).lower()}" + (f" ({', '.join(managed[address])})" if is_managed else ""))
        if start is not None and end is not None:
            lines.append(f"Rewards in layers: {end.get(address, 0) - start.get(address, 0)}")
        lines.append("")
    return lines


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="python -m tools.rewards", description=__doc__.split("\n\n")[0])
    p.add_argument("--stack", help="read Pulumi.STACK.yaml for the coinbase accounts (default: dev, or the name in --config-file)")
    p.add_argument("--config-file", help="read this stack file instead")
    p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help="override config as tools.plan does")
    p.add_argument("--url", required=True, help="a node's JSON API, e.g. http://<node address>:<miner's jsonNodePort> (stack output hosts)")
    p.add_argument("--from-layer", type=int, help="with --to-layer: also print each account's gain between the two layers")
    p.add_argument("--to-layer", type=int)
    p.add_argument("--managed-only", action="store_true", help="only the stack's coinbase accounts")
    args = p.parse_args(argv)
    if (args.from_layer is None) != (args.to_layer is None):
        p.error("--from-layer and --to-layer go together")
    if args.from_layer is not None and not 0 < args.from_layer <= args.to_layer:
        p.error("--from-layer must be at least 1 and at most --to-layer")
    from pegasus.errors import PegasusError
    from tools.plan.stackfile import UsageError

    try:
        managed = managed_accounts(args.stack, args.config_file, args.set)
        now = accounts(args.url)
        start = end = None
        if args.from_layer is not None:
            start, end = accounts(args.url, args.from_layer), accounts(args.url, args.to_layer)
    except UsageError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    except (PegasusError, RewardsError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    print("\n".join(report(now, managed, start, end, args.managed_only)).rstrip("\n"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
