"""Every planned Kubernetes object validates in strict mode: built-in kinds against the
Kubernetes OpenAPI schema, custom resources against schemas/crds. Unknown fields fail."""

from __future__ import annotations

import pytest

from components.cluster import karpenter_builder as kb
from components.monitoring import monitoring_builder as mb
from pegasus.config import AlertingSettings, KarpenterSettings
from tests.conftest import example
from tools.plan.schemas import DEFAULT_CRD_DIR, validate_object, validate_plan

K8S = "1.35"


@pytest.mark.parametrize("stack", ["dev", "eks", "gke"])
def test_every_manifest_of_the_example_stacks_validates(stack):
    checked, errors = validate_plan(example(stack), K8S)
    assert errors == []
    assert checked >= 44


def test_every_manifest_of_the_provider_stack_validates_including_the_http_scaled_objects():
    plan = example("provider")
    checked, errors = validate_plan(plan, K8S)
    assert errors == []
    assert checked == 47  # 37 + the settlement Namespace, ConfigMap and Deployment + the 402 page, its Service and Ingress
    # + the settler's record ConfigMap (settler-billed), its ServiceAccount, Role and RoleBinding
    assert len([r for r in plan.resources if r.type == "kubernetes:http.keda.sh/v1alpha1:HTTPScaledObject"]) == 2


def test_custom_resources_of_every_kind_we_create_are_covered():
    kinds = set()
    for stack in ("dev", "eks"):
        for r in example(stack).resources:
            if r.type.startswith(("kubernetes:monitoring.coreos.com", "kubernetes:karpenter")):
                kinds.add(r.type.rsplit(":", 1)[-1])
    assert kinds == {"PrometheusRule", "PodMonitor", "ServiceMonitor", "ScrapeConfig", "AlertmanagerConfig", "NodePool", "EC2NodeClass"}


def test_an_unknown_field_in_a_builtin_kind_fails():
    obj = {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "x"},
           "spec": {"ports": [{"port": 1, "protocl": "TCP"}]}}
    [message] = validate_object(obj, K8S, DEFAULT_CRD_DIR)
    assert "protocl" in message


def test_an_unknown_field_in_a_custom_resource_fails():
    pool = kb.node_pool(KarpenterSettings(True, ("m7i",), ("on-demand",), ("amd64",), "1000", "4000Gi",
                                          "WhenEmpty", "10m", "720h", ({"nodes": "10%"},), "al2023@latest", "100Gi"))
    assert validate_object(pool, K8S, DEFAULT_CRD_DIR) == []
    pool["spec"]["disruption"]["consolidateAftr"] = "5m"
    assert validate_object(pool, K8S, DEFAULT_CRD_DIR) == [
        "spec/disruption: Additional properties are not allowed ('consolidateAftr' was unexpected)"
    ]


def test_a_wrong_type_in_a_custom_resource_fails():
    rule = mb.prometheus_rules(AlertingSettings(None, "#x", None, "https://example.org/runbooks.md"))[0]
    rule["spec"]["groups"][0]["rules"][0]["for"] = 5
    errors = validate_object(rule, K8S, DEFAULT_CRD_DIR)
    assert errors == ["spec/groups/0/rules/0/for: 5 is not of type 'string'"]


def test_int_or_string_fields_accept_both():
    monitor = mb.ingress_service_monitor("30s")
    monitor["spec"]["endpoints"][0]["targetPort"] = 10254
    assert validate_object(monitor, K8S, DEFAULT_CRD_DIR) == []
    monitor["spec"]["endpoints"][0]["targetPort"] = "metrics"
    assert validate_object(monitor, K8S, DEFAULT_CRD_DIR) == []


def test_the_external_probe_scrape_config_validates():
    from pegasus.config import MonitoringSettings

    prober = mb.external_prober(MonitoringSettings("15d", "50Gi", "30s", "60s", None, "https://prober.example.org:9115", "auth"))
    sc = mb.p2p_scrape_config("pegasus-p2p-0", "lb.example", (mb.ProbeTarget("a_1-1", "saga-a-1-1", 1025),), "60s", {"shard": "0"}, prober)
    assert validate_object(sc, K8S, DEFAULT_CRD_DIR) == []
