"""The Envoy Gateway data plane, without mocks: whole Gateways, routes and EnvoyProxy compared,
and every object validated strictly against the CRDs the chart ships."""

from __future__ import annotations

import pytest

from components.p2p import gateway_builder as gb
from components.p2p import p2p_builder as p2p
from pegasus import config
from pegasus.config import IngressSettings
from pegasus.errors import ConfigError
from tests.pegasus.test_config import SNAPSHOT, SPC
from tools.plan.schemas import DEFAULT_CRD_DIR, validate_object

LABELS = {"app.kubernetes.io/part-of": "pegasus", "app.kubernetes.io/managed-by": "pulumi"}


def settings(cloud="existing", shard_size=2, domain=None, extra=None):
    return IngressSettings(shard_size, 1025, 20000, domain, 2, cloud, extra or {}, cloud != "eks", provider="envoy-gateway")


def backends(n, offline=()):
    return tuple(p2p.P2PBackend(f"c{i}", f"saga-c{i}", "chainlet", 26656, i, routed=i not in offline) for i in range(n))


def listener(port, namespace):
    return {
        "name": f"tcp-{port}", "port": port, "protocol": "TCP",
        "allowedRoutes": {
            "kinds": [{"group": "gateway.networking.k8s.io", "kind": "TCPRoute"}],
            "namespaces": {"from": "Selector", "selector": {"matchLabels": {"kubernetes.io/metadata.name": namespace}}},
        },
    }


def gateway_labels(index):
    return {"app.kubernetes.io/name": "envoy-gateway", "app.kubernetes.io/instance": f"pegasus-p2p-{index}",
            "app.kubernetes.io/component": "p2p-shard", **LABELS, "pegasus.saga.xyz/shard": str(index)}


def test_a_shard_gateway_has_one_listener_per_online_chainlet_and_admits_only_its_namespace():
    shards = p2p.plan_shards(backends(4, offline={1}), settings(domain="p2p.example.org"))
    assert gb.gateway(shards[0], settings(domain="p2p.example.org"), "pegasus-dev") == {
        "apiVersion": "gateway.networking.k8s.io/v1",
        "kind": "Gateway",
        "metadata": {"name": "pegasus-p2p-0", "namespace": "sagasrv-ingress", "labels": gateway_labels(0)},
        "spec": {
            "gatewayClassName": "pegasus-p2p",
            "listeners": [listener(1025, "saga-c0")],
            "infrastructure": {"annotations": {"external-dns.alpha.kubernetes.io/hostname": "p2p-0.p2p.example.org"}},
        },
    }
    assert [x["port"] for x in gb.gateway(shards[1], settings(), "pegasus-dev")["spec"]["listeners"]] == [1025, 1026]


def test_a_shard_with_every_chainlet_offline_keeps_its_gateway_and_one_listener():
    shards = p2p.plan_shards(backends(4, offline={2, 3}), settings())
    gw = gb.gateway(shards[1], settings(), "pegasus-dev")
    assert gw["spec"] == {"gatewayClassName": "pegasus-p2p", "listeners": [listener(1025, "saga-c2")]}
    assert gb.routes(shards).keys() == {"c0", "c1"}


def test_the_route_of_a_chainlet_targets_its_listener_and_its_own_service():
    shards = p2p.plan_shards(backends(3), settings())
    assert gb.routes(shards)["c2"] == {
        "apiVersion": "gateway.networking.k8s.io/v1",
        "kind": "TCPRoute",
        "metadata": {"name": "p2p", "namespace": "saga-c2", "labels": {
            "app.kubernetes.io/name": "envoy-gateway", "app.kubernetes.io/instance": "c2",
            "app.kubernetes.io/component": "p2p-route", **LABELS, "pegasus.saga.xyz/shard": "1"}},
        "spec": {
            "parentRefs": [{"group": "gateway.networking.k8s.io", "kind": "Gateway", "name": "pegasus-p2p-1",
                            "namespace": "sagasrv-ingress", "sectionName": "tcp-1025"}],
            "rules": [{"backendRefs": [{"group": "", "kind": "Service", "name": "chainlet", "port": 26656}]}],
        },
    }


def test_going_offline_changes_one_listener_of_one_gateway_and_removes_one_route():
    s = settings(shard_size=3)
    before = p2p.plan_shards(backends(6), s)
    after = p2p.plan_shards(backends(6, offline={4}), s)
    changed = [i for i in range(2) if gb.gateway(before[i], s, "c") != gb.gateway(after[i], s, "c")]
    assert changed == [1]
    old, new = (gb.gateway(x[1], s, "c")["spec"]["listeners"] for x in (before, after))
    assert [x for x in old if x not in new] == [listener(1026, "saga-c4")] and all(x in old for x in new)
    assert set(gb.routes(before)) - set(gb.routes(after)) == {"c4"}
    assert {k: v for k, v in gb.routes(before).items() if k != "c4"} == gb.routes(after)


def test_envoy_proxy_carries_the_shared_eks_service_settings_and_the_gateway_its_own():
    s = settings("eks", shard_size=50)
    proxy = gb.envoy_proxy(s, "pegasus-eks", gb.nlb_health_check_annotations())
    assert proxy["spec"]["mergeGateways"] is False
    assert proxy["spec"]["provider"]["kubernetes"]["envoyService"] == {
        "type": "LoadBalancer",
        "externalTrafficPolicy": "Cluster",
        "allocateLoadBalancerNodePorts": False,
        "annotations": {
            "service.beta.kubernetes.io/aws-load-balancer-attributes": "load_balancing.cross_zone.enabled=true",
            "service.beta.kubernetes.io/aws-load-balancer-healthcheck-path": "/ready",
            "service.beta.kubernetes.io/aws-load-balancer-healthcheck-port": "19003",
            "service.beta.kubernetes.io/aws-load-balancer-healthcheck-protocol": "HTTP",
            "service.beta.kubernetes.io/aws-load-balancer-nlb-target-type": "ip",
            "service.beta.kubernetes.io/aws-load-balancer-scheme": "internet-facing",
            "service.beta.kubernetes.io/aws-load-balancer-type": "external",
        },
    }
    shard = p2p.plan_shards(backends(1), s)[0]
    gw = gb.gateway(shard, s, "pegasus-eks", extra_annotations={"service.beta.kubernetes.io/aws-load-balancer-eip-allocations": "eipalloc-1"})
    assert gw["spec"]["infrastructure"] == {"annotations": {
        "service.beta.kubernetes.io/aws-load-balancer-additional-resource-tags": "pegasus.saga.xyz/cluster=pegasus-eks,pegasus.saga.xyz/shard=0",
        "service.beta.kubernetes.io/aws-load-balancer-eip-allocations": "eipalloc-1",
    }}


def test_gke_uses_the_l4_class_local_traffic_and_the_shards_reserved_address():
    s = settings("gke", shard_size=25)
    service = gb.envoy_proxy(s, "pegasus-gke")["spec"]["provider"]["kubernetes"]["envoyService"]
    assert service == {"type": "LoadBalancer", "externalTrafficPolicy": "Local",
                       "loadBalancerClass": "networking.gke.io/l4-regional-external"}
    shard = p2p.plan_shards(backends(1), s)[0]
    assert gb.gateway(shard, s, "pegasus-gke", "pegasus-gke-p2p-0")["spec"]["infrastructure"] == {
        "annotations": {"networking.gke.io/load-balancer-ip-addresses": "pegasus-gke-p2p-0"}}


def test_the_controller_release_has_no_webhook_calling_a_pod():
    assert gb.controller_values()["topologyInjector"] == {"enabled": False}
    assert gb.CHART.archive == "gateway-helm-v1.9.0.tgz"


@pytest.mark.parametrize("cloud", ["existing", "eks", "gke"])
def test_every_object_validates_against_the_charts_crds(cloud):
    s = settings(cloud, shard_size=3, domain="p2p.example.org", extra={"metallb.universe.tf/address-pool": "p2p"})
    shards = p2p.plan_shards(backends(5, offline={4}), s)
    objects = [gb.gateway_class(), gb.envoy_proxy(s, "c", gb.nlb_health_check_annotations()),
               *(gb.gateway(x, s, "c") for x in shards), *gb.routes(shards).values()]
    assert {o["kind"] for o in objects} == {"GatewayClass", "EnvoyProxy", "Gateway", "TCPRoute"}
    assert [validate_object(o, "1.35", DEFAULT_CRD_DIR) for o in objects] == [[]] * len(objects)


def test_an_unknown_field_in_a_gateway_or_route_fails():
    shards = p2p.plan_shards(backends(1), settings())
    gw = gb.gateway(shards[0], settings(), "c")
    gw["spec"]["listeners"][0]["protocl"] = "TCP"
    assert validate_object(gw, "1.35", DEFAULT_CRD_DIR) == [
        "spec/listeners/0: Additional properties are not allowed ('protocl' was unexpected)"]
    route = gb.routes(shards)["c0"]
    route["spec"]["rules"][0]["backendRefs"][0]["port"] = "26656"
    assert validate_object(route, "1.35", DEFAULT_CRD_DIR) == [
        "spec/rules/0/backendRefs/0/port: '26656' is not of type 'integer'"]


def parse_ingress(section, provider="existing"):
    raw = {"cluster": {"provider": provider}, "ingress": section, "chain": SNAPSHOT, "spc": SPC}
    if provider == "eks":
        raw["cluster"]["region"] = "us-east-1"
    return config.parse(raw, project="p", stack="dev").ingress


def test_the_provider_defaults_to_ingress_nginx_and_accepts_envoy_gateway():
    assert parse_ingress({}).provider == "ingress-nginx"
    assert parse_ingress({"provider": "envoy-gateway"}).provider == "envoy-gateway"


def test_an_unknown_provider_and_a_shard_beyond_a_gateways_listeners_are_refused():
    with pytest.raises(ConfigError) as err:
        parse_ingress({"provider": "nginx"})
    assert str(err.value) == "pegasus:ingress.provider: must be one of ingress-nginx, envoy-gateway; got 'nginx'"
    with pytest.raises(ConfigError) as err:
        parse_ingress({"provider": "envoy-gateway", "shardSize": 65})
    assert str(err.value) == ("pegasus:ingress.shardSize: must be between 1 and 64 with envoy-gateway: a Gateway has "
                              "at most 64 listeners and each chainlet takes one; got 65")
    assert parse_ingress({"shardSize": 65}).shard_size == 65


def test_a_gateway_whose_status_address_is_advertised_is_awaited_for_it():
    shard = p2p.plan_shards(backends(1), settings())[0]
    assert gb.gateway(shard, settings(), "c", wait_for_address=True)["metadata"]["annotations"] == {
        "pulumi.com/waitFor": "jsonpath={.status.addresses[0].value}"}
    assert "annotations" not in gb.gateway(shard, settings(), "c")["metadata"]
