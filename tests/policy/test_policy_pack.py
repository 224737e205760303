"""The pack as a whole: its roster, `evaluate()`, and parity with the real analyzer."""

import ast
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from google.protobuf import struct_pb2
from pulumi.runtime import proto
from pulumi_policy import (
    EnforcementLevel,
    Policy,
    ResourceValidationPolicy,
    StackValidationPolicy,
)
from pulumi_policy.policy import _PolicyAnalyzerServicer
from pulumi_policy.proxy import UNKNOWN_STRING_VALUE

import policy.policies as pack
from policy.policies import ALL_POLICIES, PACK_ENFORCEMENT_LEVEL, Violation, evaluate, resolve_config
from policy.policies._engine import _check_type, run_policies
from tests.policy import fixtures as f

ROOT = Path(__file__).resolve().parents[2]
KEBAB = re.compile(r"^pegasus(-[a-z0-9]+)+$")

ROSTER = {
    "pegasus-chain-data-volumes-protected": ("mandatory", StackValidationPolicy),
    "pegasus-chain-data-no-claim-templates": ("mandatory", ResourceValidationPolicy),
    "pegasus-signers-single-instance": ("mandatory", ResourceValidationPolicy),
    "pegasus-no-public-internal-ports": ("mandatory", ResourceValidationPolicy),
    "pegasus-nlb-listener-limit": ("mandatory", ResourceValidationPolicy),
    "pegasus-container-hygiene": ("advisory", ResourceValidationPolicy),
    "pegasus-no-plaintext-key-material": ("mandatory", ResourceValidationPolicy),
    "pegasus-clusters-hardened": ("mandatory", ResourceValidationPolicy),
    "pegasus-volumes-encrypted": ("mandatory", ResourceValidationPolicy),
    "pegasus-buckets-not-public": ("mandatory", ResourceValidationPolicy),
    "pegasus-unique-signer-keys": ("mandatory", StackValidationPolicy),
    "pegasus-karpenter-ami-pinned": ("advisory", ResourceValidationPolicy),
    "pegasus-signer-nodes-never-expire": ("mandatory", StackValidationPolicy),
    "pegasus-tenant-isolation": ("mandatory", StackValidationPolicy),
    "pegasus-no-cluster-admin": ("mandatory", ResourceValidationPolicy),
    "pegasus-unique-producer-keys": ("mandatory", StackValidationPolicy),
    "pegasus-imdsv2-required": ("mandatory", ResourceValidationPolicy),
    "pegasus-ssh-not-open-to-the-internet": ("mandatory", ResourceValidationPolicy),
    "pegasus-capacity-writer-scoped": ("mandatory", ResourceValidationPolicy),
}


# --- roster and metadata ----------------------------------------------------------------


def test_all_policies_come_from_the_package_not_the_entry_point():
    assert "policy.__main__" not in sys.modules
    assert ALL_POLICIES and all(isinstance(p, Policy) for p in ALL_POLICIES)


def test_roster_names_levels_and_kinds():
    assert {p.name: (p.enforcement_level.value, type(p)) for p in ALL_POLICIES} == ROSTER


@pytest.mark.parametrize("policy", ALL_POLICIES, ids=lambda p: p.name)
def test_policy_metadata(policy):
    assert KEBAB.match(policy.name)
    assert len(policy.description) > 40 and policy.description.endswith(".")
    assert policy.enforcement_level in (EnforcementLevel.MANDATORY, EnforcementLevel.ADVISORY)


def test_policy_names_are_unique():
    names = [p.name for p in ALL_POLICIES]
    assert len(names) == len(set(names))


@pytest.mark.parametrize("policy", [p for p in ALL_POLICIES if p.config_schema], ids=lambda p: p.name)
def test_config_schema_properties_are_documented_and_defaults_fit_their_types(policy):
    for key, spec in policy.config_schema.properties.items():
        assert spec.get("description"), key
        assert "default" in spec, key
        _check_type(spec["default"], spec, f"{policy.name}.{key}")


def test_chain_data_description_admits_retain_on_delete_is_invisible():
    assert "retainOnDelete" in pack.chain_data_volumes.POLICY.description


def test_entry_point_only_assembles_the_pack():
    tree = ast.parse((ROOT / "policy" / "__main__.py").read_text())
    calls = [n for n in tree.body if isinstance(n, ast.Expr) and isinstance(n.value, ast.Call)]
    assert len(calls) == 1 and calls[0].value.func.id == "PolicyPack"
    keywords = {k.arg: k.value for k in calls[0].value.keywords}
    assert keywords["policies"].id == "ALL_POLICIES"
    assert keywords["name"].id == "PACK_NAME" and pack.PACK_NAME == "pegasus"
    assert keywords["enforcement_level"].id == "PACK_ENFORCEMENT_LEVEL"


def test_pack_files_exist_with_bounded_requirements():
    requirements = (ROOT / "policy" / "requirements.txt").read_text().split()
    assert requirements == ["pulumi-policy>=1.21,<2", "pulumi>=3.231,<4"]
    manifest = (ROOT / "policy" / "PulumiPolicy.yaml").read_text()
    assert "name: python" in manifest and "description:" in manifest


# --- evaluate(): config -----------------------------------------------------------------


def shard(entries):
    props = f.shard_service()
    props["spec"]["ports"] = [{"name": f"p2p-{i}", "port": 1025.0 + i, "targetPort": 20000.0 + i} for i in range(entries)]
    return f.resource(f.SERVICE, props, "shard")


def latest_pod():
    props = f.pod()
    props["spec"]["containers"][0]["image"] = "sagaxyz/sagaos:latest"
    return f.resource(f.POD, props, "pod")


LATEST = "container 'chainlet' image 'sagaxyz/sagaos:latest' is not pinned; use an explicit version tag or an @sha256 digest"


def too_many(count, limit):
    return (
        f"spec.ports has {count} entries, each an NLB listener, above the limit of {limit}; "
        "spread the ports over more LoadBalancer Services (a smaller ingress.shardSize)"
    )


def test_evaluate_reports_with_the_policies_own_levels():
    assert evaluate([shard(51), latest_pod()]) == [
        Violation("pegasus-nlb-listener-limit", "mandatory", f.urn(f.SERVICE, "shard"), too_many(51, 50)),
        Violation("pegasus-container-hygiene", "advisory", f.urn(f.POD, "pod"), LATEST),
    ]


def test_evaluate_passes_policy_properties():
    config = {"pegasus-nlb-listener-limit": {"maxListeners": 10}}
    assert evaluate([shard(11)], config) == [
        Violation("pegasus-nlb-listener-limit", "mandatory", f.urn(f.SERVICE, "shard"), too_many(11, 10))
    ]
    assert evaluate([shard(11)]) == []


@pytest.mark.parametrize(
    "config",
    [
        {"pegasus-container-hygiene": "disabled"},
        {"pegasus-container-hygiene": {"enforcementLevel": "disabled"}},
        {"all": "disabled"},
        {"all": {"enforcementLevel": "disabled"}},
    ],
)
def test_disabled_policies_do_not_run(config):
    assert evaluate([latest_pod()], config) == []


def test_all_sets_every_level_and_a_policy_entry_overrides_it():
    config = {"all": "advisory", "pegasus-container-hygiene": "mandatory"}
    assert [(v.policy_name, v.enforcement) for v in evaluate([shard(51), latest_pod()], config)] == [
        ("pegasus-nlb-listener-limit", "advisory"),
        ("pegasus-container-hygiene", "mandatory"),
    ]


def test_a_policy_entry_can_set_level_and_properties_together():
    config = {"pegasus-nlb-listener-limit": {"enforcementLevel": "advisory", "maxListeners": 10}}
    assert [(v.enforcement, v.message) for v in evaluate([shard(11)], config)] == [("advisory", too_many(11, 10))]


def test_remediate_is_reported_as_mandatory():
    assert [v.enforcement for v in evaluate([latest_pod()], {"pegasus-container-hygiene": "remediate"})] == ["mandatory"]


@pytest.mark.parametrize(
    "config, message",
    [
        ({"all": "off"}, "policy config all: enforcement level 'off' is not one of advisory, mandatory, remediate, disabled"),
        (
            {"pegasus-nlb-listener-limit": {"maxListeners": "ten"}},
            "policy config pegasus-nlb-listener-limit.maxListeners: expected integer, got 'ten'",
        ),
        (
            {"pegasus-no-public-internal-ports": {"allowedPorts": [26657, "rpc"]}},
            "policy config pegasus-no-public-internal-ports.allowedPorts[1]: expected integer, got 'rpc'",
        ),
        ({"pegasus-container-hygiene": 3}, "policy config pegasus-container-hygiene: expected an enforcement level or an object"),
    ],
)
def test_bad_config_is_refused_with_a_clear_message(config, message):
    with pytest.raises(ValueError) as error:
        evaluate([], config)
    assert str(error.value) == message


def test_unknown_policies_and_properties_are_ignored_like_the_cli_does():
    config = {"pegasus-typo": "disabled", "pegasus-nlb-listener-limit": {"maxListener": 10}}
    assert [v.message for v in evaluate([shard(51)], config)] == [too_many(51, 50)]


def test_resolve_config_fills_schema_defaults():
    settings = resolve_config(ALL_POLICIES, {"pegasus-no-public-internal-ports": {"allowedPorts": [3000]}}, PACK_ENFORCEMENT_LEVEL)
    assert settings["pegasus-no-public-internal-ports"].config == {"allowedPorts": [3000], "allowedServices": []}
    assert settings["pegasus-nlb-listener-limit"].config == {"maxListeners": 50, "maxSecurityGroupRules": 60}
    assert settings["pegasus-container-hygiene"].level == "advisory"


# --- evaluate(): resources --------------------------------------------------------------


def test_golden_stack_is_clean():
    assert evaluate(f.golden_stack()) == []


def test_protect_reaches_stack_policies_and_name_defaults_to_the_urn():
    claim = {"urn": f.urn(f.PVC, "data"), "type": f.PVC, "props": f.pvc()}
    [violation] = evaluate([claim])
    assert (violation.policy_name, violation.urn) == ("pegasus-chain-data-volumes-protected", claim["urn"])
    assert evaluate([{**claim, "protect": True}]) == []


def test_secret_wrapped_values_are_judged_like_the_analyzer_does():
    # A Pulumi secret still lands in the manifest as a plain env value.
    props = f.pod()
    secret = {"4dabf18193072939515e22adb298388d": "1b47061264138c4ac30d75fd1eb44270", "value": "hunter2"}
    props["spec"]["containers"][0]["env"].append({"name": "KEY_PASSWORD", "value": secret})
    assert [v.message for v in evaluate([f.resource(f.POD, props)])] == [
        "container 'chainlet' env KEY_PASSWORD has a plain value; reference a Secret through valueFrom.secretKeyRef instead"
    ]


@pytest.mark.parametrize(
    "resources, message",
    [
        ([{"type": f.POD, "props": {}}], "resources[0] must be a mapping with string 'urn' and 'type'"),
        ([{"urn": "u", "props": {}}], "resources[0] must be a mapping with string 'urn' and 'type'"),
        ([{"urn": "u", "type": f.POD, "props": []}], "resources[0] (u): 'props' must be a mapping"),
        ([{"urn": "u", "type": f.PVC, "protect": "false"}], "resources[0] (u): 'protect' must be a bool, not 'false'"),
    ],
)
def test_malformed_resources_are_refused(resources, message):
    with pytest.raises(ValueError) as error:
        evaluate(resources)
    assert str(error.value) == message


def test_not_applicable_and_unknown_policies_are_skipped_keeping_earlier_reports():
    def not_applicable(args, report):
        report("before not_applicable")
        args.not_applicable("no")

    def unknown(args, report):
        args.props["spec"]  # raises UnknownValueError

    def fine(args, report):
        report("fine")

    def stack_not_applicable(args, report):
        args.not_applicable()

    policies = [
        ResourceValidationPolicy("t-not-applicable", "Not applicable.", not_applicable, EnforcementLevel.MANDATORY),
        ResourceValidationPolicy("t-unknown", "Unknown.", unknown, EnforcementLevel.MANDATORY),
        ResourceValidationPolicy("t-fine", "Fine.", fine, EnforcementLevel.ADVISORY),
        StackValidationPolicy("t-stack", "Stack.", stack_not_applicable, EnforcementLevel.MANDATORY),
    ]
    resources = [{"urn": "u", "type": f.POD, "props": {"spec": UNKNOWN_STRING_VALUE}}]
    assert run_policies(policies, resources) == [
        Violation("t-not-applicable", "mandatory", "u", "before not_applicable"),
        Violation("t-fine", "advisory", "u", "fine"),
    ]


# --- parity with the real analyzer ------------------------------------------------------


def bad_stack():
    """One resource breaking each policy, plus the golden stack."""
    sts = f.stateful_set()
    sts["spec"]["replicas"] = 2.0
    sts["spec"]["volumeClaimTemplates"] = [{"metadata": {"name": "data"}}]
    dep = f.deployment()
    dep["metadata"]["namespace"] = "saga-slingshot"
    del dep["spec"]["strategy"]
    storage_class = f.storage_class()
    storage_class["reclaimPolicy"] = "Delete"
    del storage_class["parameters"]["encrypted"]
    service = shard(51)["props"]
    service["spec"]["ports"][0]["name"] = "rpc"
    pod = f.pod()
    pod["spec"]["containers"][0]["image"] = "sagaxyz/sagaos:latest"
    pod["spec"]["containers"][0]["env"].append({"name": "MNEMONIC", "value": "x"})
    pod["spec"]["containers"][0]["env"].append({"name": "HOST", "value": UNKNOWN_STRING_VALUE})
    eks = f.aws_eks_cluster()
    del eks["vpcConfig"]["publicAccessCidrs"]
    bucket = f.s3_bucket()
    bucket["acl"] = "public-read"
    node_class = f.ec2_node_class()
    node_class["spec"]["amiSelectorTerms"] = [{"alias": "al2023@latest"}]
    expiring = f.node_pool()
    expiring["spec"]["template"]["spec"]["expireAfter"] = "720h"
    return f.golden_stack() + [
        f.resource(f.NODE_POOL, expiring, "expiring-pool"),
        f.resource(f.PVC, f.pvc(), "unprotected", protect=False),
        f.resource(f.STORAGE_CLASS, storage_class, "delete-class"),
        f.resource(f.STATEFUL_SET, sts, "sts"),
        f.resource(f.DEPLOYMENT, dep, "dep"),
        f.resource(f.SERVICE, service, "shard"),
        f.resource(f.POD, pod, "pod"),
        f.resource(f.AWS_EKS, eks, "eks"),
        f.resource(f.S3_BUCKET, bucket, "bucket"),
        f.resource(f.EC2_NODE_CLASS, node_class, "node-class"),
        # provider blueprint: a tenant namespace with no fence, and a cluster-admin binding
        f.resource("kubernetes:core/v1:Namespace",
                   {"metadata": {"name": "tpod-x", "labels": {"coop.comrade/trusted-pods-namespace": "true"}}}, "tenant"),
        f.resource("kubernetes:rbac.authorization.k8s.io/v1:ClusterRoleBinding",
                   {"metadata": {"name": "admin"}, "roleRef": {"kind": "ClusterRole", "name": "cluster-admin"}}, "admin"),
        *[f.resource("kubernetes:external-secrets.io/v1:ExternalSecret", {
            "apiVersion": "external-secrets.io/v1", "kind": "ExternalSecret",
            "metadata": {"name": n, "namespace": "testnet-qa-7", "labels": {"pegasus.saga.xyz/role": "producer"}},
            "spec": {"dataFrom": [{"extract": {"key": "qa-7/whale-1"}}]}}, n) for n in ("whale-1-key", "whale-2-key")],
        # The fleet's policies (tests/policy/test_policy_fleet.py has their fixtures).
        f.resource(f.LAUNCH_TEMPLATE, {"metadataOptions": {"httpTokens": "optional"}}, "imdsv1-template"),
        f.resource("aws:ec2/securityGroup:SecurityGroup",
                   {"ingress": [{"protocol": "tcp", "fromPort": 22, "toPort": 22, "cidrBlocks": ["0.0.0.0/0"]}]}, "open-ssh"),
        f.resource("aws:iam/rolePolicy:RolePolicy", {"policy": '{"Statement": [{"Effect": "Allow", '
                   '"Action": "autoscaling:SetDesiredCapacity", "Resource": "*"}]}'}, "any-group-writer"),
    ]


def analyzer_violations(resources, config):
    """What the SDK's own analyzer servicer reports, configured the way the CLI configures it."""
    servicer = _PolicyAnalyzerServicer("pegasus", "0.1.0", ALL_POLICIES, PACK_ENFORCEMENT_LEVEL)
    levels = {"advisory": proto.ADVISORY, "mandatory": proto.MANDATORY, "disabled": proto.DISABLED}
    names = {v: k for k, v in levels.items()}
    request = proto.ConfigureAnalyzerRequest()
    for name, settings in resolve_config(ALL_POLICIES, config, PACK_ENFORCEMENT_LEVEL).items():
        request.policyConfig[name].enforcementLevel = levels[settings.level]
        request.policyConfig[name].properties.update(settings.config)
    servicer.Configure(request, None)

    def struct(props):
        message = struct_pb2.Struct()
        message.update(props)
        return message

    found = []

    def collect(response, default_urn):
        for d in response.diagnostics:
            message = d.message.split("\n", 1)[1]
            found.append(Violation(d.policyName, names[d.enforcementLevel], d.urn or default_urn, message))

    stack = []
    for r in resources:
        options = proto.AnalyzerResourceOptions(protect=r["protect"])
        request = proto.AnalyzeRequest(type=r["type"], properties=struct(r["props"]), urn=r["urn"], name=r["name"], options=options)
        collect(servicer.Analyze(request, None), r["urn"])
        stack.append(proto.AnalyzerResource(type=r["type"], properties=struct(r["props"]), urn=r["urn"], name=r["name"], options=options))
    collect(servicer.AnalyzeStack(proto.AnalyzeStackRequest(resources=stack), None), "")
    return found


@pytest.mark.parametrize(
    "config",
    [None, {"pegasus-nlb-listener-limit": {"maxListeners": 60}, "pegasus-container-hygiene": "disabled"}],
    ids=["defaults", "configured"],
)
def test_evaluate_matches_the_analyzer(config):
    ours = evaluate(bad_stack(), config)
    theirs = analyzer_violations(bad_stack(), config)
    assert sorted(ours, key=repr) == sorted(theirs, key=repr)
    expected = set(ROSTER) - {"pegasus-container-hygiene", "pegasus-nlb-listener-limit"} if config else set(ROSTER)
    assert {v.policy_name for v in ours} == expected


def test_pack_starts_as_pulumi_runs_it():
    """`pulumi preview --policy-pack policy` runs `python -m pulumi.policy <engine> policy/`:
    the pack directory, not the project, is on sys.path there."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    process = subprocess.Popen(
        [sys.executable, "-u", "-m", "pulumi.policy", "127.0.0.1:1", str(ROOT / "policy")],
        cwd="/", stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env,
    )
    try:
        port = process.stdout.readline().decode().strip()
        assert port.isdigit(), process.stderr.read1().decode() if process.poll() is not None else port
        import grpc
        from pulumi.runtime.proto import analyzer_pb2_grpc
        from google.protobuf import empty_pb2

        with grpc.insecure_channel(f"127.0.0.1:{port}") as channel:
            info = analyzer_pb2_grpc.AnalyzerStub(channel).GetAnalyzerInfo(empty_pb2.Empty(), timeout=10)
        assert info.name == "pegasus"
        assert sorted(p.name for p in info.policies) == sorted(ROSTER)
    finally:
        process.kill()
        process.wait(timeout=10)
