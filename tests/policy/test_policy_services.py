"""pegasus-no-public-internal-ports and pegasus-nlb-listener-limit."""

import pytest

from policy.policies import lb_listener_limits, public_exposure
from tests.policy import fixtures as f
from tests.policy.harness import check

EXPOSURE = public_exposure.POLICY
LISTENERS = lb_listener_limits.POLICY

FIX = "serve it through a ClusterIP Service, or list the port in allowedPorts if it must be public"


def with_port(entry, service_type="LoadBalancer"):
    props = f.spc_service()
    props["spec"]["type"] = service_type
    props["spec"]["ports"].append(entry)
    return props


# --- public exposure --------------------------------------------------------------------


@pytest.mark.parametrize("make", [f.spc_service, f.shard_service])
def test_p2p_services_pass(make):
    assert check(EXPOSURE, f.SERVICE, make()) == []


def test_an_internal_port_on_a_pegasus_shard_names_the_config_key():
    props = f.shard_service()
    props["spec"]["ports"][0]["port"] = 26657.0
    assert check(EXPOSURE, f.SERVICE, props) == [
        "spec.ports[0] port 26657 exposes CometBFT RPC on a LoadBalancer Service; this p2p shard publishes "
        "ingress.basePort to ingress.basePort + ingress.shardSize - 1, so move ingress.basePort clear of it, "
        "or list the port in allowedPorts if it must be public"
    ]


@pytest.mark.parametrize(
    "port, what",
    [
        (26657, "CometBFT RPC"),
        (9090, "gRPC or Prometheus"),
        (1317, "the REST API"),
        (8545, "EVM JSON-RPC"),
        (8546, "EVM WebSocket JSON-RPC"),
        (26660, "CometBFT metrics"),
        (9100, "node-exporter metrics"),
        (10254, "ingress-nginx metrics"),
        (9115, "blackbox-exporter"),
        (9093, "Alertmanager"),
        (3000, "Grafana"),
    ],
)
def test_internal_port_on_a_load_balancer_is_reported(port, what):
    props = with_port({"name": "x", "port": float(port), "targetPort": float(port)})
    assert check(EXPOSURE, f.SERVICE, props) == [
        f"spec.ports[1] port {port} exposes {what} on a LoadBalancer Service; {FIX}"
    ]


def test_internal_target_port_behind_an_innocent_port_is_reported():
    props = with_port({"name": "web", "port": 443.0, "targetPort": 26657.0})
    assert check(EXPOSURE, f.SERVICE, props) == [
        f"spec.ports[1] targetPort 26657 exposes CometBFT RPC on a LoadBalancer Service; {FIX}"
    ]


def test_node_port_services_are_judged_too():
    props = with_port({"name": "x", "port": 1317.0, "targetPort": 1317.0, "nodePort": 31317.0}, "NodePort")
    assert check(EXPOSURE, f.SERVICE, props) == [
        f"spec.ports[1] port 1317 exposes the REST API on a NodePort Service; {FIX}"
    ]


def test_cluster_ip_services_may_carry_internal_ports():
    props = with_port({"name": "rpc", "port": 26657.0, "targetPort": 26657.0}, "ClusterIP")
    assert check(EXPOSURE, f.SERVICE, props) == []


def test_service_without_type_is_cluster_ip():
    props = with_port({"name": "rpc", "port": 26657.0})
    del props["spec"]["type"]
    assert check(EXPOSURE, f.SERVICE, props) == []


@pytest.mark.parametrize("name", ["rpc", "grpc-web", "evm-api", "metrics", "grafana", "Prometheus-web"])
def test_internal_port_names_are_reported(name):
    props = with_port({"name": name, "port": 8080.0, "targetPort": "http"})
    assert check(EXPOSURE, f.SERVICE, props) == [
        f"spec.ports[1] name '{name}' marks an internal endpoint on a LoadBalancer Service; {FIX}"
    ]


def test_named_target_port_is_not_a_number():
    props = with_port({"name": "p2p-udp", "port": 26656.0, "targetPort": "p2p", "protocol": "UDP"})
    assert check(EXPOSURE, f.SERVICE, props) == []


def test_allowed_ports_exempt_an_entry():
    props = with_port({"name": "rpc", "port": 26657.0, "targetPort": 26657.0})
    assert check(EXPOSURE, f.SERVICE, props, {"allowedPorts": [26657]}) == []
    # The analyzer decodes config through protobuf, so integers arrive as floats.
    assert check(EXPOSURE, f.SERVICE, props, {"allowedPorts": [26657.0]}) == []
    assert check(EXPOSURE, f.SERVICE, props, {"allowedPorts": [1317]}) != []


def test_allowed_ports_match_the_target_port_too():
    # Grafana published on 443 is allowed by naming either number.
    props = with_port({"name": "https", "port": 443.0, "targetPort": 3000.0})
    assert check(EXPOSURE, f.SERVICE, props, {"allowedPorts": [3000]}) == []
    assert check(EXPOSURE, f.SERVICE, props, {"allowedPorts": [443]}) == []
    assert check(EXPOSURE, f.SERVICE, props) == [
        f"spec.ports[1] targetPort 3000 exposes Grafana on a LoadBalancer Service; {FIX}"
    ]


def test_allowed_services_exempt_a_whole_service():
    props = with_port({"name": "rpc", "port": 26657.0, "targetPort": 26657.0})
    assert check(EXPOSURE, f.SERVICE, props, {"allowedServices": ["sagasrv-spc/spc"]}) == []
    assert check(EXPOSURE, f.SERVICE, props, {"allowedServices": ["default/spc"]}) != []


def test_each_offending_entry_is_reported():
    props = f.spc_service()
    props["spec"]["ports"] += [
        {"name": "rpc", "port": 26657.0, "targetPort": 26657.0},
        {"name": "grpc", "port": 9090.0, "targetPort": 9090.0},
    ]
    assert check(EXPOSURE, f.SERVICE, props) == [
        f"spec.ports[1] port 26657 exposes CometBFT RPC on a LoadBalancer Service; {FIX}",
        f"spec.ports[2] port 9090 exposes gRPC or Prometheus on a LoadBalancer Service; {FIX}",
    ]


# --- NLB listeners ----------------------------------------------------------------------


def shard_with(entries: int):
    props = f.shard_service()
    props["spec"]["ports"] = [
        {"name": f"p2p-{i}", "port": 1025.0 + i, "targetPort": 20000.0 + i, "protocol": "TCP"} for i in range(entries)
    ]
    return props


def too_many(count, limit=50):
    return (
        f"spec.ports has {count} entries, each an NLB listener, above the limit of {limit}; "
        "spread the ports over more LoadBalancer Services (a smaller ingress.shardSize)"
    )


def test_fifty_listeners_fit():
    assert check(LISTENERS, f.SERVICE, shard_with(50)) == []


def test_fifty_one_listeners_are_reported():
    assert check(LISTENERS, f.SERVICE, shard_with(51)) == [too_many(51)]


@pytest.mark.parametrize("value", ["nlb", "external", "nlb-ip", "NLB"])
def test_nlb_type_annotations_count(value):
    props = shard_with(51)
    props["metadata"]["annotations"] = {"service.beta.kubernetes.io/aws-load-balancer-type": value}
    assert check(LISTENERS, f.SERVICE, props) == [too_many(51)]


def test_load_balancer_class_marks_an_nlb():
    props = shard_with(51)
    props["metadata"]["annotations"] = {}
    props["spec"]["loadBalancerClass"] = "service.k8s.aws/nlb"
    assert check(LISTENERS, f.SERVICE, props) == [too_many(51)]


def test_classic_or_non_aws_load_balancers_are_not_judged():
    props = shard_with(51)
    props["metadata"]["annotations"] = {}
    assert check(LISTENERS, f.SERVICE, props) == []


def test_max_listeners_is_configurable():
    assert check(LISTENERS, f.SERVICE, shard_with(11), {"maxListeners": 10}) == [too_many(11, 10)]
    assert check(LISTENERS, f.SERVICE, shard_with(11), {"maxListeners": 10.0}) == [too_many(11, 10)]
    assert check(LISTENERS, f.SERVICE, shard_with(10), {"maxListeners": 10}) == []


# --- TCP_UDP listeners and the NLB security group -----------------------------------------

TCP_UDP = "service.beta.kubernetes.io/aws-load-balancer-enable-tcp-udp-listener"


def tcp_udp_shard(chainlets: int, annotate: bool = True):
    """A p2p shard as Pegasus builds it: TCP and UDP on every chainlet's port."""
    props = f.shard_service()
    props["spec"]["ports"] = [
        {"name": f"{proto.lower()}-{1025 + i}", "port": 1025.0 + i, "targetPort": 20000.0 + i, "protocol": proto}
        for i in range(chainlets) for proto in ("TCP", "UDP")
    ]
    if annotate:
        props["metadata"]["annotations"][TCP_UDP] = "true"
    return props


def too_many_rules(entries, sources=1, limit=60):
    return (
        f"spec.ports has {entries} entries from {sources} source range(s), {entries * sources} inbound rules in the "
        f"security group the AWS Load Balancer Controller manages for this NLB, above the limit of {limit}; "
        "spread the ports over more LoadBalancer Services (a smaller ingress.shardSize), or raise the account's "
        "quota and maxSecurityGroupRules with it"
    )


def test_a_full_eks_shard_fits_25_listeners_and_50_rules():
    assert check(LISTENERS, f.SERVICE, tcp_udp_shard(25)) == []


def test_the_security_group_binds_before_the_listeners_do():
    # 31 ports: 31 TCP_UDP listeners fit the 50, their 62 rules do not fit the 60.
    assert check(LISTENERS, f.SERVICE, tcp_udp_shard(31)) == [too_many_rules(62)]


def test_merged_listeners_are_counted_by_port_number():
    props = tcp_udp_shard(51)
    props["spec"]["loadBalancerSourceRanges"] = ["0.0.0.0/0"]
    assert check(LISTENERS, f.SERVICE, props, {"maxSecurityGroupRules": 1000}) == [
        "spec.ports opens 51 port numbers, each one NLB listener (TCP and UDP of a port merged into TCP_UDP), "
        "above the limit of 50; spread the ports over more LoadBalancer Services (a smaller ingress.shardSize)"
    ]


def test_without_the_tcp_udp_annotation_every_entry_is_a_listener():
    assert check(LISTENERS, f.SERVICE, tcp_udp_shard(26, annotate=False), {"maxSecurityGroupRules": 1000}) == [
        too_many(52)]


def test_each_source_range_is_a_rule_per_entry():
    props = tcp_udp_shard(10)
    props["spec"]["loadBalancerSourceRanges"] = ["198.51.100.0/24", "203.0.113.0/24", "192.0.2.0/24"]
    assert check(LISTENERS, f.SERVICE, props) == []  # 60 rules: exactly the quota
    props["spec"]["ports"] += tcp_udp_shard(11)["spec"]["ports"][20:]
    assert check(LISTENERS, f.SERVICE, props) == [too_many_rules(22, sources=3)]


@pytest.mark.parametrize("annotation, value", [
    ("service.beta.kubernetes.io/aws-load-balancer-security-groups", "sg-0123"),
    ("service.beta.kubernetes.io/aws-load-balancer-disable-nlb-sg", "true"),
])
def test_a_security_group_the_controller_does_not_manage_is_not_counted(annotation, value):
    props = tcp_udp_shard(31)
    props["metadata"]["annotations"][annotation] = value
    assert check(LISTENERS, f.SERVICE, props) == []


def test_the_rule_limit_is_configurable():
    assert check(LISTENERS, f.SERVICE, tcp_udp_shard(25), {"maxSecurityGroupRules": 40}) == [too_many_rules(50, limit=40)]


def test_a_declaration_never_publishes_a_well_known_internal_port():
    # The program writes the annotation itself: it waives the name heuristic, not the port table.
    props = with_port({"name": "rpc", "port": 26657.0, "targetPort": 26657.0, "protocol": "TCP"}, "NodePort")
    props["metadata"]["annotations"] = {public_exposure.PUBLIC_PORTS_ANNOTATION: "26657"}
    assert check(EXPOSURE, f.SERVICE, props) == [f"spec.ports[1] port 26657 exposes CometBFT RPC on a NodePort Service; {FIX}"]


def test_ports_a_service_declares_public_pass_and_only_those():
    # The Spacemesh miners' gRPC and JSON APIs are public on purpose (go-spacemesh's
    # grpc-public-listener); the Service lists them in pegasus.saga.xyz/public-ports.
    props = with_port({"name": "grpc", "port": 6000.0, "targetPort": "grpc", "protocol": "TCP"}, "NodePort")
    props["spec"]["ports"].append({"name": "metrics", "port": 1010.0, "targetPort": "metrics", "protocol": "TCP"})
    props["metadata"]["annotations"] = {public_exposure.PUBLIC_PORTS_ANNOTATION: "6000,7000"}
    assert check(EXPOSURE, f.SERVICE, props) == [f"spec.ports[2] name 'metrics' marks an internal endpoint on a NodePort Service; {FIX}"]
    del props["metadata"]["annotations"]
    assert check(EXPOSURE, f.SERVICE, props) == [
        f"spec.ports[1] name 'grpc' marks an internal endpoint on a NodePort Service; {FIX}",
        f"spec.ports[2] name 'metrics' marks an internal endpoint on a NodePort Service; {FIX}",
    ]
