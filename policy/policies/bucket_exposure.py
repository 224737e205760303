"""Buckets are never public.

Our buckets hold chain snapshots, genesis files, logs and state backups. A public snapshot
bucket also hands out the node key inside the data directory, and a public log bucket maps
our infrastructure. On S3 publicity comes from a canned ACL, an ACL grant to the AllUsers or
AuthenticatedUsers group, or a bucket policy allowing Principal "*" unconditionally; a public
access block with all four flags on overrides the first two. On GCS it comes from an IAM
grant to allUsers or allAuthenticatedUsers, and publicAccessPrevention "enforced" with
uniform bucket-level access rules both that and object ACLs out.
"""

from __future__ import annotations

import json

from pulumi_policy import EnforcementLevel, ResourceValidationArgs, ResourceValidationPolicy

from . import _util as u

NAME = "pegasus-buckets-not-public"

S3_BUCKETS = ("aws:s3/bucket:Bucket", "aws:s3/bucketV2:BucketV2")
S3_BUCKET_ACLS = ("aws:s3/bucketAcl:BucketAcl", "aws:s3/bucketAclV2:BucketAclV2")
S3_PUBLIC_ACCESS_BLOCK = "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock"
S3_BUCKET_POLICY = "aws:s3/bucketPolicy:BucketPolicy"
GCS_BUCKET = "gcp:storage/bucket:Bucket"
GCS_IAM_MEMBER = "gcp:storage/bucketIAMMember:BucketIAMMember"
GCS_IAM_BINDING = "gcp:storage/bucketIAMBinding:BucketIAMBinding"
GCS_IAM_POLICY = "gcp:storage/bucketIAMPolicy:BucketIAMPolicy"

PUBLIC_CANNED_ACLS = ("public-read", "public-read-write", "authenticated-read")
PUBLIC_GRANTEE_GROUPS = {
    "http://acs.amazonaws.com/groups/global/AllUsers": "AllUsers",
    "http://acs.amazonaws.com/groups/global/AuthenticatedUsers": "AuthenticatedUsers",
}
PUBLIC_ACCESS_BLOCK_FLAGS = ("blockPublicAcls", "blockPublicPolicy", "ignorePublicAcls", "restrictPublicBuckets")
PUBLIC_MEMBERS = ("allUsers", "allAuthenticatedUsers")
GCS_FIX = "grant the role to specific principals"


def _check_acl(props, report_violation) -> None:
    acl = u.get(props, "acl")
    if acl in PUBLIC_CANNED_ACLS:
        report_violation(
            f"acl '{acl}' makes the bucket public; use 'private' and grant access through IAM policies"
        )


def _check_grants(props, path: tuple, report_violation) -> None:
    """Grants on Bucket carry `uri` directly; on BucketAcl under `grantee`."""
    field = ".".join(path)
    for index, grant in u.indexed(props, *path):
        with u.undecided():
            uri = u.get(grant, "grantee", "uri") if "accessControlPolicy" in path else u.get(grant, "uri")
            if uri in PUBLIC_GRANTEE_GROUPS:
                report_violation(
                    f"{field}[{index}] gives access to {PUBLIC_GRANTEE_GROUPS[uri]}; "
                    "remove the grant and grant access through IAM policies"
                )


def _is_public_principal(principal) -> bool:
    if principal == "*":
        return True
    if u.is_mapping(principal):
        aws = u.get(principal, "AWS")
        return aws == "*" or (u.is_list(aws) and "*" in u.get_list(aws))
    return False


def _check_policy_document(document, report_violation) -> None:
    if isinstance(document, str):
        try:
            document = json.loads(document)
        except ValueError:
            # The provider rejects malformed JSON itself; there is nothing to judge here.
            return
    if not u.is_mapping(document):
        return
    statements = u.get(document, "Statement")
    # A single statement may stand alone instead of in a list.
    statements = u.indexed(statements) if u.is_list(statements) else [(0, statements)]
    for index, statement in statements:
        with u.undecided():
            if (
                u.is_mapping(statement)
                and u.get(statement, "Effect") == "Allow"
                and _is_public_principal(u.get(statement, "Principal"))
                and not u.get(statement, "Condition")
            ):
                report_violation(
                    f"policy Statement[{index}] allows Principal '*' without a Condition; "
                    "name the principals or add a Condition"
                )


def _check_public_access_block(props, report_violation) -> None:
    off = []
    for flag in PUBLIC_ACCESS_BLOCK_FLAGS:
        with u.undecided():
            if not u.is_true(u.get(props, flag)):
                off.append(flag)
    if off:
        verb = "is" if len(off) == 1 else "are"
        report_violation(
            f"{', '.join(off)} {verb} not true; set blockPublicAcls, blockPublicPolicy, "
            "ignorePublicAcls and restrictPublicBuckets all to true"
        )


def _check_gcs_bucket(props, report_violation) -> None:
    with u.undecided():
        prevention = u.get(props, "publicAccessPrevention")
        if prevention != "enforced":
            shown = f"is {u.show(prevention)}" if prevention is not None else "is not set"
            report_violation(f"publicAccessPrevention {shown}; set it to 'enforced'")
    with u.undecided():
        if not u.is_true(u.get(props, "uniformBucketLevelAccess")):
            report_violation(
                "uniformBucketLevelAccess is not true; "
                "set it to true so that object ACLs cannot make objects public"
            )


def _check_gcs_iam_policy(props, report_violation) -> None:
    document = u.get(props, "policyData")
    try:
        document = json.loads(document) if isinstance(document, str) else document
    except ValueError:
        return
    for binding in u.get_list(document, "bindings"):
        with u.undecided():
            for member in u.get_list(binding, "members"):
                if member in PUBLIC_MEMBERS:
                    report_violation(
                        f"policyData binds '{member}' to {u.show(u.get(binding, 'role'))}, "
                        f"which makes the bucket public; {GCS_FIX}"
                    )


def validate(args: ResourceValidationArgs, report_violation) -> None:
    props, kind = args.props, args.resource_type
    if kind in S3_BUCKETS:
        with u.undecided():
            _check_acl(props, report_violation)
        with u.undecided():
            _check_grants(props, ("grants",), report_violation)
        with u.undecided():
            _check_policy_document(u.get(props, "policy"), report_violation)
    elif kind in S3_BUCKET_ACLS:
        with u.undecided():
            _check_acl(props, report_violation)
        with u.undecided():
            _check_grants(props, ("accessControlPolicy", "grants"), report_violation)
    elif kind == S3_BUCKET_POLICY:
        _check_policy_document(u.get(props, "policy"), report_violation)
    elif kind == S3_PUBLIC_ACCESS_BLOCK:
        _check_public_access_block(props, report_violation)
    elif kind == GCS_BUCKET:
        _check_gcs_bucket(props, report_violation)
    elif kind == GCS_IAM_MEMBER:
        member = u.get(props, "member")
        if member in PUBLIC_MEMBERS:
            report_violation(f"member '{member}' makes the bucket public; {GCS_FIX}")
    elif kind == GCS_IAM_BINDING:
        for member in u.get_list(props, "members"):
            if member in PUBLIC_MEMBERS:
                report_violation(f"members includes '{member}', which makes the bucket public; {GCS_FIX}")
    elif kind == GCS_IAM_POLICY:
        _check_gcs_iam_policy(props, report_violation)


POLICY = ResourceValidationPolicy(
    name=NAME,
    description=(
        "S3 and GCS buckets are not public: no public canned ACL or AllUsers/AuthenticatedUsers "
        "grant, no bucket policy allowing Principal \"*\" without a Condition, public access "
        "blocks with all four flags true, GCS publicAccessPrevention \"enforced\" with uniform "
        "bucket-level access, and no IAM grant to allUsers or allAuthenticatedUsers."
    ),
    validate=u.skip_unknown(validate),
    enforcement_level=EnforcementLevel.MANDATORY,
)
