"""The shard machinery and the ingress-nginx data plane, without mocks: whole objects compared."""

from __future__ import annotations

import pytest

from components.chain import chainlet_builder as clb
from components.p2p import ingress_builder as ib
from components.p2p import p2p_builder as p2p
from pegasus.chain.model import build_view
from pegasus.config import IngressSettings
from pegasus.errors import ConfigError
from tests.l4_model import l4_servers
from tests.chain.test_workload_builders import CHAINLET_SETTINGS, in_order
from tools.fakechain import chainlet_record, stack_record


def settings(cloud="existing", shard_size=2, base_port=1025, internal=20000, domain=None, extra=None, allocate=None):
    return IngressSettings(shard_size, base_port, internal, domain, 2, cloud, extra or {},
                           cloud != "eks" if allocate is None else allocate)


def backends(n, offline=()):
    return tuple(p2p.P2PBackend(f"c{i}", f"saga-c{i}", "chainlet", 26656, i, routed=i not in offline) for i in range(n))


def test_backends_fill_shards_in_slot_order():
    shards = p2p.plan_shards(backends(5, offline={1}), settings())
    assert shards == (
        p2p.Shard(0, ports=(p2p.ShardPort(1025, 20000, backends(5)[0]),),
                  reserved=(p2p.ShardPort(1026, 20001, backends(5, offline={1})[1]),)),
        p2p.Shard(1, ports=(p2p.ShardPort(1025, 20002, backends(5)[2]), p2p.ShardPort(1026, 20003, backends(5)[3])), reserved=()),
        p2p.Shard(2, ports=(p2p.ShardPort(1025, 20004, backends(5)[4]),), reserved=()),
    )


def test_plain_list_of_backends_gets_slots_by_position():
    assert p2p.backends_in_order([("spc", "sagasrv-spc", "spc", 26656), ("x", "ns", "svc", 30000)]) == (
        p2p.P2PBackend("spc", "sagasrv-spc", "spc", 26656, 0),
        p2p.P2PBackend("x", "ns", "svc", 30000, 1),
    )


def test_configmap_routes_only_online_backends_on_distinct_internal_ports():
    shards = p2p.plan_shards(backends(5, offline={1}), settings())
    assert ib.services_configmap_data(shards) == {
        "20000": "saga-c0/chainlet:26656",
        "20002": "saga-c2/chainlet:26656",
        "20003": "saga-c3/chainlet:26656",
        "20004": "saga-c4/chainlet:26656",
    }


def test_shard_service_maps_public_ports_to_internal_ports_over_tcp_only():
    shard = p2p.plan_shards(backends(4), settings())[1]
    assert ib.shard_service(shard, settings(extra={"metallb.universe.tf/address-pool": "p2p"}), "pegasus-dev") == {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {
            "name": "ingress-nginx-controller-p2p-1",
            "namespace": "sagasrv-ingress",
            "labels": {
                "app.kubernetes.io/name": "ingress-nginx",
                "app.kubernetes.io/instance": "ingress-nginx-controller-p2p-1",
                "app.kubernetes.io/component": "p2p-shard",
                "app.kubernetes.io/part-of": "pegasus",
                "app.kubernetes.io/managed-by": "pulumi",
                "pegasus.saga.xyz/shard": "1",
            },
            # Awaited for its address only (pulumi-kubernetes's Service await also waits 10 s on Endpoints).
            "annotations": {"metallb.universe.tf/address-pool": "p2p", "pulumi.com/waitFor": "jsonpath={.status.loadBalancer.ingress[0]}"},
        },
        "spec": {
            "type": "LoadBalancer",
            "externalTrafficPolicy": "Local",
            "selector": {
                "app.kubernetes.io/name": "ingress-nginx",
                "app.kubernetes.io/instance": "pegasus-ingress-nginx",
                "app.kubernetes.io/component": "controller",
            },
            "ports": [
                {"name": "tcp-1025", "port": 1025, "targetPort": 20002, "protocol": "TCP"},
                {"name": "tcp-1026", "port": 1026, "targetPort": 20003, "protocol": "TCP"},
            ],
        },
    }


def test_a_shard_whose_chainlets_are_all_offline_keeps_its_service_and_address():
    shard = p2p.plan_shards(backends(4, offline={2, 3}), settings())[1]
    assert shard.ports == ()
    assert p2p.shard_service_ports(shard) == [{"name": "tcp-1025", "port": 1025, "targetPort": 20002, "protocol": "TCP"}]
    assert ib.services_configmap_data((shard,)) == {}


def test_eks_shards_are_internet_facing_nlbs_with_ip_targets_and_no_node_ports():
    shard = p2p.plan_shards(backends(1), settings("eks"))[0]
    svc = ib.shard_service(shard, settings("eks"), "pegasus-eks")
    assert svc["metadata"]["annotations"] == {
        "service.beta.kubernetes.io/aws-load-balancer-type": "external",
        "service.beta.kubernetes.io/aws-load-balancer-nlb-target-type": "ip",
        "service.beta.kubernetes.io/aws-load-balancer-scheme": "internet-facing",
        "service.beta.kubernetes.io/aws-load-balancer-attributes": "load_balancing.cross_zone.enabled=true",
        "service.beta.kubernetes.io/aws-load-balancer-additional-resource-tags": "pegasus.saga.xyz/cluster=pegasus-eks,pegasus.saga.xyz/shard=0",
        "pulumi.com/waitFor": "jsonpath={.status.loadBalancer.ingress[0]}",
    }
    assert {k: v for k, v in svc["spec"].items() if k not in ("selector", "ports")} == {
        "type": "LoadBalancer",
        "allocateLoadBalancerNodePorts": False,
    }


def test_gke_shards_use_the_l4_regional_external_class_and_a_reserved_address():
    shard = p2p.plan_shards(backends(1), settings("gke", domain="p2p.example.com"))[0]
    svc = ib.shard_service(shard, settings("gke", domain="p2p.example.com"), "pegasus-gke", static_address_name="pegasus-gke-p2p-0")
    assert svc["metadata"]["annotations"] == {
        "networking.gke.io/load-balancer-ip-addresses": "pegasus-gke-p2p-0",
        "external-dns.alpha.kubernetes.io/hostname": "p2p-0.p2p.example.com",
        "pulumi.com/waitFor": "jsonpath={.status.loadBalancer.ingress[0]}",
    }
    assert svc["spec"]["loadBalancerClass"] == "networking.gke.io/l4-regional-external"
    assert svc["spec"]["externalTrafficPolicy"] == "Local"
    assert "allocateLoadBalancerNodePorts" not in svc["spec"]
    assert p2p.shard_public_host(0, "p2p.example.com") == "p2p-0.p2p.example.com"


def test_a_full_eks_shard_of_50_fits_an_nlb():
    shard = p2p.plan_shards(backends(50), settings("eks", shard_size=50))[0]
    assert p2p.listeners(shard) == 50


def test_shard_size_above_the_cloud_limit_is_refused_even_when_built_directly():
    with pytest.raises(ConfigError) as e:
        p2p.plan_shards(backends(1), settings("eks", shard_size=51))
    assert str(e.value) == "pegasus:ingress.shardSize: must be at most 50 on eks; got 51"


def test_duplicate_slots_are_a_bug_not_a_layout():
    twins = (p2p.P2PBackend("a", "ns", "s", 1, 0), p2p.P2PBackend("b", "ns", "s", 1, 0))
    with pytest.raises(ValueError, match="p2p backends a and b share slot 0"):
        p2p.plan_shards(twins, settings())


def test_internal_port_overflow_names_the_key():
    with pytest.raises(ConfigError) as e:
        p2p.plan_shards((p2p.P2PBackend("a", "ns", "s", 1, 45536),), settings(internal=20000))
    assert str(e.value).startswith("pegasus:ingress.internalBasePort: slot 45536 would listen on controller port 65536")


# ------------------------------------------------------- routing against the real chainlet Services


def _chainlets(n=4, offline=()):
    view = build_view(100, "test", [chainlet_record(i, online=i not in offline) for i in range(n)], [stack_record()])
    plans = clb.plan_chainlets(view, in_order(view), 2, 1025)
    services = {}
    for p in plans:
        svc = clb.chainlet_manifests(p, CHAINLET_SETTINGS, None, "lb:1")["service"]
        services[f"{svc['metadata']['namespace']}/{svc['metadata']['name']}"] = svc
    return plans, services


def test_every_routing_entry_resolves_to_a_chainlet_service_port_of_its_protocol():
    plans, services = _chainlets()
    data = ib.services_configmap_data(p2p.plan_shards(tuple(p.backend() for p in plans), settings()))
    assert len(data) == 4
    all_ready = {key: True for key in services}
    # tcp-services is the only routing ConfigMap, and ingress-nginx keeps all of its entries.
    assert p2p.P2P_PROTOCOLS == ("TCP",)
    assert l4_servers(data, "TCP", services, all_ready) == {(int(k), v) for k, v in data.items()}


def test_the_l4_server_set_does_not_depend_on_readiness():
    plans, services = _chainlets()
    data = ib.services_configmap_data(p2p.plan_shards(tuple(p.backend() for p in plans), settings()))
    all_ready = {key: True for key in services}
    one_restarting = {**all_ready, next(iter(services)): False}
    assert l4_servers(data, "TCP", services, one_restarting) == l4_servers(data, "TCP", services, all_ready)
    # Without publishNotReadyAddresses the restarting chainlet's server would vanish: a reload.
    for svc in services.values():
        del svc["spec"]["publishNotReadyAddresses"]
    assert len(l4_servers(data, "TCP", services, one_restarting)) == 3


def test_controller_values_never_mention_a_backend():
    values = ib.controller_values(settings())
    assert values == {
        "fullnameOverride": "pegasus-ingress-nginx",
        "controller": {
            "replicaCount": 2,
            "config": {"worker-shutdown-timeout": "3600s", "worker-processes": "2"},
            "extraArgs": {"tcp-services-configmap": "sagasrv-ingress/pegasus-tcp-services"},
            "ingressClass": "pegasus-p2p",
            "ingressClassResource": {
                "name": "pegasus-p2p",
                "enabled": True,
                "default": False,
                "controllerValue": "pegasus.saga.xyz/ingress-nginx",
            },
            "admissionWebhooks": {"enabled": False},
            "service": {"type": "ClusterIP"},
            "allowSnippetAnnotations": False,
            "metrics": {"enabled": True},
            "resources": {"requests": {"cpu": "250m", "memory": "256Mi"}, "limits": {"memory": "1Gi"}},
            "minAvailable": 1,
            "topologySpreadConstraints": [{
                "maxSkew": 1,
                "topologyKey": "kubernetes.io/hostname",
                "whenUnsatisfiable": "ScheduleAnyway",
                "labelSelector": {"matchLabels": {
                    "app.kubernetes.io/name": "ingress-nginx",
                    "app.kubernetes.io/instance": "pegasus-ingress-nginx",
                    "app.kubernetes.io/component": "controller",
                }},
            }],
        },
    }
