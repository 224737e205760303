"""The offline plan registers resources from executor threads, as the SDK does; resource
references among a registration's inputs must still be rebuilt on the program's loop."""

from __future__ import annotations

import pytest

from tests.conftest import run
from tools.plan.runner import ProgramError

EKS = ["cluster.provider=eks", "cluster.region=us-east-1", 'cluster.publicAccessCidrs=["203.0.113.0/24"]']


def test_an_eks_plan_after_a_failed_plan_in_the_same_process_completes():
    # A node group's inputs hold references to its cluster and role. Rebuilt on a worker
    # thread's loop, their lookups were awaited still pending by the program's loop at the end
    # ("attached to a different loop"): always after a failed plan in one process, now and then
    # under load otherwise.
    with pytest.raises(ProgramError):
        run("dev", ["chain.snapshot=missing.json"])
    for _ in range(3):
        plan = run("provider", EKS)
        groups = plan.by_type("eks:index:ManagedNodeGroup")
        assert [g.name for g in groups] == ["cluster-system", "tenant-nodes-group"]
