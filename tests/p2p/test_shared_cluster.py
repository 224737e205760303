"""Several ingress-nginx p2p data planes in one cluster: the naming object, the builders under a
non-default naming (whole objects), and two testnets plus a validator planned against one
cluster without a colliding name, namespaced or cluster-scoped."""

from __future__ import annotations

import copy

import pytest

from components.p2p import ingress_builder as ib
from components.p2p import p2p_builder as p2p
from pegasus import names
from pegasus.config import IngressSettings
from pegasus.errors import InvalidName
from tests.conftest import example, run, write_stack
from tests.testnet.test_program import PEER, one_region

QA = names.ingress_names("testnet-qa-7")


def settings() -> IngressSettings:
    return IngressSettings(2, 8302, 20000, None, 2, "existing", {}, True)


def test_the_default_naming_is_the_validators_names():
    assert names.INGRESS == names.IngressNames(
        namespace="sagasrv-ingress", release="pegasus-ingress-nginx", tcp_services="pegasus-tcp-services",
        udp_services="pegasus-udp-services", ingress_class="pegasus-p2p", controller_class="pegasus.saga.xyz/ingress-nginx")
    assert names.INGRESS.controller_selector == names.INGRESS_CONTROLLER_SELECTOR
    assert ib.chart() is ib.CHART and ib.UDP_SERVICES_CONFIGMAP == names.INGRESS.udp_services


def test_a_prefix_gives_a_data_plane_of_its_own():
    assert QA == names.IngressNames(
        namespace="testnet-qa-7-ingress", release="testnet-qa-7-p2p", tcp_services="pegasus-tcp-services",
        udp_services="pegasus-udp-services", ingress_class="testnet-qa-7-p2p",
        controller_class="pegasus.saga.xyz/testnet-qa-7-p2p")
    assert QA.cluster_scoped() == (("ClusterRole", "testnet-qa-7-p2p"), ("ClusterRoleBinding", "testnet-qa-7-p2p"),
                                   ("IngressClass", "testnet-qa-7-p2p"))
    assert QA.shard_service(3) == "ingress-nginx-controller-p2p-3"
    assert ib.chart(QA) == ib.Chart("testnet-qa-7-p2p", "ingress-nginx", "4.15.1", "https://kubernetes.github.io/ingress-nginx")


def test_a_prefix_that_makes_a_bad_name_is_refused():
    with pytest.raises(InvalidName, match="^ingress-nginx release 'Qa-p2p' is not a valid DNS-1123 label"):
        names.ingress_names("Qa")
    # Helm's 53 characters bind before DNS-1123's 63.
    with pytest.raises(InvalidName, match=r"^ingress-nginx release '(a){50}-p2p' is longer than Helm's 53 characters"):
        names.ingress_names("a" * 50)


def test_builders_under_another_naming():
    shard = p2p.plan_shards((p2p.P2PBackend("seed-0", "testnet-qa-7", "seed-0-p2p", 8302, 0, protocols=("TCP", "UDP")),), settings())[0]
    assert ib.shard_service(shard, settings(), "qa-7-local", naming=QA) == {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {
            "name": "ingress-nginx-controller-p2p-0",
            "namespace": "testnet-qa-7-ingress",
            "labels": {
                "app.kubernetes.io/name": "ingress-nginx",
                "app.kubernetes.io/instance": "ingress-nginx-controller-p2p-0",
                "app.kubernetes.io/component": "p2p-shard",
                "app.kubernetes.io/part-of": "pegasus",
                "app.kubernetes.io/managed-by": "pulumi",
                "pegasus.saga.xyz/shard": "0",
            },
            "annotations": {"pulumi.com/waitFor": "jsonpath={.status.loadBalancer.ingress[0]}"},
        },
        "spec": {
            "type": "LoadBalancer",
            "externalTrafficPolicy": "Local",
            "selector": {"app.kubernetes.io/name": "ingress-nginx", "app.kubernetes.io/instance": "testnet-qa-7-p2p",
                         "app.kubernetes.io/component": "controller"},
            "ports": [{"name": "tcp-8302", "port": 8302, "targetPort": 20000, "protocol": "TCP"},
                      {"name": "udp-8302", "port": 8302, "targetPort": 20000, "protocol": "UDP"}],
        },
    }
    assert ib.services_configmap(QA.udp_services, {"20000": "testnet-qa-7/seed-0-p2p:8302"}, QA) == {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {
            "name": "pegasus-udp-services",
            "namespace": "testnet-qa-7-ingress",
            "labels": {
                "app.kubernetes.io/name": "ingress-nginx",
                "app.kubernetes.io/instance": "pegasus-udp-services",
                "app.kubernetes.io/component": "p2p-routing",
                "app.kubernetes.io/part-of": "pegasus",
                "app.kubernetes.io/managed-by": "pulumi",
            },
        },
        "data": {"20000": "testnet-qa-7/seed-0-p2p:8302"},
    }
    default = ib.controller_values(settings(), udp=True)
    expected = copy.deepcopy(default)
    expected["fullnameOverride"] = "testnet-qa-7-p2p"
    c = expected["controller"]
    c["extraArgs"] = {"tcp-services-configmap": "testnet-qa-7-ingress/pegasus-tcp-services",
                      "udp-services-configmap": "testnet-qa-7-ingress/pegasus-udp-services"}
    c["ingressClass"] = "testnet-qa-7-p2p"
    c["ingressClassResource"] = {"name": "testnet-qa-7-p2p", "enabled": True, "default": False,
                                 "controllerValue": "pegasus.saga.xyz/testnet-qa-7-p2p"}
    c["topologySpreadConstraints"][0]["labelSelector"]["matchLabels"]["app.kubernetes.io/instance"] = "testnet-qa-7-p2p"
    assert ib.controller_values(settings(), udp=True, naming=QA) == expected
    assert default["fullnameOverride"] == "pegasus-ingress-nginx"


# -- Several stacks against one cluster -------------------------------------------------------

RELEASE = "kubernetes:helm.sh/v3:Release"


def declared_names(plan) -> set[tuple[str, str, str]]:
    """(namespace or '' for cluster-scoped, kind, name) of everything a plan puts in its cluster:
    its manifests, its Helm releases, and what the ingress-nginx chart (4.15.1, our values: RBAC
    on, not scoped, webhooks off) renders cluster-scoped from a release's values:
    ClusterRole and ClusterRoleBinding named from fullnameOverride (clusterrole.yaml,
    clusterrolebinding.yaml), the IngressClass (controller-ingressclass.yaml), and the controller
    class it claims."""
    out = set()
    for r in plan.resources:
        if r.type == RELEASE:
            out.add((r.inputs["namespace"], "helm.sh/Release", r.inputs["name"]))
            values = r.inputs["values"]
            if r.inputs["chart"] == "ingress-nginx" or str(r.inputs["chart"]).endswith("ingress-nginx-4.15.1.tgz"):
                assert not values["controller"]["admissionWebhooks"]["enabled"]
                fullname = values["fullnameOverride"]
                klass = values["controller"]["ingressClassResource"]
                out |= {("", "ClusterRole", fullname), ("", "ClusterRoleBinding", fullname), ("", "IngressClass", klass["name"]),
                        ("", "controller-class", klass["controllerValue"]), (r.inputs["namespace"], "Lease", f"{fullname}-leader")}
        elif r.type.startswith("kubernetes:") and not r.type.startswith("pulumi:") and "metadata" in r.inputs:
            meta = r.inputs["metadata"]
            out.add((meta.get("namespace") or "", r.inputs["kind"], meta["name"]))
    return out


def shared_cluster_testnet(name: str, cluster: dict) -> dict:
    config = one_region()
    t = config["pegasus:testnet"]
    t["name"] = name
    t["regions"][0]["cluster"] = cluster
    # Two seeds with a given identity: the least a testnet may have (components/testnet/config.py).
    t["regions"][0]["seeds"] = [{"libp2pKeyRef": f"{name}-seed-0", "peerId": PEER},
                                {"libp2pKeyRef": f"{name}-seed-1", "peerId": PEER}]
    t["regions"][0]["blockProducers"] = [{"name": "whale-1", "keyRef": f"{name}-whale-1"}]
    t["regions"][0]["snarkPools"] = [{"name": "pool-a", "coordinatorKeyRef": f"{name}-snark-a", "workers": 1}]
    return config


@pytest.mark.parametrize("cluster", [{"provider": "stack", "stack": "org/pegasus/platform-use1"},
                                     {"provider": "existing", "context": "kind-local"}], ids=["stack", "existing"])
def test_two_testnets_and_a_validator_share_a_cluster_without_a_colliding_name(tmp_path, cluster):
    plans = {}
    for name in ("qa-a", "qa-b"):
        folder = tmp_path / name
        folder.mkdir()
        plans[name] = run(config_file=write_stack(folder, shared_cluster_testnet(name, cluster)))
    plans["validator"] = example("dev")
    declared = {k: declared_names(p) for k, p in plans.items()}
    for k, objs in declared.items():
        # Each plan holds its own data plane and the chart's cluster-scoped objects for it.
        assert len([o for o in objs if o[1] == "IngressClass"]) == 1, k
    assert ("", "IngressClass", "testnet-qa-a-p2p") in declared["qa-a"]
    assert ("", "ClusterRole", "testnet-qa-b-p2p") in declared["qa-b"]
    assert ("testnet-qa-b-ingress", "Service", "ingress-nginx-controller-p2p-0") in declared["qa-b"]
    assert ("", "ClusterRole", "pegasus-ingress-nginx") in declared["validator"]
    keys = sorted(declared)
    for i, a in enumerate(keys):
        for b in keys[i + 1:]:
            assert declared[a] & declared[b] == set(), (a, b)
    # The shards select their own controller, and the naming object knows what the chart renders.
    for name in ("qa-a", "qa-b"):
        naming = names.ingress_names(f"testnet-{name}")
        shards = [r for r in plans[name].resources if r.type == "kubernetes:core/v1:Service"
                  and r.inputs["metadata"]["namespace"] == naming.namespace]
        assert [s.inputs["spec"]["selector"] for s in shards] == [naming.controller_selector]
        assert {("", kind, n) for kind, n in naming.cluster_scoped()} == {
            o for o in declared[name] if o[0] == "" and o[1] in ("ClusterRole", "ClusterRoleBinding", "IngressClass")}


def test_a_testnet_name_that_is_another_testnets_p2p_namespace_is_refused():
    from tests.testnet.test_config import error, tn

    assert error(tn(name="qa-7-ingress")) == (
        "pegasus:testnet.name: 'qa-7-ingress' ends in '-ingress', which would make its namespace "
        "testnet-qa-7-ingress the p2p namespace of testnet 'qa-7' in a shared cluster; pick another name")
    # Other names that merely contain the word stay allowed.
    from tests.testnet.test_config import parsed

    assert parsed(tn(name="ingress-qa")).testnet.name == "ingress-qa"


def test_the_policy_pack_still_knows_a_testnets_shard():
    from policy.policies import public_exposure
    from tests.policy.harness import check

    shard = p2p.plan_shards((p2p.P2PBackend("seed-0", "testnet-qa-7", "seed-0-p2p", 8302, 0),), settings())[0]
    props = ib.shard_service(shard, settings(), "qa-7-local", naming=QA)
    assert check(public_exposure.POLICY, "kubernetes:core/v1:Service", props) == []
    props["spec"]["ports"][0]["port"] = 26657
    assert check(public_exposure.POLICY, "kubernetes:core/v1:Service", props) == [
        "spec.ports[0] port 26657 exposes CometBFT RPC on a LoadBalancer Service; this p2p shard publishes "
        "ingress.basePort to ingress.basePort + ingress.shardSize - 1, so move ingress.basePort clear of it, "
        "or list the port in allowedPorts if it must be public"
    ]


def test_a_provider_and_a_testnet_share_a_cluster_without_a_colliding_name(tmp_path):
    # The provider's HTTP ingress-nginx has names of its own (names.PROVIDER_INGRESS). A validator
    # still could not join them: it and the provider both install the Monitoring release.
    folder = tmp_path / "qa-a"
    folder.mkdir()
    testnet = declared_names(run(config_file=write_stack(folder, shared_cluster_testnet("qa-a", {"provider": "existing", "context": "kind-local"}))))
    provider = declared_names(example("provider"))
    assert ("", "IngressClass", "provider-http") in provider
    assert ("provider-ingress", "helm.sh/Release", "provider-http") in provider
    assert testnet & provider == set()
    validator = declared_names(example("dev"))
    assert {o for o in validator & provider if o[1] == "helm.sh/Release"} == {
        ("sagasrv-metrics", "helm.sh/Release", "kube-prometheus-stack"), ("sagasrv-metrics", "helm.sh/Release", "blackbox-exporter")}
