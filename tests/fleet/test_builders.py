"""The fleet builders, without mocks: whole objects compared, from one default fixture."""

from __future__ import annotations

import base64
import json
from datetime import datetime, timedelta, timezone

import pytest
import yaml

from components.fleet import agent_builder as ab
from components.fleet import alibaba_builder as alib
from components.fleet import aws_builder as awsb
from components.fleet import azure_builder as azb
from components.fleet import cc_builder as ccb
from components.fleet import gcp_builder as gcpb
from components.fleet import timing
from tests.fleet.test_config import example_raw, parse, with_fleet

BEFORE = datetime(2026, 12, 1, tzinfo=timezone.utc)
START = datetime(2026, 12, 10, 13, 15, tzinfo=timezone.utc)  # start + the 15m offset
STOP = datetime(2026, 12, 17, 13, tzinfo=timezone.utc)


def fleet(**changes):
    return parse(with_fleet(**changes) if changes else example_raw())


def region(s, cloud):
    return next(r for r in s.regions if r.cloud == cloud)


def test_aws_capacity_policy_is_tag_conditioned_to_its_own_group():
    condition = {"StringEquals": {"autoscaling:ResourceTag/pegasus-fleet-group": "p2p-agent-aws-eu-central-1"}}
    assert json.loads(awsb.capacity_policy("p2p-agent-aws-eu-central-1")) == {
        "Version": "2012-10-17",
        "Statement": [
            {"Sid": "OwnGroupOnly", "Effect": "Allow",
             "Action": ["autoscaling:SetDesiredCapacity", "autoscaling:PutScheduledUpdateGroupAction"],
             "Resource": "*", "Condition": condition},
            {"Sid": "Describe", "Effect": "Allow",
             "Action": ["autoscaling:DescribeAutoScalingGroups", "autoscaling:DescribeScheduledActions"], "Resource": "*"},
        ],
    }
    # The agent sets the desired capacity and nothing else: no deleting the stop, no MaxSize.
    assert json.loads(awsb.agent_policy("p2p-agent-aws-eu-central-1")) == {
        "Version": "2012-10-17",
        "Statement": [{"Sid": "OwnGroupOnly", "Effect": "Allow", "Action": ["autoscaling:SetDesiredCapacity"],
                       "Resource": "*", "Condition": condition}],
    }


def test_aws_policy_actions_are_operations_of_botocores_autoscaling_model():
    import botocore.session

    operations = set(botocore.session.get_session().get_service_model("autoscaling").operation_names)
    for action in (*awsb.AGENT_ACTIONS, *awsb.WATCHER_ACTIONS, *awsb.READ_ACTIONS):
        service, _, operation = action.partition(":")
        assert service == "autoscaling" and operation in operations, action
    # The agent's one call, `aws autoscaling set-desired-capacity`, is the operation it may make.
    from botocore import xform_name

    agent_calls = {op for op in operations if xform_name(op, "-") == "set-desired-capacity"}
    assert agent_calls == {a.split(":")[1] for a in awsb.AGENT_ACTIONS}
    assert "aws autoscaling set-desired-capacity " in open(ab.AGENT_TEMPLATE).read()


def test_aws_launch_template_requires_imdsv2_and_carries_the_agent():
    s = fleet()
    r = region(s, "aws")
    args = awsb.launch_template_args(s, r, "#cloud-config\n", "sg-1", "profile")
    user_data = base64.b64decode(args.pop("user_data")).decode()
    assert user_data == "#cloud-config\n"
    tags = {"pegasus-fleet": "p2p-agent", "pegasus-fleet-group": "p2p-agent-aws-eu-central-1", "managed-by": "pegasus"}
    assert args == {
        "name": "p2p-agent-aws-eu-central-1",
        "image_id": "resolve:ssm:/aws/service/canonical/ubuntu/server/24.04/stable/current/amd64/hvm/ebs-gp3/ami-id",
        "instance_type": "t3.small",
        "block_device_mappings": [{"device_name": "/dev/sda1", "ebs": {
            "volume_size": 30, "volume_type": "gp3", "delete_on_termination": "true", "encrypted": "true"}}],
        "metadata_options": {"http_endpoint": "enabled", "http_tokens": "required", "http_put_response_hop_limit": 1},
        "iam_instance_profile": {"name": "profile"},
        "vpc_security_group_ids": ["sg-1"],
        "update_default_version": True,
        "tag_specifications": [{"resource_type": "instance", "tags": tags}],
        "tags": tags,
    }


def test_aws_group_and_schedules_before_the_start():
    s = fleet(capacityOwner="schedule")
    r = region(s, "aws")
    assert awsb.group_args(s, r, "lt-1", ["subnet-1"], BEFORE) == {
        "name": "p2p-agent-aws-eu-central-1", "min_size": 0, "max_size": 30, "desired_capacity": 0,
        "launch_template": {"id": "lt-1", "version": "$Latest"}, "vpc_zone_identifiers": ["subnet-1"],
        "tags": [{"key": "pegasus-fleet", "value": "p2p-agent", "propagate_at_launch": True},
                 {"key": "pegasus-fleet-group", "value": "p2p-agent-aws-eu-central-1", "propagate_at_launch": True},
                 {"key": "managed-by", "value": "pegasus", "propagate_at_launch": True}],
    }
    assert awsb.schedule_args(s, r, BEFORE) == {
        "start": {"scheduled_action_name": "p2p-agent-start", "autoscaling_group_name": "p2p-agent-aws-eu-central-1",
                  "start_time": "2026-12-10T13:15:00Z", "desired_capacity": 1},  # aws.eu-central-1 of desiredCapacity
        "stop": {"scheduled_action_name": "p2p-agent-stop", "autoscaling_group_name": "p2p-agent-aws-eu-central-1",
                 "start_time": "2026-12-17T13:00:00Z", "desired_capacity": 0, "min_size": 0},
    }


def test_aws_passed_start_is_not_declared_again():
    s = fleet(capacityOwner="agent")
    assert list(awsb.schedule_args(s, region(s, "aws"), START + timedelta(minutes=1))) == ["stop"]
    assert awsb.schedule_args(s, region(s, "aws"), STOP) == {}


def test_with_the_watcher_the_stack_declares_no_schedule_and_hands_its_own_to_the_watcher():
    """One writer per group: the watcher schedules the start and the stop; the stack's settings
    are its defaults where the control center serves none."""
    s = fleet()
    assert s.capacity_owner == "watcher"
    assert awsb.schedule_args(s, region(s, "aws"), BEFORE) == {}
    assert gcpb.scaling_schedules(s, region(s, "gcp"), BEFORE) == []
    env = awsb.watcher_environment(s, region(s, "aws"))
    assert (env["PEGASUS_START"], env["PEGASUS_STOP"], env["PEGASUS_START_OFFSET"], env["PEGASUS_DESIRED_CAPACITY"]) == (
        "2026-12-10T13:00:00Z", "2026-12-17T13:00:00Z", "900s", '{"all": 3, "aws": {"all": 2, "eu-central-1": 1}}')
    assert gcpb.watcher_environment(s, region(s, "gcp"))["PEGASUS_START"] == "2026-12-10T13:00:00Z"


def test_aws_security_group_opens_p2p_and_ssh_only_to_operators():
    s = fleet(allowSsh=True, sshCidrs=["203.0.113.0/24"], openPorts=["30303"])
    args = awsb.security_group_args(s, region(s, "aws"))
    assert args["ingress"] == [
        {"protocol": "tcp", "from_port": 30303, "to_port": 30303, "cidr_blocks": ["0.0.0.0/0"], "description": "p2p"},
        {"protocol": "udp", "from_port": 30303, "to_port": 30303, "cidr_blocks": ["0.0.0.0/0"], "description": "p2p"},
        {"protocol": "tcp", "from_port": 22, "to_port": 22, "cidr_blocks": ["203.0.113.0/24"], "description": "ssh from the operators"},
    ]


def test_aws_watcher_function_and_schedule():
    s = fleet()
    r = region(s, "aws")
    fn = awsb.watcher_function_args(s, r, "arn:role", "CODE")
    assert fn["environment"] == {"variables": {
        "PEGASUS_SCHEDULE": "p2p-agent-aws-eu-central-1-watcher",  # the example serves cc-w-scheduler
        "PEGASUS_CLOUD": "aws", "PEGASUS_REGION": "eu-central-1", "PEGASUS_GROUP": "p2p-agent-aws-eu-central-1",
        "PEGASUS_CC_HOSTS": '["cc.example.org"]', "PEGASUS_START_OFFSET": "900s", "PEGASUS_MIN_SIZE": "0", "PEGASUS_MAX_SIZE": "30",
        "PEGASUS_START": "2026-12-10T13:00:00Z", "PEGASUS_STOP": "2026-12-17T13:00:00Z",
        "PEGASUS_DESIRED_CAPACITY": '{"all": 3, "aws": {"all": 2, "eu-central-1": 1}}'}}
    assert (fn["handler"], fn["runtime"]) == ("watcher.aws_handler", "python3.12")
    # A reservation must leave 10 unreserved; a new account's whole limit is 10.
    assert "reserved_concurrent_executions" not in fn
    assert awsb.scheduler_args(s, r, "arn:fn", "arn:srole") == {
        "name": "p2p-agent-aws-eu-central-1-watcher", "schedule_expression": "rate(15 minutes)",
        "schedule_expression_timezone": "UTC", "flexible_time_window": {"mode": "OFF"},
        "target": {"arn": "arn:fn", "role_arn": "arn:srole", "retry_policy": {"maximum_retry_attempts": 0}},
    }


def test_gcp_autoscaler_keeps_the_open_start_window():
    s = fleet(capacityOwner="agent")
    r = region(s, "gcp")
    window = {"name": "p2p-agent-start", "schedule": "15 13 10 12 * 2026", "time_zone": "Etc/UTC",
              "duration_sec": int((STOP - START).total_seconds()), "min_required_replicas": 3,
              "description": "Pegasus fleet start 2026-12-10T13:15:00Z until 2026-12-17T13:00:00Z"}
    assert gcpb.autoscaler_args(s, r, "mig", BEFORE) == {
        "name": "p2p-agent-gcp-europe-west3", "project": "my-proj", "region": "europe-west3", "target": "mig",
        "autoscaling_policy": {"min_replicas": 0, "max_replicas": 30, "cooldown_period": 60, "mode": "ON",
                               "cpu_utilization": {"target": 1.0}, "scaling_schedules": [window]},
    }
    # Inside the window the schedule stays (dropping it would scale the fleet down); after it, it goes.
    assert gcpb.scaling_schedules(s, r, START + timedelta(days=1)) == [window]
    assert gcpb.scaling_schedules(s, r, STOP) == []
    assert gcpb.autoscaler_ignore_changes(s) == ["autoscalingPolicy.minReplicas", "autoscalingPolicy.scalingSchedules"]


def test_gcp_capacity_binding_names_its_own_autoscaler():
    s = fleet()
    assert gcpb.capacity_binding_args(s, region(s, "gcp"), "projects/my-proj/roles/r", "serviceAccount:x") == {
        "project": "my-proj", "role": "projects/my-proj/roles/r", "member": "serviceAccount:x",
        "condition": {"title": "only p2p-agent-gcp-europe-west3",
                      "expression": 'resource.name == "projects/my-proj/regions/europe-west3/autoscalers/p2p-agent-gcp-europe-west3"'},
    }
    assert gcpb.custom_role_args(s)["permissions"] == ["compute.autoscalers.get", "compute.autoscalers.update",
                                                       "cloudscheduler.jobs.get", "cloudscheduler.jobs.update"]
    assert gcpb.capacity_binding_args(s, region(s, "gcp"), "r", "m", own_job=True)["condition"]["expression"] == (
        'resource.name == "projects/my-proj/regions/europe-west3/autoscalers/p2p-agent-gcp-europe-west3" || '
        'resource.name == "projects/my-proj/locations/europe-west3/jobs/p2p-agent-gcp-europe-west3-watcher"')
    agent = fleet(capacityOwner="agent")
    # The agent's gcloud reads its group manager and lists the autoscalers before it patches.
    assert gcpb.custom_role_args(agent)["permissions"] == ["compute.autoscalers.get", "compute.autoscalers.update",
                                                           "compute.instanceGroupManagers.get", "compute.autoscalers.list"]
    assert gcpb.capacity_binding_args(agent, region(agent, "gcp"), "r", "m", gcloud=True)["condition"]["expression"] == (
        'resource.name == "projects/my-proj/regions/europe-west3/autoscalers/p2p-agent-gcp-europe-west3" || '
        'resource.name == "projects/my-proj/regions/europe-west3/instanceGroupManagers/p2p-agent-gcp-europe-west3" || '
        'resource.name == "projects/my-proj"')
    assert len(gcpb.account_id(s, region(s, "gcp"), "watcher")) <= 30


def test_azure_profiles_default_and_fixed_date_window():
    s = fleet()
    r = region(s, "azure")
    pinned = lambda n: {"minimum": str(n), "maximum": str(n), "default": str(n)}  # noqa: E731
    assert azb.profiles(s, r, BEFORE) == [
        {"name": "p2p-agent-start", "rules": [], "capacity": pinned(3),
         "fixed_date": {"time_zone": "UTC", "start": "2026-12-10T13:15:00Z", "end": "2026-12-17T13:00:00Z"}},
        {"name": "default", "rules": [], "capacity": pinned(0)},
    ]
    assert azb.profiles(s, r, STOP) == [{"name": "default", "rules": [], "capacity": pinned(0)}]
    assert azb.autoscale_ignore_changes(s) == []
    assert azb.autoscale_ignore_changes(fleet(capacityOwner="agent")) == ["profiles"]
    assert azb.role_assignment_args("sub", "/scope/autoscale", "pid") == {
        "scope": "/scope/autoscale", "principal_id": "pid", "principal_type": "ServicePrincipal",
        "role_definition_id": "/subscriptions/sub/providers/Microsoft.Authorization/roleDefinitions/749f88d5-cbae-40b8-bcfc-e573ddc772fa"}


def azure_setting(profiles: list[dict]):
    """The builder's profiles as azure-mgmt-monitor's AutoscaleSettingResource: the SDK's own
    model of the autoscale API (required fields, capacity as strings, a fixed date's start and
    end as times). Raises on anything the model does not take; returns the model."""
    from azure.mgmt.monitor import models as m

    def profile(p: dict):
        assert set(p) <= {"name", "rules", "capacity", "fixed_date"}, p
        fixed = p.get("fixed_date")
        return m.AutoscaleProfile(
            name=p["name"], rules=list(p["rules"]), capacity=m.ScaleCapacity(**p["capacity"]),
            fixed_date=fixed and m.TimeWindow(time_zone=fixed["time_zone"], start=timing.parse_time(fixed["start"]),
                                              end=timing.parse_time(fixed["end"])))

    setting = m.AutoscaleSettingResource(location="westeurope", enabled=True, target_resource_uri="/subscriptions/s/vmss",
                                         profiles=[profile(p) for p in profiles])
    assert _model_errors(setting) == []
    # The body the SDK's autoscale_settings.create_or_update sends, and back.
    from azure.mgmt.monitor._utils.serialization import Serializer

    body = Serializer({k: v for k, v in vars(m).items() if isinstance(v, type)}).body(setting, "AutoscaleSettingResource")
    assert m.AutoscaleSettingResource.deserialize(body).serialize() == body
    return setting


def _model_errors(model, where="AutoscaleSettingResource") -> list[str]:
    """The model's own constraints (`_validation`: required fields, item counts), recursively."""
    out = []
    for attr, rules in model._validation.items():
        value = getattr(model, attr, None)
        if rules.get("required") and value is None:
            out.append(f"{where}.{attr} is required")
        if isinstance(value, list) and "max_items" in rules and len(value) > rules["max_items"]:
            out.append(f"{where}.{attr} has more than {rules['max_items']} items")
    for attr in model._attribute_map:
        value = getattr(model, attr, None)
        for i, item in enumerate(value if isinstance(value, list) else [value]):
            if hasattr(item, "_validation"):
                out += _model_errors(item, f"{where}.{attr}[{i}]" if isinstance(value, list) else f"{where}.{attr}")
    return out


def test_the_azure_model_check_refuses_what_the_api_requires():
    from azure.mgmt.monitor import models as m

    bad = m.AutoscaleSettingResource(location="x", profiles=[m.AutoscaleProfile(name="p", capacity=None, rules=[])] * 21)
    assert _model_errors(bad)[:2] == ["AutoscaleSettingResource.profiles has more than 20 items",
                                      "AutoscaleSettingResource.profiles[0].capacity is required"]


def azure_in_force(setting, at: datetime):
    """Azure's choice of profile: a fixed-date profile whose window holds `at` wins, the
    default profile (no fixed date, no recurrence) applies otherwise."""
    for p in setting.profiles:
        if p.fixed_date and p.fixed_date.start <= at < p.fixed_date.end:
            return p
    (default,) = [p for p in setting.profiles if not p.fixed_date and not p.recurrence]
    return default


@pytest.mark.parametrize("start, stop, at_times", [
    ("2026-12-10T13:00:00Z", "2026-12-17T13:00:00Z", [("2026-12-09T00:00:00Z", 0), ("2026-12-12T00:00:00Z", 3), ("2026-12-18T00:00:00Z", 0)]),
    ("2026-12-10T13:00:00Z", None, [("2026-12-09T00:00:00Z", 0), ("2027-06-01T00:00:00Z", 3)]),
    ("now", "2026-12-17T13:00:00Z", [("2026-12-12T00:00:00Z", 3), ("2026-12-18T00:00:00Z", 0)]),
    ("now", None, [("2026-12-12T00:00:00Z", 3)]),
])
def test_azure_every_start_mode_starts_and_stops_through_the_sdk_models(start, stop, at_times):
    raw = with_fleet(capacityOwner="schedule", schedule__start=start, schedule__stop=stop, schedule__startOffset="0m")
    del raw["fleet"]["clouds"]["gcp"]  # GCP refuses now with a stop
    s = parse(raw)
    r = region(s, "azure")
    setting = azure_setting(azb.profiles(s, r, BEFORE))
    for at, n in at_times:
        assert azure_in_force(setting, timing.parse_time(at)).capacity.default == str(n), at
def test_alibaba_scheduled_tasks_and_ram_policy():
    s = fleet()
    r = region(s, "alibaba")
    assert alib.scheduled_task_args(s, r, "asg-1", BEFORE) == {
        "start": {"scheduled_task_name": "p2p-agent-start", "scaling_group_id": "asg-1", "launch_time": "2026-12-10T13:15Z",
                  "min_value": 3, "max_value": 30, "launch_expiration_time": 600, "task_enabled": True},
        "stop": {"scheduled_task_name": "p2p-agent-stop", "scaling_group_id": "asg-1", "launch_time": "2026-12-17T13:00Z",
                 "min_value": 0, "max_value": 0, "launch_expiration_time": 600, "task_enabled": True},
    }
    assert json.loads(alib.capacity_policy(r, "asg-1"))["Statement"][0] == {
        "Effect": "Allow", "Action": ["ess:ModifyScalingGroup"], "Resource": ["acs:ess:eu-central-1:*:scalinggroup/asg-1"]}


def _camel(snake: str) -> str:
    return "".join(p[:1].upper() + p[1:] for p in snake.split("_"))


@pytest.mark.parametrize("now", [BEFORE, START + timedelta(days=1)])
def test_alibaba_group_launches_and_its_calls_are_ess_requests(now):
    """The group's configuration enables it; a desired capacity of 0 is not sent; the tasks'
    arguments are CreateScheduledTask parameters of the ESS SDK's request model, and the group's
    are CreateScalingGroup's (pulumi-alicloud's snake_case names, as the provider sends them)."""
    from alibabacloud_ess20220222 import models

    s = fleet()
    r = region(s, "alibaba")
    config = alib.scaling_configuration_args(s, r, "asg-1", "img", "sg-1", "#cloud-config\n", None)
    assert (config["active"], config["enable"]) == (True, True)
    group = alib.scaling_group_args(s, r, "vsw-1", now)
    assert group.get("desired_capacity") == (None if now == BEFORE else 3)
    scalar = {_camel(k): v for k, v in group.items() if k in ("scaling_group_name", "min_size", "max_size", "desired_capacity")}
    back = models.CreateScalingGroupRequest().from_map(scalar).to_map()
    assert {k: back.get(k) for k in scalar} == scalar
    for task in alib.scheduled_task_args(s, r, "asg-1", now).values():
        params = {_camel(k): v for k, v in task.items()}
        request = models.CreateScheduledTaskRequest().from_map(params)
        assert request.to_map() == params
        assert task["min_value"] <= task["max_value"] <= r.max_size


def test_alibaba_zone_is_looked_up_unless_configured():
    s = fleet()
    assert region(s, "alibaba").zones == ()
    assert alib.vswitch_args(s, region(s, "alibaba"), "vpc-1", "cn-hangzhou-b")["zone_id"] == "cn-hangzhou-b"
    assert alib.zones_query(region(s, "alibaba")) == {"available_resource_creation": "VSwitch",
                                                      "available_instance_type": "ecs.t6-c1m1.large", "network_type": "Vpc"}
    configured = parse(with_fleet(clouds__alibaba__regions=[{"region": "cn-hangzhou", "maxSize": 3, "zoneId": "cn-hangzhou-b"}]))
    assert region(configured, "alibaba").zones == ("cn-hangzhou-b",)


def test_cloudflare_ruleset_sets_every_variable_on_the_hostname():
    s = fleet(controlCenter__variables={"cc-a-delay": 30, "cc-a-pre-run": "", "cc-w-a-desired-capacity": {"all": 2}})
    assert ccb.ruleset_args(s) == {
        "zone_id": "023e105f4ecef8ad9ca31a8372d0c353",
        "name": "pegasus fleet p2p-agent control center",
        "description": "cc-w-* and cc-a-* variables of the Pegasus fleet, as response headers",
        "kind": "zone",
        "phase": "http_response_headers_transform",
        "rules": [{"ref": "pegasus_fleet_p2p_agent", "description": "control-center variables on cc.example.org",
                   "expression": '(http.host eq "cc.example.org")', "action": "rewrite",
                   "action_parameters": {"headers": {"cc-a-delay": {"operation": "set", "value": "30"},
                                                     "cc-w-a-desired-capacity": {"operation": "set", "value": '{"all": 2}'}}},
                   "enabled": True}],
    }


def test_cloud_init_installs_the_agent_its_capacity_function_and_cron():
    s = fleet(capacityOwner="agent")
    ref = ab.GroupRef("aws", "eu-central-1", "p2p-agent-aws-eu-central-1")
    text = ab.cloud_init(s, ref)
    assert text.startswith("#cloud-config\n")
    doc = yaml.safe_load(text)
    assert doc["packages"] == ["cron", "curl", "git", "python3", "util-linux", "ansible"]
    files = {f["path"]: f for f in doc["write_files"]}
    assert files["/etc/cron.d/pegasus-agent"]["content"] == (
        "SHELL=/bin/bash\nPATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin:/snap/bin\n"
        "*/15 * * * * root timeout --kill-after=60 3600 /opt/pegasus-agent/agent.sh >> /var/log/pegasus-agent.log 2>&1\n")
    assert files["/opt/pegasus-agent/capacity.py"]["content"] == ab.capacity_source()
    assert files["/opt/pegasus-agent/agent.sh"]["content"] == ab.agent_script(s, ref)
    assert doc["runcmd"] == [["bash", "-c", "snap install aws-cli --classic"],
                             ["bash", "-c", "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin:/snap/bin timeout "
                                            "--kill-after=60 3600 /opt/pegasus-agent/agent.sh >> /var/log/pegasus-agent.log 2>&1 &"]]
    assert "DEFAULT_DESIRED_CAPACITY='{\"all\": 3, \"aws\": {\"all\": 2, \"eu-central-1\": 1}}'" in ab.settings_block(s, ref)
    assert "CC_HOSTS=(cc.example.org)" in ab.settings_block(s, ref)


def test_cloudfront_function_answers_with_the_variables():
    """The generated function, run with node: what CloudFront's viewer-request returns."""
    import shutil
    import subprocess

    s = fleet(controlCenter__provider="cloudfront", controlCenter__zoneId=None,
              controlCenter__certificateArn="arn:aws:acm:us-east-1:123456789012:certificate/abc",
              controlCenter__variables={"cc-a-delay": 30, "cc-a-pre-run": "", "cc-a-repository": "https://x/y.git"})
    code = ccb.cloudfront_function_code(s)
    node = shutil.which("node")
    assert node, "node runs the CloudFront function in this test"
    out = subprocess.run([node, "-e", code + "\nconsole.log(JSON.stringify(handler({request: {method: 'HEAD'}})));"],
                         capture_output=True, text=True, check=True).stdout
    assert json.loads(out) == {"statusCode": 200, "statusDescription": "OK", "headers": {
        "cc-a-delay": {"value": "30"}, "cc-a-repository": {"value": "https://x/y.git"}}}
    args = ccb.distribution_args(s, "arn:fn")
    assert args["aliases"] == ["cc.example.org"]
    assert args["default_cache_behavior"]["function_associations"] == [{"event_type": "viewer-request", "function_arn": "arn:fn"}]
    assert args["default_cache_behavior"]["cache_policy_id"] == "4135ea2d-6df8-44a3-9df3-4b5a84be39ad"
    assert args["viewer_certificate"]["acm_certificate_arn"] == "arn:aws:acm:us-east-1:123456789012:certificate/abc"


def test_aws_cadence_policy_is_its_own_schedule_and_role():
    s = fleet()
    assert json.loads(awsb.cadence_policy(s, region(s, "aws"), "arn:aws:iam::123456789012:role/sched")) == {
        "Version": "2012-10-17",
        "Statement": [
            {"Sid": "OwnSchedule", "Effect": "Allow", "Action": ["scheduler:GetSchedule", "scheduler:UpdateSchedule"],
             "Resource": "arn:aws:scheduler:eu-central-1:*:schedule/default/p2p-agent-aws-eu-central-1-watcher"},
            {"Sid": "PassItsRole", "Effect": "Allow", "Action": "iam:PassRole", "Resource": "arn:aws:iam::123456789012:role/sched",
             "Condition": {"StringEquals": {"iam:PassedToService": "scheduler.amazonaws.com"}}},
        ],
    }


def rest_autoscaler(args: dict) -> dict:
    """pulumi-gcp's RegionAutoscaler arguments as the Compute REST body the provider sends
    (terraform-provider-google's expanders: min_replicas is minNumReplicas, cooldown_period
    coolDownPeriodSec, the scaling_schedules list a map keyed by name)."""
    p = args["autoscaling_policy"]
    policy = {"minNumReplicas": p["min_replicas"], "maxNumReplicas": p["max_replicas"], "coolDownPeriodSec": p["cooldown_period"],
              "mode": p["mode"], "cpuUtilization": {"utilizationTarget": p["cpu_utilization"]["target"]}}
    if p.get("scaling_schedules"):
        policy["scalingSchedules"] = {s["name"]: {"schedule": s["schedule"], "timeZone": s["time_zone"], "durationSec": s["duration_sec"],
                                                  "minRequiredReplicas": s["min_required_replicas"], "description": s["description"]}
                                      for s in p["scaling_schedules"]}
    return {"name": args["name"], "target": args["target"], "autoscalingPolicy": policy}


@pytest.mark.parametrize("changes", [{}, {"capacityOwner": "agent"}, {"capacityOwner": "schedule", "schedule__stop": None},
                                     {"capacityOwner": "agent", "schedule__start": "now", "schedule__stop": None}])
def test_gcp_autoscaler_validates_against_the_compute_discovery_document(changes):
    from tests.fleet import compute_discovery as cd

    s = fleet(**changes)
    r = region(s, "gcp")
    for now in (BEFORE, START + timedelta(days=1)):
        body = rest_autoscaler(gcpb.autoscaler_args(s, r, "https://www.googleapis.com/compute/v1/projects/p/regions/r/instanceGroupManagers/g", now))
        assert cd.errors(body, "Autoscaler") == []
        for sch in body["autoscalingPolicy"].get("scalingSchedules", {}).values():
            assert len(sch["schedule"].split()) == 6  # a year: it fires once
            assert 300 <= sch["durationSec"] < 2**31


def test_gcp_schedule_refusals():
    from pegasus.errors import ConfigError
    from tests.fleet.test_config import with_fleet

    with pytest.raises(ConfigError, match="^pegasus:fleet.schedule.start: is now with a stop, which GCP cannot stop"):
        fleet(capacityOwner="schedule", schedule__start="now")
    with pytest.raises(ConfigError, match="less than 5 minutes after the start"):
        fleet(capacityOwner="agent", schedule__startOffset="0m", schedule__stop="2026-12-10T13:04:00Z")
    # Without a GCP region, or with the watcher (which opens its window when it runs), it is fine.
    raw = with_fleet(capacityOwner="schedule", schedule__start="now")
    del raw["fleet"]["clouds"]["gcp"]
    assert parse(raw).schedule.start == "now"
