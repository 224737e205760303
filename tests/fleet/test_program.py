"""The whole fleet program under Pulumi's mocks, all four clouds, with a frozen clock."""

from __future__ import annotations

import base64
from datetime import datetime, timezone

import pytest

import stacks.fleet
from tests.conftest import run
from tools.plan import check

BEFORE = datetime(2026, 12, 1, tzinfo=timezone.utc)
AFTER_START = datetime(2026, 12, 12, tzinfo=timezone.utc)


@pytest.fixture
def at(monkeypatch):
    def freeze(when):
        monkeypatch.setattr(stacks.fleet, "_now", lambda: when)
    return freeze


def one(plan, typ):
    found = plan.by_type(typ)
    assert len(found) == 1, [r.urn for r in found]
    return found[0]


def test_all_four_clouds_each_region_its_own_provider(at):
    at(BEFORE)
    plan = run("fleet")
    groups = {r.type: r for r in plan.resources if r.type.startswith("pegasus:fleet:")}
    assert sorted(groups) == ["pegasus:fleet:AlibabaGroup", "pegasus:fleet:AwsGroup", "pegasus:fleet:AzureGroup",
                              "pegasus:fleet:ControlCenter", "pegasus:fleet:GcpGroup"]
    assert one(plan, "pulumi:providers:aws").inputs["region"] == "eu-central-1"
    assert one(plan, "pulumi:providers:azure-native").inputs["location"] == "westeurope"
    assert one(plan, "pulumi:providers:alicloud").inputs["region"] == "eu-central-1"
    # A provider reference is "<provider URN>::<id>"; each group uses its region's provider.
    for typ, provider in [("aws:autoscaling/group:Group", "aws::p2p-agent-aws-eu-central-1-provider"),
                          ("gcp:compute/regionAutoscaler:RegionAutoscaler", "gcp::p2p-agent-gcp-europe-west3-provider"),
                          ("azure-native:compute:VirtualMachineScaleSet", "azure-native::p2p-agent-azure-westeurope-provider"),
                          ("alicloud:ess/scalingGroup:ScalingGroup", "alicloud::p2p-agent-alibaba-eu-central-1-provider")]:
        assert one(plan, typ).provider.rsplit("::", 1)[0].endswith(f"pulumi:providers:{provider}"), typ
    assert plan.outputs["fleetGroups"] == {
        "aws/eu-central-1": "p2p-agent-aws-eu-central-1", "gcp/europe-west3": "p2p-agent-gcp-europe-west3",
        "azure/westeurope": "p2p-agent-az-westeurope", "alibaba/eu-central-1": "p2p-agent-ali-eu-central-1"}
    assert check.violations(plan) == []


def test_desired_capacity_is_ignored_on_update_everywhere(at):
    at(BEFORE)
    plan = run("fleet")
    assert one(plan, "aws:autoscaling/group:Group").options["ignoreChanges"] == ["desiredCapacity"]
    assert one(plan, "azure-native:compute:VirtualMachineScaleSet").options["ignoreChanges"] == ["sku.capacity"]
    assert one(plan, "alicloud:ess/scalingGroup:ScalingGroup").options["ignoreChanges"] == ["desiredCapacity"]
    assert one(plan, "gcp:compute/regionAutoscaler:RegionAutoscaler").options["ignoreChanges"] == [
        "autoscalingPolicy.minReplicas", "autoscalingPolicy.scalingSchedules"]
    assert one(plan, "gcp:compute/regionInstanceGroupManager:RegionInstanceGroupManager").options["ignoreChanges"] == ["targetSize"]


def test_schedules_before_the_start_and_a_passed_start_not_created_again(at):
    names = lambda plan, typ: sorted(r.inputs.get("scheduledActionName") or r.inputs.get("scheduledTaskName") for r in plan.by_type(typ))
    at(BEFORE)
    before = run("fleet", ["fleet.capacityOwner=schedule"])
    assert names(before, "aws:autoscaling/schedule:Schedule") == ["p2p-agent-start", "p2p-agent-stop"]
    assert names(before, "alicloud:ess/scheduledTask:ScheduledTask") == ["p2p-agent-start", "p2p-agent-stop"]
    assert one(before, "aws:autoscaling/group:Group").inputs["desiredCapacity"] == 0
    at(AFTER_START)
    after = run("fleet", ["fleet.capacityOwner=schedule"])
    assert names(after, "aws:autoscaling/schedule:Schedule") == ["p2p-agent-stop"]
    assert names(after, "alicloud:ess/scheduledTask:ScheduledTask") == ["p2p-agent-stop"]
    # A group created now starts at its desired capacity; an existing one keeps whatever it runs.
    assert one(after, "aws:autoscaling/group:Group").inputs["desiredCapacity"] == 1
    # GCP's window is still open, so its schedule stays.
    policy = one(after, "gcp:compute/regionAutoscaler:RegionAutoscaler").inputs["autoscalingPolicy"]
    assert [s["name"] for s in policy["scalingSchedules"]] == ["p2p-agent-start"]


def test_the_example_has_one_capacity_writer_per_group(at):
    """The example's watcher owns capacity on AWS and GCP: the stack declares no start or stop
    of its own there. Azure and Alibaba have no watcher: their schedule is their one writer."""
    at(BEFORE)
    plan = run("fleet")
    assert plan.by_type("aws:autoscaling/schedule:Schedule") == []
    assert "scalingSchedules" not in one(plan, "gcp:compute/regionAutoscaler:RegionAutoscaler").inputs["autoscalingPolicy"]
    assert len(plan.by_type("alicloud:ess/scheduledTask:ScheduledTask")) == 2
    assert [p["name"] for p in one(plan, "azure-native:monitor:AutoscaleSetting").inputs["profiles"]] == ["p2p-agent-start", "default"]
    assert plan.by_type("azure-native:authorization:RoleAssignment") == []
    assert plan.by_type("alicloud:ram/role:Role") == []


def test_launch_template_requires_imdsv2_and_user_data_is_the_agent(at):
    at(BEFORE)
    plan = run("fleet")
    lt = one(plan, "aws:ec2/launchTemplate:LaunchTemplate").inputs
    assert lt["metadataOptions"] == {"httpEndpoint": "enabled", "httpTokens": "required", "httpPutResponseHopLimit": 1}
    user_data = base64.b64decode(lt["userData"]).decode()
    assert user_data.startswith("#cloud-config\n") and "/opt/pegasus-agent/agent.sh" in user_data
    assert "GROUP=p2p-agent-aws-eu-central-1" in user_data
    assert "user-data" in one(plan, "gcp:compute/instanceTemplate:InstanceTemplate").inputs["metadata"]


def test_watcher_owner_builds_the_watchers_and_no_agent_writer(at):
    at(BEFORE)
    plan = run("fleet")
    assert one(plan, "aws:lambda/function:Function").inputs["handler"] == "watcher.aws_handler"
    assert one(plan, "aws:scheduler/schedule:Schedule").inputs["scheduleExpression"] == "rate(15 minutes)"
    assert one(plan, "gcp:cloudscheduler/job:Job").inputs["schedule"] == "*/15 * * * *"
    assert one(plan, "gcp:cloudfunctionsv2/function:Function").inputs["buildConfig"]["entryPoint"] == "gcp_handler"
    policies = [r.name for r in plan.by_type("aws:iam/rolePolicy:RolePolicy")]
    assert sorted(policies) == ["p2p-agent-aws-eu-central-1-scheduler-invoke", "p2p-agent-aws-eu-central-1-watcher-cadence",
                                "p2p-agent-aws-eu-central-1-watcher-capacity"]
    # The example serves cc-w-scheduler: the watchers own their cadence.
    assert one(plan, "aws:scheduler/schedule:Schedule").options["ignoreChanges"] == ["scheduleExpression"]
    assert one(plan, "gcp:cloudscheduler/job:Job").options["ignoreChanges"] == ["schedule"]
    assert one(plan, "aws:lambda/function:Function").inputs["environment"]["variables"]["PEGASUS_SCHEDULE"] == (
        "p2p-agent-aws-eu-central-1-watcher")
    assert plan.by_type("azure-native:authorization:RoleAssignment") == []
    assert plan.by_type("alicloud:ram/role:Role") == []


def test_agent_owner_gives_each_group_its_own_writer_and_no_watcher(at):
    at(BEFORE)
    plan = run("fleet", ["fleet.capacityOwner=agent"])
    assert plan.by_type("aws:lambda/function:Function") == []
    assert plan.by_type("gcp:cloudfunctionsv2/function:Function") == []
    assert [r.name for r in plan.by_type("aws:iam/rolePolicy:RolePolicy")] == ["p2p-agent-aws-eu-central-1-instance-capacity"]
    member = one(plan, "gcp:projects/iAMMember:IAMMember").inputs
    assert member["condition"]["expression"] == (
        'resource.name == "projects/my-proj/regions/europe-west3/autoscalers/p2p-agent-gcp-europe-west3" || '
        'resource.name == "projects/my-proj/regions/europe-west3/instanceGroupManagers/p2p-agent-gcp-europe-west3" || '
        'resource.name == "projects/my-proj"')
    assert one(plan, "azure-native:authorization:RoleAssignment").inputs["scope"].endswith("/p2p-agent-az-westeurope")
    assert one(plan, "alicloud:ess/scalingConfiguration:ScalingConfiguration").inputs["roleName"] == "p2p-agent-ali-eu-central-1"
    assert one(plan, "azure-native:monitor:AutoscaleSetting").options["ignoreChanges"] == ["profiles"]
    assert check.violations(plan) == []


def test_schedule_owner_and_no_control_center(at):
    at(BEFORE)
    plan = run("fleet", ["fleet.capacityOwner=schedule", "fleet.controlCenter.provider=none", "fleet.controlCenter.variables={}"])
    assert plan.by_type("cloudflare:index/ruleset:Ruleset") == []
    assert plan.by_type("aws:iam/rolePolicy:RolePolicy") == []
    assert plan.by_type("gcp:projects/iAMCustomRole:IAMCustomRole") == []
    assert plan.by_type("gcp:compute/regionAutoscaler:RegionAutoscaler")[0].options["ignoreChanges"] == ["autoscalingPolicy.minReplicas"]
    assert not any(r.type.startswith("kubernetes:") for r in plan.resources)


def test_cloudfront_control_center(at):
    at(BEFORE)
    plan = run("fleet", ["fleet.controlCenter.provider=cloudfront",
                         "fleet.controlCenter.certificateArn=arn:aws:acm:us-east-1:123456789012:certificate/abc"])
    assert plan.by_type("cloudflare:index/ruleset:Ruleset") == []
    fn = one(plan, "aws:cloudfront/function:Function")
    assert fn.inputs["runtime"] == "cloudfront-js-2.0" and '"cc-a-type": {"value": "ansible"}' in fn.inputs["code"]
    dist = one(plan, "aws:cloudfront/distribution:Distribution")
    assert dist.inputs["aliases"] == ["cc.example.org"]
    assert dist.provider.rsplit("::", 1)[0].endswith("pulumi:providers:aws::p2p-agent-cc-provider")
    assert check.violations(plan) == []


FREE_FORM = ("tags", "labels", "metadata", "environmentVariables", "variables", "headers")


def _snake_keys(value, path=""):
    """Nested input keys the SDK did not translate to engine names: a key an Args type does
    not declare passes through as written, so a misspelt or invented field shows up here."""
    if isinstance(value, dict):
        for k, v in value.items():
            if "_" in k and not k.startswith("__") and not path.endswith(FREE_FORM):
                yield f"{path}.{k}"
            yield from _snake_keys(v, f"{path}.{k}")
    elif isinstance(value, list):
        for v in value:
            yield from _snake_keys(v, f"{path}[]")


@pytest.mark.parametrize("sets", [[], ["fleet.capacityOwner=agent"], [
    "fleet.controlCenter.provider=cloudfront", "fleet.controlCenter.certificateArn=arn:aws:acm:us-east-1:123456789012:certificate/a"]])
def test_every_nested_argument_is_one_the_installed_sdks_declare(at, sets):
    at(BEFORE)
    plan = run("fleet", sets)
    assert [(r.type, k) for r in plan.resources for k in _snake_keys(r.inputs)] == []


def test_the_gcp_function_code_object_is_named_by_its_content(at):
    """Cloud Functions rebuilds when the source object changes name: a fixed name kept the first
    code for ever."""
    from components.fleet import watcher_code

    at(BEFORE)
    plan = run("fleet")
    obj = one(plan, "gcp:storage/bucketObject:BucketObject").inputs
    assert obj["name"] == f"watcher-{watcher_code.content_hash()}.zip"
    assert one(plan, "gcp:cloudfunctionsv2/function:Function").inputs["buildConfig"]["source"]["storageSource"]["object"] == obj["name"]


def test_the_watcher_archives_ship_the_one_capacity_function(at):
    at(BEFORE)
    plan = run("fleet")
    code = one(plan, "aws:lambda/function:Function").inputs["code"]["assets"]
    assert {name: asset["path"] for name, asset in code.items()} == {
        "watcher.py": "components/fleet/watcher.py", "capacity.py": "components/fleet/capacity.py", "timing.py": "components/fleet/timing.py"}


def test_alibaba_schedules_beyond_90_days_are_a_warning(at):
    at(datetime(2026, 8, 1, tzinfo=timezone.utc))
    plan = run("fleet")
    assert ("fleet.schedule.start is more than 90 days ahead: ESS refuses a scheduled task that far out, so creating the Alibaba "
            "tasks fails; run `pulumi up` again closer to it") in plan.warnings
    at(BEFORE)
    assert not any("90 days" in w for w in run("fleet").warnings)


def test_without_cc_w_scheduler_the_stack_keeps_the_watcher_cadence(at):
    at(BEFORE)
    plan = run("fleet", ['fleet.controlCenter.variables={"cc-w-a-desired-capacity": 3}'])
    assert one(plan, "aws:scheduler/schedule:Schedule").options["ignoreChanges"] == []
    assert one(plan, "gcp:cloudscheduler/job:Job").options["ignoreChanges"] == []
    assert "PEGASUS_SCHEDULE" not in one(plan, "aws:lambda/function:Function").inputs["environment"]["variables"]
    assert [r.name for r in plan.by_type("aws:iam/rolePolicy:RolePolicy") if r.name.endswith("cadence")] == []
