"""pegasus-clusters-hardened, pegasus-volumes-encrypted, pegasus-buckets-not-public, pegasus-karpenter-ami-pinned."""

import json

import pytest

from policy.policies import bucket_exposure, cluster_hardening, karpenter_ami, volume_encryption
from tests.policy import fixtures as f
from tests.policy.harness import check

CLUSTERS = cluster_hardening.POLICY
VOLUMES = volume_encryption.POLICY
BUCKETS = bucket_exposure.POLICY
AMI = karpenter_ami.POLICY


# --- EKS --------------------------------------------------------------------------------

AWS_FIX = ("list the operator CIDRs in cluster.publicAccessCidrs, or leave it empty to keep the endpoint private "
           "(vpcConfig.endpointPublicAccess false)")
COMPONENT_FIX = ("list the operator CIDRs in cluster.publicAccessCidrs, or leave it empty to keep the endpoint private "
                 "(endpointPublicAccess false)")


def test_golden_clusters_pass():
    assert check(CLUSTERS, f.AWS_EKS, f.aws_eks_cluster()) == []
    assert check(CLUSTERS, f.EKS_COMPONENT, f.eks_component_cluster()) == []
    assert check(CLUSTERS, f.GKE, f.gke_cluster()) == []


@pytest.mark.parametrize("cidrs", [[], None])
def test_aws_eks_public_endpoint_without_cidrs_is_open_to_the_world(cidrs):
    props = f.aws_eks_cluster()
    if cidrs is None:
        del props["vpcConfig"]["publicAccessCidrs"]
    else:
        props["vpcConfig"]["publicAccessCidrs"] = cidrs
    assert check(CLUSTERS, f.AWS_EKS, props) == [
        f"vpcConfig.publicAccessCidrs is empty, so AWS opens the public API endpoint to 0.0.0.0/0; {AWS_FIX}"
    ]


def test_aws_eks_public_access_defaults_to_on():
    props = f.aws_eks_cluster()
    del props["vpcConfig"]["endpointPublicAccess"]
    del props["vpcConfig"]["publicAccessCidrs"]
    assert check(CLUSTERS, f.AWS_EKS, props) == [
        f"vpcConfig.publicAccessCidrs is empty, so AWS opens the public API endpoint to 0.0.0.0/0; {AWS_FIX}"
    ]


@pytest.mark.parametrize("cidr", ["0.0.0.0/0", "::/0"])
def test_aws_eks_open_cidr_is_reported(cidr):
    props = f.aws_eks_cluster()
    props["vpcConfig"]["publicAccessCidrs"] = ["203.0.113.0/24", cidr]
    assert check(CLUSTERS, f.AWS_EKS, props) == [
        f"vpcConfig.publicAccessCidrs contains '{cidr}', so the public API endpoint is open to the internet; {AWS_FIX}"
    ]


def test_aws_eks_private_endpoint_needs_no_cidrs():
    props = f.aws_eks_cluster()
    props["vpcConfig"]["endpointPublicAccess"] = False
    props["vpcConfig"]["publicAccessCidrs"] = ["0.0.0.0/0"]
    assert check(CLUSTERS, f.AWS_EKS, props) == []


ENCRYPTION = (
    "encryptionConfig does not encrypt 'secrets'; set encryptionConfig with "
    "resources ['secrets'] and a KMS key in provider.keyArn"
)


def test_aws_eks_without_encryption_is_reported():
    props = f.aws_eks_cluster()
    del props["encryptionConfig"]
    assert check(CLUSTERS, f.AWS_EKS, props) == [ENCRYPTION]


def test_aws_eks_encryption_of_other_resources_is_not_enough():
    props = f.aws_eks_cluster()
    props["encryptionConfig"]["resources"] = ["configmaps"]
    assert check(CLUSTERS, f.AWS_EKS, props) == [ENCRYPTION]


def test_aws_eks_encryption_as_a_one_element_list_is_understood():
    props = f.aws_eks_cluster()
    props["encryptionConfig"] = [props["encryptionConfig"]]
    assert check(CLUSTERS, f.AWS_EKS, props) == []


def test_eks_component_without_cidrs_is_reported():
    props = f.eks_component_cluster()
    del props["publicAccessCidrs"]
    assert check(CLUSTERS, f.EKS_COMPONENT, props) == [
        f"publicAccessCidrs is empty, so AWS opens the public API endpoint to 0.0.0.0/0; {COMPONENT_FIX}"
    ]


def test_eks_component_open_cidr_is_reported():
    props = f.eks_component_cluster()
    props["publicAccessCidrs"] = ["0.0.0.0/0"]
    assert check(CLUSTERS, f.EKS_COMPONENT, props) == [
        f"publicAccessCidrs contains '0.0.0.0/0', so the public API endpoint is open to the internet; {COMPONENT_FIX}"
    ]


def test_eks_component_private_endpoint_passes():
    props = f.eks_component_cluster()
    props["endpointPublicAccess"] = False
    del props["publicAccessCidrs"]
    assert check(CLUSTERS, f.EKS_COMPONENT, props) == []


def test_eks_component_without_kms_key_is_reported():
    props = f.eks_component_cluster()
    del props["encryptionConfigKeyArn"]
    assert check(CLUSTERS, f.EKS_COMPONENT, props) == [
        "encryptionConfigKeyArn is not set, so Kubernetes Secrets are not envelope-encrypted; set it to a KMS key ARN"
    ]


# --- GKE --------------------------------------------------------------------------------

PRIVATE_NODES = (
    "privateClusterConfig.enablePrivateNodes is not true; set it to true so that nodes get no public IP addresses"
)
WORKLOAD_IDENTITY = (
    "workloadIdentityConfig.workloadPool is not set; set it to '<project>.svc.id.goog' "
    "so that pods use Workload Identity instead of the node's service account"
)


def test_gke_public_nodes_are_reported():
    props = f.gke_cluster()
    props["privateClusterConfig"]["enablePrivateNodes"] = False
    assert check(CLUSTERS, f.GKE, props) == [PRIVATE_NODES]


def test_gke_without_private_cluster_config_is_reported():
    props = f.gke_cluster()
    del props["privateClusterConfig"]
    assert check(CLUSTERS, f.GKE, props) == [PRIVATE_NODES]


def test_gke_without_workload_identity_is_reported():
    props = f.gke_cluster()
    del props["workloadIdentityConfig"]
    assert check(CLUSTERS, f.GKE, props) == [WORKLOAD_IDENTITY]


def test_gke_legacy_abac_is_reported():
    props = f.gke_cluster()
    props["enableLegacyAbac"] = True
    assert check(CLUSTERS, f.GKE, props) == [
        "enableLegacyAbac is true; set it to false so that RBAC alone authorizes API requests"
    ]


# --- volume encryption ------------------------------------------------------------------


def test_golden_volumes_pass():
    assert check(VOLUMES, f.EBS_VOLUME, f.ebs_volume()) == []
    assert check(VOLUMES, f.LAUNCH_TEMPLATE, f.launch_template()) == []
    assert check(VOLUMES, f.EC2_NODE_CLASS, f.ec2_node_class()) == []
    assert check(VOLUMES, f.STORAGE_CLASS, f.storage_class()) == []


@pytest.mark.parametrize("value", [False, None])
def test_unencrypted_ebs_volume_is_reported(value):
    props = f.ebs_volume()
    if value is None:
        del props["encrypted"]
    else:
        props["encrypted"] = value
    assert check(VOLUMES, f.EBS_VOLUME, props) == ["encrypted is not true; set encrypted to true"]


@pytest.mark.parametrize("value", ["false", None])
def test_launch_template_mapping_must_be_encrypted(value):
    props = f.launch_template()
    if value is None:
        del props["blockDeviceMappings"][0]["ebs"]["encrypted"]
    else:
        props["blockDeviceMappings"][0]["ebs"]["encrypted"] = value
    assert check(VOLUMES, f.LAUNCH_TEMPLATE, props) == [
        "blockDeviceMappings[0] ('/dev/xvda') ebs.encrypted is not \"true\"; set it to \"true\""
    ]


def test_ec2_node_class_mapping_must_be_encrypted():
    props = f.ec2_node_class()
    props["spec"]["blockDeviceMappings"][0]["ebs"]["encrypted"] = False
    assert check(VOLUMES, f.EC2_NODE_CLASS, props) == [
        "spec.blockDeviceMappings[0] ('/dev/xvda') ebs.encrypted is not true; set it to true"
    ]


def test_ec2_node_class_without_mappings_uses_encrypted_defaults():
    props = f.ec2_node_class()
    del props["spec"]["blockDeviceMappings"]
    assert check(VOLUMES, f.EC2_NODE_CLASS, props) == []


@pytest.mark.parametrize("provisioner", ["ebs.csi.aws.com", "kubernetes.io/aws-ebs"])
def test_ebs_storage_class_must_encrypt(provisioner):
    props = f.storage_class()
    props["provisioner"] = provisioner
    del props["parameters"]["encrypted"]
    assert check(VOLUMES, f.STORAGE_CLASS, props) == [
        f"parameters.encrypted is not \"true\" for provisioner '{provisioner}'; "
        "set it to \"true\" so that every provisioned volume is encrypted"
    ]


def test_non_ebs_storage_class_is_not_judged():
    props = f.storage_class()
    props["provisioner"] = "pd.csi.storage.gke.io"
    del props["parameters"]["encrypted"]
    assert check(VOLUMES, f.STORAGE_CLASS, props) == []


# --- buckets ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "kind, make",
    [
        (f.S3_BUCKET, f.s3_bucket),
        (f.S3_BUCKET_V2, f.s3_bucket),
        (f.S3_BUCKET_ACL, f.s3_bucket_acl),
        (f.S3_BUCKET_ACL_V2, f.s3_bucket_acl),
        (f.S3_PUBLIC_ACCESS_BLOCK, f.s3_public_access_block),
        (f.S3_BUCKET_POLICY, f.s3_bucket_policy),
        (f.GCS_BUCKET, f.gcs_bucket),
        (f.GCS_IAM_MEMBER, f.gcs_iam_member),
        (f.GCS_IAM_BINDING, f.gcs_iam_binding),
        (f.GCS_IAM_POLICY, f.gcs_iam_policy),
    ],
)
def test_golden_buckets_pass(kind, make):
    assert check(BUCKETS, kind, make()) == []


@pytest.mark.parametrize("kind", [f.S3_BUCKET, f.S3_BUCKET_V2, f.S3_BUCKET_ACL, f.S3_BUCKET_ACL_V2])
@pytest.mark.parametrize("acl", ["public-read", "public-read-write", "authenticated-read"])
def test_public_canned_acls_are_reported(kind, acl):
    props = f.s3_bucket() if "Acl" not in kind else f.s3_bucket_acl()
    props["acl"] = acl
    assert check(BUCKETS, kind, props) == [
        f"acl '{acl}' makes the bucket public; use 'private' and grant access through IAM policies"
    ]


ALL_USERS = "http://acs.amazonaws.com/groups/global/AllUsers"


def test_bucket_grant_to_all_users_is_reported():
    props = f.s3_bucket()
    del props["acl"]
    props["grants"] = [{"type": "Group", "uri": ALL_USERS, "permissions": ["READ"]}]
    assert check(BUCKETS, f.S3_BUCKET, props) == [
        "grants[0] gives access to AllUsers; remove the grant and grant access through IAM policies"
    ]


def test_bucket_acl_grant_to_authenticated_users_is_reported():
    props = f.s3_bucket_acl()
    props["accessControlPolicy"]["grants"].append(
        {"grantee": {"type": "Group", "uri": "http://acs.amazonaws.com/groups/global/AuthenticatedUsers"},
         "permission": "READ"}
    )
    assert check(BUCKETS, f.S3_BUCKET_ACL, props) == [
        "accessControlPolicy.grants[1] gives access to AuthenticatedUsers; "
        "remove the grant and grant access through IAM policies"
    ]


def public_policy(principal, condition=None):
    statement = {"Effect": "Allow", "Principal": principal, "Action": "s3:GetObject", "Resource": "*"}
    if condition is not None:
        statement["Condition"] = condition
    return json.dumps({"Version": "2012-10-17", "Statement": [statement]})


PUBLIC_POLICY = "policy Statement[0] allows Principal '*' without a Condition; name the principals or add a Condition"


@pytest.mark.parametrize("principal", ["*", {"AWS": "*"}, {"AWS": ["arn:aws:iam::1:root", "*"]}])
def test_public_bucket_policy_is_reported(principal):
    props = f.s3_bucket_policy()
    props["policy"] = public_policy(principal)
    assert check(BUCKETS, f.S3_BUCKET_POLICY, props) == [PUBLIC_POLICY]


def test_public_policy_inline_on_the_bucket_is_reported():
    props = f.s3_bucket()
    props["policy"] = public_policy("*")
    assert check(BUCKETS, f.S3_BUCKET, props) == [PUBLIC_POLICY]


def test_single_statement_object_is_understood():
    props = f.s3_bucket_policy()
    props["policy"] = json.dumps({"Statement": {"Effect": "Allow", "Principal": "*", "Action": "s3:GetObject"}})
    assert check(BUCKETS, f.S3_BUCKET_POLICY, props) == [PUBLIC_POLICY]


def test_conditioned_public_statement_passes():
    props = f.s3_bucket_policy()
    props["policy"] = public_policy("*", {"StringEquals": {"aws:SourceVpce": "vpce-1"}})
    assert check(BUCKETS, f.S3_BUCKET_POLICY, props) == []


def test_malformed_policy_json_is_left_to_the_provider():
    props = f.s3_bucket_policy()
    props["policy"] = "{not json"
    assert check(BUCKETS, f.S3_BUCKET_POLICY, props) == []


@pytest.mark.parametrize("value", [False, None])
def test_public_access_block_flags_must_all_be_true(value):
    props = f.s3_public_access_block()
    if value is None:
        del props["ignorePublicAcls"]
    else:
        props["ignorePublicAcls"] = value
    assert check(BUCKETS, f.S3_PUBLIC_ACCESS_BLOCK, props) == [
        "ignorePublicAcls is not true; set blockPublicAcls, blockPublicPolicy, "
        "ignorePublicAcls and restrictPublicBuckets all to true"
    ]


def test_public_access_block_lists_every_missing_flag():
    props = {"bucket": "pegasus-snapshots", "blockPublicPolicy": True}
    assert check(BUCKETS, f.S3_PUBLIC_ACCESS_BLOCK, props) == [
        "blockPublicAcls, ignorePublicAcls, restrictPublicBuckets are not true; set blockPublicAcls, "
        "blockPublicPolicy, ignorePublicAcls and restrictPublicBuckets all to true"
    ]


@pytest.mark.parametrize("value, shown", [("inherited", "is 'inherited'"), (None, "is not set")])
def test_gcs_public_access_prevention_must_be_enforced(value, shown):
    props = f.gcs_bucket()
    if value is None:
        del props["publicAccessPrevention"]
    else:
        props["publicAccessPrevention"] = value
    assert check(BUCKETS, f.GCS_BUCKET, props) == [f"publicAccessPrevention {shown}; set it to 'enforced'"]


def test_gcs_uniform_access_must_be_on():
    props = f.gcs_bucket()
    props["uniformBucketLevelAccess"] = False
    assert check(BUCKETS, f.GCS_BUCKET, props) == [
        "uniformBucketLevelAccess is not true; set it to true so that object ACLs cannot make objects public"
    ]


@pytest.mark.parametrize("member", ["allUsers", "allAuthenticatedUsers"])
def test_gcs_public_iam_member_is_reported(member):
    props = f.gcs_iam_member()
    props["member"] = member
    assert check(BUCKETS, f.GCS_IAM_MEMBER, props) == [
        f"member '{member}' makes the bucket public; grant the role to specific principals"
    ]


def test_gcs_public_iam_binding_is_reported():
    props = f.gcs_iam_binding()
    props["members"].append("allUsers")
    assert check(BUCKETS, f.GCS_IAM_BINDING, props) == [
        "members includes 'allUsers', which makes the bucket public; grant the role to specific principals"
    ]


def test_gcs_public_iam_policy_is_reported():
    props = f.gcs_iam_policy()
    props["policyData"] = json.dumps({"bindings": [{"role": "roles/storage.objectViewer", "members": ["allUsers"]}]})
    assert check(BUCKETS, f.GCS_IAM_POLICY, props) == [
        "policyData binds 'allUsers' to 'roles/storage.objectViewer', which makes the bucket public; "
        "grant the role to specific principals"
    ]


# --- Karpenter AMI ----------------------------------------------------------------------


def test_pinned_alias_passes():
    assert check(AMI, f.EC2_NODE_CLASS, f.ec2_node_class()) == []


def test_latest_alias_is_reported_with_its_index():
    props = f.ec2_node_class()
    props["spec"]["amiSelectorTerms"] = [{"id": "ami-0123"}, {"alias": "bottlerocket@latest"}]
    assert check(AMI, f.EC2_NODE_CLASS, props) == [
        "spec.amiSelectorTerms[1].alias 'bottlerocket@latest' is not pinned; "
        "pin a release such as 'bottlerocket@v20250101' (config karpenter.amiAlias)"
    ]
