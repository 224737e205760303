"""Unknown values (preview) never crash a policy and never produce a violation.

They reach a policy two ways: behind `unknown_checking_proxy`, where reading one raises
UnknownValueError (wrap=True), and raw, as the engine's sentinel strings (wrap=False). Both
must mean "cannot decide", for that check only: the other checks of the resource still run.
"""

import copy

import pytest
from pulumi_policy import ResourceValidationPolicy, StackValidationPolicy
from pulumi_policy.proxy import (
    UNKNOWN_ARRAY_VALUE,
    UNKNOWN_BOOLEAN_VALUE,
    UNKNOWN_NUMBER_VALUE,
    UNKNOWN_OBJECT_VALUE,
    UNKNOWN_STRING_VALUE,
)

from policy.policies import (
    ALL_POLICIES,
    chain_data_volumes,
    cluster_hardening,
    container_hygiene,
    evaluate,
    public_exposure,
    signing_workloads,
    unique_signer_keys,
)
from tests.policy import fixtures as f
from tests.policy.harness import check, check_stack

RESOURCE_POLICIES = [p for p in ALL_POLICIES if isinstance(p, ResourceValidationPolicy)]
STACK_POLICIES = [p for p in ALL_POLICIES if isinstance(p, StackValidationPolicy)]
BOTH = pytest.mark.parametrize("wrap", [True, False], ids=["proxied", "raw"])


def sentinel_for(value):
    if isinstance(value, bool):
        return UNKNOWN_BOOLEAN_VALUE
    if isinstance(value, (int, float)):
        return UNKNOWN_NUMBER_VALUE
    if isinstance(value, list):
        return UNKNOWN_ARRAY_VALUE
    if isinstance(value, dict):
        return UNKNOWN_OBJECT_VALUE
    return UNKNOWN_STRING_VALUE


def paths(value, prefix=()):
    """Every key and index path inside a fixture."""
    items = value.items() if isinstance(value, dict) else enumerate(value) if isinstance(value, list) else ()
    for key, child in items:
        yield prefix + (key,)
        yield from paths(child, prefix + (key,))


def with_unknown(props, path):
    props = copy.deepcopy(props)
    parent = props
    for key in path[:-1]:
        parent = parent[key]
    parent[path[-1]] = sentinel_for(parent[path[-1]])
    return props


# --- the sweep --------------------------------------------------------------------------


@BOTH
@pytest.mark.parametrize("kind", sorted(f.GOLDEN))
def test_any_unknown_field_of_a_golden_fixture_reports_nothing(kind, wrap):
    golden = f.GOLDEN[kind]()
    checked = 0
    for path in paths(golden):
        props = with_unknown(golden, path)
        for policy in RESOURCE_POLICIES:
            assert check(policy, kind, props, wrap=wrap) == [], (policy.name, path)
            checked += 1
    assert checked > 0


@BOTH
@pytest.mark.parametrize("kind", [f.PVC, f.STORAGE_CLASS, f.STATEFUL_SET, f.DEPLOYMENT, f.NODE_POOL])
def test_any_unknown_field_in_a_golden_stack_reports_nothing(kind, wrap):
    stack = [
        f.resource(f.PVC, f.pvc(), "data", protect=True),
        f.resource(f.STORAGE_CLASS, f.storage_class(), "class"),
        f.resource(f.STATEFUL_SET, f.stateful_set(), "a"),
        f.resource(f.DEPLOYMENT, f.deployment(), "b"),
        f.resource(f.NODE_POOL, f.node_pool(), "pool"),
    ]
    target = next(r for r in stack if r["type"] == kind)
    golden = target["props"]
    for path in paths(golden):
        target["props"] = with_unknown(golden, path)
        for policy in STACK_POLICIES:
            assert check_stack(policy, stack, wrap=wrap) == [], (policy.name, path)


@BOTH
def test_every_top_level_field_unknown_at_once_reports_nothing(wrap):
    for kind, make in f.GOLDEN.items():
        props = {field: sentinel_for(value) for field, value in make().items()}
        for policy in RESOURCE_POLICIES:
            assert check(policy, kind, props, wrap=wrap) == [], (policy.name, kind)


def test_evaluate_takes_raw_sentinels():
    props = f.deployment()
    props["spec"]["replicas"] = UNKNOWN_NUMBER_VALUE
    props["spec"]["template"]["spec"]["containers"][0]["image"] = UNKNOWN_STRING_VALUE
    assert evaluate([f.resource(f.DEPLOYMENT, props)]) == []


# --- an unknown hides only its own check ------------------------------------------------


@BOTH
def test_unknown_replicas_leave_the_strategy_check_running(wrap):
    props = f.deployment()
    props["spec"]["replicas"] = UNKNOWN_NUMBER_VALUE
    del props["spec"]["strategy"]
    assert check(signing_workloads.POLICY, f.DEPLOYMENT, props, wrap=wrap) == [
        "spec.strategy is RollingUpdate with maxSurge 25% (the default) on a signer; "
        "set spec.strategy.type to Recreate so that the old pod stops before the new one starts"
    ]


@BOTH
def test_unknown_max_surge_cannot_be_judged(wrap):
    props = f.deployment()
    props["spec"]["strategy"] = {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": UNKNOWN_STRING_VALUE}}
    assert check(signing_workloads.POLICY, f.DEPLOYMENT, props, wrap=wrap) == []


@BOTH
def test_unknown_image_leaves_the_other_container_checks_running(wrap):
    props = f.pod()
    container = props["spec"]["containers"][0]
    container["image"] = UNKNOWN_STRING_VALUE
    container["securityContext"]["privileged"] = True
    assert check(container_hygiene.POLICY, f.POD, props, wrap=wrap) == [
        "container 'chainlet' sets securityContext.privileged to true; "
        "remove it and add only the capabilities the process needs"
    ]


@BOTH
def test_unknown_container_leaves_its_siblings_checked(wrap):
    props = f.pod()
    bad = f.container("sidecar", "busybox")
    props["spec"]["containers"] = [UNKNOWN_OBJECT_VALUE, bad]
    assert check(container_hygiene.POLICY, f.POD, props, wrap=wrap) == [
        "container 'sidecar' image 'busybox' is not pinned; use an explicit version tag or an @sha256 digest"
    ]


@BOTH
def test_unknown_limit_values_count_as_set(wrap):
    props = f.pod()
    props["spec"]["containers"][0]["resources"]["limits"] = {"cpu": UNKNOWN_STRING_VALUE, "memory": UNKNOWN_STRING_VALUE}
    assert check(container_hygiene.POLICY, f.POD, props, wrap=wrap) == []


@BOTH
def test_unknown_port_entry_leaves_the_others_checked(wrap):
    props = f.spc_service()
    props["spec"]["ports"] = [UNKNOWN_OBJECT_VALUE, {"name": "rpc", "port": 26657.0, "targetPort": 26657.0}]
    assert check(public_exposure.POLICY, f.SERVICE, props, wrap=wrap) == [
        "spec.ports[1] port 26657 exposes CometBFT RPC on a LoadBalancer Service; serve it through a "
        "ClusterIP Service, or list the port in allowedPorts if it must be public"
    ]


@BOTH
def test_unknown_service_name_cannot_be_matched_against_allowed_services(wrap):
    props = f.spc_service()
    props["metadata"]["name"] = UNKNOWN_STRING_VALUE
    props["spec"]["ports"].append({"name": "rpc", "port": 26657.0, "targetPort": 26657.0})
    config = {"allowedServices": ["sagasrv-spc/spc"]}
    assert check(public_exposure.POLICY, f.SERVICE, props, config, wrap=wrap) == []


@BOTH
def test_one_unknown_cidr_with_a_known_open_one_is_still_open(wrap):
    props = f.aws_eks_cluster()
    props["vpcConfig"]["publicAccessCidrs"] = [UNKNOWN_STRING_VALUE, "0.0.0.0/0"]
    assert check(cluster_hardening.POLICY, f.AWS_EKS, props, wrap=wrap) == [
        "vpcConfig.publicAccessCidrs contains '0.0.0.0/0', so the public API endpoint is open to the internet; "
        "list the operator CIDRs in cluster.publicAccessCidrs, or leave it empty to keep the endpoint private "
        "(vpcConfig.endpointPublicAccess false)"
    ]


@BOTH
def test_unknown_cidrs_alone_are_not_empty(wrap):
    props = f.aws_eks_cluster()
    props["vpcConfig"]["publicAccessCidrs"] = [UNKNOWN_STRING_VALUE]
    assert check(cluster_hardening.POLICY, f.AWS_EKS, props, wrap=wrap) == []


@BOTH
def test_unknown_claim_labels_skip_only_that_claim(wrap):
    unknown = f.pvc()
    unknown["metadata"]["labels"] = UNKNOWN_OBJECT_VALUE
    stack = [
        f.resource(f.PVC, unknown, "unknown", protect=False),
        f.resource(f.PVC, f.pvc(), "data", protect=False),
    ]
    assert check_stack(chain_data_volumes.POLICY, stack, wrap=wrap) == [
        (
            f.urn(f.PVC, "data"),
            "PersistentVolumeClaim 'saga-slingshot/chainlet-data' holds chain data but is not protected; "
            "set the resource option protect=True (with retain_on_delete=True) on it",
        )
    ]


@BOTH
def test_unknown_namespaces_are_not_the_same_namespace(wrap):
    a, b = f.stateful_set(), f.deployment()
    a["metadata"]["namespace"] = UNKNOWN_STRING_VALUE
    b["metadata"]["namespace"] = UNKNOWN_STRING_VALUE
    stack = [f.resource(f.STATEFUL_SET, a, "a"), f.resource(f.DEPLOYMENT, b, "b")]
    assert check_stack(unique_signer_keys.POLICY, stack, wrap=wrap) == []
