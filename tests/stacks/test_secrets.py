"""No planned resource input or output holds a configured secret in plain text."""

from __future__ import annotations

import json

import pytest
import yaml

from tests.conftest import run
from tools.plan import render

SLACK = "https://hooks.slack.com/services/T000/B000/PLAINSLACK123"
PAGERDUTY = "PLAINPAGERDUTY456"
GRAFANA = "PLAINGRAFANA789"
KUBECONFIG = "apiVersion: v1\nkind: Config\n# PLAINKUBECONFIG000\n"
SECRETS = {
    "alerting.slackWebhookUrl": SLACK,
    "alerting.pagerdutyRoutingKey": PAGERDUTY,
    "monitoring.grafanaAdminPassword": GRAFANA,
}
MARKERS = ("PLAINSLACK123", "PLAINPAGERDUTY456", "PLAINGRAFANA789", "PLAINKUBECONFIG000")


def everything_shown(plan, tmp_path) -> str:
    """Every byte the plan shows: its JSON (inputs, outputs), text summary and manifests."""
    parts = [json.dumps(render.to_json(plan)), render.text(plan)]
    render.write_manifests(plan, str(tmp_path))
    parts += [p.read_text() for p in tmp_path.rglob("*.yaml")]
    return "\n".join(parts)


@pytest.mark.parametrize("stack", ["dev", "eks", "gke"])
def test_configured_secrets_never_appear_in_plain_text(stack, tmp_path):
    sets = [f"{k}={v}" for k, v in SECRETS.items()]
    if stack == "dev":
        sets.append("cluster.kubeconfig=" + json.dumps(KUBECONFIG))
    plan = run(stack, sets)
    shown = everything_shown(plan, tmp_path)
    for marker in MARKERS:
        assert marker not in shown, marker
    # The secrets did reach the resources that need them, marked secret end to end.
    raw = json.dumps([r.raw_inputs for r in plan.resources])
    for marker in MARKERS[:3] + ((MARKERS[3],) if stack == "dev" else ()):
        assert marker in raw, marker
    secret_objects = [r for r in plan.resources if r.type == "kubernetes:core/v1:Secret"]
    assert {r.inputs["metadata"]["name"] for r in secret_objects} == {"pegasus-alerting", "pegasus-grafana-admin"}
    assert all(r.inputs["stringData"] == "[secret]" for r in secret_objects)
    assert plan.outputs["kubeconfig"] == "[secret]"


def test_providers_and_clusters_store_credentials_as_secret_outputs():
    eks = run("eks")
    [provider] = eks.by_type("pulumi:providers:kubernetes")
    assert provider.options["additionalSecretOutputs"] == ["kubeconfig"]
    assert provider.inputs["kubeconfig"] == "[secret]"
    [cluster] = eks.by_type("eks:index:Cluster")
    assert cluster.options["additionalSecretOutputs"] == ["kubeconfig", "kubeconfigJson"]
    [gke] = run("gke").by_type("gcp:container/cluster:Cluster")
    assert "masterAuth" in gke.options["additionalSecretOutputs"]  # next to the labels pulumi-gcp marks itself


def test_alertmanager_config_references_the_secret_instead_of_embedding_it(tmp_path):
    plan = run("dev", [f"alerting.slackWebhookUrl={SLACK}"])
    config = next(r for r in plan.resources if r.type.endswith(":AlertmanagerConfig"))
    slack = next(x for x in config.raw_inputs["spec"]["receivers"] if x["name"] == "slack")
    assert slack["slackConfigs"][0]["apiURL"] == {"name": "pegasus-alerting", "key": "slack-webhook-url"}


def test_secret_values_in_stack_files_are_planned_as_placeholders(tmp_path):
    stack = tmp_path / "Pulumi.s.yaml"
    stack.write_text(yaml.safe_dump({"config": {
        "pegasus:chain": {"source": "snapshot", "snapshot": "chain/snapshot.dev.json"},
        "pegasus:monitoring": {"grafanaAdminPassword": {"secure": "v1:ciphertext"}},
        "pegasus:spc": {"env": {"DENOM": "usaga", "GENESIS": "https://example.org/genesis.json"}},
    }}))
    plan = run("dev", config_file=str(stack))
    grafana = next(r for r in plan.resources if r.inputs.get("metadata", {}).get("name") == "pegasus-grafana-admin")
    assert grafana.raw_inputs["stringData"]["admin-password"] == "placeholder-grafana-password"
    assert "v1:ciphertext" not in json.dumps([r.raw_inputs for r in plan.resources])
