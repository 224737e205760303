"""AWS wiring shared by the EKS add-ons: roles for EKS Pod Identity, and the account facts
their IAM documents need."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_aws as aws

from components.cluster.cluster_builder import (
    NODE_MANAGED_POLICIES,
    cluster_arn,
    managed_policy_arn,
    node_trust_policy,
)
from components.cluster.cluster_builder import pod_identity_trust_policy


@dataclass(frozen=True)
class AwsAccount:
    """Where the stack deploys: every ARN and service principal is built from these."""

    account_id: pulumi.Output[str]
    partition: pulumi.Output[str]
    dns_suffix: pulumi.Output[str]
    region: str


def aws_account(provider: Any, region: str) -> AwsAccount:
    invoke = pulumi.InvokeOutputOptions(provider=provider)
    partition = aws.get_partition_output(opts=invoke)
    return AwsAccount(aws.get_caller_identity_output(opts=invoke).account_id, partition.partition,
                      partition.dns_suffix, region)


def pod_identity_role(prefix: str, *, account: AwsAccount, cluster_name: str, cluster: Any, namespace: str,
                      service_account: str, tags: dict,
                      opts: pulumi.ResourceOptions) -> tuple[aws.iam.Role, aws.eks.PodIdentityAssociation]:
    """A role that only pods of `namespace/service_account` in this cluster can assume (the
    trust policy says so, not just the association). The association waits for the
    cluster; the caller attaches permissions to the role."""
    role = pod_identity_only_role(prefix, account=account, cluster_name=cluster_name, namespace=namespace,
                                  service_account=service_account, tags=tags, opts=opts)
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


def pod_identity_only_role(prefix: str, *, account: AwsAccount, cluster_name: str, namespace: str,
                           service_account: str, tags: dict, opts: pulumi.ResourceOptions) -> aws.iam.Role:
    """The role alone, for an add-on that makes its own association (the EBS CSI driver)."""
    trust = pulumi.Output.all(account.partition, account.account_id).apply(
        lambda a: pod_identity_trust_policy(cluster_arn(a[0], account.region, a[1], cluster_name), cluster_name,
                                            namespace, service_account))
    return aws.iam.Role(f"{prefix}-role", assume_role_policy=trust, tags=tags, opts=opts)


def attach_managed_policies(prefix: str, role: aws.iam.Role, policies: tuple[str, ...], partition: Any,
                            opts: pulumi.ResourceOptions) -> list[aws.iam.RolePolicyAttachment]:
    """One attachment per AWS managed policy (by name, in the account's partition).
    Attachments rather than the role's deprecated managed_policy_arns."""
    return [
        aws.iam.RolePolicyAttachment(
            f"{prefix}-{policy.rsplit('/', 1)[-1]}",
            role=role.name,
            policy_arn=pulumi.Output.from_input(partition).apply(lambda p, n=policy: managed_policy_arn(p, n)),
            opts=opts,
        )
        for policy in policies
    ]


def node_role(prefix: str, account: AwsAccount, tags: dict, opts: pulumi.ResourceOptions):
    """The role EC2 instances join the cluster with."""
    role = aws.iam.Role(f"{prefix}-role", assume_role_policy=account.dns_suffix.apply(node_trust_policy),
                        tags=tags, opts=opts)
    return role, attach_managed_policies(prefix, role, NODE_MANAGED_POLICIES, account.partition, opts)
