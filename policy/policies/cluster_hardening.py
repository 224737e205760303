"""The Kubernetes control plane is private and its Secrets are encrypted.

Our validator keys are Kubernetes Secrets, so whoever reaches the API server with stolen
credentials, or reads an etcd backup, reaches the keys. On EKS the API endpoint is public by
default and, without publicAccessCidrs, open to 0.0.0.0/0; envelope encryption of Secrets
needs a KMS key. On GKE nodes get public IPs unless private nodes are on, pods borrow the
node's service account unless Workload Identity is on, and legacy ABAC bypasses RBAC.
"""

from __future__ import annotations

from pulumi_policy import EnforcementLevel, ResourceValidationArgs, ResourceValidationPolicy

from . import _util as u

NAME = "pegasus-clusters-hardened"

AWS_EKS = "aws:eks/cluster:Cluster"
EKS_COMPONENT = "eks:index:Cluster"
GKE = "gcp:container/cluster:Cluster"

OPEN_CIDRS = ("0.0.0.0/0", "::/0")


def _check_endpoint(props, prefix: str, report_violation) -> None:
    """`prefix` is where the endpoint fields live: "vpcConfig." or "" on the eks component."""
    container = u.get_mapping(props, "vpcConfig") if prefix else props
    # Both resources default endpointPublicAccess to true.
    if u.is_false(u.get(container, "endpointPublicAccess", default=True)):
        return
    cidrs, some_unknown = u.get_list_with_unknowns(container, "publicAccessCidrs")
    open_cidr = next((c for c in cidrs if c in OPEN_CIDRS), None)
    # Pegasus users change the config key, not the resource input it becomes.
    fix = (f"list the operator CIDRs in cluster.publicAccessCidrs, or leave it empty to keep the endpoint "
           f"private ({prefix}endpointPublicAccess false)")
    if open_cidr:
        report_violation(
            f"{prefix}publicAccessCidrs contains '{open_cidr}', so the public API endpoint is open "
            f"to the internet; {fix}"
        )
    elif not cidrs and not some_unknown:
        report_violation(
            f"{prefix}publicAccessCidrs is empty, so AWS opens the public API endpoint to 0.0.0.0/0; {fix}"
        )


def _check_aws_encryption(props, report_violation) -> None:
    config = u.get(props, "encryptionConfig")
    # pulumi-aws types it as one object; older programs passed a one-element list.
    configs = u.get_list(config) if u.is_list(config) else [config] if config is not None else []
    undecidable = False
    for entry in configs:
        resources, some_unknown = u.get_list_with_unknowns(entry, "resources")
        if "secrets" in resources:
            return
        undecidable = undecidable or some_unknown
    if not undecidable:
        report_violation(
            "encryptionConfig does not encrypt 'secrets'; set encryptionConfig with "
            "resources ['secrets'] and a KMS key in provider.keyArn"
        )


def _check_component_encryption(props, report_violation) -> None:
    if not u.get(props, "encryptionConfigKeyArn"):
        report_violation(
            "encryptionConfigKeyArn is not set, so Kubernetes Secrets are not envelope-encrypted; "
            "set it to a KMS key ARN"
        )


def _check_gke(props, report_violation) -> None:
    with u.undecided():
        if not u.is_true(u.get(props, "privateClusterConfig", "enablePrivateNodes")):
            report_violation(
                "privateClusterConfig.enablePrivateNodes is not true; "
                "set it to true so that nodes get no public IP addresses"
            )
    with u.undecided():
        if not u.get(props, "workloadIdentityConfig", "workloadPool"):
            report_violation(
                "workloadIdentityConfig.workloadPool is not set; set it to '<project>.svc.id.goog' "
                "so that pods use Workload Identity instead of the node's service account"
            )
    with u.undecided():
        if u.is_true(u.get(props, "enableLegacyAbac")):
            report_violation(
                "enableLegacyAbac is true; set it to false so that RBAC alone authorizes API requests"
            )


def validate(args: ResourceValidationArgs, report_violation) -> None:
    if args.resource_type == AWS_EKS:
        with u.undecided():
            _check_endpoint(args.props, "vpcConfig.", report_violation)
        with u.undecided():
            _check_aws_encryption(args.props, report_violation)
    elif args.resource_type == EKS_COMPONENT:
        with u.undecided():
            _check_endpoint(args.props, "", report_violation)
        with u.undecided():
            _check_component_encryption(args.props, report_violation)
    elif args.resource_type == GKE:
        _check_gke(args.props, report_violation)


POLICY = ResourceValidationPolicy(
    name=NAME,
    description=(
        "EKS clusters (aws:eks/cluster:Cluster, eks:index:Cluster) keep the public API endpoint off "
        "0.0.0.0/0 and encrypt Secrets with KMS; GKE clusters use private nodes and Workload "
        "Identity and keep legacy ABAC off."
    ),
    validate=u.skip_unknown(validate),
    enforcement_level=EnforcementLevel.MANDATORY,
)
