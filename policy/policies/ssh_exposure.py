"""SSH is never open to the whole internet, on any of the fleet's clouds.

A fleet is many identical VMs with public addresses: port 22 open to 0.0.0.0/0 invites every
credential-stuffing scanner to each of them. The fleet opens SSH only to the operators'
CIDRs (fleet.allowSsh, fleet.sshCidrs), and P2P ports never include 22.
"""

from __future__ import annotations

from pulumi_policy import EnforcementLevel, ResourceValidationArgs, ResourceValidationPolicy

from . import _util as u

NAME = "pegasus-ssh-not-open-to-the-internet"

AWS_SG = "aws:ec2/securityGroup:SecurityGroup"
AWS_SG_RULE = "aws:ec2/securityGroupRule:SecurityGroupRule"
AWS_INGRESS_RULE = "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule"
GCP_FIREWALL = "gcp:compute/firewall:Firewall"
AZURE_NSG = "azure-native:network:NetworkSecurityGroup"
AZURE_RULE = "azure-native:network:SecurityRule"
ALI_RULE = "alicloud:ecs/securityGroupRule:SecurityGroupRule"

OPEN = {"0.0.0.0/0", "::/0", "*", "Internet", "Any", "0.0.0.0"}
FIX = "open SSH only to the operators' CIDRs (fleet.allowSsh with fleet.sshCidrs)"


def _covers_22(lo, hi) -> bool:
    lo, hi = u.as_int(lo), u.as_int(hi)
    return lo is not None and hi is not None and lo <= 22 <= hi


def _range(text) -> bool:
    """"22", "1-1024", "*", "22/22" (Alibaba), a list of those."""
    if u.is_list(text):
        return any(_range(t) for t in text)
    if not isinstance(text, str):
        return False
    if text.strip() in ("*", "-1/-1"):
        return True
    parts = text.replace("/", "-").split("-")
    return _covers_22(parts[0], parts[-1])


def _aws_rule(rule, where: str, report_violation) -> None:
    if u.get(rule, "type", default="ingress") != "ingress":
        return
    protocol = str(u.get(rule, "protocol", default=u.get(rule, "ipProtocol", default="")))
    all_ports = protocol in ("-1", "all")
    if not all_ports and not (protocol in ("tcp", "6") and _covers_22(u.get(rule, "fromPort"), u.get(rule, "toPort"))):
        return
    cidrs = [*u.get_list(rule, "cidrBlocks"), *u.get_list(rule, "ipv6CidrBlocks")]
    cidrs += [c for c in (u.get(rule, "cidrIpv4"), u.get(rule, "cidrIpv6")) if c]
    for cidr in cidrs:
        if cidr in OPEN:
            report_violation(f"{where} opens port 22 to {cidr}; {FIX}")


def _gcp(props, report_violation) -> None:
    if u.get(props, "direction", default="INGRESS") != "INGRESS":
        return
    sources = [s for s in u.get_list(props, "sourceRanges") if s in OPEN]
    if not sources:
        return
    for i, allow in u.indexed(props, "allows"):
        protocol = u.get(allow, "protocol")
        ports = u.get_list(allow, "ports")
        if protocol == "all" or (protocol == "tcp" and (not ports or _range(ports))):
            report_violation(f"allows[{i}] opens port 22 to {sources[0]}; {FIX}")


def _azure_rule(rule, where: str, report_violation) -> None:
    if u.get(rule, "direction") != "Inbound" or u.get(rule, "access") != "Allow":
        return
    if u.get(rule, "protocol") not in ("Tcp", "*"):
        return
    if not (_range(u.get(rule, "destinationPortRange")) or _range(u.get_list(rule, "destinationPortRanges"))):
        return
    sources = [u.get(rule, "sourceAddressPrefix"), *u.get_list(rule, "sourceAddressPrefixes")]
    for source in sources:
        if source in OPEN:
            report_violation(f"{where} opens port 22 to {source}; {FIX}")


def validate(args: ResourceValidationArgs, report_violation) -> None:
    t, props = args.resource_type, args.props
    if t == AWS_SG:
        for i, rule in u.indexed(props, "ingress"):
            with u.undecided():
                _aws_rule(rule, f"ingress[{i}]", report_violation)
    elif t in (AWS_SG_RULE, AWS_INGRESS_RULE):
        with u.undecided():
            _aws_rule(props, "the rule", report_violation)
    elif t == GCP_FIREWALL:
        with u.undecided():
            _gcp(props, report_violation)
    elif t == AZURE_NSG:
        for i, rule in u.indexed(props, "securityRules"):
            with u.undecided():
                _azure_rule(rule, f"securityRules[{i}]", report_violation)
    elif t == AZURE_RULE:
        with u.undecided():
            _azure_rule(props, "the rule", report_violation)
    elif t == ALI_RULE:
        with u.undecided():
            if (u.get(props, "type") == "ingress" and u.get(props, "ipProtocol") in ("tcp", "all")
                    and _range(u.get(props, "portRange")) and u.get(props, "cidrIp") in OPEN
                    and u.get(props, "policy", default="accept") == "accept"):
                report_violation(f"the rule opens port 22 to {u.get(props, 'cidrIp')}; {FIX}")


POLICY = ResourceValidationPolicy(
    name=NAME,
    description=(
        "Security groups, firewalls and network security groups on AWS, GCP, Azure and Alibaba Cloud "
        "never open TCP port 22 to 0.0.0.0/0, ::/0 or any source."
    ),
    validate=u.skip_unknown(validate),
    enforcement_level=EnforcementLevel.MANDATORY,
)
