"""Tenant TCP ports published through a load balancer of their own on eks and gke (issue 23
item 8): NodePorts on private nodes answer nobody outside the VPC.

The AWS annotations are checked against names read from the AWS Load Balancer Controller at
v3.5.0 (tests/provider/upstream/aws_load_balancer_controller.json); GKE's class is the one its
docs name for a backend service-based regional external passthrough NLB (components/p2p/
p2p_builder.GKE_LB_CLASS, shared with the validator's load balancers). The quota must admit
exactly the Services built, and the policy pack passes a plan of each cloud."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from components.p2p import p2p_builder
from components.provider import builder as pb
from components.provider import tcp_builder as tcp
from components.provider.manifests import read_manifests
from tests.conftest import run
from tests.provider.test_builder import NS, doc, manifest
from tools.plan.runner import ProgramError

LBC = json.loads((Path(__file__).parent / "upstream" / "aws_load_balancer_controller.json").read_text())
EKS = ["cluster.provider=eks", "cluster.region=us-east-1", 'cluster.publicAccessCidrs=["203.0.113.0/24"]']
GAME_PUBLISHER_KEY = 0x5DE4111AFA1A4B94908F83103EB1F1706367C2E68CA870FC3FB9A804CDAB365A
GKE = ["cluster.provider=gke", "cluster.region=europe-west1", "cluster.project=p", 'cluster.publicAccessCidrs=["203.0.113.0/24"]']


def example(name):
    [pod] = [p for p in read_manifests("pods", ".", "pods.example.org") if p.name == name]
    return pod


def game():
    return example("game")


def test_on_eks_the_tcp_port_goes_out_through_an_internet_facing_nlb_with_ip_targets():
    lb = tcp.load_balancer(game(), NS, "eks", "prod")
    assert lb["spec"] == {"type": "LoadBalancer", "allocateLoadBalancerNodePorts": False,
                          "selector": pb.selector(game()),
                          "ports": [{"name": "game", "port": 25565, "targetPort": "p0-25565", "protocol": "TCP"}]}
    prefix = LBC["serviceAnnotationPrefix"]["value"] + "/"
    suffixes = set(LBC["serviceAnnotationSuffixes"]["names"].values())
    annotations = lb["metadata"]["annotations"]
    assert annotations and all(k.startswith(prefix) and k[len(prefix):] in suffixes for k in annotations)
    for suffix, rule in LBC["values"].items():
        value = annotations[prefix + suffix]
        if "allowed" in rule:
            assert value in rule["allowed"]
        else:
            assert {kv.split("=")[0] for kv in value.split(",")} <= set(rule["keys"])
    assert (annotations[prefix + "aws-load-balancer-scheme"], annotations[prefix + "aws-load-balancer-nlb-target-type"]) == (
        "internet-facing", "ip")
    assert annotations[prefix + "aws-load-balancer-additional-resource-tags"] == f"pegasus.saga.xyz/cluster=prod,pegasus.saga.xyz/tenant={NS}"


def test_on_gke_it_is_the_regional_external_passthrough_class_keeping_node_ports():
    lb = tcp.load_balancer(game(), NS, "gke", "prod")
    assert lb["spec"]["loadBalancerClass"] == p2p_builder.GKE_LB_CLASS == "networking.gke.io/l4-regional-external"
    assert lb["spec"]["externalTrafficPolicy"] == "Local" and "allocateLoadBalancerNodePorts" not in lb["spec"]
    assert "annotations" not in lb["metadata"]


def test_an_existing_cluster_and_a_pod_without_tcp_keep_what_they_had():
    assert tcp.load_balancer(game(), NS, "existing", "x") is None
    assert tcp.load_balancer(example("hello"), NS, "eks", "x") is None
    assert tcp.addresses(game(), "existing") == pb.addresses(game())


@pytest.mark.parametrize("cloud, nodeports", [("eks", "0"), ("gke", "1"), ("existing", "1")])
def test_the_quota_admits_exactly_the_services_built(cloud, nodeports):
    pod = game()
    svcs = pb.services(pod, NS, node_ports=not tcp.published(cloud))
    lb = tcp.load_balancer(pod, NS, cloud, "x")
    hard = pb.resource_quota(pod, NS, svcs + ([lb] if lb else []))["spec"]["hard"]
    assert (hard["services"], hard["services.nodeports"], hard["services.loadbalancers"]) == (
        str(len(svcs) + (1 if lb else 0)), nodeports, "1" if lb else "0")
    # On eks and gke the TCP port's own Service is ClusterIP: the load balancer publishes it.
    assert {s["spec"]["type"] for s in svcs} == ({"ClusterIP"} if tcp.published(cloud) else {"ClusterIP", "NodePort"})


def test_the_address_is_the_load_balancers_port():
    assert tcp.addresses(game(), "eks") == [
        {"loadBalancer": "tpod-lb", "port": 25565, "containerName": "server", "containerPort": 25565},
        {"multiaddr": "http/game.pods.example.org", "containerName": "server", "containerPort": 8080}]


class _Ingress:
    def __init__(self, hostname=None, ip=None):
        self.hostname, self.ip = hostname, ip


class _Status:
    def __init__(self, *ingress):
        self.load_balancer = type("LB", (), {"ingress": list(ingress)})()


def test_the_host_is_the_hostname_on_aws_and_the_ip_on_gcp():
    # Shaped as pulumi_kubernetes's ServiceStatus outputs (load_balancer.ingress[*].hostname / ip).
    import pulumi_kubernetes.core.v1.outputs as o

    for cls, fields in ((o.ServiceStatus, "load_balancer"), (o.LoadBalancerStatus, "ingress"), (o.LoadBalancerIngress, "hostname"),
                        (o.LoadBalancerIngress, "ip")):
        assert isinstance(getattr(cls, fields, None), property), (cls, fields)
    assert tcp.ingress_host(_Status(_Ingress(hostname="k8s-x.elb.amazonaws.com"))) == "k8s-x.elb.amazonaws.com"
    assert tcp.ingress_host(_Status(_Ingress(ip="34.1.2.3"))) == "34.1.2.3"
    assert tcp.ingress_host(_Status()) is None and tcp.ingress_host(None) is None


@pytest.mark.parametrize("sets", [EKS, GKE], ids=["eks", "gke"])
def test_a_plan_publishes_the_game_through_its_load_balancer_after_the_controller(sets):
    plan = run("provider", sets)
    by_name = {r.name: r for r in plan.resources}
    lb = by_name["pod-game-tpod-lb"]
    assert lb.inputs["spec"]["type"] == "LoadBalancer"
    assert by_name["pod-game-tpod-svc-game"].inputs["spec"]["type"] == "ClusterIP"
    assert "urn:pulumi:provider::pegasus::pegasus:provider:TenantPod$kubernetes:core/v1:ResourceQuota::pod-game-quota" in lb.options["dependsOn"]
    assert by_name["pod-game-quota"].inputs["spec"]["hard"]["services.loadbalancers"] == "1"
    if sets is EKS:
        assert "urn:pulumi:provider::pegasus::pegasus:cluster:Cluster$kubernetes:helm.sh/v3:Release::cluster-lbc" in lb.options["dependsOn"]
    assert not any(r.name.startswith("pod-hello-tpod-lb") for r in plan.resources)


def test_two_tcp_ports_on_one_public_port_are_one_error_line():
    d = doc()
    d["pod"]["containers"][0]["ports"] += [{"name": "a", "containerPort": 7000, "hostTcpPort": 0},
                                           {"name": "b", "containerPort": 7001, "hostTcpPort": 0}]
    pod = manifest(d)
    assert tcp.duplicate_public_port(pod) is None
    d["pod"]["containers"][0]["ports"][-1] = {"name": "b", "containerPort": 7001, "hostTcpPort": 30700}
    d["pod"]["containers"][0]["ports"][-2] = {"name": "a", "containerPort": 30700, "hostTcpPort": 0}
    assert tcp.duplicate_public_port(manifest(d)) == 30700


def test_the_stack_refuses_a_pod_whose_ports_collide_on_its_load_balancer(tmp_path):
    import shutil

    from components.provider.signing import sign_manifest, signer_of

    pods = tmp_path / "pods"
    shutil.copytree("pods", pods)
    data = json.loads((pods / "game.json").read_text())
    data["pod"]["containers"][0]["ports"] += [{"name": "game2", "containerPort": 30700, "hostTcpPort": 0},
                                              {"name": "game3", "containerPort": 25566, "hostTcpPort": 30700}]
    # Re-signed by its publisher (anvil/hardhat development account #2), so only the port check can refuse it.
    data["payment"]["signature"] = sign_manifest(data, GAME_PUBLISHER_KEY)
    assert signer_of(data, data["payment"]["signature"]) == data["payment"]["publisherAddress"].lower()
    (pods / "game.json").write_text(json.dumps(data))
    with pytest.raises(ProgramError) as e:
        run("provider", [*EKS, f"provider.manifests={pods}"])
    assert e.value.registered == 0
    assert str(e.value) == (f"pegasus:provider.manifests: {pods}/game.json: two TCP ports would both answer on port 30700 of the "
                            "pod's load balancer (hostTcpPort, or the containerPort when it is 0); give one a distinct hostTcpPort")
    # On an existing cluster the same pod is fine: NodePorts, each allocated apart.
    assert run("provider", [f"provider.manifests={pods}"]).outputs["pods"]["game"]["status"] == "funded"


def test_on_eks_a_tcp_tenants_pods_get_the_controllers_readiness_gate():
    gate = LBC["podReadinessGate"]
    assert tcp.namespace_labels(game(), "eks") == {gate["namespaceSelectorKey"]: gate["namespaceSelectorValues"][0]}
    assert tcp.namespace_labels(game(), "gke") == {} and tcp.namespace_labels(example("hello"), "eks") == {}
    plan = run("provider", EKS)
    labels = {r.name: r.inputs["metadata"]["labels"] for r in plan.resources if r.type == "kubernetes:core/v1:Namespace"}
    assert labels["pod-game-ns"][gate["namespaceSelectorKey"]] == "enabled"
    assert gate["namespaceSelectorKey"] not in labels["pod-hello-ns"]
