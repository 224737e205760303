"""Pure builders for the three cluster variants: EKS, GKE and an existing cluster.

Networks, IAM documents, node settings, storage classes and kubeconfigs are computed here
from ClusterSettings; components/cluster/cluster.py only creates the resources.
"""

from __future__ import annotations

import ipaddress
import json
import os
from dataclasses import dataclass
from typing import Optional

from components.kube.chart import Chart
from pegasus import names
from pegasus.config import ClusterSettings

CHAIN_STORAGE_CLASS = "pegasus-chain-data"
# Everything else that asks for a volume (Prometheus, Alertmanager, Grafana): reclaimed with
# its claim. EKS has marked no StorageClass default since 1.30, so this one is.
GENERAL_STORAGE_CLASS = "pegasus-general"

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


def cluster_admin_policy_arn(partition: str) -> str:
    return f"arn:{partition}:eks::aws:cluster-access-policy/AmazonEKSClusterAdminPolicy"


def cluster_arn(partition: str, region: str, account_id: str, cluster_name: str) -> str:
    return f"arn:{partition}:eks:{region}:{account_id}:cluster/{cluster_name}"


MAX_AZS = 3
# Control-plane logs: EKS writes to this group, and creates it without retention when it is
# missing (EKS User Guide, control-plane-logs). Ours exists first, with retention.
CONTROL_PLANE_LOG_TYPES = ("api", "audit", "authenticator")


def control_plane_log_group(cluster_name: str) -> str:
    return f"/aws/eks/{cluster_name}/cluster"


def admin_entry_of_deployer(caller_arn: str, admin_role_arns: tuple[str, ...]) -> Optional[int]:
    """The index in cluster.adminRoleArns of the role this run deploys with, if listed.

    pulumi-eks 4.x creates the cluster with bootstrapClusterCreatorAdminPermissions: true, so
    EKS already gives the caller an admin access entry; a second entry for the same principal
    fails with ResourceInUseException (pulumi/pulumi-eks#2373). An assumed role shows up as
    arn:<p>:sts::<account>:assumed-role/<name>/<session>, without the role's path.
    """
    parts = caller_arn.split(":", 5)
    if len(parts) != 6 or parts[2] != "sts" or not parts[5].startswith("assumed-role/"):
        return None
    account, role_name = parts[4], parts[5].split("/")[1]
    for index, arn in enumerate(admin_role_arns):
        arn_parts = arn.split(":", 5)
        if len(arn_parts) == 6 and arn_parts[4] == account and arn_parts[5].rsplit("/", 1)[-1] == role_name:
            return index
    return None


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


def pod_identity_trust_policy(cluster_arn_: str, cluster_name: str, namespace: str, service_account: str) -> str:
    """A role only one service account of one cluster can get through EKS Pod Identity.

    Without conditions, any Pod Identity association in the account could hand the role to
    any pod. EKS tags the AssumeRole request with the cluster, namespace and service account
    (EKS User Guide, pod-id-role and pod-id-abac); the cluster ARN also pins the account and
    region. The principal is pods.eks.amazonaws.com in every partition, as the guide shows.
    """
    return json.dumps({
        "Version": "2012-10-17",
        "Statement": [{
            "Effect": "Allow",
            "Principal": {"Service": "pods.eks.amazonaws.com"},
            "Action": ["sts:AssumeRole", "sts:TagSession"],
            "Condition": {"StringEquals": {
                "aws:RequestTag/eks-cluster-arn": cluster_arn_,
                "aws:RequestTag/eks-cluster-name": cluster_name,
                "aws:RequestTag/kubernetes-namespace": namespace,
                "aws:RequestTag/kubernetes-service-account": service_account,
            }},
        }],
    })


def node_trust_policy(dns_suffix: str) -> str:
    # Karpenter's CloudFormation template trusts ec2.${AWS::URLSuffix}, which is not
    # amazonaws.com in every partition.
    return trust_policy(f"ec2.{dns_suffix}")


def lbc_policy_document(partition: str) -> str:
    """AWS's document with its `arn:aws:` resources moved to this account's partition (the
    controller's iam_policy_us-gov.json and iam_policy_cn.json differ only in that)."""
    with open(LBC_POLICY_FILE, encoding="utf-8") as f:
        text = json.dumps(json.load(f))
    return text.replace('"arn:aws:', f'"arn:{partition}:')


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
    """The class for chain data: Retain, so the disk outlives even a deleted claim. Not the
    cluster default: a claim that names no class (Prometheus's, say) would inherit Retain and
    leave a disk behind every time it is deleted."""
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
        },
        "provisioner": provisioner,
        "parameters": parameters,
        "reclaimPolicy": "Retain",
        "volumeBindingMode": "WaitForFirstConsumer",
        "allowVolumeExpansion": True,
    }


def general_storage_class() -> dict:
    """eks: the default class, encrypted gp3 with the account's aws/ebs key, deleted with its
    claim. GKE has its own default (standard-rwo) and an existing cluster keeps its own."""
    return {
        "apiVersion": "storage.k8s.io/v1",
        "kind": "StorageClass",
        "metadata": {
            "name": GENERAL_STORAGE_CLASS,
            "labels": names.labels("storage", GENERAL_STORAGE_CLASS),
            "annotations": {"storageclass.kubernetes.io/is-default-class": "true"},
        },
        "provisioner": "ebs.csi.aws.com",
        "parameters": {"type": "gp3", "encrypted": "true", "csi.storage.k8s.io/fstype": "ext4"},
        "reclaimPolicy": "Delete",
        "volumeBindingMode": "WaitForFirstConsumer",
        "allowVolumeExpansion": True,
    }


NLB_SUBNETS_ANNOTATION = "service.beta.kubernetes.io/aws-load-balancer-subnets"
NLB_EIPS_ANNOTATION = "service.beta.kubernetes.io/aws-load-balancer-eip-allocations"


def nlb_placement_annotations(subnet_ids: list[str], allocation_ids: Optional[list[str]] = None) -> dict[str, str]:
    """Pin an NLB to our public subnets, and optionally its addresses to our Elastic IPs.

    Without the subnets annotation the controller discovers subnets by their role tag, so in
    a given VPC it may pick public subnets that are not ours. Its EIP annotation needs one
    allocation per subnet, in the same order (LBC v3.5.0, guide/service/annotations.md)."""
    out = {NLB_SUBNETS_ANNOTATION: ",".join(subnet_ids)}
    if allocation_ids is not None:
        if len(allocation_ids) != len(subnet_ids):
            raise ValueError(f"{len(allocation_ids)} Elastic IPs for {len(subnet_ids)} subnets; the NLB needs one per subnet")
        out[NLB_EIPS_ANNOTATION] = ",".join(allocation_ids)
    return out


def nlb_controller_health_check_annotations() -> dict[str, str]:
    """Health-check every target group of a shard on ingress-nginx's own /healthz (port 10254),
    not on each traffic port.

    With pod readiness gates a controller pod is Ready only once it is healthy in every target
    group of every shard. A traffic-port check would keep that from ever happening while a
    shard has all its chainlets offline: its one kept port leads to a controller port nobody
    listens on (components/p2p/ingress_builder.py), so that target group is never healthy, and no
    new controller pod, and no upgrade, would ever become ready. The controller's own health
    is what a target's health should mean here."""
    return {
        "service.beta.kubernetes.io/aws-load-balancer-healthcheck-protocol": "HTTP",
        "service.beta.kubernetes.io/aws-load-balancer-healthcheck-port": "10254",
        "service.beta.kubernetes.io/aws-load-balancer-healthcheck-path": "/healthz",
    }


# NetworkPolicy objects are only enforced where the dataplane implements them; without this
# every blueprint's policies (the provider's tenant fences among them) are decorative.
# eks: the VPC CNI's network policy agent (pulumi-eks VpcCniOptions.enableNetworkPolicy).
# gke: network policy enforcement (Container API v1 NetworkPolicy {enabled, provider: CALICO}
# plus AddonsConfig.networkPolicyConfig). Not Dataplane V2: datapathProvider cannot change on
# an existing cluster, so switching it would replace the cluster; enabling this is in place
# (GKE recreates the nodes once).
EKS_ENABLE_NETWORK_POLICY = True
GKE_NETWORK_POLICY = {"enabled": True, "provider": "CALICO"}
GKE_NETWORK_POLICY_ADDON = {"disabled": False}


def coredns_configuration() -> str:
    """The CoreDNS add-on's configurationValues: its pods must fit the system nodes, which
    carry CriticalAddonsOnly with Karpenter. Explicit, so that it holds whatever the add-on's
    own defaults are in a later version (the add-on schema has `tolerations`)."""
    return json.dumps({"tolerations": [
        {"key": "CriticalAddonsOnly", "operator": "Exists"},
        {"key": "node-role.kubernetes.io/control-plane", "effect": "NoSchedule"},
    ]})


def launch_template_metadata_options() -> dict:
    # One hop: a pod's request to IMDS crosses a second hop and is dropped, so no pod on the
    # system nodes can take the node role's credentials. Every add-on there gets its own
    # through Pod Identity, and the charts are given their region (and VPC) explicitly.
    return {"httpTokens": "required", "httpPutResponseHopLimit": 1, "httpEndpoint": "enabled"}


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


def provider_settings() -> dict:
    """What every kubernetes provider of Pegasus sets, on every cluster kind.

    enable_config_map_mutable: without it pulumi-kubernetes replaces a ConfigMap whenever its
    data changes (a real `pulumi preview` showed `replace` for the routing ConfigMap when one
    chainlet went offline). The ConfigMap has a fixed name, so the replacement deletes it
    before it creates the new one, and for that moment ingress-nginx reads no routing at all
    and reloads every p2p backend away. Mutable, the data is patched in place.
    """
    return {"enable_config_map_mutable": True}

