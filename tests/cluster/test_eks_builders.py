"""EKS builders added for a first run that finishes and validators that stay put: the signers
NodePool and its placement, storage classes, IAM documents in any partition, NLB pinning and
the deployer's implicit admin entry. Whole objects, no mocks."""

from __future__ import annotations

import json

import pytest

from components.cluster import cluster_builder as cb
from components.cluster import karpenter_builder as kb
from components.chain import workload_builder as wb
from tests.cluster.test_platform_builders import KARPENTER

LABELS = {
    "app.kubernetes.io/name": "karpenter", "app.kubernetes.io/instance": "signers",
    "app.kubernetes.io/component": "autoscaling", "app.kubernetes.io/part-of": "pegasus",
    "app.kubernetes.io/managed-by": "pulumi",
}


def test_signer_node_pool_whole_object():
    assert kb.signer_node_pool(KARPENTER) == {
        "apiVersion": "karpenter.sh/v1",
        "kind": "NodePool",
        "metadata": {"name": "signers", "labels": LABELS},
        "spec": {
            "template": {
                "metadata": {"labels": {"pegasus.saga.xyz/pool": "signers"}},
                "spec": {
                    "requirements": [
                        {"key": "kubernetes.io/arch", "operator": "In", "values": ["amd64"]},
                        {"key": "kubernetes.io/os", "operator": "In", "values": ["linux"]},
                        {"key": "karpenter.sh/capacity-type", "operator": "In", "values": ["on-demand"]},
                        {"key": "karpenter.k8s.aws/instance-family", "operator": "In", "values": ["m7i", "c7i"]},
                    ],
                    "nodeClassRef": {"group": "karpenter.k8s.aws", "kind": "EC2NodeClass", "name": "default"},
                    "taints": [{"key": "pegasus.saga.xyz/signer", "value": "true", "effect": "NoSchedule"}],
                    # No terminationGracePeriod: it would let drift and expiry delete a validator.
                    "expireAfter": "Never",
                },
            },
            "limits": {"cpu": "1000", "memory": "4000Gi"},
            "disruption": {"consolidationPolicy": "WhenEmpty", "consolidateAfter": "10m", "budgets": [{"nodes": "10%"}]},
        },
    }


def test_signer_pool_ignores_the_general_pools_expiry_and_consolidation():
    from dataclasses import replace

    pool = kb.signer_node_pool(replace(KARPENTER, expire_after="24h", consolidation_policy="WhenEmptyOrUnderutilized"))
    assert pool["spec"]["template"]["spec"]["expireAfter"] == "Never"
    assert pool["spec"]["disruption"]["consolidationPolicy"] == "WhenEmpty"
    assert "terminationGracePeriod" not in pool["spec"]["template"]["spec"]


def test_signer_placement_selects_the_pool_and_tolerates_its_taint_only():
    assert kb.signer_placement() == wb.Placement(
        node_selector={"pegasus.saga.xyz/pool": "signers"},
        tolerations=({"key": "pegasus.saga.xyz/signer", "operator": "Equal", "value": "true", "effect": "NoSchedule"},),
    )


def test_chain_data_class_is_not_the_default_and_the_general_class_is():
    for provider in ("eks", "gke"):
        assert "annotations" not in cb.storage_class(provider)["metadata"]
    assert cb.general_storage_class() == {
        "apiVersion": "storage.k8s.io/v1",
        "kind": "StorageClass",
        "metadata": {
            "name": "pegasus-general",
            "labels": {
                "app.kubernetes.io/name": "storage", "app.kubernetes.io/instance": "pegasus-general",
                "app.kubernetes.io/component": "storage", "app.kubernetes.io/part-of": "pegasus",
                "app.kubernetes.io/managed-by": "pulumi",
            },
            "annotations": {"storageclass.kubernetes.io/is-default-class": "true"},
        },
        "provisioner": "ebs.csi.aws.com",
        "parameters": {"type": "gp3", "encrypted": "true", "csi.storage.k8s.io/fstype": "ext4"},
        "reclaimPolicy": "Delete",
        "volumeBindingMode": "WaitForFirstConsumer",
        "allowVolumeExpansion": True,
    }


@pytest.mark.parametrize("caller, admins, index", [
    ("arn:aws:sts::111122223333:assumed-role/deployer/gha-42", ("arn:aws:iam::111122223333:role/ci/deployer",), 0),
    ("arn:aws:sts::111122223333:assumed-role/deployer/gha-42",
     ("arn:aws:iam::111122223333:role/admins", "arn:aws:iam::111122223333:role/deployer"), 1),
    ("arn:aws-cn:sts::111122223333:assumed-role/deployer/s", ("arn:aws-cn:iam::111122223333:role/deployer",), 0),
    # The same role name in another account is another principal.
    ("arn:aws:sts::111122223333:assumed-role/deployer/gha-42", ("arn:aws:iam::444455556666:role/deployer",), None),
    ("arn:aws:sts::111122223333:assumed-role/deployer/gha-42", ("arn:aws:iam::111122223333:role/deployers",), None),
    # An IAM user cannot be listed in adminRoleArns, which takes roles only.
    ("arn:aws:iam::111122223333:user/alice", ("arn:aws:iam::111122223333:role/alice",), None),
])
def test_the_deployers_own_role_is_found_in_the_admin_list(caller, admins, index):
    assert cb.admin_entry_of_deployer(caller, admins) == index


def test_nlb_placement_annotations():
    assert cb.nlb_placement_annotations(["subnet-a", "subnet-b"]) == {
        "service.beta.kubernetes.io/aws-load-balancer-subnets": "subnet-a,subnet-b",
    }
    assert cb.nlb_placement_annotations(["subnet-a", "subnet-b"], ["eipalloc-1", "eipalloc-2"]) == {
        "service.beta.kubernetes.io/aws-load-balancer-subnets": "subnet-a,subnet-b",
        "service.beta.kubernetes.io/aws-load-balancer-eip-allocations": "eipalloc-1,eipalloc-2",
    }
    with pytest.raises(ValueError, match="1 Elastic IPs for 2 subnets; the NLB needs one per subnet"):
        cb.nlb_placement_annotations(["subnet-a", "subnet-b"], ["eipalloc-1"])


def test_shard_target_groups_check_the_controllers_health_not_each_port():
    assert cb.nlb_controller_health_check_annotations() == {
        "service.beta.kubernetes.io/aws-load-balancer-healthcheck-protocol": "HTTP",
        "service.beta.kubernetes.io/aws-load-balancer-healthcheck-port": "10254",
        "service.beta.kubernetes.io/aws-load-balancer-healthcheck-path": "/healthz",
    }


def test_iam_documents_follow_the_partition():
    assert cb.cluster_admin_policy_arn("aws-us-gov") == (
        "arn:aws-us-gov:eks::aws:cluster-access-policy/AmazonEKSClusterAdminPolicy")
    assert json.loads(cb.node_trust_policy("amazonaws.com.cn")) == {"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com.cn"}, "Action": ["sts:AssumeRole"]}]}


def test_system_nodes_keep_pods_away_from_the_instance_metadata():
    assert cb.launch_template_metadata_options() == {
        "httpTokens": "required", "httpPutResponseHopLimit": 1, "httpEndpoint": "enabled"}
    # Every pod there that calls AWS is told its region instead of asking IMDS.
    assert cb.lbc_values("c1", "eu-west-1", "vpc-1")["region"] == "eu-west-1"


def test_coredns_fits_the_tainted_system_nodes():
    assert json.loads(cb.coredns_configuration()) == {"tolerations": [
        {"key": "CriticalAddonsOnly", "operator": "Exists"},
        {"key": "node-role.kubernetes.io/control-plane", "effect": "NoSchedule"},
    ]}


def test_control_plane_log_group_is_the_one_eks_writes_to():
    assert cb.control_plane_log_group("pegasus-eks") == "/aws/eks/pegasus-eks/cluster"
