"""Every disk that can hold chain data or keys is encrypted at rest.

Chain data volumes hold the node key and, on validators, the signing state; node root
volumes hold container layers and kubelet's copies of mounted Secrets. An unencrypted EBS
snapshot or a disk handed back to AWS exposes them. Account-level default encryption would
cover some of this, but a policy cannot see it, so we require it on each resource.
"""

from __future__ import annotations

from pulumi_policy import EnforcementLevel, ResourceValidationArgs, ResourceValidationPolicy

from . import _util as u

NAME = "pegasus-volumes-encrypted"

EBS_VOLUME = "aws:ebs/volume:Volume"
LAUNCH_TEMPLATE = "aws:ec2/launchTemplate:LaunchTemplate"
EC2_NODE_CLASS = "kubernetes:karpenter.k8s.aws/v1:EC2NodeClass"
STORAGE_CLASS = "kubernetes:storage.k8s.io/v1:StorageClass"
EBS_PROVISIONERS = ("ebs.csi.aws.com", "kubernetes.io/aws-ebs")


def _device(mapping) -> str:
    with u.undecided():
        name = u.get(mapping, "deviceName")
        if isinstance(name, str):
            return f" ('{name}')"
    return ""


def _check_mappings(props, path: tuple, prefix: str, quote: str, report_violation) -> None:
    """`quote` is '"' where the provider types `encrypted` as a string (launch templates)."""
    for index, mapping in u.indexed(props, *path):
        with u.undecided():
            ebs = u.get(mapping, "ebs")
            # Mappings without ebs are instance-store or "no device" entries: nothing to encrypt.
            if ebs is None or u.is_true(u.get(ebs, "encrypted")):
                continue
            report_violation(
                f"{prefix}blockDeviceMappings[{index}]{_device(mapping)} ebs.encrypted is not "
                f"{quote}true{quote}; set it to {quote}true{quote}"
            )


def validate(args: ResourceValidationArgs, report_violation) -> None:
    props = args.props
    if args.resource_type == EBS_VOLUME:
        if not u.is_true(u.get(props, "encrypted")):
            report_violation("encrypted is not true; set encrypted to true")
    elif args.resource_type == LAUNCH_TEMPLATE:
        _check_mappings(props, ("blockDeviceMappings",), "", '"', report_violation)
    elif args.resource_type == EC2_NODE_CLASS:
        # Without blockDeviceMappings Karpenter's own defaults apply, and those are encrypted.
        _check_mappings(props, ("spec", "blockDeviceMappings"), "spec.", "", report_violation)
    elif args.resource_type == STORAGE_CLASS:
        provisioner = u.get(props, "provisioner")
        if provisioner in EBS_PROVISIONERS and not u.is_true(u.get(props, "parameters", "encrypted")):
            report_violation(
                f"parameters.encrypted is not \"true\" for provisioner '{provisioner}'; "
                "set it to \"true\" so that every provisioned volume is encrypted"
            )


POLICY = ResourceValidationPolicy(
    name=NAME,
    description=(
        "EBS volumes, launch-template EBS mappings, Karpenter EC2NodeClass block devices and "
        "StorageClasses of the EBS CSI driver are encrypted."
    ),
    validate=u.skip_unknown(validate),
    enforcement_level=EnforcementLevel.MANDATORY,
)
