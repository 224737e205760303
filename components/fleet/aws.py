"""One AWS region's fleet group: thin wiring of components/fleet/aws_builder.py."""

from __future__ import annotations

from datetime import datetime

import pulumi
import pulumi_aws as aws

from components.fleet import agent_builder as ab
from components.fleet import aws_builder as b
from components.fleet.watcher_code import archive
from components.fleet.config import FleetSettings, Region


class FleetGroupAws(pulumi.ComponentResource):
    group_name: pulumi.Output[str]
    """The Auto Scaling group's name."""

    def __init__(self, name: str, settings: FleetSettings, region: Region, now: datetime,
                 opts: pulumi.ResourceOptions | None = None):
        super().__init__("pegasus:fleet:AwsGroup", name, None, opts)
        provider = aws.Provider(f"{name}-provider", region=region.region, opts=pulumi.ResourceOptions(parent=self))
        child = pulumi.ResourceOptions(parent=self, provider=provider)
        group = b.group_name(settings, region)

        role = aws.iam.Role(f"{name}-instance", name=f"{group}-instance", assume_role_policy=b.trust_policy("ec2.amazonaws.com"),
                            tags=b.tags(settings, region), opts=child)
        if settings.capacity_owner == "agent":
            aws.iam.RolePolicy(f"{name}-instance-capacity", role=role.id, policy=b.agent_policy(group), opts=child)
        profile = aws.iam.InstanceProfile(f"{name}-instance", name=f"{group}-instance", role=role.name, opts=child)
        vpc = aws.ec2.Vpc(f"{name}-vpc", **b.vpc_args(settings, region), opts=child)
        gateway = aws.ec2.InternetGateway(f"{name}-igw", **b.internet_gateway_args(settings, region, vpc.id), opts=child)
        routes = aws.ec2.RouteTable(f"{name}-routes", **b.route_table_args(settings, region, vpc.id, gateway.id), opts=child)
        if region.zones:
            zones = list(region.zones)
        else:
            available = aws.get_availability_zones_output(state="available", opts=pulumi.InvokeOutputOptions(provider=provider)).names
            zones = [available[i] for i in range(b.DEFAULT_ZONE_COUNT)]
        subnet_ids = []
        for i, zone in enumerate(zones):
            subnet = aws.ec2.Subnet(f"{name}-subnet-{i}", **b.subnet_args(settings, region, vpc.id, i, zone), opts=child)
            aws.ec2.RouteTableAssociation(f"{name}-subnet-{i}", subnet_id=subnet.id, route_table_id=routes.id, opts=child)
            subnet_ids.append(subnet.id)
        sg = aws.ec2.SecurityGroup(f"{name}-sg", **b.security_group_args(settings, region, vpc.id), opts=child)
        user_data = ab.cloud_init(settings, ab.GroupRef("aws", region.region, group, min_size=region.min_size, max_size=region.max_size))
        template = aws.ec2.LaunchTemplate(f"{name}-template", **b.launch_template_args(settings, region, user_data, sg.id, profile.name),
                                          opts=child)
        asg = aws.autoscaling.Group(
            f"{name}-group", **b.group_args(settings, region, template.id, subnet_ids, now),
            # The capacity owner (schedule, watcher or agent) moves desired capacity; an update
            # must never put it back, and never reset a running fleet to zero.
            opts=pulumi.ResourceOptions.merge(child, pulumi.ResourceOptions(ignore_changes=["desiredCapacity"])))
        for short, args in b.schedule_args(settings, region, now).items():
            aws.autoscaling.Schedule(f"{name}-{short}", **args, opts=pulumi.ResourceOptions.merge(child, pulumi.ResourceOptions(depends_on=[asg])))

        if settings.capacity_owner == "watcher":
            wrole = aws.iam.Role(f"{name}-watcher", name=f"{group}-watcher", assume_role_policy=b.trust_policy("lambda.amazonaws.com"),
                                 tags=b.tags(settings, region), opts=child)
            aws.iam.RolePolicy(f"{name}-watcher-capacity", role=wrole.id, policy=b.capacity_policy(group), opts=child)
            aws.iam.RolePolicyAttachment(f"{name}-watcher-logs", role=wrole.name, policy_arn=b.LAMBDA_BASIC_EXECUTION, opts=child)
            fn = aws.lambda_.Function(f"{name}-watcher", **b.watcher_function_args(settings, region, wrole.arn, archive()), opts=child)
            srole = aws.iam.Role(f"{name}-scheduler", name=f"{group}-scheduler",
                                 assume_role_policy=b.trust_policy("scheduler.amazonaws.com"), tags=b.tags(settings, region), opts=child)
            aws.iam.RolePolicy(f"{name}-scheduler-invoke", role=srole.id, policy=fn.arn.apply(b.invoke_policy), opts=child)
            follows = settings.watcher_follows_control_center()
            if follows:
                aws.iam.RolePolicy(f"{name}-watcher-cadence", role=wrole.id,
                                   policy=srole.arn.apply(lambda arn: b.cadence_policy(settings, region, arn)), opts=child)
            aws.scheduler.Schedule(
                f"{name}-watcher", **b.scheduler_args(settings, region, fn.arn, srole.arn),
                # With cc-w-scheduler served, the watcher owns its cadence.
                opts=pulumi.ResourceOptions.merge(child, pulumi.ResourceOptions(ignore_changes=["scheduleExpression"] if follows else [])))

        self.group_name = asg.name
        self.register_outputs({"group_name": self.group_name})
