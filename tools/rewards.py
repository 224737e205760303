"""python -m tools.rewards --stack NAME --url http://HOST:7000: the accounts of a Spacemesh
network, their balances and whether each is one of the stack's coinbase accounts.

This is spacecraft's `rewards` (go-spacecraft network/rewards.go): it prints each account, its
balance and "Managed Miner Account: true|false" for the accounts the network's miners smesh
to. Spacecraft read those from its miner-N-coinbase Secrets; here they are the stack's own
`spacemesh.coinbase` and `spacemesh.coinbases`.

It talks to a node's public JSON API (go-spacemesh's grpc-json-listener, port 7000), through
the public v2alpha1 services that go-spacemesh v1.7.6 serves there (api/grpcserver/config.go
PublicServices: account_v2alpha1, reward_v2alpha1). Spacecraft's DebugService.Accounts is on
the private listener (127.0.0.1) since v1.x, so it cannot be reached. The routes are the
grpc-gateway's unbound methods of spacemeshos/api v1.55.0 (the version go-spacemesh v1.7.6's
go.mod requires; release/openapi/swagger/src/api.swagger.json):
`POST /spacemesh.v2alpha1.AccountService/List` with {offset, limit} and
`POST /spacemesh.v2alpha1.RewardService/List` with {coinbase, startLayer, endLayer, offset,
limit}; the node refuses a limit of 0 or above 100, so both are read in pages of 100. With
`--from-layer A --to-layer B` it also prints each managed account's rewards paid in layers A
to B (both included: the node filters layer >= A and <= B), an addition to spacecraft.
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


PAGE = 100  # go-spacemesh api/grpcserver/v2alpha1 account.go, reward.go: limit must be 1..100
ACCOUNTS = "/spacemesh.v2alpha1.AccountService/List"
REWARDS = "/spacemesh.v2alpha1.RewardService/List"


def _post(url: str, route: str, body: dict, timeout: float) -> dict:
    req = urllib.request.Request(url.rstrip("/") + route, data=json.dumps(body).encode(),
                                 headers={"Content-Type": "application/json"}, method="POST")
    try:
        with urllib.request.urlopen(req, timeout=timeout) as resp:
            answer = json.loads(resp.read())
    except urllib.error.HTTPError as e:
        raise RewardsError(f"{url}{route} answered HTTP {e.code}: {e.read()[:200]!r}") from None
    except (urllib.error.URLError, OSError) as e:
        raise RewardsError(f"cannot reach {url}: {e}") from None
    except ValueError:
        raise RewardsError(f"{url}{route} did not answer JSON") from None
    if not isinstance(answer, dict):
        raise RewardsError(f"{url}{route} did not answer a JSON object")
    return answer


def _pages(url: str, route: str, body: dict, field: str, timeout: float) -> list[dict]:
    out: list[dict] = []
    while True:
        # proto3 JSON writes uint64 as a string; offset and limit are uint64.
        page = _post(url, route, {**body, "offset": str(len(out)), "limit": str(PAGE)}, timeout).get(field) or []
        out += page
        if len(page) < PAGE:
            return out


def accounts(url: str, timeout: float = 30) -> dict[str, int]:
    """address -> current balance (smidge), every account the node knows."""
    out = {}
    for account in _pages(url, ACCOUNTS, {}, "accounts", timeout):
        address = account.get("address")
        if not address:
            raise RewardsError(f"{url}{ACCOUNTS} returned an account without an address")
        out[address] = int(((account.get("current") or {}).get("balance")) or 0)  # a missing balance is zero
    return out


def rewards(url: str, coinbase: str, from_layer: int, to_layer: int, timeout: float = 30) -> int:
    """The total (layer reward and fees) paid to `coinbase` in layers from_layer..to_layer."""
    body = {"coinbase": coinbase, "startLayer": from_layer, "endLayer": to_layer}
    return sum(int(r.get("total") or 0) for r in _pages(url, REWARDS, body, "rewards", timeout))


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


def report(now: dict[str, int], managed: dict[str, list[str]], earned: dict[str, int] | None = None,
           managed_only: bool = False) -> list[str]:
    lines = []
    for address in sorted(now):
        is_managed = address in managed
        if managed_only and not is_managed:
            continue
        lines.append(f"Account: {address}")
        lines.append(f"Balance: {now[address]}")
        lines.append(f"Managed Miner Account: {str(is_managed).lower()}" + (f" ({', '.join(managed[address])})" if is_managed else ""))
        if earned is not None and is_managed:
            lines.append(f"Rewards in layers: {earned.get(address, 0)}")
        lines.append("")
    return lines


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="python -m tools.rewards", description=__doc__.split("\n\n")[0])
    p.add_argument("--stack", help="read Pulumi.STACK.yaml for the coinbase accounts (default: dev, or the name in --config-file)")
    p.add_argument("--config-file", help="read this stack file instead")
    p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help="override config as tools.plan does")
    p.add_argument("--url", required=True, help="a node's JSON API, e.g. http://<node address>:<miner's jsonNodePort> (stack output hosts)")
    p.add_argument("--from-layer", type=int, help="with --to-layer: also print each managed account's rewards in those layers (both included)")
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
        earned = None
        if args.from_layer is not None:
            earned = {c: rewards(args.url, c, args.from_layer, args.to_layer) for c in managed}
    except UsageError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    except (PegasusError, RewardsError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    print("\n".join(report(now, managed, earned, args.managed_only)).rstrip("\n"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
