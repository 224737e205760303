"""pegasus-signers-single-instance and pegasus-unique-signer-keys."""

import pytest

from policy.policies import signing_workloads, unique_signer_keys
from tests.policy import fixtures as f
from tests.policy.harness import check, check_stack

SINGLE = signing_workloads.POLICY
UNIQUE = unique_signer_keys.POLICY

SURGE = (
    "spec.strategy is RollingUpdate with maxSurge {}; "
    "set spec.strategy.type to Recreate so that the old pod stops before the new one starts"
)
REPLICAS = "spec.replicas is {} on a signer; set it to 1 (or 0), because two running copies of a validator key double-sign"


# --- single instance --------------------------------------------------------------------


@pytest.mark.parametrize("kind, make", [(f.DEPLOYMENT, f.deployment), (f.STATEFUL_SET, f.stateful_set)])
def test_golden_signers_pass(kind, make):
    assert check(SINGLE, kind, make()) == []


@pytest.mark.parametrize("kind, make", [(f.DEPLOYMENT, f.deployment), (f.STATEFUL_SET, f.stateful_set)])
def test_two_replicas_of_a_signer_are_reported(kind, make):
    props = make()
    props["spec"]["replicas"] = 2.0
    assert check(SINGLE, kind, props) == [REPLICAS.format(2)]


def test_zero_replicas_is_fine():
    props = f.stateful_set()
    props["spec"]["replicas"] = 0.0
    assert check(SINGLE, f.STATEFUL_SET, props) == []


def test_replicas_of_a_non_signer_are_not_judged():
    props = f.deployment()
    props["metadata"]["labels"] = {}
    props["spec"]["template"]["metadata"]["labels"] = {}
    props["spec"]["replicas"] = 3.0
    del props["spec"]["strategy"]
    assert check(SINGLE, f.DEPLOYMENT, props) == []


def test_signer_label_on_pod_template_alone_counts():
    props = f.deployment()
    props["metadata"]["labels"] = {}
    props["spec"]["replicas"] = 2.0
    assert check(SINGLE, f.DEPLOYMENT, props) == [REPLICAS.format(2)]


def test_default_strategy_surges_by_a_quarter():
    props = f.deployment()
    del props["spec"]["strategy"]
    assert check(SINGLE, f.DEPLOYMENT, props) == [SURGE.format("25% (the default) on a signer")]


def test_rolling_update_without_fields_surges_by_a_quarter():
    props = f.deployment()
    props["spec"]["strategy"] = {"type": "RollingUpdate"}
    assert check(SINGLE, f.DEPLOYMENT, props) == [SURGE.format("25% (the default) on a signer")]


@pytest.mark.parametrize("surge, shown", [(1.0, "1"), ("50%", "50%"), ("1", "1")])
def test_explicit_positive_surge_is_reported(surge, shown):
    props = f.deployment()
    props["spec"]["strategy"] = {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": surge, "maxUnavailable": 1.0}}
    assert check(SINGLE, f.DEPLOYMENT, props) == [SURGE.format(f"{shown} on a signer")]


@pytest.mark.parametrize("surge", [0.0, 0, "0%", "0"])
def test_zero_surge_stops_the_old_pod_first(surge):
    props = f.deployment()
    props["spec"]["strategy"] = {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": surge, "maxUnavailable": 1.0}}
    assert check(SINGLE, f.DEPLOYMENT, props) == []


def test_replicas_and_strategy_are_both_reported():
    props = f.deployment()
    props["spec"]["replicas"] = 2.0
    del props["spec"]["strategy"]
    assert check(SINGLE, f.DEPLOYMENT, props) == [REPLICAS.format(2), SURGE.format("25% (the default) on a signer")]


def test_statefulset_strategy_is_not_judged():
    # A StatefulSet rolling update deletes a pod before recreating it, so it never overlaps.
    props = f.stateful_set()
    props["spec"]["updateStrategy"] = {"type": "RollingUpdate"}
    assert check(SINGLE, f.STATEFUL_SET, props) == []


def test_signer_daemonset_is_reported():
    props = f.daemon_set()
    props["metadata"]["labels"][f.SIGNER] = "true"
    assert check(SINGLE, f.DAEMON_SET, props) == [
        "a signer must not be a DaemonSet, which runs one copy per node; "
        "run it as a StatefulSet or Deployment with spec.replicas 1"
    ]


def test_signer_replicaset_with_two_replicas_is_reported():
    props = f.replica_set()
    props["metadata"]["labels"][f.SIGNER] = "true"
    assert check(SINGLE, f.REPLICA_SET, props) == [REPLICAS.format(2)]


def test_signer_label_is_configurable():
    props = f.deployment()
    props["metadata"]["labels"] = {"example.com/signer": "true"}
    props["spec"]["template"]["metadata"]["labels"] = {}
    props["spec"]["replicas"] = 2.0
    assert check(SINGLE, f.DEPLOYMENT, props) == []
    assert check(SINGLE, f.DEPLOYMENT, props, {"signerLabel": "example.com/signer"}) == [REPLICAS.format(2)]


# --- unique keys ------------------------------------------------------------------------

STS_URN = f.urn(f.STATEFUL_SET, "a")
DEP_URN = f.urn(f.DEPLOYMENT, "b")


def shared(secret="saga-slingshot/chainlet-keys"):
    a = "signer StatefulSet 'saga-slingshot/chainlet'"
    b = "signer Deployment 'saga-slingshot/chainlet'"
    fix = "give every block producer its own key Secret"
    return [
        (STS_URN, f"{a} uses Secret '{secret}', as does {b}; {fix}"),
        (DEP_URN, f"{b} uses Secret '{secret}', as does {a}; {fix}"),
    ]


def deployment_in_same_namespace():
    props = f.deployment()
    props["metadata"]["namespace"] = "saga-slingshot"
    return props


def signers(sts=None, dep=None):
    return [f.resource(f.STATEFUL_SET, sts or f.stateful_set(), "a"), f.resource(f.DEPLOYMENT, dep or f.deployment(), "b")]


def only(props, keep):
    """Leave exactly one of the pod spec's Secret references in place: env, envFrom or volume."""
    spec = props["spec"]["template"]["spec"]
    for c in spec["containers"] + spec["initContainers"]:
        if keep != "env":
            c["env"] = [e for e in c.get("env", []) if "valueFrom" not in e]
        if keep != "envFrom":
            c.pop("envFrom", None)
    if keep != "volume":
        spec["volumes"] = [v for v in spec["volumes"] if "secret" not in v]
    return props


def test_signers_in_different_namespaces_have_different_secrets():
    assert check_stack(UNIQUE, signers()) == []


@pytest.mark.parametrize("keep", ["env", "envFrom", "volume"])
def test_a_secret_shared_through_any_reference_is_reported(keep):
    sts = only(f.stateful_set(), keep)
    dep = only(deployment_in_same_namespace(), keep)
    assert check_stack(UNIQUE, signers(sts, dep)) == shared()


def test_projected_secret_volumes_count():
    sts = only(f.stateful_set(), "none")
    dep = only(deployment_in_same_namespace(), "none")
    for props in (sts, dep):
        props["spec"]["template"]["spec"]["volumes"].append(
            {"name": "keys", "projected": {"sources": [{"secret": {"name": "chainlet-keys"}}]}}
        )
    assert check_stack(UNIQUE, signers(sts, dep)) == shared()


def test_different_secret_names_in_one_namespace_pass():
    sts = only(f.stateful_set(), "env")
    dep = only(deployment_in_same_namespace(), "env")
    dep["spec"]["template"]["spec"]["containers"][0]["env"][1]["valueFrom"]["secretKeyRef"]["name"] = "other-keys"
    assert check_stack(UNIQUE, signers(sts, dep)) == []


def test_non_signers_may_share_a_secret():
    dep = deployment_in_same_namespace()
    dep["metadata"]["labels"] = {}
    dep["spec"]["template"]["metadata"]["labels"] = {}
    assert check_stack(UNIQUE, signers(dep=dep)) == []


def test_allowed_shared_secrets_are_ignored():
    sts = only(f.stateful_set(), "volume")
    dep = only(deployment_in_same_namespace(), "volume")
    config = {"allowedSharedSecrets": ["saga-slingshot/chainlet-keys"]}
    assert check_stack(UNIQUE, signers(sts, dep), config) == []


def test_three_signers_each_name_the_other_two():
    third = f.stateful_set()
    third["metadata"]["name"] = "chainlet-b"
    resources = signers(dep=deployment_in_same_namespace()) + [f.resource(f.STATEFUL_SET, third, "c")]
    reported = check_stack(UNIQUE, resources)
    assert [urn for urn, _ in reported] == [STS_URN, DEP_URN, f.urn(f.STATEFUL_SET, "c")]
    assert reported[2][1] == (
        "signer StatefulSet 'saga-slingshot/chainlet-b' uses Secret 'saga-slingshot/chainlet-keys', "
        "as does signer StatefulSet 'saga-slingshot/chainlet', signer Deployment 'saga-slingshot/chainlet'; "
        "give every block producer its own key Secret"
    )
