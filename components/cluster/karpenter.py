"""Karpenter on EKS: IAM through EKS Pod Identity, the node role and its EC2_LINUX access
entry, the SQS interruption queue fed by EventBridge, the pinned charts from the OCI
registry, the EC2NodeClass and two NodePools (components/cluster/karpenter_builder.py says why two).

With Karpenter the system nodes carry CriticalAddonsOnly, so ingress, monitoring and every
chain daemon can only run on nodes Karpenter launches: `workload_dependencies` is what
they wait for on a first `pulumi up`, or their releases would time out with nothing to run on.
"""

from __future__ import annotations

import json
from typing import Optional

import pulumi
import pulumi_aws as aws
import pulumi_kubernetes as k8s

from components.cluster import karpenter_builder as kb
from components.cluster.aws_util import node_role as aws_node_role
from components.cluster.aws_util import pod_identity_role
from components.cluster.cluster import EksInfo
from components.kube.k8s_util import custom_resource_args, helm_release
from pegasus import names
from pegasus.config import KarpenterSettings


class Karpenter(pulumi.ComponentResource):
    queue_name: pulumi.Output[str]
    workload_dependencies: list[pulumi.Resource]
    """The EC2NodeClass and both NodePools: once they exist, pods that need a node can get one."""

    def __init__(self, name: str, settings: KarpenterSettings, eks: EksInfo, k8s_provider: k8s.Provider,
                 tags: dict[str, str], *, charts_dir: Optional[str] = None, opts: Optional[pulumi.ResourceOptions] = None):
        super().__init__("pegasus:karpenter:Karpenter", name, None, opts)
        cluster_name = eks.cluster_name
        aws_opts = pulumi.ResourceOptions(parent=self, provider=eks.aws_provider)
        after_cluster = pulumi.ResourceOptions(parent=self, provider=eks.aws_provider, depends_on=[eks.cluster])
        account = eks.account

        node_role, node_policies = aws_node_role(f"{name}-node", account, tags, aws_opts)
        # EKS maps EC2_LINUX entries to system:nodes, so Karpenter's nodes can join.
        aws.eks.AccessEntry(
            f"{name}-node-access",
            cluster_name=cluster_name,
            principal_arn=node_role.arn,
            type="EC2_LINUX",
            tags=tags,
            opts=after_cluster,
        )

        queue = aws.sqs.Queue(
            f"{name}-interruption",
            name=f"{cluster_name}-karpenter",
            message_retention_seconds=300,
            sqs_managed_sse_enabled=True,
            tags=tags,
            opts=aws_opts,
        )
        aws.sqs.QueuePolicy(f"{name}-interruption", queue_url=queue.id, policy=queue.arn.apply(kb.queue_policy), opts=aws_opts)
        for rule, pattern in kb.INTERRUPTION_RULES.items():
            event_rule = aws.cloudwatch.EventRule(
                f"{name}-{rule}",
                description=f"Karpenter interruption handling for {cluster_name}: {rule}",
                event_pattern=json.dumps(pattern),
                tags=tags,
                opts=aws_opts,
            )
            aws.cloudwatch.EventTarget(f"{name}-{rule}", rule=event_rule.name, arn=queue.arn, opts=aws_opts)

        controller_role, identity = pod_identity_role(
            f"{name}-controller", account=account, cluster_name=cluster_name, cluster=eks.cluster,
            namespace=names.KARPENTER_NAMESPACE, service_account=names.KARPENTER_SERVICE_ACCOUNT, tags=tags, opts=aws_opts,
        )
        documents = pulumi.Output.all(account.partition, account.account_id, node_role.arn, queue.arn).apply(
            lambda a: kb.controller_policies(
                partition=a[0], region=eks.region, account_id=a[1], cluster_name=cluster_name,
                node_role_arn=a[2], queue_arn=a[3],
            )
        )
        attachments = []
        for policy_name, short in kb.CONTROLLER_POLICIES.items():
            policy = aws.iam.Policy(
                f"{name}-{short}-policy",
                description=f"Karpenter {kb.CHART_VERSION} controller: {policy_name} for {cluster_name}",
                policy=documents.apply(lambda d, n=policy_name: d[n]),
                tags=tags,
                opts=aws_opts,
            )
            attachments.append(aws.iam.RolePolicyAttachment(
                f"{name}-{short}", role=controller_role.name, policy_arn=policy.arn, opts=aws_opts,
            ))

        k8s_opts = pulumi.ResourceOptions(parent=self, provider=k8s_provider, depends_on=[eks.node_group])
        crds = helm_release(f"{name}-crd", kb.CRD_CHART, names.KARPENTER_NAMESPACE, {}, k8s_opts, local_dir=charts_dir)
        release = helm_release(
            f"{name}-release", kb.CHART, names.KARPENTER_NAMESPACE,
            queue.name.apply(lambda q: kb.chart_values(cluster_name, q, eks.region)),
            # The agent hands the controller its credentials; without it the pods start blind.
            pulumi.ResourceOptions.merge(k8s_opts, pulumi.ResourceOptions(
                depends_on=[crds, identity, *attachments, eks.pod_identity_agent])),
            local_dir=charts_dir,
            skip_crds=True,
        )
        # Nodes launched for a NodePool must find their role's policies attached.
        after_release = pulumi.ResourceOptions.merge(k8s_opts, pulumi.ResourceOptions(depends_on=[release, *node_policies]))
        node_class = kb.ec2_node_class(settings, cluster_name, node_role.name, eks.given_subnet_ids)
        self.workload_dependencies = [
            k8s.apiextensions.CustomResource(f"{name}-node-class", **custom_resource_args(node_class), opts=after_release),
            k8s.apiextensions.CustomResource(f"{name}-node-pool", **custom_resource_args(kb.node_pool(settings)),
                                             opts=after_release),
            k8s.apiextensions.CustomResource(f"{name}-signer-pool", **custom_resource_args(kb.signer_node_pool(settings)),
                                             opts=after_release),
        ]
        self.queue_name = queue.name
        self.register_outputs({"queue_name": self.queue_name})
