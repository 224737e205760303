"""Karpenter nodes boot a reviewed AMI.

With an `@latest` alias Karpenter drifts every node to each new AMI as soon as AWS publishes
it, so a kernel or containerd change reaches all validators at once, unreviewed, and the
rolling replacement restarts every chainlet. Pinning `family@vYYYYMMDD` turns that into a
deliberate config change. Advisory: fresh test stacks may track latest on purpose.
"""

from __future__ import annotations

from pulumi_policy import EnforcementLevel, ResourceValidationArgs, ResourceValidationPolicy

from . import _util as u

NAME = "pegasus-karpenter-ami-pinned"

EC2_NODE_CLASS = "kubernetes:karpenter.k8s.aws/v1:EC2NodeClass"


def validate(args: ResourceValidationArgs, report_violation) -> None:
    if args.resource_type != EC2_NODE_CLASS:
        return
    for index, term in u.indexed(args.props, "spec", "amiSelectorTerms"):
        with u.undecided():
            alias = u.get(term, "alias")
            if isinstance(alias, str) and alias.endswith("@latest"):
                family = alias.rsplit("@", 1)[0]
                report_violation(
                    f"spec.amiSelectorTerms[{index}].alias '{alias}' is not pinned; "
                    f"pin a release such as '{family}@v20250101' (config karpenter.amiAlias)"
                )


POLICY = ResourceValidationPolicy(
    name=NAME,
    description=(
        "Karpenter EC2NodeClass amiSelectorTerms do not use an '@latest' alias, so that node "
        "AMIs change only through a reviewed config change."
    ),
    validate=u.skip_unknown(validate),
    enforcement_level=EnforcementLevel.ADVISORY,
)
