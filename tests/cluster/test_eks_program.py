"""The eks stack under mocks: the dependency edges a first `pulumi up` needs, validators kept
on never-expiring nodes, identities scoped to one service account, and addresses that stay.

Dependency edges are read from what the RecordingMonitor (tools/plan/mocks.py, a MockMonitor
subclass) saw in each RegisterResource request, which is what the engine orders by.
"""

from __future__ import annotations

import json

import pytest

from pegasus import names

from policy.policies import signer_node_expiry
from tests.conftest import example, k8s, obj, run


@pytest.fixture
def eks():
    return example("eks")


def by_name(plan, name):
    [r] = [r for r in plan.resources if r.name == name]
    return r


def karpenter_objects(plan):
    return {by_name(plan, n).urn for n in ("karpenter-node-class", "karpenter-node-pool", "karpenter-signer-pool")}


def release(plan, name):
    [r] = [r for r in plan.by_type("kubernetes:helm.sh/v3:Release") if r.inputs["name"] == name]
    return r


def chain_workloads(plan):
    return [r for r in k8s(plan, "StatefulSet")
            if (r.inputs["metadata"].get("labels") or {}).get("pegasus.saga.xyz/signer") == "true"]


def test_workloads_wait_for_the_node_pools(eks):
    """With Karpenter the system nodes take only critical add-ons: every release with pods of
    its own, and every chain daemon, waits for the EC2NodeClass and both NodePools."""
    pools = karpenter_objects(eks)
    waiting = [release(eks, n) for n in (names.INGRESS_RELEASE, names.MONITORING_RELEASE, names.BLACKBOX_RELEASE)]
    waiting += chain_workloads(eks)
    assert len(waiting) == 3 + 7  # six chainlets and the platform chain
    for r in waiting:
        assert pools <= set(r.options["dependsOn"]), r.name


def test_karpenter_comes_right_after_the_cluster(eks):
    order = eks.registration_order
    karpenter = by_name(eks, "karpenter").urn
    for name in ("ingress", "monitoring", "spc"):
        assert order.index(karpenter) < order.index(by_name(eks, name).urn), name
    # The pools need the controller (and its CRDs) running, and their nodes a role with its policies.
    pool = by_name(eks, "karpenter-signer-pool")
    assert release(eks, "karpenter").urn in pool.options["dependsOn"]
    assert by_name(eks, "karpenter-node-AmazonEKSWorkerNodePolicy").urn in pool.options["dependsOn"]


def test_without_karpenter_nothing_waits_for_node_pools():
    plan = run("eks", ["karpenter.enabled=false"])
    assert not k8s(plan, "NodePool")
    ingress = release(plan, names.INGRESS_RELEASE)
    assert not any("karpenter" in d for d in ingress.options["dependsOn"])
    pod = obj(plan, "StatefulSet", "spc", "sagasrv-spc").inputs["spec"]["template"]["spec"]
    assert "nodeSelector" not in pod and "tolerations" not in pod


def test_public_services_wait_for_the_load_balancer_controller(eks):
    lbc = release(eks, "aws-load-balancer-controller").urn
    for service in (obj(eks, "Service", "spc", "sagasrv-spc"), obj(eks, "Service", "ingress-nginx-controller-p2p-0")):
        assert lbc in service.options["dependsOn"], service.name


def test_pod_identity_users_wait_for_the_agent(eks):
    agent = by_name(eks, "cluster-pod-identity-agent").urn
    for name in ("karpenter", "aws-load-balancer-controller", "fluent-bit"):
        assert agent in release(eks, name).options["dependsOn"], name
    assert agent in by_name(eks, "cluster-ebs-csi").options["dependsOn"]


def test_chain_daemons_run_only_on_the_signers_pool(eks):
    pools = {p.inputs["metadata"]["name"]: p.inputs for p in k8s(eks, "NodePool")}
    for sts in chain_workloads(eks):
        template = sts.inputs["spec"]["template"]
        assert template["spec"]["nodeSelector"] == {"pegasus.saga.xyz/pool": "signers"}
        assert template["metadata"]["annotations"]["karpenter.sh/do-not-disrupt"] == "true"
        assert template["metadata"]["annotations"]["cluster-autoscaler.kubernetes.io/safe-to-evict"] == "false"
        # Judged the way the policy judges it: the signers pool only.
        fits = {name for name, pool in pools.items() if signer_node_expiry.can_run(pool, template["spec"])}
        assert fits == {"signers"}, sts.name
    assert pools["signers"]["spec"]["template"]["spec"]["expireAfter"] == "Never"


def test_gke_signers_tell_the_cluster_autoscaler_not_to_evict_them():
    plan = example("gke")
    for sts in chain_workloads(plan):
        template = sts.inputs["spec"]["template"]
        assert template["metadata"]["annotations"]["cluster-autoscaler.kubernetes.io/safe-to-evict"] == "false"
        assert "nodeSelector" not in template["spec"]


def test_pod_identity_roles_trust_one_service_account_of_this_cluster(eks):
    roles = {r.urn: json.loads(r.raw_inputs["assumeRolePolicy"]) for r in eks.by_type("aws:iam/role:Role")}
    expected = {
        "cluster-lbc-role": ("kube-system", "aws-load-balancer-controller"),
        "karpenter-controller-role": ("kube-system", "karpenter"),
        "logging-role": ("sagasrv-logging", "fluent-bit"),
        "cluster-ebs-csi-role": ("kube-system", "ebs-csi-controller-sa"),
    }
    for name, (namespace, account) in expected.items():
        [statement] = roles[by_name(eks, name).urn]["Statement"]
        assert statement["Principal"] == {"Service": "pods.eks.amazonaws.com"}
        assert statement["Condition"] == {"StringEquals": {
            "aws:RequestTag/eks-cluster-arn": "arn:aws:eks:us-east-1:123456789012:cluster/pegasus-eks",
            "aws:RequestTag/eks-cluster-name": "pegasus-eks",
            "aws:RequestTag/kubernetes-namespace": namespace,
            "aws:RequestTag/kubernetes-service-account": account,
        }}, name
    # The associations name the same service accounts the trust policies allow.
    for association in eks.by_type("aws:eks/podIdentityAssociation:PodIdentityAssociation"):
        role = next(r for r in eks.by_type("aws:iam/role:Role") if r.urn in association.options["dependsOn"])
        condition = json.loads(role.raw_inputs["assumeRolePolicy"])["Statement"][0]["Condition"]["StringEquals"]
        assert (association.inputs["namespace"], association.inputs["serviceAccount"]) == (
            condition["aws:RequestTag/kubernetes-namespace"], condition["aws:RequestTag/kubernetes-service-account"])
    ebs = next(a for a in eks.by_type("aws:eks/addon:Addon") if a.inputs["addonName"] == "aws-ebs-csi-driver")
    assert ebs.inputs["podIdentityAssociations"][0]["serviceAccount"] == "ebs-csi-controller-sa"


def test_node_roles_trust_ec2_in_the_accounts_dns_suffix(eks):
    for name in ("cluster-system-node-role", "karpenter-node-role"):
        [statement] = json.loads(by_name(eks, name).raw_inputs["assumeRolePolicy"])["Statement"]
        assert statement["Principal"] == {"Service": "ec2.amazonaws.com"}


def test_shards_get_protected_elastic_ips_and_the_ingress_pods_readiness_gates(eks):
    eips = [r for r in eks.by_type("aws:ec2/eip:Eip") if r.parent and "ShardAddresses" in r.parent]
    assert sorted(e.name for e in eips) == ["p2p-addresses-0-az0", "p2p-addresses-0-az1", "p2p-addresses-0-az2"]
    guard = by_name(eks, "chain-state").urn
    for eip in eips:
        assert eip.options["protect"] and guard in eip.options["dependsOn"]
    annotations = obj(eks, "Service", "ingress-nginx-controller-p2p-0").inputs["metadata"]["annotations"]
    assert annotations["service.beta.kubernetes.io/aws-load-balancer-eip-allocations"] == ",".join(
        f"eipalloc-p2p-addresses-0-az{i}" for i in range(3))
    assert annotations["service.beta.kubernetes.io/aws-load-balancer-subnets"] == ",".join(
        f"cluster-public-{i}-placeholder-id" for i in range(3))
    # In AZ order, whatever order the mocks handed out their placeholder IPs in.
    in_az_order = [e.placeholders["publicIp"] for e in sorted(eips, key=lambda e: e.name)]
    assert eks.outputs["lbShardAddresses"] == {"ingress-nginx-controller-p2p-0": in_az_order}
    # Placeholders from TEST-NET-1, derived from the names (plans are deterministic), one per AZ.
    assert len(set(in_az_order)) == 3 and all(ip.startswith("192.0.2.") for ip in in_az_order)
    ns = obj(eks, "Namespace", names.INGRESS_NAMESPACE)
    assert ns.inputs["metadata"]["labels"]["elbv2.k8s.aws/pod-readiness-gate-inject"] == "enabled"
    # The gates wait for target health, which is the controller's own, not each traffic port's
    # (a fully offline shard keeps a port nobody listens on), and rolled pods wait minutes for it.
    assert {k: v for k, v in annotations.items() if "healthcheck" in k} == {
        "service.beta.kubernetes.io/aws-load-balancer-healthcheck-protocol": "HTTP",
        "service.beta.kubernetes.io/aws-load-balancer-healthcheck-port": "10254",
        "service.beta.kubernetes.io/aws-load-balancer-healthcheck-path": "/healthz",
    }
    assert release(eks, names.INGRESS_RELEASE).inputs["timeout"] == 900
    # The chart's own PodDisruptionBudget keeps one controller while the other moves.
    values = release(eks, names.INGRESS_RELEASE).inputs["values"]["controller"]
    assert (values["replicaCount"], values["minAvailable"]) == (2, 1)


def test_other_clouds_get_neither_elastic_ips_nor_readiness_gate_labels():
    for stack in ("dev", "gke"):
        plan = example(stack)
        assert not plan.by_type("aws:ec2/eip:Eip")
        assert "lbShardAddresses" not in plan.outputs
        labels = obj(plan, "Namespace", names.INGRESS_NAMESPACE).inputs["metadata"]["labels"]
        assert "elbv2.k8s.aws/pod-readiness-gate-inject" not in labels
        assert "timeout" not in release(plan, names.INGRESS_RELEASE).inputs


def test_monitoring_volumes_use_the_general_class_not_chain_data(eks):
    values = release(eks, "kube-prometheus-stack").inputs["values"]
    spec = values["prometheus"]["prometheusSpec"]["storageSpec"]["volumeClaimTemplate"]["spec"]
    assert spec["storageClassName"] == "pegasus-general"
    gke_values = release(example("gke"), "kube-prometheus-stack").inputs["values"]
    gke_spec = gke_values["prometheus"]["prometheusSpec"]["storageSpec"]["volumeClaimTemplate"]["spec"]
    assert "storageClassName" not in gke_spec  # GKE's own default, standard-rwo


def test_the_nat_gateway_waits_for_the_internet_gateway(eks):
    igw = by_name(eks, "cluster-igw").urn
    [nat] = eks.by_type("aws:ec2/natGateway:NatGateway")
    [nat_eip] = [r for r in eks.by_type("aws:ec2/eip:Eip") if r.name == "cluster-nat"]
    assert igw in nat.options["dependsOn"] and igw in nat_eip.options["dependsOn"]


def test_availability_zones_that_need_an_opt_in_are_never_picked(monkeypatch):
    import pulumi_aws

    from components.cluster import eks_network
    from pegasus import config

    calls = []
    monkeypatch.setattr(pulumi_aws, "get_availability_zones_output", lambda **kw: calls.append(kw) or _Names())
    s = config.parse({"chain": {"source": "snapshot", "snapshot": "x"}, "spc": {"enabled": False},
                      "cluster": {"provider": "eks", "region": "us-east-1", "publicAccessCidrs": ["203.0.113.0/24"]}},
                     project="pegasus", stack="t").cluster
    eks_network.availability_zones(s, provider=None)
    assert calls[0]["state"] == "available"
    assert calls[0]["filters"] == [{"name": "opt-in-status", "values": ["opt-in-not-required"]}]


class _Names:
    class names:  # noqa: N801 - mimics the invoke result's attribute
        @staticmethod
        def apply(fn):
            return fn(["a", "b", "c", "d"])
