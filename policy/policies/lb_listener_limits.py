"""An AWS Network Load Balancer fits its listener quota and its security group's rule quota.

The AWS Load Balancer Controller (v3.5.0) makes one listener per Service port, except that
with the TCP_UDP feature (the `aws-load-balancer-enable-tcp-udp-listener` annotation, or
the controller's EnableTCPUDPListener gate) a TCP and a UDP entry on the same port number
become one TCP_UDP listener (pkg/service/model_build_listener.go). An NLB has at most 50
listeners, not adjustable. A p2p shard uses one listener per chainlet (p2p is TCP only).

The controller also manages the NLB's security group and writes one inbound rule per Service
port entry and source range (pkg/service/model_build_managed_sg.go), so a port carrying TCP
and UDP costs two rules even when it is one listener. The default quota is 60 inbound rules
per security group.

Neither overflow fails the Pulumi update: the controller fails to reconcile afterwards, and
the newest chainlets are silently unreachable. Counting here catches it first.
"""

from __future__ import annotations

from pulumi_policy import EnforcementLevel, ResourceValidationArgs, ResourceValidationPolicy

from . import _util as u

NAME = "pegasus-nlb-listener-limit"

SERVICE = "kubernetes:core/v1:Service"
# envoy-gateway: each Gateway becomes one Envoy LoadBalancer Service, one port per listener.
GATEWAY = "kubernetes:gateway.networking.k8s.io/v1:Gateway"
AWS_LB_PREFIX = "service.beta.kubernetes.io/aws-load-balancer-"
LB_TYPE_ANNOTATION = "service.beta.kubernetes.io/aws-load-balancer-type"
TCP_UDP_ANNOTATION = "service.beta.kubernetes.io/aws-load-balancer-enable-tcp-udp-listener"
# With either, the controller does not write the rules of its managed frontend security group.
OWN_SECURITY_GROUPS = "service.beta.kubernetes.io/aws-load-balancer-security-groups"
NO_SECURITY_GROUP = "service.beta.kubernetes.io/aws-load-balancer-disable-nlb-sg"
# "nlb-ip" is the controller's legacy spelling of an IP-target NLB.
NLB_TYPES = ("nlb", "nlb-ip", "external")
NLB_CLASS = "service.k8s.aws/nlb"
DEFAULT_MAX_LISTENERS = 50
DEFAULT_MAX_SECURITY_GROUP_RULES = 60

CONFIG_SCHEMA = u.schema(
    maxListeners={
        "type": "integer",
        "default": DEFAULT_MAX_LISTENERS,
        "description": "Listeners one NLB may have (one per port; TCP and UDP of a port share one with TCP_UDP).",
    },
    maxSecurityGroupRules={
        "type": "integer",
        "default": DEFAULT_MAX_SECURITY_GROUP_RULES,
        "description": "Inbound rules of the NLB's managed security group: one per spec.ports entry and source range.",
    },
)

SPREAD = "spread the ports over more LoadBalancer Services (a smaller ingress.shardSize)"


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


def _check_listeners(args: ResourceValidationArgs, ports, limit: int, report_violation) -> None:
    if u.is_true(u.get(args.props, "metadata", "annotations", TCP_UDP_ANNOTATION)):
        numbers = set()
        for _, port in u.indexed(ports):
            number = u.get(port, "port")
            if u.as_int(number) is None:
                return  # a port unknown or unreadable: the merged count cannot be decided
            numbers.add(u.as_int(number))
        if len(numbers) > limit:
            report_violation(
                f"spec.ports opens {len(numbers)} port numbers, each one NLB listener (TCP and UDP of a port "
                f"merged into TCP_UDP), above the limit of {limit}; {SPREAD}"
            )
    elif len(ports) > limit:
        report_violation(f"spec.ports has {len(ports)} entries, each an NLB listener, above the limit of {limit}; {SPREAD}")


def _check_security_group(args: ResourceValidationArgs, ports, limit: int, report_violation) -> None:
    annotations = u.get_mapping(args.props, "metadata", "annotations")
    if u.get(annotations, OWN_SECURITY_GROUPS) or u.is_true(u.get(annotations, NO_SECURITY_GROUP)):
        return
    ranges = u.get(args.props, "spec", "loadBalancerSourceRanges")
    sources = len(ranges) if u.is_list(ranges) and len(ranges) else 1  # 0.0.0.0/0 when none is given
    rules = len(ports) * sources
    if rules > limit:
        report_violation(
            f"spec.ports has {len(ports)} entries from {sources} source range(s), {rules} inbound rules in the "
            f"security group the AWS Load Balancer Controller manages for this NLB, above the limit of {limit}; "
            f"{SPREAD}, or raise the account's quota and maxSecurityGroupRules with it"
        )


def _validate_gateway(args: ResourceValidationArgs, report_violation) -> None:
    """A Gateway's own Service settings are its infrastructure annotations; one naming the AWS
    Load Balancer Controller means the Gateway is one NLB (the shared NLB type itself is the
    EnvoyProxy's, which a per-resource check cannot see)."""
    annotations = u.get_mapping(args.props, "spec", "infrastructure", "annotations")
    if not any(isinstance(k, str) and k.startswith(AWS_LB_PREFIX) for k in annotations):
        return
    listeners = u.get(args.props, "spec", "listeners")
    if not u.is_list(listeners):
        return
    settings = u.config(args, CONFIG_SCHEMA)
    limit = u.int_setting(settings.get("maxListeners"), DEFAULT_MAX_LISTENERS)
    if len(listeners) > limit:
        report_violation(f"spec.listeners has {len(listeners)} entries, each a port of this Gateway's NLB, above the "
                         f"limit of {limit}; {SPREAD}")
    rules = u.int_setting(settings.get("maxSecurityGroupRules"), DEFAULT_MAX_SECURITY_GROUP_RULES)
    if len(listeners) > rules:
        report_violation(f"spec.listeners has {len(listeners)} entries, {len(listeners)} inbound rules in the security "
                         f"group of this Gateway's NLB, above the limit of {rules}; {SPREAD}")


def validate(args: ResourceValidationArgs, report_violation) -> None:
    if args.resource_type == GATEWAY:
        with u.undecided():
            _validate_gateway(args, report_violation)
        return
    if args.resource_type != SERVICE:
        return
    if u.get(args.props, "spec", "type") != "LoadBalancer" or _is_nlb(args.props) is not True:
        return
    settings = u.config(args, CONFIG_SCHEMA)
    ports = u.get(args.props, "spec", "ports")
    if not u.is_list(ports):
        return
    # len() of a list proxy never reads its elements, so unknown entries still count.
    with u.undecided():
        _check_listeners(args, ports, u.int_setting(settings.get("maxListeners"), DEFAULT_MAX_LISTENERS), report_violation)
    with u.undecided():
        _check_security_group(args, ports, u.int_setting(settings.get("maxSecurityGroupRules"),
                                                         DEFAULT_MAX_SECURITY_GROUP_RULES), report_violation)


POLICY = ResourceValidationPolicy(
    name=NAME,
    description=(
        "A LoadBalancer Service served by an AWS NLB (aws-load-balancer-type nlb/external or "
        "loadBalancerClass service.k8s.aws/nlb) has at most maxListeners (default 50) listeners, a TCP and "
        "a UDP entry of one port counting once with the TCP_UDP annotation, and at most maxSecurityGroupRules "
        "(default 60) inbound rules in its managed security group, one per spec.ports entry and source range."
    ),
    validate=u.skip_unknown(validate),
    enforcement_level=EnforcementLevel.MANDATORY,
    config_schema=CONFIG_SCHEMA,
)
