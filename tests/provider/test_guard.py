"""The PaymentState guard (components/provider/paymentstate.py), called as the engine calls check."""

from __future__ import annotations

from components.provider.paymentstate import PaymentStateProvider, guard_failures


def record(block=100, chain_id=1, statuses=None, **extra):
    statuses = statuses or {"a": "funded", "b": "funded"}
    return {"source": "evm", "rpcUrl": "https://rpc.example.org", "snapshot": None, "chainId": chain_id,
            "contract": "0x" + "cc" * 20, "providerAddress": "0x" + "dd" * 20, "block": block,
            "pods": {name: {"namespace": f"tpod-{name}", "status": s, "available": "0" if s == "exhausted" else "5"}
                     for name, s in statuses.items()},
            "maxRemovals": 0, "allowBlockRegression": False, **extra}


def reasons(olds, news):
    return [(f.property, f.reason) for f in guard_failures(olds, news)]


def test_first_run_and_a_steady_run_pass():
    assert reasons({}, record()) == []
    assert reasons(record(), record(block=101)) == []
    assert reasons(record(), record(block=100)) == []


def test_a_lower_block_is_refused_unless_allowed():
    assert reasons(record(block=100), record(block=99)) == [(
        "block",
        "the payments were read at block 99, below block 100 applied last time: the node behind "
        "https://rpc.example.org is stale or lagging, and planning from it could remove or restore pods on old "
        "balances. Point provider.payments.rpcUrl at a synced node. If the lower block is expected, run once with "
        "`pulumi config set --path provider.allowBlockRegression true`, then remove the flag.",
    )]
    assert reasons(record(block=100), record(block=99, allowBlockRegression=True)) == []


def test_another_chain_is_refused():
    assert [p for p, _ in reasons(record(chain_id=1), record(chain_id=5))] == ["chainId"]


def test_more_exhausted_pods_than_max_removals_are_refused():
    news = record(statuses={"a": "exhausted", "b": "exhausted"}, maxRemovals=1)
    assert reasons(record(), news) == [(
        "pods",
        "2 funded pod(s) would be removed as exhausted in one run (a, b), more than provider.maxRemovals=1 allows. "
        "A wrong contract or provider address reads every channel as empty. If the channels really ran dry, run once "
        "with `pulumi config set --path provider.maxRemovals 2`, then set it back; only their Deployments and scalers "
        "go, namespaces, volumes and Secrets stay.",
    )]
    assert reasons(record(), record(statuses={"a": "exhausted", "b": "funded"}, maxRemovals=1)) == []


def test_a_pod_exhausted_already_or_new_and_unfunded_does_not_count():
    olds = record(statuses={"a": "exhausted", "b": "funded"})
    assert reasons(olds, record(statuses={"a": "exhausted", "b": "funded", "c": "exhausted"})) == []


def test_the_record_is_never_replaced_and_keeps_its_inputs():
    provider = PaymentStateProvider()
    diff = provider.diff("paymentstate", record(), record(block=101))
    assert diff.changes and diff.replaces == []
    outs = provider.create(record(statuses={"a": "funded", "b": "exhausted"})).outs
    assert outs["block"] == 100 and (outs["fundedCount"], outs["exhaustedCount"]) == (1, 1)
    check = provider.check(record(), record(block=1))
    assert [f.property for f in check.failures] == ["block"]
