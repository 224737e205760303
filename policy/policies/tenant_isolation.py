"""Every tenant namespace of the provider blueprint is fenced in.

A tenant pod runs a stranger's image next to other tenants' pods. Its namespace (labelled
`coop.comrade/trusted-pods-namespace: "true"`) must come with:

- a NetworkPolicy that selects every pod of the namespace for Ingress and admits only the
  namespace's own pods, the HTTP add-on's interceptor (by its namespace), and, for a public
  NodePort, any source on named ports only. A peer that admits any namespace, or an ipBlock
  without ports, opens every tenant to every other;
- Egress listed too, and no egress rule that reaches every destination, a namespace other
  than kube-system (DNS), or the private and link-local ranges (other tenants, the metrics
  stack, the nodes, the cloud metadata service): an ipBlock of public space must except them;
- a ResourceQuota, so that one tenant cannot take the nodes' capacity from the others, with
  limits.ephemeral-storage: a tenant filling the node's disk gets its neighbours evicted.
"""

from __future__ import annotations

from pulumi_policy import EnforcementLevel, StackValidationArgs, StackValidationPolicy

from . import _util as u

NAME = "pegasus-tenant-isolation"

NAMESPACE = "kubernetes:core/v1:Namespace"
NETWORK_POLICY = "kubernetes:networking.k8s.io/v1:NetworkPolicy"
QUOTA = "kubernetes:core/v1:ResourceQuota"
TENANT_LABEL = "coop.comrade/trusted-pods-namespace"
NS_NAME_LABEL = "kubernetes.io/metadata.name"

# Ranges an egress ipBlock must leave out (components/provider/builder.py PRIVATE_RANGES).
MUST_EXCEPT = ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "169.254.0.0/16")
DNS_NAMESPACE = "kube-system"

CONFIG_SCHEMA = u.schema(interceptorNamespace={
    "type": "string", "default": "keda",
    "description": "The namespace whose pods (the HTTP add-on's interceptor) may reach every tenant.",
})


def _peer_problem(peer, ports, interceptor_ns: str):
    """Why one `from` peer admits too much, or None."""
    if not u.is_mapping(peer):
        return "is not an object"
    if "ipBlock" in peer:
        return None if ports else "admits an ipBlock on every port; name the NodePort's ports"
    ns_selector = u.get(peer, "namespaceSelector")
    if ns_selector is None:
        return None if "podSelector" in peer else "selects nothing it names"
    labels = u.get(ns_selector, "matchLabels") or {}
    if u.get(ns_selector, "matchExpressions") or u.keys(labels) != [NS_NAME_LABEL] or labels[NS_NAME_LABEL] != interceptor_ns:
        return f"admits namespaces other than the interceptor's ({interceptor_ns})"
    return None


def _egress_peer_problem(peer):
    if not u.is_mapping(peer):
        return "is not an object"
    if "ipBlock" in peer:
        block = u.get(peer, "ipBlock") or {}
        cidr = str(u.get(block, "cidr") or "")
        if cidr.endswith("/0"):
            missing = [r for r in MUST_EXCEPT if r not in (u.get_list(block, "except") or [])]
            if missing:
                return f"reaches {cidr} without excepting {', '.join(missing)}"
        return None
    ns_selector = u.get(peer, "namespaceSelector")
    if ns_selector is None:
        return None if "podSelector" in peer else "selects nothing it names"
    labels = u.get(ns_selector, "matchLabels") or {}
    if u.get(ns_selector, "matchExpressions") or u.keys(labels) != [NS_NAME_LABEL] or labels[NS_NAME_LABEL] != DNS_NAMESPACE:
        return f"reaches namespaces other than {DNS_NAMESPACE} (DNS)"
    return None


def _policy_problems(policy, interceptor_ns: str) -> list[str]:
    spec = u.get(policy.props, "spec") or {}
    problems = []
    if u.keys(u.get(spec, "podSelector") or {}):
        problems.append("selects only some pods; set spec.podSelector to {}")
    if "Ingress" not in (u.get_list(spec, "policyTypes") or []):
        problems.append("does not list Ingress in spec.policyTypes")
    for i, rule in u.indexed(spec, "ingress"):
        peers, ports = u.get_list(rule, "from"), u.get_list(rule, "ports")
        if not peers:
            problems.append(f"ingress[{i}] admits every source" + ("" if not ports else " on its ports") + "; list its peers")
            continue
        for j, peer in enumerate(peers):
            problem = _peer_problem(peer, ports, interceptor_ns)
            if problem:
                problems.append(f"ingress[{i}].from[{j}] {problem}")
    if "Egress" not in (u.get_list(spec, "policyTypes") or []):
        problems.append("does not list Egress in spec.policyTypes; deny egress but DNS, the namespace and public addresses")
    for i, rule in u.indexed(spec, "egress"):
        peers = u.get_list(rule, "to")
        if not peers:
            problems.append(f"egress[{i}] reaches every destination; list its peers")
            continue
        for j, peer in enumerate(peers):
            problem = _egress_peer_problem(peer)
            if problem:
                problems.append(f"egress[{i}].to[{j}] {problem}")
    return problems


def validate(args: StackValidationArgs, report_violation) -> None:
    interceptor_ns = u.config(args, CONFIG_SCHEMA).get("interceptorNamespace") or "keda"
    tenants, policies, quotas = [], {}, {}
    for r in args.resources:
        with u.undecided():
            if r.resource_type == NAMESPACE and u.is_true(u.get(r.props, "metadata", "labels", TENANT_LABEL)):
                tenants.append(r)
            elif r.resource_type == NETWORK_POLICY:
                policies.setdefault(u.namespace_of(r.props), []).append(r)
            elif r.resource_type == QUOTA:
                quotas[u.namespace_of(r.props)] = r
    for ns in tenants:
        name = u.name_of(ns.props, ns.name)
        fences = policies.get(name, [])
        if not fences:
            report_violation(f"tenant Namespace '{name}' has no NetworkPolicy; admit only the interceptor and the namespace's own pods", ns.urn)
        for fence in fences:
            for problem in _policy_problems(fence, interceptor_ns):
                report_violation(f"NetworkPolicy '{u.qualified_name(fence.props, fence.name)}' of tenant namespace '{name}' {problem}", fence.urn)
        if name not in quotas:
            report_violation(f"tenant Namespace '{name}' has no ResourceQuota; bound it by the pod's requests", ns.urn)
        elif u.get(quotas[name].props, "spec", "hard", "limits.ephemeral-storage") is None:
            quota = quotas[name]
            report_violation(f"ResourceQuota '{u.qualified_name(quota.props, quota.name)}' of tenant namespace '{name}' has no "
                             "limits.ephemeral-storage; bound the pods' scratch disk", quota.urn)


POLICY = StackValidationPolicy(
    name=NAME,
    description=(
        "Every tenant namespace (coop.comrade/trusted-pods-namespace: \"true\") has a NetworkPolicy admitting "
        "only its own pods, the HTTP interceptor's namespace and NodePort ports, denying egress but DNS, the "
        "namespace and public addresses, and a ResourceQuota."
    ),
    validate=u.skip_unknown(validate),
    enforcement_level=EnforcementLevel.MANDATORY,
    config_schema=CONFIG_SCHEMA,
)
