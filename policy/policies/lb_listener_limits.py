"""An AWS Network Load Balancer has at most 50 listeners, and that quota is not adjustable.

The AWS Load Balancer Controller creates one listener per Service port (port + protocol), so
a p2p shard uses one listener per chainlet (p2p is TCP only), and a Service carrying TCP and
UDP on one port would count twice. Exceeding the
quota does not fail the Pulumi update: the controller fails to reconcile later and the
newest chainlets are silently unreachable. Counting spec.ports entries here catches it first.
"""

from __future__ import annotations

from pulumi_policy import EnforcementLevel, ResourceValidationArgs, ResourceValidationPolicy

from . import _util as u

NAME = "pegasus-nlb-listener-limit"

SERVICE = "kubernetes:core/v1:Service"
LB_TYPE_ANNOTATION = "service.beta.kubernetes.io/aws-load-balancer-type"
# "nlb-ip" is the controller's legacy spelling of an IP-target NLB.
NLB_TYPES = ("nlb", "nlb-ip", "external")
NLB_CLASS = "service.k8s.aws/nlb"
DEFAULT_MAX_LISTENERS = 50

CONFIG_SCHEMA = u.schema(
    maxListeners={
        "type": "integer",
        "default": DEFAULT_MAX_LISTENERS,
        "description": "Listeners one NLB may have; each spec.ports entry is one listener.",
    },
)


def _is_nlb(props) -> bool | None:
    """Whether the Service asks for an NLB; None if unknown values leave it open."""
    undecidable = False
    try:
        lb_type = u.get(props, "metadata", "annotations", LB_TYPE_ANNOTATION)
        if isinstance(lb_type, str) and lb_type.strip().lower() in NLB_TYPES:
            return True
    except u.UnknownValueError:
        undecidable = True
    try:
        if u.get(props, "spec", "loadBalancerClass") == NLB_CLASS:
            return True
    except u.UnknownValueError:
        undecidable = True
    return None if undecidable else False


def validate(args: ResourceValidationArgs, report_violation) -> None:
    if args.resource_type != SERVICE:
        return
    if u.get(args.props, "spec", "type") != "LoadBalancer" or _is_nlb(args.props) is not True:
        return
    limit = u.int_setting(u.config(args, CONFIG_SCHEMA).get("maxListeners"), DEFAULT_MAX_LISTENERS)
    ports = u.get(args.props, "spec", "ports")
    # len() of a list proxy never reads its elements, so unknown entries still count.
    if u.is_list(ports) and len(ports) > limit:
        report_violation(
            f"spec.ports has {len(ports)} entries, each an NLB listener, above the limit of {limit}; "
            "spread the ports over more LoadBalancer Services (a smaller ingress.shardSize)"
        )


POLICY = ResourceValidationPolicy(
    name=NAME,
    description=(
        "A LoadBalancer Service served by an AWS NLB (aws-load-balancer-type nlb/external or "
        "loadBalancerClass service.k8s.aws/nlb) has at most maxListeners (default 50) "
        "spec.ports entries, each one being an NLB listener."
    ),
    validate=u.skip_unknown(validate),
    enforcement_level=EnforcementLevel.MANDATORY,
    config_schema=CONFIG_SCHEMA,
)
