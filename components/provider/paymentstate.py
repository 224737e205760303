"""The PaymentState dynamic provider: the guard between a payment read and the tenant pods.

Like ChainState (pegasus/chainstate.py), it is registered before any pod resource, every pod
depends on it, and its `check` sees the last applied read and the new one. It refuses a run:

- read on another chain than last time (a wrong RPC URL or chain ID);
- read at a lower block than last time (a lagging node would resurrect or remove pods from
  stale state), unless provider.allowBlockRegression;
- in which more funded pods became exhausted than provider.maxRemovals allows (a wrong
  contract or provider address reads every channel as empty). Unset, the limit is
  default_max_removals: a tenth of the pods funded at the last applied run, at least one, so
  ordinary exhaustion needs no config change while a read that empties every channel of two
  or more funded pods at once is still refused.

Pickled by reference into the provider host like ChainState: standard library and
pulumi.dynamic only, nothing created at import time.
"""

from __future__ import annotations

from typing import Any

from pulumi.dynamic import CheckFailure

from pegasus.guard import GuardRecordProvider

# rpcHost, not the URL: the URL is a secret and these inputs are stored in plain state.
INPUT_KEYS = ("source", "rpcHost", "snapshot", "billed", "chainId", "contract", "providerAddress", "block", "pods",
              "maxRemovals", "allowBlockRegression")
MAX_LISTED = 10
DEFAULT_REMOVAL_FRACTION = 10  # one in ten of the pods funded last run


def default_max_removals(funded_before: int) -> int:
    """How many funded pods may run dry in one run when provider.maxRemovals is unset: a tenth
    of those funded at the last applied run (rounded down), at least one. With two or more
    funded pods this is always fewer than all of them, so a read that empties every channel
    (a wrong contract or provider address) never passes by default."""
    return max(1, funded_before // DEFAULT_REMOVAL_FRACTION)


def _as_int(v: Any, default: int = 0) -> int:
    try:
        return int(v)
    except (TypeError, ValueError):
        return default


def _listed(ids: list[str]) -> str:
    shown = ", ".join(ids[:MAX_LISTED])
    return shown + (f" and {len(ids) - MAX_LISTED} more" if len(ids) > MAX_LISTED else "")


def guard_failures(olds: dict[str, Any], news: dict[str, Any]) -> list[CheckFailure]:
    """Why this run must not proceed, or [] if it may. Pure: unit-tested directly."""
    if not olds or "pods" not in olds:
        return []
    failures = []
    if _as_int(olds.get("chainId")) != _as_int(news.get("chainId")):
        failures.append(CheckFailure(
            "chainId",
            f"the payments were read on chain {_as_int(news.get('chainId'))}, but this stack applied chain "
            f"{_as_int(olds.get('chainId'))} last time; channels on another chain say nothing about these pods. "
            "Restore provider.payments.chainId and provider.payments.rpcUrl.",
        ))
    old_block, new_block = _as_int(olds.get("block")), _as_int(news.get("block"))
    if new_block < old_block and not news.get("allowBlockRegression"):
        failures.append(CheckFailure(
            "block",
            f"the payments were read at block {new_block}, below block {old_block} applied last time: the node behind "
            f"{news.get('rpcHost') or news.get('snapshot')} is stale or lagging, and planning from it could remove or "
            "restore pods on old balances. Point provider.payments.rpcUrl at a synced node. If the lower block is "
            "expected, run once with `pulumi config set --path provider.allowBlockRegression true`, then remove the flag.",
        ))
    old_pods, new_pods = olds.get("pods") or {}, news.get("pods") or {}
    newly = sorted(name for name, pod in new_pods.items()
                   if (old_pods.get(name) or {}).get("status") == "funded" and pod.get("status") == "exhausted")
    funded_before = sum(1 for pod in old_pods.values() if (pod or {}).get("status") == "funded")
    explicit = news.get("maxRemovals")
    max_removals = default_max_removals(funded_before) if explicit is None else _as_int(explicit)
    limit = (f"provider.maxRemovals={max_removals}" if explicit is not None else
             f"the default limit of {max_removals} (a tenth of the {funded_before} pods funded last run, at least one; "
             "provider.maxRemovals unset)")
    if len(newly) > max_removals:
        failures.append(CheckFailure(
            "pods",
            f"{len(newly)} funded pod(s) would be removed as exhausted in one run ({_listed(newly)}), more than "
            f"{limit} allows. A wrong contract or provider address reads every channel as "
            "empty. If the channels really ran dry, run once with "
            f"`pulumi config set --path provider.maxRemovals {len(newly)}`, then remove it again; only their Deployments "
            "and scalers go, namespaces, volumes and Secrets stay.",
        ))
    return failures


def _summary(props: dict[str, Any]) -> dict[str, Any]:
    pods = props.get("pods") or {}
    funded = sum(1 for p in pods.values() if p.get("status") == "funded")
    return {"podCount": len(pods), "fundedCount": funded, "exhaustedCount": len(pods) - funded}


class PaymentStateProvider(GuardRecordProvider):
    INPUT_KEYS = INPUT_KEYS
    RECORD_ID = "paymentstate"

    def failures(self, olds: dict[str, Any], news: dict[str, Any]) -> list[CheckFailure]:
        return guard_failures(olds, news)

    def summary(self, props: dict[str, Any]) -> dict[str, Any]:
        return _summary(props)
