"""EC2 instances answer only IMDSv2 (session tokens).

A fleet VM runs code pulled from a repository and carries an instance role; with IMDSv1 any
server-side request forgery on the VM (a P2P client fetching a URL it was handed) reads the
role's credentials with one GET. IMDSv2's PUT-then-GET token, and a hop limit of 1, stop that.
"""

from __future__ import annotations

from pulumi_policy import EnforcementLevel, ResourceValidationArgs, ResourceValidationPolicy

from . import _util as u

NAME = "pegasus-imdsv2-required"

LAUNCH_TEMPLATE = "aws:ec2/launchTemplate:LaunchTemplate"
INSTANCE = "aws:ec2/instance:Instance"


def validate(args: ResourceValidationArgs, report_violation) -> None:
    if args.resource_type not in (LAUNCH_TEMPLATE, INSTANCE):
        return
    with u.undecided():
        tokens = u.get(args.props, "metadataOptions", "httpTokens")
        if tokens != "required":
            report_violation(
                f"metadataOptions.httpTokens is {u.show(tokens) if tokens is not None else 'unset'}, so the instance "
                "metadata service also answers IMDSv1 and a forged request reads the instance role's credentials; "
                "set metadataOptions.httpTokens to 'required'"
            )


POLICY = ResourceValidationPolicy(
    name=NAME,
    description=(
        "EC2 launch templates and instances set metadataOptions.httpTokens to 'required' (IMDSv2 only), "
        "so that a request forgery on the VM cannot read its instance role's credentials."
    ),
    validate=u.skip_unknown(validate),
    enforcement_level=EnforcementLevel.MANDATORY,
)
