"""Tenant nodes on eks (issue 23 item 9): a managed node group of their own, its arguments
checked against the installed pulumi-eks SDK and the EKS API model botocore ships, and every
tenant pod placed there (a plan of an eks provider stack)."""

from __future__ import annotations

import gzip
import inspect
import json
import os
import re

import botocore
import kubernetes_validate
import pulumi_eks
import pytest

from components.provider import tenant_nodes_builder as tnb
from pegasus import names
from tests.conftest import run
from tools.plan.runner import ProgramError

EKS = ["cluster.provider=eks", "cluster.region=us-east-1", 'cluster.publicAccessCidrs=["203.0.113.0/24"]']
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


def test_every_tenant_pod_lands_on_tenant_nodes_and_nothing_else_tolerates_them(eks_plan):
    deployments = [r for r in eks_plan.resources if r.type == "kubernetes:apps/v1:Deployment"]
    tenants = [d for d in deployments if d.name.startswith("pod-")]
    assert tenants
    for d in tenants:
        spec = d.inputs["spec"]["template"]["spec"]
        assert spec["nodeSelector"] == {names.POOL_LABEL: "tenants"}
        assert spec["tolerations"] == [{"key": names.POOL_LABEL, "operator": "Equal", "value": "tenants", "effect": "NoSchedule"}]
    others = [d for d in deployments if not d.name.startswith("pod-")]
    assert others and not any("tenants" in json.dumps(d.inputs.get("spec", {}).get("template", {}).get("spec", {}).get("tolerations", []))
                              for d in others)


def test_the_node_group_arguments_are_the_sdks_and_the_eks_apis(model):
    params = inspect.signature(pulumi_eks.ManagedNodeGroup._internal_init).parameters
    assert {"cluster", "node_group_name_prefix", "node_role", "instance_types", "scaling_config", "subnet_ids", "labels",
            "taints", "launch_template", "tags"} <= set(params)
    assert tnb.EKS_TAINT["effect"] in model["TaintEffect"]["enum"]
    assert set(tnb.EKS_TAINT) == set(model["Taint"]["members"])
    assert set(tnb.scaling(2)) == set(model["NodegroupScalingConfig"]["members"])
    # The Kubernetes spelling of the same effect, as the API's Toleration schema lists them.
    with open(TOLERATION) as f:
        allowed = re.search(r"allowed values are (.*)\.", json.load(f)["properties"]["effect"]["description"]).group(1)
    assert set(tnb.K8S_EFFECT.values()) == {v.strip() for v in re.split(r",| and ", allowed) if v.strip()}
    assert tnb.placement()["tolerations"][0]["effect"] == tnb.K8S_EFFECT[tnb.EKS_TAINT["effect"]]


def test_tenant_nodes_can_be_turned_off_and_are_refused_off_eks():
    plan = run("provider", [*EKS, "provider.tenantNodes.enabled=false"])
    assert "tenant-nodes-group" not in groups(plan)
    assert all("nodeSelector" not in r.inputs["spec"]["template"]["spec"]
               for r in plan.resources if r.type == "kubernetes:apps/v1:Deployment" and r.name.startswith("pod-"))
    with pytest.raises(ProgramError) as e:
        run("provider", ["provider.tenantNodes.count=3"])
    assert str(e.value) == "pegasus:provider.tenantNodes: applies to cluster.provider eks only (this stack's is existing); remove it"
    with pytest.raises(ProgramError) as e:
        run("provider", [*EKS, "provider.tenantNodes.instanceType=large"])
    assert str(e.value) == "pegasus:provider.tenantNodes.instanceType: 'large' is not an EC2 instance type like m7i.large"
