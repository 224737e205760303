"""The PKO Stack objects: compared as whole objects, and every one validated against PKO
v2.9.0's Stack CRD (schemas/crds/pulumi.com_stacks.yaml)."""

from __future__ import annotations

import pytest

from components.operator import pko_builder as pb
from components.operator.config import parse_operator
from pegasus.errors import InvalidName
from tests.operator.crd import errors

STACKS_CRD = "pulumi.com_stacks.yaml"


def settings(**extra):
    raw = {"enabled": True, "repo": "https://github.com/example/pegasus.git", "backend": "s3://pegasus-state",
           "secretsProvider": "passphrase",
           "env": {"PULUMI_CONFIG_PASSPHRASE": {"secret": "pulumi-secrets", "key": "passphrase"},
                   "AWS_ACCESS_KEY_ID": {"secret": "pulumi-backend", "key": "accessKeyId"}}}
    raw.update(extra)
    return parse_operator(raw)


def labels(name: str, role: str, shard: str | None = None) -> dict:
    out = {"app.kubernetes.io/name": "pulumi-stack", "app.kubernetes.io/instance": name,
           "app.kubernetes.io/component": "pulumi-stack", "app.kubernetes.io/part-of": "pegasus",
           "app.kubernetes.io/managed-by": "pulumi", "pegasus.saga.xyz/stack-role": role}
    if shard is not None:
        out["pegasus.saga.xyz/shard"] = shard
    return out


SPEC = {
    "projectRepo": "https://github.com/example/pegasus.git",
    "branch": "main",
    "backend": "s3://pegasus-state",
    "secretsProvider": "passphrase",
    "envRefs": {
        "AWS_ACCESS_KEY_ID": {"type": "Secret", "secret": {"name": "pulumi-backend", "key": "accessKeyId"}},
        "PULUMI_CONFIG_PASSPHRASE": {"type": "Secret", "secret": {"name": "pulumi-secrets", "key": "passphrase"}},
    },
    "serviceAccountName": "pulumi",
    "refresh": True,
    "continueResyncOnCommitMatch": True,
    "resyncFrequencySeconds": 600,
    "destroyOnFinalize": False,
}


def test_platform_and_shards_as_whole_objects():
    objs = pb.stack_objects(settings(), "prod", ["prod-shard-0", "prod-shard-1"])
    assert objs == [
        {"apiVersion": "pulumi.com/v1", "kind": "Stack",
         "metadata": {"name": "prod", "namespace": "pulumi-stacks", "labels": labels("prod", "platform"),
                      "annotations": {"pulumi.com/skipAwait": "true"}},
         "spec": {"stack": "prod", **SPEC}},
        *[{"apiVersion": "pulumi.com/v1", "kind": "Stack",
           "metadata": {"name": f"prod-shard-{i}", "namespace": "pulumi-stacks", "labels": labels(f"prod-shard-{i}", "shard", str(i)),
                        "annotations": {"pulumi.com/skipAwait": "true"}},
           "spec": {"stack": f"prod-shard-{i}", **SPEC,
                    "prerequisites": [{"name": "prod", "requirement": {"succeededWithinDuration": "1h"}}]}}
          for i in (0, 1)],
    ]


def test_commit_repo_dir_token_and_inline_config():
    obj = pb.stack_object(settings(branch=None, commit="0123456789abcdef0123456789abcdef01234567", repoDir="infra",
                                   repoToken={"secret": "git", "key": "token"}, refresh=False, platformMaxAge="15m"),
                          "Prod_EU-shard-3", platform="Prod_EU", config={"pegasus:chainlets": {"stacks": "sharded"}})
    spec = obj["spec"]
    assert obj["metadata"]["name"] == "prod-eu-shard-3"
    assert "branch" not in spec and spec["commit"] == "0123456789abcdef0123456789abcdef01234567"
    assert spec["repoDir"] == "infra"
    assert spec["gitAuth"] == {"accessToken": {"type": "Secret", "secret": {"name": "git", "key": "token"}}}
    assert spec["config"] == {"pegasus:chainlets": {"stacks": "sharded"}}
    assert spec["refresh"] is False
    assert spec["prerequisites"] == [{"name": "prod-eu", "requirement": {"succeededWithinDuration": "15m"}}]
    assert spec["stack"] == "Prod_EU-shard-3"  # the Pulumi stack keeps its own name


@pytest.mark.parametrize("objs", [
    pb.stack_objects(settings(), "prod", [f"prod-shard-{i}" for i in range(3)]),
    pb.stack_objects(settings(branch=None, commit="0" * 40, repoDir="x", repoToken={"secret": "g", "key": "t"},
                              secretsProvider="awskms://alias/x", env={}), "p", ["p-shard-0"], config={"a:b": 1, "a:c": {"d": [1]}}),
], ids=["branch", "commit-token-config"])
def test_every_built_stack_is_valid_against_the_crd(objs):
    for obj in objs:
        assert errors(obj, STACKS_CRD) == [], obj["metadata"]["name"]


def test_the_crd_check_can_fail():
    obj = pb.stack_object(settings(), "prod")
    misspelt = {**obj, "spec": {**obj["spec"], "destroyOnFinalise": False}}
    wrong_type = {**obj, "spec": {**obj["spec"], "resyncFrequencySeconds": "600"}}
    bad_ref = {**obj, "spec": {**obj["spec"], "envRefs": {"X": {"secret": {"name": "a", "key": "b"}}}}}
    assert errors(misspelt, STACKS_CRD) == ["spec: Additional properties are not allowed ('destroyOnFinalise' was unexpected)"]
    assert errors(wrong_type, STACKS_CRD) == ["spec.resyncFrequencySeconds: '600' is not of type 'integer'"]
    assert errors(bad_ref, STACKS_CRD) == ["spec.envRefs.X: 'type' is a required property"]


def test_deleting_a_stack_object_never_destroys_the_stack():
    for obj in pb.stack_objects(settings(), "prod", ["prod-shard-0"]):
        assert obj["spec"]["destroyOnFinalize"] is False


@pytest.mark.parametrize("platform, shards, message", [
    ("prod", ["staging-shard-0"], "'staging-shard-0' is not a shard stack of 'prod'; shard stacks are named prod-shard-0, prod-shard-1, ..."),
    ("prod", ["prod-shard-x"], "'prod-shard-x' is not a shard stack of 'prod'; shard stacks are named prod-shard-0, prod-shard-1, ..."),
    ("a" * 43, [], f"stack {'a' * 43!r} gives the Stack object name {'a' * 43!r}, which must be at most 42 lowercase letters, "
                   "digits and '-' (PKO names its workspace '<name>-workspace'); use a shorter stack name"),
    ("prod", ["prod-shard-1", "prod-shard-1"], "shard stack 'prod-shard-1' is listed twice"),
])
def test_bad_stack_names(platform, shards, message):
    with pytest.raises(InvalidName) as e:
        pb.stack_objects(settings(), platform, shards)
    assert str(e.value) == message
