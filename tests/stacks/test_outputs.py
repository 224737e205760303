"""Stack outputs a user can use: a real kubeconfig or none, the cluster's name and region on
eks/gke, and docs/operations.md, which says how to reach Grafana."""

from __future__ import annotations

import json

import pytest

from components.monitoring import monitoring_builder as mb
from pegasus import names
from tests.conftest import PROJECT
from tools.plan.__main__ import main

KUBECONFIG = "apiVersion: v1\nkind: Config\nclusters: []\n"


def outputs(tmp_path, capsys, *argv):
    path = tmp_path / "plan.json"
    code = main([*argv, "--quiet", "--json", str(path)])
    _, err = capsys.readouterr()
    assert code == 0, err
    doc = json.loads(path.read_text())
    return doc["outputs"], doc["secretOutputs"]


@pytest.mark.parametrize("sets", [[], ["--set", "cluster.kubeconfig=/home/me/.kube/kind"]])
def test_existing_exports_no_kubeconfig_for_a_path_or_the_default(tmp_path, capsys, sets):
    out, _ = outputs(tmp_path, capsys, *sets)
    assert "kubeconfig" not in out
    assert not {"clusterName", "clusterRegion"} & set(out)


def test_existing_exports_kubeconfig_contents_as_a_secret(tmp_path, capsys):
    out, secret = outputs(tmp_path, capsys, "--set", "cluster.kubeconfig=" + json.dumps(KUBECONFIG))
    assert out["kubeconfig"] == "[secret]" and "kubeconfig" in secret


def test_eks_exports_a_kubeconfig_and_the_cluster_name_and_region(tmp_path, capsys):
    out, secret = outputs(tmp_path, capsys, "--stack", "eks")
    assert (out["clusterName"], out["clusterRegion"]) == ("pegasus-eks", "us-east-1")
    assert out["kubeconfig"] == "[secret]" and "kubeconfig" in secret
    assert "clusterProject" not in out


def test_gke_exports_the_cluster_name_region_and_project(tmp_path, capsys):
    out, _ = outputs(tmp_path, capsys, "--stack", "gke")
    assert (out["clusterName"], out["clusterRegion"], out["clusterProject"]) == ("pegasus-gke", "us-central1", "my-project")


def test_operations_page_says_how_to_reach_grafana():
    page = (PROJECT / "docs" / "operations.md").read_text()
    # The chart's Service (fullnameOverride) listens on port 80.
    assert f"kubectl -n {names.METRICS_NAMESPACE} port-forward svc/{mb.GRAFANA_SERVICE} 3000:80" in page
    assert f"kubectl -n {names.METRICS_NAMESPACE} get secret {mb.GRAFANA_ADMIN_SECRET}" in page
