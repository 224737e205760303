"""pegasus-unique-producer-keys: one key per block producer across every cluster."""

import copy

from policy.policies import unique_producer_keys
from tests.policy import fixtures as f
from tests.policy.harness import check_stack

POLICY = unique_producer_keys.POLICY
ES = unique_producer_keys.EXTERNAL_SECRET
FIX = "give every block producer its own key"


def producer(key_ref: str) -> dict:
    props = f.stateful_set()
    props["metadata"]["namespace"] = "testnet-qa-7"
    props["spec"]["template"]["metadata"].setdefault("annotations", {})[unique_producer_keys.KEY_REF_ANNOTATION] = key_ref
    return props


def external_secret(name: str, key: str, role: str = "producer") -> dict:
    return {
        "apiVersion": "external-secrets.io/v1", "kind": "ExternalSecret",
        "metadata": {"name": name, "namespace": "testnet-qa-7", "labels": {"pegasus.saga.xyz/role": role}},
        "spec": {"secretStoreRef": {"kind": "SecretStore", "name": "qa-7-keys"}, "target": {"name": name},
                 "dataFrom": [{"extract": {"key": key}}]},
    }


def golden() -> list[dict]:
    # Two regions: the same namespace in two clusters, each producer with its own key.
    return [
        f.resource(f.STATEFUL_SET, producer("qa-7/whale-1"), "use1-whale-1-workload"),
        f.resource(f.STATEFUL_SET, producer("qa-7/whale-2"), "euw1-whale-2-workload"),
        f.resource(ES, external_secret("whale-1-key", "qa-7/whale-1"), "use1-keys-whale-1-key"),
        f.resource(ES, external_secret("whale-2-key", "qa-7/whale-2"), "euw1-keys-whale-2-key"),
    ]


def test_golden_testnet_passes():
    assert check_stack(POLICY, golden()) == []


def test_two_producers_with_one_key_ref_are_reported():
    stack = golden()
    stack[1]["props"] = producer("qa-7/whale-1")
    a = f"StatefulSet 'testnet-qa-7/chainlet' (use1-whale-1-workload)"
    b = f"StatefulSet 'testnet-qa-7/chainlet' (euw1-whale-2-workload)"
    assert check_stack(POLICY, stack) == [
        (stack[0]["urn"], f"block producer {a} uses key 'qa-7/whale-1', as does {b}; {FIX}"),
        (stack[1]["urn"], f"block producer {b} uses key 'qa-7/whale-1', as does {a}; {FIX}"),
    ]


def test_two_producer_external_secrets_with_one_remote_key_are_reported():
    stack = golden()
    stack[3]["props"] = external_secret("whale-2-key", "qa-7/whale-1")
    a = "ExternalSecret 'testnet-qa-7/whale-1-key' (use1-keys-whale-1-key)"
    b = "ExternalSecret 'testnet-qa-7/whale-2-key' (euw1-keys-whale-2-key)"
    assert check_stack(POLICY, stack) == [
        (stack[2]["urn"], f"block producer {a} uses key 'qa-7/whale-1', as does {b}; {FIX}"),
        (stack[3]["urn"], f"block producer {b} uses key 'qa-7/whale-1', as does {a}; {FIX}"),
    ]


def test_remote_ref_data_entries_count_too():
    stack = golden()
    for r in stack[2:]:
        spec = r["props"]["spec"]
        spec["data"] = [{"secretKey": "key", "remoteRef": {"key": "qa-7/shared"}}]
        del spec["dataFrom"]
    assert len(check_stack(POLICY, stack)) == 2


def test_non_producers_may_share_a_remote_key():
    stack = golden()
    stack[2]["props"] = external_secret("pool-a-key", "qa-7/coordinator", role="coordinator")
    stack[3]["props"] = external_secret("pool-b-key", "qa-7/coordinator", role="coordinator")
    assert check_stack(POLICY, stack) == []
    unsigned = producer("qa-7/whale-1")
    unsigned["metadata"]["labels"] = {}
    unsigned["spec"]["template"]["metadata"]["labels"] = {}
    stack[1]["props"] = unsigned
    assert check_stack(POLICY, stack) == []


def test_the_planned_testnet_passes_and_a_shared_key_fails():
    from tests.conftest import example
    from tools.plan.check import violations

    plan = example("testnet-cloud")
    assert [v for v in violations(plan) if v.policy_name == POLICY.name] == []
    resources = [{"urn": r.urn, "type": r.type, "name": r.name, "props": copy.deepcopy(r.raw_inputs), "protect": r.options["protect"]}
                 for r in plan.resources]
    secrets = [r for r in resources if r["type"] == ES and r["props"]["metadata"]["labels"].get("pegasus.saga.xyz/role") == "producer"]
    secrets[1]["props"]["spec"]["dataFrom"][0]["extract"]["key"] = secrets[0]["props"]["spec"]["dataFrom"][0]["extract"]["key"]
    from policy.policies import evaluate

    assert [v.urn for v in evaluate(resources) if v.policy_name == POLICY.name] == [secrets[0]["urn"], secrets[1]["urn"]]
