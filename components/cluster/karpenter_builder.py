"""Pure builders for Karpenter 1.14.1 on EKS: IAM, the interruption queue, the chart values,
the two NodePools and their EC2NodeClass.

Two pools, because validators and everything else want opposite disruption rules:

- `signers` carries the chain node and the chainlets, and nothing else (a taint keeps other
  pods off). Its nodes never expire and are consolidated only when empty. Karpenter's
  disruption docs (v1.14.1, concepts/disruption.md): expiration is a forceful method that
  `karpenter.sh/do-not-disrupt` does not exclude and budgets do not limit; without a
  `terminationGracePeriod` a do-not-disrupt pod blocks the drain of an expired node forever
  (a tainted, half-drained node), and with one the validator is deleted when it elapses. A
  grace period would also let drift replace nodes under do-not-disrupt pods. So neither:
  signer nodes change only through the maintenance path in docs/runbooks.md.
- `default` (the general pool) carries ingress, monitoring and logging, with the configured
  consolidation, expiry and budgets.

The IAM documents are Karpenter's own (its getting-started CloudFormation template at
v1.14.1), with the template's placeholders filled in; they scope every write to nodes
tagged for this cluster.
"""

from __future__ import annotations

import json
import os
from typing import Any

from components.chain import workload_builder as wb
from components.kube.chart import Chart
from pegasus import names
from pegasus.config import KarpenterSettings

CHART_VERSION = "1.14.1"
CHART = Chart(names.KARPENTER_RELEASE, "oci://public.ecr.aws/karpenter/karpenter", CHART_VERSION)
# CRDs from their own chart: Helm installs a chart's crds/ only once and never upgrades them,
# which would leave the CRDs behind the controller.
CRD_CHART = Chart(names.KARPENTER_CRD_RELEASE, "oci://public.ecr.aws/karpenter/karpenter-crd", CHART_VERSION)
NODE_POOL = "default"  # the general pool: its name predates the signers pool, and a rename replaces it
SIGNER_NODE_POOL = names.SIGNER_POOL
NODE_CLASS = "default"
GENERAL_POOL_LABEL = "general"
POLICY_FILE = os.path.join(os.path.dirname(__file__), "data", "karpenter-v1.14.1-controller-policies.json")

# The template's policy names, and the short names of our resources.
CONTROLLER_POLICIES = {
    "NodeLifecyclePolicy": "node-lifecycle",
    "IAMIntegrationPolicy": "iam-integration",
    "EKSIntegrationPolicy": "eks-integration",
    "InterruptionPolicy": "interruption",
    "ZonalShiftPolicy": "zonal-shift",
    "ResourceDiscoveryPolicy": "resource-discovery",
}

# EventBridge rules feeding the interruption queue (same template): Karpenter drains a node
# before AWS reclaims it, instead of losing the pod mid-block.
INTERRUPTION_RULES = {
    "scheduled-change": {"source": ["aws.health"], "detail-type": ["AWS Health Event"]},
    "spot-interruption": {"source": ["aws.ec2"], "detail-type": ["EC2 Spot Instance Interruption Warning"]},
    "rebalance": {"source": ["aws.ec2"], "detail-type": ["EC2 Instance Rebalance Recommendation"]},
    "instance-state-change": {"source": ["aws.ec2"], "detail-type": ["EC2 Instance State-change Notification"]},
    "capacity-reservation-interruption": {
        "source": ["aws.ec2"],
        "detail-type": ["EC2 Capacity Reservation Instance Interruption Warning"],
    },
}


def controller_policies(*, partition: str, region: str, account_id: str, cluster_name: str,
                        node_role_arn: str, queue_arn: str) -> dict[str, str]:
    """The six controller policy documents, as JSON strings."""
    with open(POLICY_FILE, encoding="utf-8") as f:
        templates = json.load(f)["policies"]
    values = {
        "${AWS::Partition}": partition,
        "${AWS::Region}": region,
        "${AWS::AccountId}": account_id,
        "${ClusterName}": cluster_name,
        "${KarpenterNodeRole.Arn}": node_role_arn,
        "${KarpenterInterruptionQueue.Arn}": queue_arn,
    }
    out = {}
    for name, text in templates.items():
        for placeholder, value in values.items():
            text = text.replace(placeholder, value)
        if "${" in text:
            raise ValueError(f"unfilled placeholder in Karpenter policy {name}")
        out[name] = json.dumps(json.loads(text))
    if set(out) != set(CONTROLLER_POLICIES):
        raise ValueError(f"{POLICY_FILE} holds {sorted(out)}, expected {sorted(CONTROLLER_POLICIES)}")
    return out


def queue_policy(queue_arn: str) -> str:
    return json.dumps({
        "Version": "2012-10-17",
        "Id": "EC2InterruptionPolicy",
        "Statement": [
            {
                "Effect": "Allow",
                # Literal service names, as in Karpenter's template for every partition.
                "Principal": {"Service": ["events.amazonaws.com", "sqs.amazonaws.com"]},
                "Action": "sqs:SendMessage",
                "Resource": queue_arn,
            },
            {
                "Sid": "DenyHTTP",
                "Effect": "Deny",
                "Action": "sqs:*",
                "Resource": queue_arn,
                "Condition": {"Bool": {"aws:SecureTransport": False}},
                "Principal": "*",
            },
        ],
    })


def chart_values(cluster_name: str, queue_name: str, region: str) -> dict:
    return {
        # The Pod Identity association names this account; the chart would otherwise derive
        # it from the release name.
        "serviceAccount": {"create": True, "name": names.KARPENTER_SERVICE_ACCOUNT},
        "settings": {"clusterName": cluster_name, "interruptionQueue": queue_name},
        "controller": {
            # The system nodes allow one IMDS hop, so pods cannot read the instance metadata;
            # without a region Karpenter asks IMDS and exits (pkg/operator/operator.go).
            "env": [{"name": "AWS_REGION", "value": region}],
            "resources": {
                "requests": {"cpu": "1", "memory": "1Gi"},
                "limits": {"cpu": "1", "memory": "1Gi"},
            },
        },
        "serviceMonitor": {"enabled": False},
    }


def _requirement(key: str, values: tuple[str, ...] | list[str]) -> dict:
    return {"key": key, "operator": "In", "values": list(values)}


def _requirements(settings: KarpenterSettings) -> list[dict]:
    return [
        _requirement("kubernetes.io/arch", settings.architectures),
        _requirement("kubernetes.io/os", ["linux"]),
        _requirement("karpenter.sh/capacity-type", settings.capacity_types),
        _requirement("karpenter.k8s.aws/instance-family", settings.instance_families),
    ]


def _node_pool(name: str, template_spec: dict, pool_label: str, limits: dict, disruption: dict) -> dict:
    return {
        "apiVersion": "karpenter.sh/v1",
        "kind": "NodePool",
        "metadata": {"name": name, "labels": names.labels("autoscaling", name, name="karpenter")},
        "spec": {
            "template": {"metadata": {"labels": {names.POOL_LABEL: pool_label}}, "spec": template_spec},
            "limits": limits,
            "disruption": disruption,
        },
    }


def node_pool(settings: KarpenterSettings) -> dict:
    """The general pool: everything that is not a chain daemon."""
    return _node_pool(
        NODE_POOL,
        {
            "requirements": _requirements(settings),
            "nodeClassRef": {"group": "karpenter.k8s.aws", "kind": "EC2NodeClass", "name": NODE_CLASS},
            "expireAfter": settings.expire_after,
        },
        GENERAL_POOL_LABEL,
        {"cpu": settings.general_cpu_limit, "memory": settings.general_memory_limit},
        {
            "consolidationPolicy": settings.consolidation_policy,
            "consolidateAfter": settings.consolidate_after,
            "budgets": [dict(b) for b in settings.disruption_budgets],
        },
    )


SIGNER_TAINT = {"key": names.SIGNER_LABEL, "value": "true", "effect": "NoSchedule"}


def signer_node_pool(settings: KarpenterSettings) -> dict:
    """The signers pool: chain daemons only, never expired, emptied nodes removed."""
    return _node_pool(
        SIGNER_NODE_POOL,
        {
            "requirements": _requirements(settings),
            "nodeClassRef": {"group": "karpenter.k8s.aws", "kind": "EC2NodeClass", "name": NODE_CLASS},
            "taints": [dict(SIGNER_TAINT)],
            "expireAfter": "Never",
        },
        SIGNER_NODE_POOL,
        {"cpu": settings.cpu_limit, "memory": settings.memory_limit},
        {
            # Removing an empty node evicts nothing; a node with a validator on it is never
            # consolidated, whatever annotations its pods carry.
            "consolidationPolicy": "WhenEmpty",
            "consolidateAfter": settings.consolidate_after,
            "budgets": [dict(b) for b in settings.disruption_budgets],
        },
    )


def signer_placement() -> wb.Placement:
    """What a chain daemon's pod needs to land on the signers pool, and only there."""
    return wb.Placement(
        node_selector={names.POOL_LABEL: SIGNER_NODE_POOL},
        tolerations=({"key": SIGNER_TAINT["key"], "operator": "Equal", "value": SIGNER_TAINT["value"],
                      "effect": SIGNER_TAINT["effect"]},),
    )


def ec2_node_class(settings: KarpenterSettings, cluster_name: str, node_role_name: Any,
                   subnet_ids: tuple[str, ...] = ()) -> dict:
    discovery = {"karpenter.sh/discovery": cluster_name}
    # Subnets Pegasus creates carry the discovery tag; subnets given in config may not.
    subnets = [{"id": s} for s in subnet_ids] if subnet_ids else [{"tags": discovery}]
    return {
        "apiVersion": "karpenter.k8s.aws/v1",
        "kind": "EC2NodeClass",
        "metadata": {"name": NODE_CLASS, "labels": names.labels("autoscaling", NODE_CLASS, name="karpenter")},
        "spec": {
            "role": node_role_name,
            "amiSelectorTerms": [{"alias": settings.ami_alias}],
            "subnetSelectorTerms": subnets,
            # EKS tags the cluster security group it creates with aws:eks:cluster-name; the
            # system nodes and the control plane share it, so Karpenter nodes join it too.
            "securityGroupSelectorTerms": [{"tags": {"aws:eks:cluster-name": cluster_name}}],
            "metadataOptions": {
                "httpEndpoint": "enabled",
                "httpProtocolIPv6": "disabled",
                "httpPutResponseHopLimit": 1,
                "httpTokens": "required",
            },
            "blockDeviceMappings": [{
                "deviceName": "/dev/xvda",
                "ebs": {
                    "volumeSize": settings.node_volume_size,
                    "volumeType": "gp3",
                    "encrypted": True,
                    "deleteOnTermination": True,
                },
            }],
            "tags": {"pegasus:cluster": cluster_name, "managed-by": "karpenter"},
        },
    }
