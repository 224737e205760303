"""The public-exposure and listener-limit rules on envoy-gateway's Gateways and routes."""

from components.p2p import gateway_builder as gb
from components.p2p import p2p_builder as p2p
from policy.policies import lb_listener_limits, public_exposure
from pegasus.config import IngressSettings
from tests.policy.harness import check

GATEWAY = "kubernetes:gateway.networking.k8s.io/v1:Gateway"
ROUTE = "kubernetes:gateway.networking.k8s.io/v1:TCPRoute"


def shard(cloud="eks", n=3, size=50, base=1025):
    s = IngressSettings(size, base, 20000, None, 2, cloud, {}, cloud != "eks", provider="envoy-gateway")
    backends = tuple(p2p.P2PBackend(f"c{i}", f"saga-c{i}", "chainlet", 26656, i) for i in range(n))
    shards = p2p.plan_shards(backends, s)
    return gb.gateway(shards[0], s, "pegasus-eks"), gb.routes(shards)


def test_p2p_gateways_and_routes_pass():
    gw, routes = shard()
    assert check(public_exposure.POLICY, GATEWAY, gw) == []
    assert check(lb_listener_limits.POLICY, GATEWAY, gw) == []
    assert check(public_exposure.POLICY, ROUTE, routes["c0"]) == []


def test_a_listener_on_an_internal_port_is_public_exposure():
    gw, _ = shard(cloud="existing", base=26657)
    assert check(public_exposure.POLICY, GATEWAY, gw) == [
        "spec.listeners[0] port 26657 exposes CometBFT RPC on a Gateway, which Envoy Gateway publishes through a "
        "LoadBalancer Service; p2p shards publish ingress.basePort to ingress.basePort + ingress.shardSize - 1, so "
        "move ingress.basePort clear of it, or list the port in allowedPorts"
    ]
    assert check(public_exposure.POLICY, GATEWAY, gw, {"allowedPorts": [26657]}) == []


def test_a_route_to_a_chainlets_rpc_port_is_public_exposure():
    _, routes = shard()
    route = routes["c1"]
    route["spec"]["rules"][0]["backendRefs"][0]["port"] = 26657
    assert check(public_exposure.POLICY, ROUTE, route) == [
        "spec.rules[0].backendRefs[0] routes a public Gateway listener to port 26657, CometBFT RPC; "
        "route only p2p ports, or list the port in allowedPorts"
    ]


def test_an_nlb_gateway_beyond_the_listener_limit_fails_and_a_metallb_one_is_not_counted():
    gw, _ = shard(n=51, size=50)
    gw["spec"]["listeners"] = gw["spec"]["listeners"] * 2  # 100 listeners, as a bigger shard would have
    assert check(lb_listener_limits.POLICY, GATEWAY, gw) == [
        "spec.listeners has 100 entries, each a port of this Gateway's NLB, above the limit of 50; "
        "spread the ports over more LoadBalancer Services (a smaller ingress.shardSize)",
        "spec.listeners has 100 entries, 100 inbound rules in the security group of this Gateway's NLB, above the "
        "limit of 60; spread the ports over more LoadBalancer Services (a smaller ingress.shardSize)",
    ]
    other, _ = shard(cloud="existing", n=60, size=60)
    assert len(other["spec"]["listeners"]) == 60
    assert check(lb_listener_limits.POLICY, GATEWAY, other) == []
