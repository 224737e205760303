"""Golden fixtures: one compliant object per resource type the policies look at.

Every function returns a fresh dict in the engine's camelCase input shape, so a test can
change exactly one field and assert exactly one violation. Each fixture passes every policy
(test_policy_fixtures.py checks that), which is what makes a single-field change meaningful.
Numbers are floats where the engine would deliver floats (it always does).
"""

from __future__ import annotations

SIGNER = "pegasus.saga.xyz/signer"
CHAIN_DATA = "pegasus.saga.xyz/chain-data"

STACK = "urn:pulumi:test::pegasus"


def urn(resource_type: str, name: str) -> str:
    return f"{STACK}::{resource_type}::{name}"


def resource(resource_type: str, props: dict, name: str = "r", protect: bool = False) -> dict:
    """A resource in the shape `evaluate()` takes."""
    return {"urn": urn(resource_type, name), "type": resource_type, "name": name, "props": props, "protect": protect}


# --------------------------------------------------------------------------------------
# Type tokens
# --------------------------------------------------------------------------------------

PVC = "kubernetes:core/v1:PersistentVolumeClaim"
SERVICE = "kubernetes:core/v1:Service"
CONFIG_MAP = "kubernetes:core/v1:ConfigMap"
SECRET = "kubernetes:core/v1:Secret"
POD = "kubernetes:core/v1:Pod"
DEPLOYMENT = "kubernetes:apps/v1:Deployment"
STATEFUL_SET = "kubernetes:apps/v1:StatefulSet"
DAEMON_SET = "kubernetes:apps/v1:DaemonSet"
REPLICA_SET = "kubernetes:apps/v1:ReplicaSet"
JOB = "kubernetes:batch/v1:Job"
CRON_JOB = "kubernetes:batch/v1:CronJob"
STORAGE_CLASS = "kubernetes:storage.k8s.io/v1:StorageClass"
EC2_NODE_CLASS = "kubernetes:karpenter.k8s.aws/v1:EC2NodeClass"
NODE_POOL = "kubernetes:karpenter.sh/v1:NodePool"
HELM_RELEASE = "kubernetes:helm.sh/v3:Release"
AWS_EKS = "aws:eks/cluster:Cluster"
EKS_COMPONENT = "eks:index:Cluster"
EBS_VOLUME = "aws:ebs/volume:Volume"
LAUNCH_TEMPLATE = "aws:ec2/launchTemplate:LaunchTemplate"
S3_BUCKET = "aws:s3/bucket:Bucket"
S3_BUCKET_V2 = "aws:s3/bucketV2:BucketV2"
S3_BUCKET_ACL = "aws:s3/bucketAcl:BucketAcl"
S3_BUCKET_ACL_V2 = "aws:s3/bucketAclV2:BucketAclV2"
S3_PUBLIC_ACCESS_BLOCK = "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock"
S3_BUCKET_POLICY = "aws:s3/bucketPolicy:BucketPolicy"
GKE = "gcp:container/cluster:Cluster"
GCS_BUCKET = "gcp:storage/bucket:Bucket"
GCS_IAM_MEMBER = "gcp:storage/bucketIAMMember:BucketIAMMember"
GCS_IAM_BINDING = "gcp:storage/bucketIAMBinding:BucketIAMBinding"
GCS_IAM_POLICY = "gcp:storage/bucketIAMPolicy:BucketIAMPolicy"


# --------------------------------------------------------------------------------------
# Kubernetes building blocks
# --------------------------------------------------------------------------------------


def container(name: str = "chainlet", image: str = "sagaxyz/sagaos:0.9.1") -> dict:
    return {
        "name": name,
        "image": image,
        "env": [
            {"name": "CHAIN_ID", "value": "slingshot_1-1"},
            {"name": "MNEMONIC", "valueFrom": {"secretKeyRef": {"name": "chainlet-keys", "key": "mnemonic"}}},
        ],
        "envFrom": [{"secretRef": {"name": "chainlet-keys"}}],
        "ports": [{"name": "p2p", "containerPort": 26656.0}],
        "resources": {
            "requests": {"cpu": "500m", "memory": "1Gi"},
            "limits": {"cpu": "2", "memory": "4Gi"},
        },
        "securityContext": {"allowPrivilegeEscalation": False, "privileged": False},
    }


def pod_spec() -> dict:
    init = container("init-config", "sagaxyz/sagaos:0.9.1")
    init["env"] = [{"name": "HOME", "value": "/root"}]
    del init["envFrom"]
    return {
        "initContainers": [init],
        "containers": [container()],
        "volumes": [
            {"name": "data", "persistentVolumeClaim": {"claimName": "chainlet-data"}},
            {"name": "keys", "secret": {"secretName": "chainlet-keys"}},
            {
                "name": "node-key",
                "csi": {"driver": "secrets-store.csi.k8s.io", "readOnly": True,
                        "volumeAttributes": {"secretProviderClass": "chainlet-node-key"}},
            },
        ],
    }


def metadata(name: str, namespace: str = "saga-slingshot", labels: dict | None = None) -> dict:
    return {"name": name, "namespace": namespace, "labels": dict(labels or {"app.kubernetes.io/name": name})}


def template(labels: dict) -> dict:
    return {"metadata": {"labels": dict(labels)}, "spec": pod_spec()}


SIGNER_LABELS = {"app.kubernetes.io/name": "chainlet", SIGNER: "true"}


# --------------------------------------------------------------------------------------
# Kubernetes resources
# --------------------------------------------------------------------------------------


def pvc() -> dict:
    return {
        "apiVersion": "v1",
        "kind": "PersistentVolumeClaim",
        "metadata": metadata("chainlet-data", labels={"app.kubernetes.io/name": "chainlet", CHAIN_DATA: "true"}),
        "spec": {
            "accessModes": ["ReadWriteOnce"],
            "storageClassName": "pegasus-chain-data",
            "resources": {"requests": {"storage": "50Gi"}},
        },
    }


def storage_class() -> dict:
    return {
        "apiVersion": "storage.k8s.io/v1",
        "kind": "StorageClass",
        "metadata": {"name": "pegasus-chain-data"},
        "provisioner": "ebs.csi.aws.com",
        "reclaimPolicy": "Retain",
        "volumeBindingMode": "WaitForFirstConsumer",
        "allowVolumeExpansion": True,
        "parameters": {"type": "gp3", "encrypted": "true"},
    }


def stateful_set() -> dict:
    """The signing chainlet: one replica, data in a separately managed PVC."""
    return {
        "apiVersion": "apps/v1",
        "kind": "StatefulSet",
        "metadata": metadata("chainlet", labels=SIGNER_LABELS),
        "spec": {
            "replicas": 1.0,
            "serviceName": "chainlet",
            "selector": {"matchLabels": {"app.kubernetes.io/name": "chainlet"}},
            "template": template(SIGNER_LABELS),
        },
    }


def deployment() -> dict:
    """A signer run as a Deployment: one replica, Recreate."""
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        # Another chainlet's namespace: its "chainlet-keys" is a different Secret.
        "metadata": metadata("chainlet", namespace="saga-sevm", labels=SIGNER_LABELS),
        "spec": {
            "replicas": 1.0,
            "strategy": {"type": "Recreate"},
            "selector": {"matchLabels": {"app.kubernetes.io/name": "chainlet"}},
            "template": template(SIGNER_LABELS),
        },
    }


def daemon_set() -> dict:
    labels = {"app.kubernetes.io/name": "log-shipper"}
    return {
        "apiVersion": "apps/v1",
        "kind": "DaemonSet",
        "metadata": metadata("log-shipper", "sagasrv-logging", labels),
        "spec": {"selector": {"matchLabels": labels}, "template": template(labels)},
    }


def replica_set() -> dict:
    labels = {"app.kubernetes.io/name": "worker"}
    return {
        "apiVersion": "apps/v1",
        "kind": "ReplicaSet",
        "metadata": metadata("worker", labels=labels),
        "spec": {"replicas": 2.0, "selector": {"matchLabels": labels}, "template": template(labels)},
    }


def pod() -> dict:
    return {"apiVersion": "v1", "kind": "Pod", "metadata": metadata("debug"), "spec": pod_spec()}


def job() -> dict:
    return {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": metadata("snapshot"),
        "spec": {"backoffLimit": 2.0, "template": template({"app.kubernetes.io/name": "snapshot"})},
    }


def cron_job() -> dict:
    return {
        "apiVersion": "batch/v1",
        "kind": "CronJob",
        "metadata": metadata("prune"),
        "spec": {
            "schedule": "0 3 * * *",
            "jobTemplate": {"spec": {"template": template({"app.kubernetes.io/name": "prune"})}},
        },
    }


def shard_service() -> dict:
    """A public p2p shard: 2 chainlets, TCP and UDP each, public 1025.. onto 20000.."""
    ports = []
    for slot in range(2):
        for protocol in ("TCP", "UDP"):
            ports.append({
                "name": f"p2p-{slot}-{protocol.lower()}",
                "port": 1025.0 + slot,
                "targetPort": 20000.0 + slot,
                "protocol": protocol,
            })
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {
            "name": "ingress-nginx-controller-p2p-0",
            "namespace": "ingress-nginx",
            "annotations": {
                "service.beta.kubernetes.io/aws-load-balancer-type": "external",
                "service.beta.kubernetes.io/aws-load-balancer-nlb-target-type": "ip",
            },
        },
        "spec": {"type": "LoadBalancer", "selector": {"app.kubernetes.io/name": "ingress-nginx"}, "ports": ports},
    }


def spc_service() -> dict:
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": "spc", "namespace": "sagasrv-spc"},
        "spec": {
            "type": "LoadBalancer",
            "selector": {"app.kubernetes.io/name": "spc"},
            "ports": [{"name": "p2p", "port": 26656.0, "targetPort": 26656.0, "protocol": "TCP"}],
        },
    }


def config_map() -> dict:
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": metadata("chainlet-config"),
        "data": {
            "config.toml": 'moniker = "pegasus"\n[p2p]\nladdr = "tcp://0.0.0.0:26656"\n',
            "P2P_SEEDS": "abc123@seed.saga.xyz:26656",
        },
        "binaryData": {"genesis.json.gz": "H4sIAAAAAAAAA6uuBQBDv6ajAgAAAA=="},
    }


def secret() -> dict:
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": metadata("chainlet-keys"),
        "type": "Opaque",
        "stringData": {"mnemonic": "left in a Secret on purpose"},
    }


def ec2_node_class() -> dict:
    return {
        "apiVersion": "karpenter.k8s.aws/v1",
        "kind": "EC2NodeClass",
        "metadata": {"name": "default"},
        "spec": {
            "role": "KarpenterNodeRole-pegasus",
            "amiSelectorTerms": [{"alias": "al2023@v20250101"}],
            "subnetSelectorTerms": [{"tags": {"karpenter.sh/discovery": "pegasus"}}],
            "securityGroupSelectorTerms": [{"tags": {"karpenter.sh/discovery": "pegasus"}}],
            "blockDeviceMappings": [
                {"deviceName": "/dev/xvda", "ebs": {"volumeSize": "100Gi", "volumeType": "gp3", "encrypted": True}},
            ],
        },
    }


def node_pool() -> dict:
    """A pool any pod may land on (no taint), so signers too: its nodes never expire."""
    return {
        "apiVersion": "karpenter.sh/v1",
        "kind": "NodePool",
        "metadata": {"name": "signers"},
        "spec": {
            "template": {
                "metadata": {"labels": {"pegasus.saga.xyz/pool": "signers"}},
                "spec": {
                    "requirements": [{"key": "karpenter.sh/capacity-type", "operator": "In", "values": ["on-demand"]}],
                    "nodeClassRef": {"group": "karpenter.k8s.aws", "kind": "EC2NodeClass", "name": "default"},
                    "expireAfter": "Never",
                },
            },
            "disruption": {"consolidationPolicy": "WhenEmpty", "consolidateAfter": "10m"},
        },
    }


def helm_release() -> dict:
    # Values are not inspected: a chart's privileged DaemonSet must not be reported here.
    return {
        "chart": "ingress-nginx",
        "version": "4.12.1",
        "repositoryOpts": {"repo": "https://kubernetes.github.io/ingress-nginx"},
        "values": {"controller": {"image": {"tag": "latest"}, "hostNetwork": True}},
    }


# --------------------------------------------------------------------------------------
# AWS
# --------------------------------------------------------------------------------------


def aws_eks_cluster() -> dict:
    return {
        "roleArn": "arn:aws:iam::123456789012:role/pegasus-cluster",
        "vpcConfig": {
            "subnetIds": ["subnet-a", "subnet-b"],
            "endpointPrivateAccess": True,
            "endpointPublicAccess": True,
            "publicAccessCidrs": ["203.0.113.0/24"],
        },
        "encryptionConfig": {
            "resources": ["secrets"],
            "provider": {"keyArn": "arn:aws:kms:eu-west-1:123456789012:key/abc"},
        },
    }


def eks_component_cluster() -> dict:
    return {
        "endpointPrivateAccess": True,
        "endpointPublicAccess": True,
        "publicAccessCidrs": ["203.0.113.0/24"],
        "encryptionConfigKeyArn": "arn:aws:kms:eu-west-1:123456789012:key/abc",
        "authenticationMode": "API",
    }


def ebs_volume() -> dict:
    return {"availabilityZone": "eu-west-1a", "size": 100.0, "type": "gp3", "encrypted": True}


def launch_template() -> dict:
    return {
        "blockDeviceMappings": [
            {"deviceName": "/dev/xvda", "ebs": {"volumeSize": 100.0, "volumeType": "gp3", "encrypted": "true"}},
            {"deviceName": "/dev/sdb", "virtualName": "ephemeral0"},
        ],
        "metadataOptions": {"httpTokens": "required", "httpPutResponseHopLimit": 1, "httpEndpoint": "enabled"},
    }


def s3_bucket() -> dict:
    return {"bucket": "pegasus-snapshots", "acl": "private", "forceDestroy": False}


def s3_bucket_acl() -> dict:
    return {
        "bucket": "pegasus-snapshots",
        "accessControlPolicy": {
            "owner": {"id": "owner-id"},
            "grants": [{"grantee": {"type": "CanonicalUser", "id": "owner-id"}, "permission": "FULL_CONTROL"}],
        },
    }


def s3_public_access_block() -> dict:
    return {
        "bucket": "pegasus-snapshots",
        "blockPublicAcls": True,
        "blockPublicPolicy": True,
        "ignorePublicAcls": True,
        "restrictPublicBuckets": True,
    }


def s3_bucket_policy() -> dict:
    return {
        "bucket": "pegasus-snapshots",
        "policy": (
            '{"Version": "2012-10-17", "Statement": ['
            '{"Sid": "TlsOnly", "Effect": "Deny", "Principal": "*", "Action": "s3:*",'
            ' "Resource": "arn:aws:s3:::pegasus-snapshots/*",'
            ' "Condition": {"Bool": {"aws:SecureTransport": "false"}}},'
            '{"Sid": "Nodes", "Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::123456789012:role/nodes"},'
            ' "Action": "s3:GetObject", "Resource": "arn:aws:s3:::pegasus-snapshots/*"}]}'
        ),
    }


# --------------------------------------------------------------------------------------
# GCP
# --------------------------------------------------------------------------------------


def gke_cluster() -> dict:
    return {
        "location": "europe-west1",
        "privateClusterConfig": {"enablePrivateNodes": True, "masterIpv4CidrBlock": "172.16.0.32/28"},
        "workloadIdentityConfig": {"workloadPool": "pegasus-prod.svc.id.goog"},
        "enableLegacyAbac": False,
    }


def gcs_bucket() -> dict:
    return {"location": "EU", "publicAccessPrevention": "enforced", "uniformBucketLevelAccess": True}


def gcs_iam_member() -> dict:
    return {"bucket": "pegasus-snapshots", "role": "roles/storage.objectViewer",
            "member": "serviceAccount:nodes@pegasus-prod.iam.gserviceaccount.com"}


def gcs_iam_binding() -> dict:
    return {"bucket": "pegasus-snapshots", "role": "roles/storage.objectViewer",
            "members": ["serviceAccount:nodes@pegasus-prod.iam.gserviceaccount.com"]}


def gcs_iam_policy() -> dict:
    return {
        "bucket": "pegasus-snapshots",
        "policyData": '{"bindings": [{"role": "roles/storage.objectViewer",'
                      ' "members": ["serviceAccount:nodes@pegasus-prod.iam.gserviceaccount.com"]}]}',
    }


# Every golden fixture by resource type; test_policy_fixtures.py runs the whole pack on them.
GOLDEN = {
    PVC: pvc,
    STORAGE_CLASS: storage_class,
    STATEFUL_SET: stateful_set,
    DEPLOYMENT: deployment,
    DAEMON_SET: daemon_set,
    REPLICA_SET: replica_set,
    POD: pod,
    JOB: job,
    CRON_JOB: cron_job,
    SERVICE: shard_service,
    CONFIG_MAP: config_map,
    SECRET: secret,
    EC2_NODE_CLASS: ec2_node_class,
    NODE_POOL: node_pool,
    HELM_RELEASE: helm_release,
    AWS_EKS: aws_eks_cluster,
    EKS_COMPONENT: eks_component_cluster,
    EBS_VOLUME: ebs_volume,
    LAUNCH_TEMPLATE: launch_template,
    S3_BUCKET: s3_bucket,
    S3_BUCKET_V2: s3_bucket,
    S3_BUCKET_ACL: s3_bucket_acl,
    S3_BUCKET_ACL_V2: s3_bucket_acl,
    S3_PUBLIC_ACCESS_BLOCK: s3_public_access_block,
    S3_BUCKET_POLICY: s3_bucket_policy,
    GKE: gke_cluster,
    GCS_BUCKET: gcs_bucket,
    GCS_IAM_MEMBER: gcs_iam_member,
    GCS_IAM_BINDING: gcs_iam_binding,
    GCS_IAM_POLICY: gcs_iam_policy,
}


def golden_stack() -> list[dict]:
    """Every golden fixture as one stack; the chain-data PVC is protected as required."""
    resources = [resource(t, make(), name=make.__name__, protect=(t == PVC)) for t, make in GOLDEN.items()]
    resources.append(resource(SERVICE, spc_service(), name="spc"))
    return resources
