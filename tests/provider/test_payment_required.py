"""An exhausted pod's host answers 402 Payment Required (components/provider/payment_required_builder.py),
with flags hashicorp/http-echo v1.0.0 defines."""

from __future__ import annotations

import json
from pathlib import Path

from components.provider import builder as pb
from components.provider import payment_required_builder as prb
from tests.conftest import example
from tests.provider.test_builder import SUFFIX, doc, manifest

HTTP_ECHO = json.loads((Path(__file__).parent / "upstream" / "http_echo.json").read_text())


def test_the_page_uses_only_flags_http_echo_has_and_answers_402():
    flags = {a.split("=", 1)[0].lstrip("-") for a in prb.ARGS}
    assert flags <= set(HTTP_ECHO["flags"])
    assert "-status-code=402" in prb.ARGS and prb.IMAGE.endswith(":" + HTTP_ECHO["tag"].lstrip("v"))
    assert prb.service()["spec"]["ports"][0]["targetPort"] == prb.deployment()["spec"]["template"]["spec"]["containers"][0]["ports"][0]["name"]


def test_exhausted_hosts_route_to_the_page_and_custom_hosts_only_while_paid():
    shop = doc()
    shop["pod"]["containers"][0]["ports"][0]["hostHttpHost"] = "shop.example.com"
    pods = [manifest(shop)]
    assert pb.split_hosts(pods, {"web"}, SUFFIX) == (["shop.example.com"], [])
    assert pb.split_hosts(pods, set(), SUFFIX) == ([], ["shop.example.com"])
    rules = prb.ingress(["idle.pods.example.org"], "provider-http")["spec"]["rules"]
    assert rules == [{"host": "idle.pods.example.org", "http": {"paths": [{"path": "/", "pathType": "Prefix", "backend": {
        "service": {"name": "payment-required", "port": {"number": 80}}}}]}}]
    assert prb.ingress([], "provider-http") is None


def test_the_example_routes_its_exhausted_pod_to_the_page():
    plan = example("provider")
    [unpaid] = [r for r in plan.by_type("kubernetes:networking.k8s.io/v1:Ingress") if r.name == "http-scaling-payment-required-hosts"]
    assert [rule["host"] for rule in unpaid.inputs["spec"]["rules"]] == ["idle.pods.example.org"]
