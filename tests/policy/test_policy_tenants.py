"""pegasus-tenant-isolation and pegasus-no-cluster-admin: the provider blueprint's golden
tenant (from the real builders) passes; each violating variant is reported exactly."""

from __future__ import annotations

import copy

from components.provider import builder as pb
from policy.policies import no_cluster_admin, tenant_isolation
from components.provider.manifests import parse_manifest
from tests.policy import fixtures as f
from tests.policy.harness import check, check_stack
from tests.provider.test_builder import NS, SUFFIX, doc

ISOLATION = tenant_isolation.POLICY
NAMESPACE, NETPOL, QUOTA = tenant_isolation.NAMESPACE, tenant_isolation.NETWORK_POLICY, tenant_isolation.QUOTA


def tenant(policy=None, quota=True):
    pod = parse_manifest(doc(), "pods/web.yaml", "web", SUFFIX)
    out = [
        f.resource(NAMESPACE, pb.namespace(pod, NS, "{}"), "ns"),
        f.resource(NETPOL, policy or pb.network_policy(pod, NS), "isolation"),
    ]
    if quota:
        out.append(f.resource(QUOTA, pb.resource_quota(pod, NS), "quota"))
    return out


def golden_policy():
    pod = parse_manifest(doc(), "pods/web.yaml", "web", SUFFIX)
    return copy.deepcopy(pb.network_policy(pod, NS))


def test_the_builders_tenant_passes():
    assert check_stack(ISOLATION, tenant()) == []


def test_a_tenant_without_network_policy_or_quota_is_reported():
    resources = [r for r in tenant(quota=False) if r["type"] != NETPOL]
    assert check_stack(ISOLATION, resources) == [
        (f.urn(NAMESPACE, "ns"), f"tenant Namespace '{NS}' has no NetworkPolicy; admit only the interceptor and the namespace's own pods"),
        (f.urn(NAMESPACE, "ns"), f"tenant Namespace '{NS}' has no ResourceQuota; bound it by the pod's requests"),
    ]


def test_a_namespace_selector_for_any_namespace_is_reported():
    policy = golden_policy()
    policy["spec"]["ingress"][0]["from"][0]["namespaceSelector"] = {}
    assert check_stack(ISOLATION, tenant(policy)) == [(
        f.urn(NETPOL, "isolation"),
        f"NetworkPolicy '{NS}/tpod-isolation' of tenant namespace '{NS}' ingress[0].from[0] admits namespaces other than the interceptor's (keda)",
    )]


def test_an_ip_block_on_every_port_is_reported():
    policy = golden_policy()
    del policy["spec"]["ingress"][2]["ports"]
    assert check_stack(ISOLATION, tenant(policy)) == [(
        f.urn(NETPOL, "isolation"),
        f"NetworkPolicy '{NS}/tpod-isolation' of tenant namespace '{NS}' ingress[2].from[0] admits an ipBlock on every port; name the NodePort's ports",
    )]


def test_an_open_rule_and_a_partial_selector_are_reported():
    policy = golden_policy()
    policy["spec"]["ingress"].append({})
    policy["spec"]["podSelector"] = {"matchLabels": {"app": "x"}}
    assert [m for _, m in check_stack(ISOLATION, tenant(policy))] == [
        f"NetworkPolicy '{NS}/tpod-isolation' of tenant namespace '{NS}' selects only some pods; set spec.podSelector to {{}}",
        f"NetworkPolicy '{NS}/tpod-isolation' of tenant namespace '{NS}' ingress[3] admits every source; list its peers",
    ]


def test_the_interceptor_namespace_is_configurable():
    config = {"interceptorNamespace": "http-addon"}
    assert [m for _, m in check_stack(ISOLATION, tenant(), config)] == [
        f"NetworkPolicy '{NS}/tpod-isolation' of tenant namespace '{NS}' ingress[0].from[0] admits namespaces other than the interceptor's (http-addon)"]


def test_a_namespace_without_the_tenant_label_is_not_a_tenant():
    resources = [f.resource(NAMESPACE, {"metadata": {"name": "other", "labels": {}}}, "ns")]
    assert check_stack(ISOLATION, resources) == []


BINDING = "kubernetes:rbac.authorization.k8s.io/v1:ClusterRoleBinding"


def test_a_binding_to_cluster_admin_is_reported_and_another_role_is_not():
    binding = {"metadata": {"name": "provider"}, "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "cluster-admin"},
               "subjects": [{"kind": "ServiceAccount", "name": "provider", "namespace": "default"}]}
    assert check(no_cluster_admin.POLICY, BINDING, binding) == [
        "ClusterRoleBinding 'default/provider' grants cluster-admin; bind a role with the verbs and resources the subject needs"]
    binding["roleRef"]["name"] = "view"
    assert check(no_cluster_admin.POLICY, BINDING, binding) == []


def test_a_tenant_without_egress_rules_is_reported():
    policy = golden_policy()
    policy["spec"]["policyTypes"] = ["Ingress"]
    del policy["spec"]["egress"]
    assert [m for _, m in check_stack(ISOLATION, tenant(policy))] == [
        f"NetworkPolicy '{NS}/tpod-isolation' of tenant namespace '{NS}' does not list Egress in spec.policyTypes; deny "
        "egress but DNS, the namespace and public addresses"]


def test_egress_to_everything_private_ranges_or_other_namespaces_is_reported():
    policy = golden_policy()
    policy["spec"]["egress"][2]["to"][0]["ipBlock"]["except"] = ["10.0.0.0/8"]
    policy["spec"]["egress"][0]["to"][0]["namespaceSelector"] = {"matchLabels": {"kubernetes.io/metadata.name": "sagasrv-metrics"}}
    policy["spec"]["egress"].append({"ports": [{"port": 443}]})
    assert [m for _, m in check_stack(ISOLATION, tenant(policy))] == [
        f"NetworkPolicy '{NS}/tpod-isolation' of tenant namespace '{NS}' egress[0].to[0] reaches namespaces other than kube-system (DNS)",
        f"NetworkPolicy '{NS}/tpod-isolation' of tenant namespace '{NS}' egress[2].to[0] reaches 0.0.0.0/0 without excepting "
        "172.16.0.0/12, 192.168.0.0/16, 169.254.0.0/16",
        f"NetworkPolicy '{NS}/tpod-isolation' of tenant namespace '{NS}' egress[3] reaches every destination; list its peers",
    ]


def test_a_quota_without_an_ephemeral_storage_limit_is_reported():
    resources = tenant()
    quota = next(r for r in resources if r["type"] == QUOTA)
    del quota["props"]["spec"]["hard"]["limits.ephemeral-storage"]
    assert check_stack(ISOLATION, resources) == [(
        f.urn(QUOTA, "quota"),
        f"ResourceQuota '{NS}/tpod-quota' of tenant namespace '{NS}' has no limits.ephemeral-storage; bound the pods' scratch disk")]
