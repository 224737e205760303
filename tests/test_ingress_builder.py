"""The shard machinery, without mocks: whole objects compared."""

from __future__ import annotations

import pytest

from components import ingress_builder as ib
from pegasus.config import IngressSettings
from pegasus.errors import ConfigError


def settings(cloud="existing", shard_size=2, base_port=1025, internal=20000, domain=None, extra=None):
    return IngressSettings(shard_size, base_port, internal, domain, 2, cloud, extra or {})


def backends(n, offline=()):
    return tuple(ib.P2PBackend(f"c{i}", f"saga-c{i}", "chainlet", 26656, i, routed=i not in offline) for i in range(n))


def test_backends_fill_shards_in_slot_order():
    shards = ib.plan_shards(backends(5, offline={1}), settings())
    assert shards == (
        ib.Shard(0, ports=(ib.ShardPort(1025, 20000, backends(5)[0]),),
                 reserved=(ib.ShardPort(1026, 20001, backends(5, offline={1})[1]),)),
        ib.Shard(1, ports=(ib.ShardPort(1025, 20002, backends(5)[2]), ib.ShardPort(1026, 20003, backends(5)[3])), reserved=()),
        ib.Shard(2, ports=(ib.ShardPort(1025, 20004, backends(5)[4]),), reserved=()),
    )


def test_plain_list_of_backends_gets_slots_by_position():
    assert ib.backends_in_order([("spc", "sagasrv-spc", "spc", 26656), ("x", "ns", "svc", 30000)]) == (
        ib.P2PBackend("spc", "sagasrv-spc", "spc", 26656, 0),
        ib.P2PBackend("x", "ns", "svc", 30000, 1),
    )


def test_configmap_routes_only_online_backends_on_distinct_internal_ports():
    shards = ib.plan_shards(backends(5, offline={1}), settings())
    assert ib.services_configmap_data(shards) == {
        "20000": "saga-c0/chainlet:26656",
        "20002": "saga-c2/chainlet:26656",
        "20003": "saga-c3/chainlet:26656",
        "20004": "saga-c4/chainlet:26656",
    }


def test_shard_service_maps_public_ports_to_internal_ports_over_tcp_and_udp():
    shard = ib.plan_shards(backends(4), settings())[1]
    assert ib.shard_service(shard, settings(extra={"metallb.universe.tf/address-pool": "p2p"}), "pegasus-dev") == {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {
            "name": "ingress-nginx-controller-p2p-1",
            "namespace": "ingress-nginx",
            "labels": {
                "app.kubernetes.io/name": "ingress-nginx",
                "app.kubernetes.io/instance": "ingress-nginx-controller-p2p-1",
                "app.kubernetes.io/component": "p2p-shard",
                "app.kubernetes.io/part-of": "pegasus",
                "app.kubernetes.io/managed-by": "pulumi",
                "pegasus.saga.xyz/shard": "1",
            },
            "annotations": {"metallb.universe.tf/address-pool": "p2p"},
        },
        "spec": {
            "type": "LoadBalancer",
            "selector": {
                "app.kubernetes.io/name": "ingress-nginx",
                "app.kubernetes.io/instance": "ingress-nginx",
                "app.kubernetes.io/component": "controller",
            },
            "ports": [
                {"name": "tcp-1025", "port": 1025, "targetPort": 20002, "protocol": "TCP"},
                {"name": "udp-1025", "port": 1025, "targetPort": 20002, "protocol": "UDP"},
                {"name": "tcp-1026", "port": 1026, "targetPort": 20003, "protocol": "TCP"},
                {"name": "udp-1026", "port": 1026, "targetPort": 20003, "protocol": "UDP"},
            ],
            "externalTrafficPolicy": "Local",
        },
    }


def test_a_shard_whose_chainlets_are_all_offline_keeps_its_service_and_address():
    shard = ib.plan_shards(backends(4, offline={2, 3}), settings())[1]
    assert shard.ports == ()
    assert ib.shard_service_ports(shard) == [
        {"name": "tcp-1025", "port": 1025, "targetPort": 20002, "protocol": "TCP"},
        {"name": "udp-1025", "port": 1025, "targetPort": 20002, "protocol": "UDP"},
    ]
    assert ib.services_configmap_data((shard,)) == {}


def test_eks_shards_are_internet_facing_nlbs_with_tcp_udp_listeners():
    shard = ib.plan_shards(backends(1), settings("eks"))[0]
    svc = ib.shard_service(shard, settings("eks"), "pegasus-eks")
    assert svc["metadata"]["annotations"] == {
        "service.beta.kubernetes.io/aws-load-balancer-type": "external",
        "service.beta.kubernetes.io/aws-load-balancer-nlb-target-type": "ip",
        "service.beta.kubernetes.io/aws-load-balancer-scheme": "internet-facing",
        "service.beta.kubernetes.io/aws-load-balancer-attributes": "load_balancing.cross_zone.enabled=true",
        "service.beta.kubernetes.io/aws-load-balancer-additional-resource-tags": "pegasus.saga.xyz/cluster=pegasus-eks,pegasus.saga.xyz/shard=0",
        "service.beta.kubernetes.io/aws-load-balancer-enable-tcp-udp-listener": "true",
    }
    assert "externalTrafficPolicy" not in svc["spec"]


def test_gke_shards_use_the_backend_service_lb_and_a_reserved_address():
    shard = ib.plan_shards(backends(1), settings("gke", domain="p2p.example.com"))[0]
    svc = ib.shard_service(shard, settings("gke", domain="p2p.example.com"), "pegasus-gke", static_address_name="pegasus-gke-p2p-0")
    assert svc["metadata"]["annotations"] == {
        "cloud.google.com/l4-rbs": "enabled",
        "networking.gke.io/load-balancer-ip-addresses": "pegasus-gke-p2p-0",
        "external-dns.alpha.kubernetes.io/hostname": "p2p-0.p2p.example.com",
    }
    assert ib.shard_public_host(0, "p2p.example.com") == "p2p-0.p2p.example.com"


def test_listeners_per_full_eks_shard_fit_an_nlb():
    shard = ib.plan_shards(backends(25), settings("eks", shard_size=25))[0]
    assert ib.listeners(shard) == 50


def test_shard_size_above_the_cloud_limit_is_refused_even_when_built_directly():
    with pytest.raises(ConfigError) as e:
        ib.plan_shards(backends(1), settings("eks", shard_size=26))
    assert str(e.value) == "pegasus:ingress.shardSize: must be at most 25 on eks; got 26"


def test_duplicate_slots_are_a_bug_not_a_layout():
    twins = (ib.P2PBackend("a", "ns", "s", 1, 0), ib.P2PBackend("b", "ns", "s", 1, 0))
    with pytest.raises(ValueError, match="p2p backends a and b share slot 0"):
        ib.plan_shards(twins, settings())


def test_internal_port_overflow_names_the_key():
    with pytest.raises(ConfigError) as e:
        ib.plan_shards((ib.P2PBackend("a", "ns", "s", 1, 45536),), settings(internal=20000))
    assert str(e.value).startswith("pegasus:ingress.internalBasePort: slot 45536 would listen on controller port 65536")


def test_controller_values_never_mention_a_backend():
    values = ib.controller_values(settings())
    assert values == {
        "fullnameOverride": "ingress-nginx",
        "controller": {
            "replicaCount": 2,
            "extraArgs": {
                "tcp-services-configmap": "ingress-nginx/pegasus-tcp-services",
                "udp-services-configmap": "ingress-nginx/pegasus-udp-services",
            },
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
                    "app.kubernetes.io/instance": "ingress-nginx",
                    "app.kubernetes.io/component": "controller",
                }},
            }],
        },
    }


def test_controller_values_can_turn_the_admission_webhook_off():
    import dataclasses

    values = ib.controller_values(dataclasses.replace(settings(), admission_webhooks=False))
    assert values["controller"]["admissionWebhooks"] == {"enabled": False}
    assert ib.controller_values(settings()) == {**values, "controller": {
        k: v for k, v in values["controller"].items() if k != "admissionWebhooks"}}
