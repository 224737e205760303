"""The whole program under Pulumi's mocks, for the existing, eks and gke stacks."""

from __future__ import annotations

import json
import re

import pytest

from tests.conftest import example, k8s, obj, run

SNAPSHOT_IDS = [
    "magicwarriors_1698442321102101-1",
    "hub_5464111-1",
    "pixelracers_2713552917404001-1",
    "cryptoquest_2749003186201001-1",
    "shardborne_2811113319912001-1",
    "gamesjam_2850441902117001-1",
]
OFFLINE = {"pixelracers_2713552917404001-1", "shardborne_2811113319912001-1"}


@pytest.fixture
def dev():
    return example("dev")


@pytest.fixture
def eks():
    return example("eks")


@pytest.fixture
def gke():
    return example("gke")


def children(plan, parent_urn):
    return [r for r in plan.resources if r.parent == parent_urn]


def test_component_shape(dev, eks, gke):
    for plan in (dev, eks, gke):
        for comp in [r for r in plan.resources if not r.custom and r.type.startswith("pegasus:")]:
            assert re.fullmatch(r"pegasus:[a-z]+:[A-Z][A-Za-z]+", comp.type), comp.type
            for child in children(plan, comp.urn):
                assert child.name.startswith(comp.name + "-"), (comp.name, child.name)


def test_each_chainlet_is_four_resources_derived_from_the_snapshot(dev):
    comps = [r for r in dev.resources if r.type == "pegasus:chainlet:Chainlet"]
    assert sorted(c.name for c in comps) == sorted(f"chainlet-{i}" for i in SNAPSHOT_IDS)
    for comp in comps:
        kinds = sorted(r.inputs["kind"] for r in children(dev, comp.urn))
        assert kinds == ["Namespace", "PersistentVolumeClaim", "Service", "StatefulSet"]


def test_chain_data_is_protected_and_retained(dev, eks, gke):
    for plan in (dev, eks, gke):
        claims = k8s(plan, "PersistentVolumeClaim")
        assert len(claims) == 7  # six chainlets and the platform chain
        for claim in claims:
            assert claim.options["protect"] and claim.options["retainOnDelete"], claim.name
            assert claim.inputs["metadata"]["labels"]["pegasus.saga.xyz/chain-data"] == "true"
        for ns in k8s(plan, "Namespace"):
            if ns.inputs["metadata"]["name"].startswith(("saga-", "sagasrv-spc")):
                assert ns.options["retainOnDelete"], ns.name


def test_offline_chainlets_scale_to_zero_and_keep_everything_else(dev):
    for chain_id in SNAPSHOT_IDS:
        ns = "saga-" + chain_id.replace("_", "-")
        sts = obj(dev, "StatefulSet", "chainlet", ns)
        assert sts.inputs["spec"]["replicas"] == (0 if chain_id in OFFLINE else 1)
        obj(dev, "PersistentVolumeClaim", "chainlet-data", ns)
        obj(dev, "Service", "chainlet", ns)


def test_routing_serves_online_chainlets_only(dev):
    tcp = obj(dev, "ConfigMap", "pegasus-tcp-services", "sagasrv-ingress").inputs["data"]
    assert not [c for c in k8s(dev, "ConfigMap") if "udp" in c.inputs["metadata"]["name"]]
    assert tcp == {
        "20000": "saga-magicwarriors-1698442321102101-1/chainlet:26656",
        "20001": "saga-hub-5464111-1/chainlet:26656",
        "20003": "saga-cryptoquest-2749003186201001-1/chainlet:26656",
        "20005": "saga-gamesjam-2850441902117001-1/chainlet:26656",
    }
    shard = obj(dev, "Service", "ingress-nginx-controller-p2p-0", "sagasrv-ingress")
    assert shard.options["protect"]
    assert [(p["port"], p["targetPort"], p["protocol"]) for p in shard.inputs["spec"]["ports"]] == [
        (1025, 20000, "TCP"), (1026, 20001, "TCP"), (1028, 20003, "TCP"), (1030, 20005, "TCP"),
    ]


def test_chainlets_advertise_their_shard_address(dev):
    sts = obj(dev, "StatefulSet", "chainlet", "saga-cryptoquest-2749003186201001-1")
    env = {e["name"]: e["value"] for e in sts.inputs["spec"]["template"]["spec"]["containers"][0]["env"]}
    assert env["EXTERNAL_ADDRESS"] == "ingress-nginx-controller-p2p-0.sagasrv-ingress.lb.pending.invalid:1028"
    assert env["CHAINID"] == "cryptoquest_2749003186201001-1"
    assert env["SPCPARAM_GASLIMIT"] == "20000000"
    out = dev.outputs["chainlets"]["cryptoquest_2749003186201001-1"]
    assert out == {"address": env["EXTERNAL_ADDRESS"], "slot": 3, "shard": 0, "port": 1028, "status": "online",
                   "namespace": "saga-cryptoquest-2749003186201001-1"}
    assert dev.outputs["chainlets"]["pixelracers_2713552917404001-1"]["status"] == "offline"


def test_chain_state_guards_every_chain_derived_resource(dev):
    [guard] = dev.by_type("pulumi-python:dynamic/pegasus:ChainState")
    order = dev.registration_order
    for r in dev.resources:
        if r.parent and "pegasus:chainlet:Chainlet" in r.parent:
            assert guard.urn in r.options["dependsOn"], r.name
            assert order.index(guard.urn) < order.index(r.urn)
    assert guard.urn in obj(dev, "ConfigMap", "pegasus-tcp-services").options["dependsOn"]
    assert guard.inputs["height"] == 5457144
    assert guard.inputs["chainlets"]["hub_5464111-1"] == {"slot": 1, "shard": 0, "port": 1026, "status": "STATUS_ONLINE"}


def test_helm_releases_are_pinned_and_ingress_values_name_no_backend(dev):
    releases = {r.inputs["name"]: r.inputs for r in dev.by_type("kubernetes:helm.sh/v3:Release")}
    assert {n: (r["chart"], r["version"]) for n, r in releases.items()} == {
        "pegasus-ingress-nginx": ("ingress-nginx", "4.15.1"),
        "kube-prometheus-stack": ("kube-prometheus-stack", "88.5.3"),
        "blackbox-exporter": ("prometheus-blackbox-exporter", "11.17.2"),
    }
    values = json.dumps(releases["pegasus-ingress-nginx"]["values"])
    assert "saga-" not in values and "chainlet" not in values


def test_platform_chain_node(dev):
    public = obj(dev, "Service", "spc", "sagasrv-spc")
    assert public.inputs["spec"]["type"] == "LoadBalancer"
    assert [p["port"] for p in public.inputs["spec"]["ports"]] == [26656]
    internal = obj(dev, "Service", "spc-internal", "sagasrv-spc")
    assert internal.inputs["spec"]["type"] == "ClusterIP"
    assert obj(dev, "StatefulSet", "spc", "sagasrv-spc").inputs["spec"]["replicas"] == 1
    assert dev.outputs["platformChainP2pAddress"] == "spc.sagasrv-spc.lb.pending.invalid:26656"


def test_monitoring_objects(dev):
    rules = {r.inputs["metadata"]["name"]: r for r in k8s(dev, "PrometheusRule")}
    assert set(rules) == {"pegasus-chainlets", "pegasus-platform-chain", "pegasus-ingress"}
    alerts = [rule["alert"] for r in rules.values() for g in r.inputs["spec"]["groups"] for rule in g["rules"]]
    for expected in ("ValidatorJailed", "ValidatorNotSigning", "MissedBlocks", "NotProducingBlocks", "ChainPodDown",
                     "SlowBlocks", "MempoolFull"):
        assert f"PegasusChainlet{expected}" in alerts and f"PegasusPlatform{expected}" in alerts
    assert "PegasusIngressReloadFailed" in alerts and "PegasusIngressSuccessRateLow" not in alerts
    scrape = {r.inputs["metadata"]["name"] for r in k8s(dev, "ScrapeConfig")}
    assert scrape == {"pegasus-p2p-0", "pegasus-p2p-spc"}
    external = run("dev", ["monitoring.externalProberUrl=https://prober.example.org:9115"])
    assert {r.inputs["metadata"]["name"] for r in k8s(external, "ScrapeConfig")} == {
        "pegasus-p2p-0", "pegasus-p2p-spc", "pegasus-p2p-0-external", "pegasus-p2p-spc-external"}
    dashboards = [r for r in k8s(dev, "ConfigMap") if (r.inputs["metadata"].get("labels") or {}).get("grafana_dashboard") == "1"]
    assert len(dashboards) == 3
    assert dev.outputs["grafanaUrl"] == "http://grafana.sagasrv-metrics.svc.cluster.local"


def test_existing_cluster_uses_the_configured_kubeconfig_and_context():
    plan = run("dev", ["cluster.kubeconfig=/home/me/.kube/kind", "cluster.context=kind-pegasus"])
    [provider] = plan.by_type("pulumi:providers:kubernetes")
    assert provider.inputs == {"kubeconfig": "[secret]", "context": "kind-pegasus", "enableConfigMapMutable": "true"}
    assert provider.raw_inputs["kubeconfig"] == "/home/me/.kube/kind"
    assert "kubeconfig" not in plan.outputs  # a path is not a kubeconfig; tests/stacks/test_outputs.py


def test_eks_cluster(eks):
    [cluster] = eks.by_type("eks:index:Cluster")
    i = cluster.inputs
    assert i["authenticationMode"] == "API"
    assert (i["endpointPrivateAccess"], i["endpointPublicAccess"], i["publicAccessCidrs"]) == (True, True, ["203.0.113.0/24"])
    assert i["encryptionConfigKeyArn"].startswith("arn:aws:kms:")
    assert i["skipDefaultNodeGroup"] is True
    assert i["upgradePolicy"] == {"supportType": "STANDARD"}  # pulumi-eks leaves it to EKS, which means EXTENDED
    assert len(i["privateSubnetIds"]) == 3 and len(i["publicSubnetIds"]) == 3
    assert cluster.options["protect"]
    [log_group] = eks.by_type("aws:cloudwatch/logGroup:LogGroup")
    assert (log_group.inputs["name"], log_group.inputs["retentionInDays"]) == ("/aws/eks/pegasus-eks/cluster", 90)
    assert log_group.urn in cluster.options["dependsOn"]  # ours exists before EKS would create one without retention
    [ng] = eks.by_type("eks:index:ManagedNodeGroup")
    assert ng.inputs["taints"] == [{"key": "CriticalAddonsOnly", "value": "true", "effect": "NO_SCHEDULE"}]
    assert ng.inputs["nodeGroupNamePrefix"] == "pegasus-eks-system-" and "nodeGroupName" not in ng.inputs
    [lt] = eks.by_type("aws:ec2/launchTemplate:LaunchTemplate")
    assert lt.inputs["blockDeviceMappings"][0]["ebs"]["encrypted"] == "true"
    assert lt.inputs["metadataOptions"]["httpPutResponseHopLimit"] == 1
    classes = {sc.inputs["metadata"]["name"]: sc.inputs for sc in k8s(eks, "StorageClass")}
    chain, general = classes["pegasus-chain-data"], classes["pegasus-general"]
    assert chain["parameters"]["encrypted"] == "true" and chain["reclaimPolicy"] == "Retain"
    assert "annotations" not in chain["metadata"]
    assert general["reclaimPolicy"] == "Delete"
    assert general["metadata"]["annotations"] == {"storageclass.kubernetes.io/is-default-class": "true"}
    addons = {a.inputs["addonName"]: a for a in eks.by_type("aws:eks/addon:Addon")}
    assert set(addons) == {"eks-pod-identity-agent", "coredns", "aws-ebs-csi-driver"}
    for addon in addons.values():
        assert ng.urn in addon.options["dependsOn"], addon.name
    assert json.loads(addons["coredns"].inputs["configurationValues"])["tolerations"][0] == {
        "key": "CriticalAddonsOnly", "operator": "Exists"}
    # Managed policies are attached one by one (the role's managed_policy_arns is deprecated).
    assert not any("managedPolicyArns" in r.inputs for r in eks.by_type("aws:iam/role:Role"))
    attached = sorted(r.inputs["policyArn"] for r in eks.by_type("aws:iam/rolePolicyAttachment:RolePolicyAttachment")
                      if r.inputs["policyArn"].startswith("arn:aws:iam::aws:policy/"))
    assert attached == sorted(
        [f"arn:aws:iam::aws:policy/{p}" for p in ("AmazonEKSWorkerNodePolicy", "AmazonEKS_CNI_Policy",
                                                  "AmazonEC2ContainerRegistryPullOnly", "AmazonSSMManagedInstanceCore")] * 2
        + ["arn:aws:iam::aws:policy/service-role/AmazonEBSCSIDriverPolicy"])
    entry = i["accessEntries"]["admin-0"]
    assert entry["principalArn"] == "arn:aws:iam::123456789012:role/platform-admins"
    assert entry["accessPolicies"]["admin"]["policyArn"] == (
        "arn:aws:eks::aws:cluster-access-policy/AmazonEKSClusterAdminPolicy")  # from the partition the account reports


def test_eks_karpenter(eks):
    pools = {p.inputs["metadata"]["name"]: p.inputs["spec"] for p in k8s(eks, "NodePool")}
    assert set(pools) == {"default", "signers"}
    for pool in pools.values():
        reqs = {r["key"]: r["values"] for r in pool["template"]["spec"]["requirements"]}
        assert reqs["karpenter.sh/capacity-type"] == ["on-demand"]
        assert reqs["karpenter.k8s.aws/instance-family"] == ["m7i", "m6i", "c7i", "c6i", "r7i"]
        assert pool["disruption"]["budgets"] == [
            {"nodes": "10%"}, {"nodes": "0", "schedule": "0 9 * * mon-fri", "duration": "8h"}]
    assert pools["signers"]["template"]["spec"]["expireAfter"] == "Never"
    assert pools["signers"]["limits"] == {"cpu": "2000", "memory": "8000Gi"}  # the stack's cpuLimit and memoryLimit
    assert pools["default"]["template"]["spec"]["expireAfter"] == "720h"
    [node_class] = k8s(eks, "EC2NodeClass")
    assert node_class.inputs["spec"]["role"].endswith("-placeholder")
    assert len(eks.by_type("aws:cloudwatch/eventRule:EventRule")) == 5
    [queue] = eks.by_type("aws:sqs/queue:Queue")
    assert queue.inputs["messageRetentionSeconds"] == 300 and queue.inputs["sqsManagedSseEnabled"] is True
    [entry] = eks.by_type("aws:eks/accessEntry:AccessEntry")
    assert entry.inputs["type"] == "EC2_LINUX"
    identities = {(p.inputs["namespace"], p.inputs["serviceAccount"]) for p in eks.by_type("aws:eks/podIdentityAssociation:PodIdentityAssociation")}
    assert identities == {("kube-system", "karpenter"), ("kube-system", "aws-load-balancer-controller"), ("sagasrv-logging", "fluent-bit")}
    releases = {r.inputs["name"]: r.inputs for r in eks.by_type("kubernetes:helm.sh/v3:Release")}
    assert releases["karpenter"]["chart"] == "oci://public.ecr.aws/karpenter/karpenter"
    assert releases["karpenter"]["version"] == releases["karpenter-crd"]["version"] == "1.14.1"
    assert releases["karpenter"]["values"]["settings"] == {"clusterName": "pegasus-eks", "interruptionQueue": "pegasus-eks-karpenter"}
    assert releases["karpenter"]["values"]["controller"]["env"] == [{"name": "AWS_REGION", "value": "us-east-1"}]
    policies = [json.loads(p.raw_inputs["policy"]) for p in eks.by_type("aws:iam/policy:Policy")]
    sids = {s.get("Sid") for p in policies for s in p["Statement"]}
    assert {"AllowScopedEC2InstanceAccessActions", "AllowPassingInstanceRole", "AllowInterruptionQueueActions"} <= sids
    assert "${" not in json.dumps(policies)


def test_eks_shards_wait_for_the_load_balancer_controller(eks):
    lbc = [r for r in eks.by_type("kubernetes:helm.sh/v3:Release") if r.inputs["name"] == "aws-load-balancer-controller"][0]
    shard = obj(eks, "Service", "ingress-nginx-controller-p2p-0", "sagasrv-ingress")
    assert lbc.urn in shard.options["dependsOn"]
    assert shard.inputs["spec"]["allocateLoadBalancerNodePorts"] is False
    assert obj(eks, "Service", "spc", "sagasrv-spc").inputs["spec"]["allocateLoadBalancerNodePorts"] is False


def test_gke_cluster(gke):
    [cluster] = gke.by_type("gcp:container/cluster:Cluster")
    i = cluster.inputs
    assert i["privateClusterConfig"]["enablePrivateNodes"] is True
    assert i["workloadIdentityConfig"] == {"workloadPool": "my-project.svc.id.goog"}
    assert i["enableLegacyAbac"] is False
    assert i["location"] == "us-central1"
    assert i["clusterAutoscaling"]["enabled"] is True
    assert i["masterAuthorizedNetworksConfig"]["cidrBlocks"] == [{"cidrBlock": "203.0.113.0/24", "displayName": "allowed-0"}]
    [pool] = gke.by_type("gcp:container/nodePool:NodePool")
    assert pool.inputs["cluster"] == "pegasus-gke"
    assert pool.inputs["nodeConfig"]["workloadMetadataConfig"] == {"mode": "GKE_METADATA"}
    [address] = gke.by_type("gcp:compute/address:Address")
    assert address.options["protect"] and address.inputs["name"] == "pegasus-gke-p2p-0"
    shard = obj(gke, "Service", "ingress-nginx-controller-p2p-0", "sagasrv-ingress")
    assert shard.inputs["metadata"]["annotations"]["networking.gke.io/load-balancer-ip-addresses"] == "pegasus-gke-p2p-0"
    for svc in (shard, obj(gke, "Service", "spc", "sagasrv-spc")):
        assert svc.inputs["spec"]["loadBalancerClass"] == "networking.gke.io/l4-regional-external"
        assert "cloud.google.com/l4-rbs" not in (svc.inputs["metadata"].get("annotations") or {})
    sts = obj(gke, "StatefulSet", "chainlet", "saga-hub-5464111-1")
    env = {e["name"]: e["value"] for e in sts.inputs["spec"]["template"]["spec"]["containers"][0]["env"]}
    reserved = address.placeholders["address"]
    assert reserved.startswith("203.0.113.")
    assert env["EXTERNAL_ADDRESS"] == f"{reserved}:1026"  # the reserved IP, not the Service's status


def test_every_stack_declares_every_component(dev, eks, gke):
    base = {"pegasus:cluster:Cluster", "pegasus:ingress:Ingress", "pegasus:monitoring:Monitoring",
            "pegasus:chain:ChainNode", "pegasus:chainlet:Chainlet"}
    assert base <= {r.type for r in dev.resources}
    assert base | {"pegasus:karpenter:Karpenter", "pegasus:logging:Logging"} <= {r.type for r in eks.resources}
    assert base | {"pegasus:logging:Logging"} <= {r.type for r in gke.resources}


def test_eks_with_given_subnets_creates_no_vpc_and_karpenter_selects_them_by_id():
    plan = run("eks", ["cluster.vpcId=vpc-0123", 'cluster.privateSubnetIds=["subnet-p1","subnet-p2"]',
                       'cluster.publicSubnetIds=["subnet-u1","subnet-u2"]'])
    # Nothing of a network: only the node launch template and the shards' Elastic IPs.
    assert {r.type for r in plan.resources if r.type.startswith("aws:ec2/")} == {
        "aws:ec2/launchTemplate:LaunchTemplate", "aws:ec2/eip:Eip"}
    [cluster] = plan.by_type("eks:index:Cluster")
    assert (cluster.inputs["vpcId"], cluster.inputs["privateSubnetIds"]) == ("vpc-0123", ["subnet-p1", "subnet-p2"])
    [node_class] = k8s(plan, "EC2NodeClass")
    assert node_class.inputs["spec"]["subnetSelectorTerms"] == [{"id": "subnet-p1"}, {"id": "subnet-p2"}]
    # The load balancers use the given public subnets, not whatever the controller discovers.
    for service in (obj(plan, "Service", "ingress-nginx-controller-p2p-0"), obj(plan, "Service", "spc", "sagasrv-spc")):
        annotations = service.inputs["metadata"]["annotations"]
        assert annotations["service.beta.kubernetes.io/aws-load-balancer-subnets"] == "subnet-u1,subnet-u2"
    shard = obj(plan, "Service", "ingress-nginx-controller-p2p-0")
    assert shard.inputs["metadata"]["annotations"]["service.beta.kubernetes.io/aws-load-balancer-eip-allocations"] == (
        "eipalloc-p2p-addresses-0-az0,eipalloc-p2p-addresses-0-az1")


@pytest.mark.parametrize("stack", ["dev", "eks", "gke"])
def test_every_kubernetes_provider_patches_configmaps_in_place(stack):
    """Found by the real engine: with the provider's default a routing ConfigMap's data change
    is a replacement, deleting the ConfigMap ingress-nginx reads before recreating it."""
    from tests.conftest import example

    providers = [r for r in example(stack).resources if r.type == "pulumi:providers:kubernetes"]
    assert providers and all(r.inputs.get("enableConfigMapMutable") == "true" for r in providers)
