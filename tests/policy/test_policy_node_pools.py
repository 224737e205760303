"""pegasus-signer-nodes-never-expire: a NodePool a signer can land on never expires its nodes."""

from __future__ import annotations

import pytest
from pulumi_policy.proxy import UNKNOWN_STRING_VALUE

from policy.policies import signer_node_expiry
from tests.policy import fixtures as f
from tests.policy.harness import check_stack

POLICY = signer_node_expiry.POLICY
BOTH = pytest.mark.parametrize("wrap", [True, False], ids=["proxied", "raw"])
FIX = ("Karpenter drains an expired node whatever karpenter.sh/do-not-disrupt and disruption budgets say; set "
       "spec.template.spec.expireAfter to Never, or keep signers off this pool with a taint they do not tolerate")


def pool(expire="720h", name="general", labels=None, taints=None, requirements=None):
    props = f.node_pool()
    props["metadata"]["name"] = name
    spec = props["spec"]["template"]["spec"]
    if expire is None:
        del spec["expireAfter"]
    else:
        spec["expireAfter"] = expire
    if labels is not None:
        props["spec"]["template"]["metadata"]["labels"] = labels
    if taints is not None:
        spec["taints"] = taints
    if requirements is not None:
        spec["requirements"] = requirements
    return f.resource(f.NODE_POOL, props, name)


def signer(name="chainlet", node_selector=None, tolerations=None):
    props = f.stateful_set()
    props["metadata"]["name"] = name
    spec = props["spec"]["template"]["spec"]
    if node_selector is not None:
        spec["nodeSelector"] = node_selector
    if tolerations is not None:
        spec["tolerations"] = tolerations
    return f.resource(f.STATEFUL_SET, props, name)


def violation(expiry="720h", pool_name="general", workload="saga-slingshot/chainlet", more=""):
    return (f.urn(f.NODE_POOL, pool_name),
            f"NodePool '{pool_name}' can run signer StatefulSet '{workload}'{more} and expires its nodes after "
            f"{expiry}: {FIX}")


TAINT = {"key": "pegasus.saga.xyz/signer", "value": "true", "effect": "NoSchedule"}
TOLERATION = {"key": "pegasus.saga.xyz/signer", "operator": "Equal", "value": "true", "effect": "NoSchedule"}


@BOTH
def test_a_never_expiring_pool_may_run_signers(wrap):
    assert check_stack(POLICY, [pool("Never"), signer()], wrap=wrap) == []


@BOTH
def test_an_expiring_pool_a_signer_can_land_on_is_reported(wrap):
    assert check_stack(POLICY, [pool("720h"), signer()], wrap=wrap) == [violation()]


def test_an_unset_expiry_is_the_crds_thirty_days():
    assert check_stack(POLICY, [pool(None), signer()]) == [violation("720h (the default)")]


def test_one_report_per_pool_naming_the_first_signer():
    assert check_stack(POLICY, [pool(), signer("a"), signer("b"), signer("c")]) == [
        violation(workload="saga-slingshot/a", more=" and 2 more")]


def test_a_taint_the_signer_does_not_tolerate_keeps_it_off():
    assert check_stack(POLICY, [pool(taints=[TAINT]), signer()]) == []
    # PreferNoSchedule only discourages: the signer may still land there.
    soft = dict(TAINT, effect="PreferNoSchedule")
    assert check_stack(POLICY, [pool(taints=[soft]), signer()]) == [violation()]


@pytest.mark.parametrize("toleration", [
    TOLERATION,
    {"key": "pegasus.saga.xyz/signer", "operator": "Exists"},
    {"operator": "Exists"},  # tolerates every taint
])
def test_a_tolerated_taint_does_not(toleration):
    assert check_stack(POLICY, [pool(taints=[TAINT]), signer(tolerations=[toleration])]) == [violation()]


def test_a_toleration_for_another_value_or_effect_does_not_tolerate():
    for toleration in (dict(TOLERATION, value="false"), dict(TOLERATION, effect="NoExecute")):
        assert check_stack(POLICY, [pool(taints=[TAINT]), signer(tolerations=[toleration])]) == []


def test_a_node_selector_picks_pools_by_their_labels_name_and_requirements():
    signers_only = {"pegasus.saga.xyz/pool": "signers"}
    assert check_stack(POLICY, [pool(labels={"pegasus.saga.xyz/pool": "general"}), signer(node_selector=signers_only)]) == []
    assert check_stack(POLICY, [pool(labels=signers_only), signer(node_selector=signers_only)]) == [violation()]
    assert check_stack(POLICY, [pool(), signer(node_selector={"karpenter.sh/nodepool": "general"})]) == [violation()]
    assert check_stack(POLICY, [pool(), signer(node_selector={"karpenter.sh/nodepool": "signers"})]) == []
    # A label no node of the pool carries, and a value its requirements exclude.
    assert check_stack(POLICY, [pool(), signer(node_selector={"example.com/team": "chain"})]) == []
    spot = {"karpenter.sh/capacity-type": "spot"}
    assert check_stack(POLICY, [pool(), signer(node_selector=spot)]) == []
    excluded = [{"key": "karpenter.sh/capacity-type", "operator": "NotIn", "values": ["spot"]}]
    assert check_stack(POLICY, [pool(requirements=excluded), signer(node_selector=spot)]) == []
    # A well-known label the pool leaves open can be satisfied by some node of it.
    zone = {"topology.kubernetes.io/zone": "us-east-1a"}
    assert check_stack(POLICY, [pool(), signer(node_selector=zone)]) == [violation()]


def test_workloads_that_do_not_sign_are_not_judged():
    props = f.deployment()
    props["metadata"]["labels"] = {"app.kubernetes.io/name": "ingress-nginx"}
    props["spec"]["template"]["metadata"]["labels"] = {"app.kubernetes.io/name": "ingress-nginx"}
    assert check_stack(POLICY, [pool(), f.resource(f.DEPLOYMENT, props, "ingress")]) == []


@BOTH
def test_unknowns_skip_the_verdict_they_decide(wrap):
    assert check_stack(POLICY, [pool(UNKNOWN_STRING_VALUE), signer()], wrap=wrap) == []
    unknown_selector = signer(node_selector={"pegasus.saga.xyz/pool": UNKNOWN_STRING_VALUE})
    assert check_stack(POLICY, [pool(), unknown_selector], wrap=wrap) == []
    # Another signer that is decidable is still judged.
    assert check_stack(POLICY, [pool(), unknown_selector, signer("b")], wrap=wrap) == [
        violation(workload="saga-slingshot/b")]


def test_the_signer_label_is_configurable():
    props = f.stateful_set()
    props["metadata"]["labels"] = {"example.com/validator": "true"}
    props["spec"]["template"]["metadata"]["labels"] = {"example.com/validator": "true"}
    stack = [pool(), f.resource(f.STATEFUL_SET, props, "chainlet")]
    assert check_stack(POLICY, stack) == []
    assert check_stack(POLICY, stack, {"signerLabel": "example.com/validator"}) == [violation()]
