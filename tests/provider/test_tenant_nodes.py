"""Tenant nodes (issue 23 item 9): a node pool of their own on eks (a managed node group) and gke
(a node pool), its arguments checked against the installed pulumi-eks and pulumi-gcp SDKs, the EKS
API model botocore ships and the Container API v1 discovery document, and every tenant pod placed
there (plans of an eks and a gke provider stack)."""

from __future__ import annotations

import gzip
import inspect
import json
import os
import re

import botocore
import googleapiclient
import kubernetes_validate
import pulumi_eks
import pulumi_gcp
import pytest

from components.provider import tenant_nodes_builder as tnb
from pegasus import names
from tests.conftest import run
from tools.plan.runner import ProgramError

EKS = ["cluster.provider=eks", "cluster.region=us-east-1", 'cluster.publicAccessCidrs=["203.0.113.0/24"]']
GKE = ["cluster.provider=gke", "cluster.region=europe-west1", "cluster.project=p", 'cluster.publicAccessCidrs=["203.0.113.0/24"]']
CONTAINER_V1 = os.path.join(os.path.dirname(googleapiclient.__file__), "discovery_cache", "documents", "container.v1.json")
EKS_MODEL = os.path.join(os.path.dirname(botocore.__file__), "data", "eks", "2017-11-01", "service-2.json.gz")
TOLERATION = os.path.join(os.path.dirname(kubernetes_validate.__file__), "kubernetes-json-schema", "v1.35.0-local-strict",
                          "toleration-v1.json")


@pytest.fixture(scope="module")
def eks_plan():
    return run("provider", EKS)


@pytest.fixture(scope="module")
def model():
    with gzip.open(EKS_MODEL) as f:
        return json.load(f)["shapes"]


def groups(plan):
    return {r.name: r for r in plan.resources if r.type == "eks:index:ManagedNodeGroup"}


def test_tenants_get_a_tainted_node_group_of_their_own(eks_plan):
    group = groups(eks_plan)["tenant-nodes-group"]
    assert group.inputs["labels"] == {names.POOL_LABEL: "tenants"}
    assert group.inputs["taints"] == [{"key": names.POOL_LABEL, "value": "tenants", "effect": "NO_SCHEDULE"}]
    assert group.inputs["instanceTypes"] == ["m7i.large"]
    assert group.inputs["scalingConfig"] == {"desiredSize": 2, "minSize": 2, "maxSize": 4}
    # Same private subnets as the system group, a node role of its own.
    system = groups(eks_plan)["cluster-system"]
    assert group.inputs["subnetIds"] == system.inputs["subnetIds"]
    roles = {r.name for r in eks_plan.resources if r.type == "aws:iam/role:Role"}
    assert {"tenant-nodes-node-role", "cluster-system-node-role"} <= roles
    # IMDS at one hop on tenant nodes too: a tenant cannot take the node role's credentials.
    [template] = [r for r in eks_plan.resources if r.name == "tenant-nodes-nodes"]
    assert template.inputs["metadataOptions"]["httpPutResponseHopLimit"] == 1


@pytest.fixture(scope="module")
def gke_plan():
    return run("provider", GKE)


@pytest.mark.parametrize("cloud", ["eks", "gke"])
def test_every_tenant_pod_lands_on_tenant_nodes_and_nothing_else_tolerates_them(cloud, request):
    plan = request.getfixturevalue(f"{cloud}_plan")
    deployments = [r for r in plan.resources if r.type == "kubernetes:apps/v1:Deployment"]
    tenants = [d for d in deployments if d.name.startswith("pod-")]
    assert tenants
    for d in tenants:
        spec = d.inputs["spec"]["template"]["spec"]
        assert spec["nodeSelector"] == {names.POOL_LABEL: "tenants"}
        assert spec["tolerations"] == [{"key": names.POOL_LABEL, "operator": "Equal", "value": "tenants", "effect": "NoSchedule"}]
    others = [d for d in deployments if not d.name.startswith("pod-")]
    assert others and not any("tenants" in json.dumps(d.inputs.get("spec", {}).get("template", {}).get("spec", {}).get("tolerations", []))
                              for d in others)


def test_on_gke_tenants_get_an_autoscaled_tainted_pool_like_the_system_pool(gke_plan):
    pools = {r.name: r for r in gke_plan.resources if r.type == "gcp:container/nodePool:NodePool"}
    tenants, system = pools["tenant-nodes-pool"], pools["cluster-system"]
    config = tenants.inputs["nodeConfig"]
    assert config["labels"] == {names.POOL_LABEL: "tenants"}
    assert config["taints"] == [{"key": names.POOL_LABEL, "value": "tenants", "effect": "NO_SCHEDULE"}]
    assert config["machineType"] == "e2-standard-4" and tenants.inputs["autoscaling"] == {"minNodeCount": 1, "maxNodeCount": 2}
    # Everything else as the system pool: service account, metadata server, shielded nodes, labels.
    for key in ("serviceAccount", "oauthScopes", "workloadMetadataConfig", "shieldedInstanceConfig", "resourceLabels"):
        assert config.get(key) == system.inputs["nodeConfig"].get(key), key
    assert tenants.inputs["cluster"] == system.inputs["cluster"] and tenants.inputs["location"] == system.inputs["location"]


def test_the_gke_pool_arguments_are_the_sdks_and_the_container_apis():
    with open(CONTAINER_V1) as f:
        schemas = json.load(f)["schemas"]
    params = inspect.signature(pulumi_gcp.container.NodePool._internal_init).parameters
    assert {"name", "cluster", "location", "autoscaling", "management", "node_config"} <= set(params)
    assert {"labels", "taints", "machineType", "serviceAccount", "workloadMetadataConfig"} <= set(schemas["NodeConfig"]["properties"])
    taint = schemas["NodeTaint"]["properties"]
    assert set(tnb.TAINT) == set(taint)
    # The Container API documents the mapping to the Kubernetes spelling the toleration uses.
    described = dict(zip(taint["effect"]["enum"], taint["effect"]["enumDescriptions"]))
    assert described[tnb.TAINT["effect"]] == tnb.K8S_EFFECT[tnb.TAINT["effect"]]
    assert set(tnb.gke_autoscaling(3)) <= set(schemas["NodePoolAutoscaling"]["properties"])


def test_the_node_group_arguments_are_the_sdks_and_the_eks_apis(model):
    params = inspect.signature(pulumi_eks.ManagedNodeGroup._internal_init).parameters
    assert {"cluster", "node_group_name_prefix", "node_role", "instance_types", "scaling_config", "subnet_ids", "labels",
            "taints", "launch_template", "tags"} <= set(params)
    assert tnb.TAINT["effect"] in model["TaintEffect"]["enum"]
    assert set(tnb.TAINT) == set(model["Taint"]["members"])
    assert set(tnb.scaling(2)) == set(model["NodegroupScalingConfig"]["members"])
    # The Kubernetes spelling of the same effect, as the API's Toleration schema lists them.
    with open(TOLERATION) as f:
        allowed = re.search(r"allowed values are (.*)\.", json.load(f)["properties"]["effect"]["description"]).group(1)
    assert set(tnb.K8S_EFFECT.values()) == {v.strip() for v in re.split(r",| and ", allowed) if v.strip()}
    assert tnb.placement()["tolerations"][0]["effect"] == tnb.K8S_EFFECT[tnb.TAINT["effect"]]


def test_tenant_nodes_can_be_turned_off_and_are_refused_on_an_existing_cluster():
    plan = run("provider", [*EKS, "provider.tenantNodes.enabled=false"])
    assert "tenant-nodes-group" not in groups(plan)
    assert all("nodeSelector" not in r.inputs["spec"]["template"]["spec"]
               for r in plan.resources if r.type == "kubernetes:apps/v1:Deployment" and r.name.startswith("pod-"))
    with pytest.raises(ProgramError) as e:
        run("provider", ["provider.tenantNodes.count=3"])
    assert str(e.value) == "pegasus:provider.tenantNodes: applies to cluster.provider eks and gke only (this stack's is existing); remove it"
    with pytest.raises(ProgramError) as e:
        run("provider", [*GKE, "provider.tenantNodes.instanceType=m7i.large"])
    assert str(e.value) == "pegasus:provider.tenantNodes.instanceType: 'm7i.large' is not a machine type like e2-standard-4"
    with pytest.raises(ProgramError) as e:
        run("provider", [*EKS, "provider.tenantNodes.instanceType=large"])
    assert str(e.value) == "pegasus:provider.tenantNodes.instanceType: 'large' is not an EC2 instance type like m7i.large"
