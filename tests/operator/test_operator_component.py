"""ShardOperator's wiring under Pulumi's mocks: what it declares, named from the component's
name and parented to it, with the builders' objects as inputs."""

from __future__ import annotations

import pulumi
import pytest

from components.operator import pko_builder as pb
from pegasus.chain.reader import RestSource
from tests.operator.test_pko_builder import settings
from tools.plan.mocks import PlanMocks, RecordingMonitor


@pytest.fixture
def monitor():
    # The plan tool's monitor records what the Mocks class never sees: each resource's parent.
    mocks = PlanMocks()
    recording = RecordingMonitor(mocks)
    pulumi.runtime.set_mocks(mocks, project="pegasus", stack="prod", preview=False, monitor=recording)
    yield recording
    pulumi.runtime.settings.ROOT.set(None)


def test_shard_operator_declares_stacks_and_watcher(monitor):
    from components.operator.operator import ShardOperator

    outputs = {}

    @pulumi.runtime.test
    def declare():
        op = ShardOperator("ops", settings(), "prod", ["prod-shard-0", "prod-shard-1"], RestSource("http://spc:1317"))
        return pulumi.Output.all(op.stack_objects, op.namespace).apply(lambda a: outputs.update(names=a[0], namespace=a[1]))

    # The decorator returns once every registration the program started has finished.
    declare()
    assert outputs == {"names": ["prod", "prod-shard-0", "prod-shard-1"], "namespace": "pulumi-stacks"}
    by_name = {r.name: r for r in monitor.registrations}
    assert sorted(by_name) == sorted(["ops", "ops-ns", "ops-prod", "ops-prod-shard-0", "ops-prod-shard-1", "ops-watcher-sa",
                                      "ops-watcher-role", "ops-watcher-binding", "ops-watcher-code", "ops-watcher"])
    assert by_name["ops"].type == "pegasus:operator:ShardOperator"
    stack = by_name["ops-prod-shard-1"]
    assert stack.type == "kubernetes:pulumi.com/v1:Stack"
    expected = pb.stack_object(settings(), "prod-shard-1", platform="prod")
    assert stack.inputs["spec"] == expected["spec"] and stack.inputs["metadata"] == expected["metadata"]
    assert by_name["ops-watcher-role"].inputs["rules"][0]["resourceNames"] == ["prod", "prod-shard-0", "prod-shard-1"]
    assert set(by_name["ops-watcher-code"].inputs["data"]) >= {"config.json", "watcher.py", "pegasus.chain.reader.py"}
    for r in monitor.registrations:
        if r.name != "ops":
            assert r.parent.endswith("pegasus:operator:ShardOperator::ops"), r.name
