"""Stack policies over several clusters (a testnet's regions): resources carry their provider,
and pegasus-signer-nodes-never-expire pairs a NodePool only with signers of its own cluster."""

from __future__ import annotations

import pytest

from policy.policies import evaluate
from tests.policy import fixtures as f
from tests.policy.test_policy_node_pools import pool, signer, violation

EKS = "urn:pulumi:testnet::pegasus::pulumi:providers:kubernetes::use1-cluster-k8s"
GKE = "urn:pulumi:testnet::pegasus::pulumi:providers:kubernetes::euw1-cluster-k8s"


def on(resource: dict, provider: str | None) -> dict:
    return {**resource, **({"provider": provider} if provider else {})}


def expiry_findings(resources):
    return [(v.urn, v.message) for v in evaluate(resources) if v.policy_name == "pegasus-signer-nodes-never-expire"]


def test_a_signer_in_another_cluster_is_not_the_pools():
    assert expiry_findings([on(pool(), EKS), on(signer(), GKE)]) == []


@pytest.mark.parametrize("pool_provider, signer_provider", [(EKS, EKS), (None, GKE), (EKS, None), (None, None)])
def test_same_or_unknown_cluster_is_judged(pool_provider, signer_provider):
    assert expiry_findings([on(pool(), pool_provider), on(signer(), signer_provider)]) == [violation()]


def test_a_provider_must_be_a_urn():
    with pytest.raises(ValueError) as e:
        evaluate([{**pool(), "provider": 3}])
    assert str(e.value) == f"resources[0] ({f.urn(f.NODE_POOL, 'general')}): 'provider' must be a provider URN string, not 3"
