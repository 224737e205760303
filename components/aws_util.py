"""AWS wiring shared by the EKS add-ons: roles for EKS Pod Identity, and the account facts
their IAM documents need."""

from __future__ import annotations

from typing import Any

import pulumi
import pulumi_aws as aws

from components.cluster_builder import NODE_MANAGED_POLICIES, managed_policy_arn, pod_identity_trust_policy, trust_policy


def pod_identity_role(prefix: str, *, cluster_name: str, cluster: Any, namespace: str, service_account: str,
                      tags: dict, opts: pulumi.ResourceOptions) -> tuple[aws.iam.Role, aws.eks.PodIdentityAssociation]:
    """A role that only pods of `namespace/service_account` in this cluster can assume.

    The association waits for the cluster; the caller attaches permissions to the role.
    """
    role = aws.iam.Role(f"{prefix}-role", assume_role_policy=pod_identity_trust_policy(), tags=tags, opts=opts)
    association = aws.eks.PodIdentityAssociation(
        f"{prefix}-identity",
        cluster_name=cluster_name,
        namespace=namespace,
        service_account=service_account,
        role_arn=role.arn,
        tags=tags,
        opts=pulumi.ResourceOptions.merge(opts, pulumi.ResourceOptions(depends_on=[cluster])),
    )
    return role, association


def account_and_partition(provider: Any) -> tuple[pulumi.Output[str], pulumi.Output[str]]:
    invoke = pulumi.InvokeOutputOptions(provider=provider)
    return aws.get_caller_identity_output(opts=invoke).account_id, aws.get_partition_output(opts=invoke).partition


def role_with_managed_policies(prefix: str, trust: str, policies: tuple[str, ...], partition: Any, tags: dict,
                               opts: pulumi.ResourceOptions) -> tuple[aws.iam.Role, list[aws.iam.RolePolicyAttachment]]:
    """A role and one attachment per AWS managed policy (by name, in the account's partition).
    Attachments rather than the role's deprecated managed_policy_arns."""
    role = aws.iam.Role(f"{prefix}-role", assume_role_policy=trust, tags=tags, opts=opts)
    attachments = [
        aws.iam.RolePolicyAttachment(
            f"{prefix}-{policy.rsplit('/', 1)[-1]}",
            role=role.name,
            policy_arn=pulumi.Output.from_input(partition).apply(lambda p, n=policy: managed_policy_arn(p, n)),
            opts=opts,
        )
        for policy in policies
    ]
    return role, attachments


def node_role(prefix: str, partition: Any, tags: dict, opts: pulumi.ResourceOptions):
    """The role EC2 instances join the cluster with."""
    return role_with_managed_policies(prefix, trust_policy("ec2.amazonaws.com"), NODE_MANAGED_POLICIES, partition, tags, opts)
