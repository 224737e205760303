"""NetworkPolicy enforcement on the clusters Pegasus builds (issue 23, item 11): a plan of an
eks and a gke provider stack turns it on, with field names checked against the upstream
artifacts (the pulumi-eks SDK's VpcCniOptions, the Container API v1 discovery document)."""

from __future__ import annotations

import inspect
import json
from pathlib import Path

import googleapiclient
import pulumi_eks

from components.cluster import cluster_builder as cb
from tests.conftest import run

CONTAINER_V1 = Path(googleapiclient.__file__).parent / "discovery_cache" / "documents" / "container.v1.json"
EKS = ["cluster.provider=eks", "cluster.region=us-east-1", 'cluster.publicAccessCidrs=["203.0.113.0/24"]']
GKE = ["cluster.provider=gke", "cluster.region=europe-west1", "cluster.project=p", 'cluster.publicAccessCidrs=["203.0.113.0/24"]']


def one(plan, type_):
    [r] = [r for r in plan.resources if r.type == type_]
    return r


def test_eks_runs_the_vpc_cni_network_policy_agent():
    assert "enable_network_policy" in inspect.signature(pulumi_eks.VpcCniOptionsArgs).parameters
    cluster = one(run("provider", EKS), "eks:index:Cluster")
    assert cluster.inputs["vpcCniOptions"]["enableNetworkPolicy"] is True


def test_gke_enforces_network_policy_with_fields_the_container_api_has():
    schemas = json.loads(CONTAINER_V1.read_text())["schemas"]
    policy = schemas["NetworkPolicy"]["properties"]
    assert set(cb.GKE_NETWORK_POLICY) <= set(policy) and cb.GKE_NETWORK_POLICY["provider"] in policy["provider"]["enum"]
    assert "networkPolicyConfig" in schemas["AddonsConfig"]["properties"]
    assert set(cb.GKE_NETWORK_POLICY_ADDON) <= set(schemas["NetworkPolicyConfig"]["properties"])
    cluster = one(run("provider", GKE), "gcp:container/cluster:Cluster")
    assert cluster.inputs["networkPolicy"] == {"enabled": True, "provider": "CALICO"}
    assert cluster.inputs["addonsConfig"]["networkPolicyConfig"] == {"disabled": False}
