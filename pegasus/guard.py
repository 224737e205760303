"""The shape every guard record shares: ChainState (pegasus/chainstate.py), PaymentState
(components/provider/paymentstate.py) and the Spacemesh genesis guard
(components/spacemesh/genesis_guard.py).

A guard is a dynamic resource whose inputs record what was applied. During preview and up the
engine calls `check` with the last applied inputs and the new ones, and `check` refuses a run
that would lose data or break what others rely on. It is never replaced (a replacement would
forget the record and disarm the guard for one run), and deleting it touches nothing else.
A subclass names its inputs and its record's id, says why a run must not proceed
(`failures`), and may add computed outputs (`summary`).

Pickled by reference like its subclasses (pulumi/pulumi#7453): standard library and
pulumi.dynamic only, and no fields on the instance.
"""

from __future__ import annotations

from typing import Any

from pulumi.dynamic import CheckFailure, CheckResult, CreateResult, DiffResult, ResourceProvider, UpdateResult


class GuardRecordProvider(ResourceProvider):
    INPUT_KEYS: tuple[str, ...] = ()
    RECORD_ID = "record"

    def failures(self, olds: dict[str, Any], news: dict[str, Any]) -> list[CheckFailure]:
        raise NotImplementedError

    def summary(self, props: dict[str, Any]) -> dict[str, Any]:
        return {}

    def inputs(self, props: dict[str, Any]) -> dict[str, Any]:
        return {k: props.get(k) for k in self.INPUT_KEYS}

    def check(self, olds: dict[str, Any], news: dict[str, Any]) -> CheckResult:
        return CheckResult(news, self.failures(olds, news))

    def diff(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> DiffResult:
        return DiffResult(changes=self.inputs(olds) != self.inputs(news), replaces=[], stables=[],
                          delete_before_replace=False)

    def create(self, props: dict[str, Any]) -> CreateResult:
        return CreateResult(self.RECORD_ID, {**self.inputs(props), **self.summary(props)})

    def update(self, _id: str, _olds: dict[str, Any], news: dict[str, Any]) -> UpdateResult:
        return UpdateResult({**self.inputs(news), **self.summary(news)})

    def delete(self, _id: str, _props: dict[str, Any]) -> None:
        return None
