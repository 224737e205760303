"""The PaymentState guard (components/provider/paymentstate.py), called as the engine calls check."""

from __future__ import annotations

from components.provider.paymentstate import PaymentStateProvider, default_max_removals, guard_failures


def record(block=100, chain_id=1, statuses=None, **extra):
    statuses = statuses or {"a": "funded", "b": "funded"}
    return {"source": "evm", "rpcHost": "https://rpc.example.org", "snapshot": None, "chainId": chain_id,
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
        "with `pulumi config set --path provider.maxRemovals 2`, then remove it again; only their Deployments and scalers "
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


def test_unset_max_removals_lets_an_ordinary_exhaustion_through():
    # maxRemovals unset (None): one pod of two running dry is an ordinary run, no config change.
    assert reasons(record(), record(statuses={"a": "exhausted", "b": "funded"}, maxRemovals=None)) == []
    # The only funded pod running dry is allowed too: at least one.
    assert reasons(record(statuses={"a": "funded"}), record(statuses={"a": "exhausted"}, maxRemovals=None)) == []


def test_unset_max_removals_still_refuses_a_read_that_empties_every_channel():
    news = record(statuses={"a": "exhausted", "b": "exhausted"}, maxRemovals=None)
    assert reasons(record(), news) == [(
        "pods",
        "2 funded pod(s) would be removed as exhausted in one run (a, b), more than the default limit of 1 (a tenth of "
        "the 2 pods funded last run, at least one; provider.maxRemovals unset) allows. A wrong contract or provider "
        "address reads every channel as empty. If the channels really ran dry, run once with "
        "`pulumi config set --path provider.maxRemovals 2`, then remove it again; only their Deployments and scalers "
        "go, namespaces, volumes and Secrets stay.",
    )]


def test_the_default_limit_is_a_tenth_and_always_fewer_than_all():
    assert [default_max_removals(n) for n in (0, 1, 2, 9, 10, 19, 20, 105)] == [1, 1, 1, 1, 1, 1, 2, 10]
    assert all(default_max_removals(n) < n for n in range(2, 500))
    many = {f"p{i}": "funded" for i in range(30)}
    three_dry = {**many, "p0": "exhausted", "p1": "exhausted", "p2": "exhausted"}
    four_dry = {**three_dry, "p3": "exhausted"}
    assert reasons(record(statuses=many), record(statuses=three_dry, maxRemovals=None)) == []
    assert [p for p, _ in reasons(record(statuses=many), record(statuses=four_dry, maxRemovals=None))] == ["pods"]


def test_an_explicit_zero_still_refuses_any_removal():
    assert [p for p, _ in reasons(record(), record(statuses={"a": "exhausted", "b": "funded"}, maxRemovals=0))] == ["pods"]
