"""A capacity writer (an agent's instance identity, a watcher) can change only its own group.

Design document 004 lets each VM, and a watcher function, set desired capacity. An identity
that may resize every group in the account turns one compromised P2P VM into a lever over
every fleet (scale them to zero, or to their maximum bill). So a grant of capacity writes is
scoped: on AWS by the `autoscaling:ResourceTag/...` condition (a group ARN holds a UUID not
known before creation), on GCP by an IAM condition naming the autoscaler, on Azure by a role
assignment scoped to the one resource, on Alibaba by the scaling group's ARN.
"""

from __future__ import annotations

import json
import re

from pulumi_policy import EnforcementLevel, ResourceValidationArgs, ResourceValidationPolicy

from . import _util as u

NAME = "pegasus-capacity-writer-scoped"

AWS_POLICY_TYPES = ("aws:iam/rolePolicy:RolePolicy", "aws:iam/policy:Policy")
GCP_MEMBER = "gcp:projects/iAMMember:IAMMember"
AZURE_ASSIGNMENT = "azure-native:authorization:RoleAssignment"
ALI_POLICY = "alicloud:ram/policy:Policy"

AWS_WRITES = re.compile(r"^autoscaling:(\*|Set.*|Update.*|PutScheduled.*|DeleteScheduled.*|Execute.*|Terminate.*)$", re.I)
ALI_WRITES = re.compile(r"^ess:(\*|Modify.*|Scale.*|Create.*|Delete.*|Execute.*)$", re.I)
# Built-in GCP roles that can update any autoscaler in the project.
GCP_BROAD = {"roles/owner", "roles/editor", "roles/compute.admin", "roles/compute.instanceAdmin", "roles/compute.instanceAdmin.v1"}
# Built-in Azure roles that can change a scale set or its autoscale setting.
AZURE_WRITERS = {
    "749f88d5-cbae-40b8-bcfc-e573ddc772fa": "Monitoring Contributor",
    "9980e02c-c2be-4d73-94e8-173b1dc7cf3c": "Virtual Machine Contributor",
    "b24988ac-6180-42a0-ab88-20f7382dd24c": "Contributor",
    "8e3af657-a8ff-443c-a75c-2fe8c4bcb635": "Owner",
}
BROAD_SCOPE = re.compile(r"^/(subscriptions/[^/]+(/resourceGroups/[^/]+)?)?/?$", re.I)


def _document(value):
    if isinstance(value, str):
        try:
            return json.loads(value)
        except ValueError:
            return None
    return value if u.is_mapping(value) else None


def _actions(statement) -> list[str]:
    action = statement.get("Action") or statement.get("action") or []
    return [action] if isinstance(action, str) else [a for a in action if isinstance(a, str)]


def _resources(statement) -> list[str]:
    resource = statement.get("Resource") or statement.get("resource") or []
    return [resource] if isinstance(resource, str) else [r for r in resource if isinstance(r, str)]


def _statements(doc) -> list:
    statements = doc.get("Statement") or []
    return [statements] if u.is_mapping(statements) else [s for s in statements if u.is_mapping(s)]


def _aws(props, report_violation) -> None:
    doc = _document(u.get(props, "policy"))
    if doc is None:
        return
    for i, st in enumerate(_statements(doc)):
        if st.get("Effect") != "Allow":
            continue
        writes = [a for a in _actions(st) if a == "*" or AWS_WRITES.match(a)]
        if not writes or any(r != "*" for r in _resources(st)):
            continue
        condition = json.dumps(st.get("Condition") or {})
        if "autoscaling:ResourceTag/" not in condition and "aws:ResourceTag/" not in condition:
            report_violation(
                f"Statement[{i}] allows {writes[0]} on every Auto Scaling group (Resource '*' without an "
                "autoscaling:ResourceTag condition); scope it to the writer's own group with a "
                "StringEquals condition on the group's pegasus-fleet-group tag"
            )


def _gcp(props, report_violation) -> None:
    role = u.get(props, "role")
    if not isinstance(role, str):
        return
    expression = u.get(props, "condition", "expression") or ""
    if role in GCP_BROAD or (role.startswith("projects/") and "/roles/" in role):
        if "resource.name" not in expression:
            report_violation(
                f"{role} is granted on the whole project without an IAM condition on resource.name; bind the "
                "capacity writer with a condition naming its own autoscaler"
            )


def _azure(props, report_violation) -> None:
    role = u.get(props, "roleDefinitionId")
    scope = u.get(props, "scope")
    if not isinstance(role, str) or not isinstance(scope, str):
        return
    name = AZURE_WRITERS.get(role.rsplit("/", 1)[-1].lower())
    if name and BROAD_SCOPE.match(scope):
        report_violation(
            f"{name} is assigned at {scope}, which covers every scale set there; scope the assignment to the "
            "group's own autoscale setting or scale set"
        )


def _alibaba(props, report_violation) -> None:
    doc = _document(u.get(props, "policyDocument"))
    if doc is None:
        return
    for i, st in enumerate(_statements(doc)):
        if st.get("Effect") != "Allow":
            continue
        writes = [a for a in _actions(st) if a == "*" or ALI_WRITES.match(a)]
        if writes and any(r == "*" or r.endswith(":scalinggroup/*") for r in _resources(st)):
            report_violation(
                f"Statement[{i}] allows {writes[0]} on every scaling group; name the writer's own group, "
                "acs:ess:<region>:*:scalinggroup/<id>"
            )


def validate(args: ResourceValidationArgs, report_violation) -> None:
    t = args.resource_type
    with u.undecided():
        if t in AWS_POLICY_TYPES:
            _aws(args.props, report_violation)
        elif t == GCP_MEMBER:
            _gcp(args.props, report_violation)
        elif t == AZURE_ASSIGNMENT:
            _azure(args.props, report_violation)
        elif t == ALI_POLICY:
            _alibaba(args.props, report_violation)


POLICY = ResourceValidationPolicy(
    name=NAME,
    description=(
        "Identities that may change desired capacity (AWS IAM policies, GCP project bindings, Azure role "
        "assignments, Alibaba RAM policies) are scoped to one autoscaled group."
    ),
    validate=u.skip_unknown(validate),
    enforcement_level=EnforcementLevel.MANDATORY,
)
