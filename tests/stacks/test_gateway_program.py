"""The whole program under Pulumi's mocks with `ingress.provider: envoy-gateway`, for dev, eks and gke."""

from __future__ import annotations

import json

import pytest

from stacks import validator
from tests.conftest import k8s, obj, run
from tests.stacks.test_program import OFFLINE, SNAPSHOT_IDS, children
from tools.plan import check
from tools.plan.schemas import validate_plan

ENVOY = ["ingress.provider=envoy-gateway"]
_PLANS: dict = {}


def envoy(stack):
    if stack not in _PLANS:
        _PLANS[stack] = run(stack, ENVOY)
    return _PLANS[stack]


@pytest.mark.parametrize("stack", ["dev", "eks", "gke"])
def test_the_envoy_gateway_plans_validate_and_pass_every_mandatory_policy(stack):
    plan = envoy(stack)
    checked, errors = validate_plan(plan, "1.35")
    assert errors == [] and checked >= 44
    assert [v for v in check.violations(plan) if v.enforcement == "mandatory"] == []


@pytest.mark.parametrize("stack", ["dev", "eks", "gke"])
def test_envoy_gateway_replaces_ingress_nginx_and_routes_every_online_chainlet(stack):
    plan = envoy(stack)
    releases = {r.inputs["name"]: (r.inputs["chart"], r.inputs["version"]) for r in plan.by_type("kubernetes:helm.sh/v3:Release")}
    assert releases["pegasus-envoy-gateway"] == ("oci://docker.io/envoyproxy/gateway-helm", "v1.9.0")
    assert "pegasus-ingress-nginx" not in releases
    assert [r for r in k8s(plan, "ConfigMap") if r.inputs["metadata"]["name"] == "pegasus-tcp-services"] == []
    assert [r.inputs["metadata"]["name"] for r in k8s(plan, "Gateway")] == ["pegasus-p2p-0"]
    assert [r.inputs["metadata"]["name"] for r in k8s(plan, "GatewayClass")] == ["pegasus-p2p"]
    assert len(k8s(plan, "EnvoyProxy")) == 1
    routed = sorted(r.inputs["metadata"]["namespace"] for r in k8s(plan, "TCPRoute"))
    assert routed == sorted(f"saga-{i.replace('_', '-')}" for i in SNAPSHOT_IDS if i not in OFFLINE)
    gw = obj(plan, "Gateway", "pegasus-p2p-0", "sagasrv-ingress")
    assert gw.options["protect"]
    # The listeners are the ports of the online chainlets: the same public ports as ingress-nginx's shard.
    assert [x["port"] for x in gw.inputs["spec"]["listeners"]] == [1025, 1026, 1028, 1030]


def test_component_shape_holds_for_the_envoy_gateway_plans():
    for plan in (envoy("dev"), envoy("eks"), envoy("gke")):
        for comp in [r for r in plan.resources if not r.custom and r.type.startswith("pegasus:")]:
            for child in children(plan, comp.urn):
                assert child.name.startswith(comp.name + "-"), (comp.name, child.name)


def test_an_online_chainlet_is_five_resources_and_an_offline_one_four():
    plan = envoy("dev")
    for comp in [r for r in plan.resources if r.type == "pegasus:chainlet:Chainlet"]:
        kinds = sorted(r.inputs["kind"] for r in children(plan, comp.urn))
        chain_id = comp.name.removeprefix("chainlet-")
        expected = ["Namespace", "PersistentVolumeClaim", "Service", "StatefulSet"]
        assert kinds == (expected if chain_id in OFFLINE else sorted([*expected, "TCPRoute"])), chain_id


def test_chainlets_advertise_the_gateways_address():
    plan = envoy("dev")
    addresses = json.loads(json.dumps(plan.outputs["chainlets"]))
    assert addresses["hub_5464111-1"]["address"] == "pegasus-p2p-0.sagasrv-ingress.gw.pending.invalid:1026"


def test_gke_keeps_the_reserved_address_under_the_same_name_and_annotates_the_gateway():
    plan = envoy("gke")
    [address] = plan.by_type("gcp:compute/address:Address")
    assert address.inputs["name"] == "pegasus-gke-p2p-0" and address.options["protect"]
    gw = obj(plan, "Gateway", "pegasus-p2p-0")
    assert gw.inputs["spec"]["infrastructure"]["annotations"] == {"networking.gke.io/load-balancer-ip-addresses": "pegasus-gke-p2p-0"}


def test_eks_pins_each_gateway_to_its_elastic_ips_and_checks_envoys_readiness():
    plan = envoy("eks")
    annotations = obj(plan, "Gateway", "pegasus-p2p-0").inputs["spec"]["infrastructure"]["annotations"]
    assert "service.beta.kubernetes.io/aws-load-balancer-eip-allocations" in annotations
    assert annotations["service.beta.kubernetes.io/aws-load-balancer-healthcheck-port"] == "19003"
    assert len(annotations) <= 16  # the Gateway API's limit on infrastructure annotations


def test_the_chart_list_names_the_selected_data_plane():
    from pegasus import config

    def charts(provider):
        from tests.pegasus.test_config import SNAPSHOT, SPC

        s = config.parse({"chain": SNAPSHOT, "spc": SPC, "ingress": {"provider": provider}}, project="p", stack="dev")
        return [c.archive for c in validator.charts(s)]

    assert "gateway-helm-v1.9.0.tgz" in charts("envoy-gateway") and "ingress-nginx-4.15.1.tgz" not in charts("envoy-gateway")
    assert "ingress-nginx-4.15.1.tgz" in charts("ingress-nginx") and "gateway-helm-v1.9.0.tgz" not in charts("ingress-nginx")


def test_the_local_chart_mirror_installs_envoy_gateway_from_its_archive():
    from tests.tools.test_e2e_harness import SHARED_CHARTS

    plan = run("dev", [*ENVOY, f"charts.localDir={SHARED_CHARTS}"])
    [release] = [r for r in plan.by_type("kubernetes:helm.sh/v3:Release") if r.inputs["name"] == "pegasus-envoy-gateway"]
    assert release.inputs["chart"] == f"{SHARED_CHARTS}/gateway-helm-v1.9.0.tgz"
    assert release.inputs["values"]["topologyInjector"] == {"enabled": False}


@pytest.mark.parametrize("provider", ["ingress-nginx", "envoy-gateway"])
def test_one_chainlets_change_touches_only_its_own_route_listener_and_workload(provider):
    from bench.worker import blast

    r = blast(12, provider)
    target = "chainlet-chainlet00006_2700000000000006-1"
    for event in ("offline", "back_online"):
        e = r[event]
        assert e["other_chainlets_touched"] == 0
        if provider == "envoy-gateway":
            # One listener of one Gateway (xDS, no reload), the workload, and the route itself.
            assert e["updated"] == [f"{target}-workload", "ingress-p2p-0"]
            assert (e["created"], e["deleted"]) == ((1, 0) if event == "back_online" else (0, 1))
        else:
            # The shared tcp-services ConfigMap: a reload of every chainlet's nginx workers.
            assert e["updated"] == [f"{target}-workload", "ingress-p2p-0", "ingress-tcp-services"]
            assert (e["created"], e["deleted"]) == (0, 0)
        assert len(e["updated"]) + e["created"] + e["deleted"] == 3
    assert ("ingress-tcp-services" in r["add"]["updated"]) == (provider == "ingress-nginx")


def test_envoy_listener_stats_are_scraped_alerted_on_and_on_the_dashboard():
    plan = envoy("dev")
    [monitor] = [r for r in k8s(plan, "PodMonitor") if r.inputs["metadata"]["name"] == "pegasus-envoy-p2p"]
    endpoint = monitor.inputs["spec"]["podMetricsEndpoints"][0]
    assert (endpoint["portNumber"], endpoint["path"]) == (19001, "/stats/prometheus")
    assert [r.inputs["metadata"]["name"] for r in k8s(plan, "ServiceMonitor") if "nginx" in r.inputs["metadata"]["name"]] == []
    [rule] = [r for r in k8s(plan, "PrometheusRule") if r.inputs["metadata"]["name"] == "pegasus-envoy-p2p"]
    [alert] = rule.inputs["spec"]["groups"][0]["rules"]
    assert alert["alert"] == "PegasusChainletNoInboundPeers" and alert["for"] == "15m"
    assert "envoy_listener_downstream_cx_active" in alert["expr"] and alert["expr"].endswith("== 0")
    [dash] = [r for r in k8s(plan, "ConfigMap") if r.inputs["metadata"]["name"] == "pegasus-ingress-dashboard"]
    text = json.dumps(dash.inputs["data"])
    assert "envoy_listener_downstream_cx_active" in text and "nginx_ingress_controller" not in text


def test_switching_the_data_plane_of_a_running_stack_needs_the_explicit_flag():
    from pegasus.errors import ConfigError
    from tests.conftest import example, state_of
    from tools.plan.runner import ProgramError

    nginx_state = state_of(example("dev"))
    with pytest.raises((ConfigError, ProgramError)) as err:
        run("dev", ENVOY, state=nginx_state)
    assert "pegasus:ingress.provider: this stack runs the ingress-nginx data plane; switching to envoy-gateway" in str(err.value)
    switched = run("dev", [*ENVOY, "ingress.allowProviderSwitch=true"], state=nginx_state)
    assert [r.inputs["metadata"]["name"] for r in k8s(switched, "Gateway")] == ["pegasus-p2p-0"]
    # Back the other way is guarded too, and the same provider again is no switch at all.
    with pytest.raises((ConfigError, ProgramError)):
        run("dev", [], state=state_of(envoy("dev")))
    assert run("dev", ENVOY, state=state_of(envoy("dev"))).resources


def test_only_gateways_whose_address_is_advertised_wait_for_it():
    assert obj(envoy("dev"), "Gateway", "pegasus-p2p-0").inputs["metadata"]["annotations"] == {
        "pulumi.com/waitFor": "jsonpath={.status.addresses[0].value}"}
    assert "annotations" not in obj(envoy("gke"), "Gateway", "pegasus-p2p-0").inputs["metadata"]
    with_domain = run("dev", [*ENVOY, "ingress.p2pDomain=p2p.example.org"])
    assert "annotations" not in obj(with_domain, "Gateway", "pegasus-p2p-0").inputs["metadata"]
