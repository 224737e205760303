"""Pure builders for the three cluster variants: EKS, GKE and an existing cluster.

Networks, IAM documents, node settings, storage classes and kubeconfigs are computed here
from ClusterSettings; components/cluster.py only creates the resources.
"""

from __future__ import annotations

import ipaddress
import json
import os
from dataclasses import dataclass
from typing import Optional

from components.chart import Chart
from pegasus import names
from pegasus.config import ClusterSettings

CHAIN_STORAGE_CLASS = "pegasus-chain-data"

LBC_CHART = Chart("aws-load-balancer-controller", "aws-load-balancer-controller", "3.5.0", "https://aws.github.io/eks-charts")
LBC_SERVICE_ACCOUNT = "aws-load-balancer-controller"
# docs/install/iam_policy.json of kubernetes-sigs/aws-load-balancer-controller at v3.5.0,
# the policy AWS tells every user of that version to attach.
LBC_POLICY_FILE = os.path.join(os.path.dirname(__file__), "data", "aws-load-balancer-controller-v3.5.0-iam-policy.json")

EBS_CSI_SERVICE_ACCOUNT = "ebs-csi-controller-sa"
EBS_CSI_MANAGED_POLICY = "service-role/AmazonEBSCSIDriverPolicy"
# What an EKS node needs, for the system group and Karpenter's nodes alike (Karpenter's
# getting-started template: PullOnly, not ReadOnly, for the registry).
NODE_MANAGED_POLICIES = (
    "AmazonEKSWorkerNodePolicy",
    "AmazonEKS_CNI_Policy",
    "AmazonEC2ContainerRegistryPullOnly",
    "AmazonSSMManagedInstanceCore",
)


def managed_policy_arn(partition: str, name: str) -> str:
    return f"arn:{partition}:iam::aws:policy/{name}"
CLUSTER_ADMIN_POLICY = "arn:aws:eks::aws:cluster-access-policy/AmazonEKSClusterAdminPolicy"
MAX_AZS = 3


@dataclass(frozen=True)
class SubnetPlan:
    az: str
    private_cidr: str
    public_cidr: str


def subnet_plan(vpc_cidr: str, azs: list[str] | tuple[str, ...]) -> tuple[SubnetPlan, ...]:
    """Three quarters of the VPC for private (node and pod) subnets, which the VPC CNI fills
    with pod IPs; small public subnets from the last quarter carry only load balancers."""
    if len(azs) < 2:
        raise ValueError("an EKS cluster needs subnets in at least 2 availability zones")
    azs = list(azs)[:MAX_AZS]
    net = ipaddress.ip_network(vpc_cidr)
    if net.prefixlen > 20:
        raise ValueError(f"cluster.vpcCidr {vpc_cidr} is too small; use a /20 or larger")
    quarters = list(net.subnets(new_prefix=net.prefixlen + 2))
    public = list(quarters[3].subnets(new_prefix=net.prefixlen + 5))
    return tuple(SubnetPlan(az, str(quarters[i]), str(public[i])) for i, az in enumerate(azs))


def subnet_tags(cluster_name: str, public: bool) -> dict[str, str]:
    tags = {
        f"kubernetes.io/cluster/{cluster_name}": "shared",
        # Role tags make the load balancer controller's subnet choice deterministic.
        ("kubernetes.io/role/elb" if public else "kubernetes.io/role/internal-elb"): "1",
    }
    if not public:
        tags["karpenter.sh/discovery"] = cluster_name
    return tags


def common_tags(settings: ClusterSettings, stack: str) -> dict[str, str]:
    return {"pegasus:cluster": settings.name, "pegasus:stack": stack, "managed-by": "pulumi"}


def trust_policy(service: str, actions: tuple[str, ...] = ("sts:AssumeRole",)) -> str:
    return json.dumps({
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Principal": {"Service": service}, "Action": list(actions)}],
    })


def pod_identity_trust_policy() -> str:
    # EKS Pod Identity: the agent assumes the role and tags the session with the pod's
    # namespace and service account.
    return trust_policy("pods.eks.amazonaws.com", ("sts:AssumeRole", "sts:TagSession"))


def lbc_policy_document() -> str:
    with open(LBC_POLICY_FILE, encoding="utf-8") as f:
        return json.dumps(json.load(f))


def ebs_kms_policy(key_arn: str) -> str:
    """Let the EBS CSI driver use our customer-managed key (EKS user guide, ebs-csi)."""
    return json.dumps({
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Action": ["kms:CreateGrant", "kms:ListGrants", "kms:RevokeGrant"],
                "Resource": [key_arn],
                "Condition": {"Bool": {"kms:GrantIsForAWSResource": "true"}},
            },
            {
                "Effect": "Allow",
                "Action": ["kms:Encrypt", "kms:Decrypt", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:DescribeKey"],
                "Resource": [key_arn],
            },
        ],
    })


def system_node_taints(karpenter: bool) -> list[dict]:
    # With Karpenter, the system group only carries critical add-ons (Karpenter itself
    # tolerates CriticalAddonsOnly); everything else goes to nodes Karpenter sizes.
    return [{"key": "CriticalAddonsOnly", "value": "true", "effect": "NO_SCHEDULE"}] if karpenter else []


def system_node_scaling(settings: ClusterSettings) -> dict:
    count = settings.system_node_count
    return {"desiredSize": count, "minSize": count, "maxSize": count + 2}


def launch_template_block_devices(size_gb: int = 50) -> list[dict]:
    # Root volumes use the account's aws/ebs key: a customer key here would need grants for
    # the EC2 and Auto Scaling service roles, for a disk that holds no chain data.
    return [{
        "deviceName": "/dev/xvda",
        "ebs": {"volumeSize": size_gb, "volumeType": "gp3", "encrypted": "true", "deleteOnTermination": "true"},
    }]


def storage_class(provider: str, kms_key_arn: Optional[str] = None) -> Optional[dict]:
    """The class for chain data: Retain, so the disk outlives even a deleted claim."""
    if provider == "eks":
        parameters = {"type": "gp3", "encrypted": "true", "csi.storage.k8s.io/fstype": "ext4"}
        if kms_key_arn is not None:
            parameters["kmsKeyId"] = kms_key_arn
        provisioner = "ebs.csi.aws.com"
    elif provider == "gke":
        # Persistent Disk is always encrypted at rest by Google.
        parameters = {"type": "pd-balanced", "csi.storage.k8s.io/fstype": "ext4"}
        provisioner = "pd.csi.storage.gke.io"
    else:
        return None
    return {
        "apiVersion": "storage.k8s.io/v1",
        "kind": "StorageClass",
        "metadata": {
            "name": CHAIN_STORAGE_CLASS,
            "labels": names.labels("storage", CHAIN_STORAGE_CLASS),
            "annotations": {"storageclass.kubernetes.io/is-default-class": "true"},
        },
        "provisioner": provisioner,
        "parameters": parameters,
        "reclaimPolicy": "Retain",
        "volumeBindingMode": "WaitForFirstConsumer",
        "allowVolumeExpansion": True,
    }


def lbc_values(cluster_name: str, region: str, vpc_id: str) -> dict:
    return {
        "clusterName": cluster_name,
        "region": region,
        "vpcId": vpc_id,
        "replicaCount": 2,
        "serviceAccount": {"create": True, "name": LBC_SERVICE_ACCOUNT},
        "defaultTargetType": "ip",
        # Off: the mutating webhook fails closed, so a crashed controller would block every
        # new LoadBalancer Service. Our Services carry their annotations explicitly.
        "enableServiceMutatorWebhook": False,
        "resources": {"requests": {"cpu": "100m", "memory": "128Mi"}, "limits": {"memory": "512Mi"}},
        "tolerations": [{"key": "CriticalAddonsOnly", "operator": "Exists"}],
    }


# ---------------------------------------------------------------------------------- GKE


@dataclass(frozen=True)
class GkeRanges:
    nodes: str
    pods: str
    services: str


def gke_ranges(vpc_cidr: str) -> GkeRanges:
    net = ipaddress.ip_network(vpc_cidr)
    if net.prefixlen > 16:
        raise ValueError(f"cluster.vpcCidr {vpc_cidr} is too small for GKE's pod range; use a /16 or larger")
    sixteenths = list(net.subnets(new_prefix=net.prefixlen + 4))
    halves = list(net.subnets(new_prefix=net.prefixlen + 1))
    return GkeRanges(nodes=str(sixteenths[0]), services=str(sixteenths[1]), pods=str(halves[1]))


GKE_NODE_ROLES = (
    "roles/logging.logWriter",
    "roles/monitoring.metricWriter",
    "roles/monitoring.viewer",
    "roles/stackdriver.resourceMetadata.writer",
    "roles/artifactregistry.reader",
)


def gke_kubeconfig(name: str, endpoint: str, ca_certificate: str) -> str:
    """A kubeconfig that authenticates with gke-gcloud-auth-plugin (no long-lived token)."""
    context = f"gke_{name}"
    return json.dumps({
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": context, "cluster": {"server": f"https://{endpoint}", "certificate-authority-data": ca_certificate}}],
        "contexts": [{"name": context, "context": {"cluster": context, "user": context}}],
        "current-context": context,
        "preferences": {},
        "users": [{
            "name": context,
            "user": {"exec": {
                "apiVersion": "client.authentication.k8s.io/v1beta1",
                "command": "gke-gcloud-auth-plugin",
                "installHint": "Install gke-gcloud-auth-plugin: gcloud components install gke-gcloud-auth-plugin",
                "provideClusterInfo": True,
            }},
        }],
    }, indent=2)
