"""One Alibaba Cloud region's fleet group: thin wiring of components/fleet/alibaba_builder.py."""

from __future__ import annotations

from datetime import datetime

import pulumi
import pulumi_alicloud as ali

from components.fleet import agent_builder as ab
from components.fleet import alibaba_builder as b
from components.fleet.config import FleetSettings, Region


class FleetGroupAlibaba(pulumi.ComponentResource):
    group_name: pulumi.Output[str]
    """The ESS scaling group's name."""

    def __init__(self, name: str, settings: FleetSettings, region: Region, now: datetime,
                 opts: pulumi.ResourceOptions | None = None):
        super().__init__("pegasus:fleet:AlibabaGroup", name, None, opts)
        provider = ali.Provider(f"{name}-provider", region=region.region, opts=pulumi.ResourceOptions(parent=self))
        child = pulumi.ResourceOptions(parent=self, provider=provider)
        group = b.group_name(settings, region)

        vpc = ali.vpc.Network(f"{name}-vpc", **b.vpc_args(settings, region), opts=child)
        zone = region.zones[0] if region.zones else ali.get_zones_output(
            **b.zones_query(region), opts=pulumi.InvokeOutputOptions(provider=provider)).ids[0]
        vswitch = ali.vpc.Switch(f"{name}-vswitch", **b.vswitch_args(settings, region, vpc.id, zone), opts=child)
        sg = ali.ecs.SecurityGroup(f"{name}-sg", **b.security_group_args(settings, region, vpc.id), opts=child)
        for short, args in b.security_group_rules(settings, sg.id):
            ali.ecs.SecurityGroupRule(f"{name}-{short}", **args, opts=child)
        image = ali.ecs.get_images_output(name_regex=region.image, owners="system", most_recent=True,
                                          opts=pulumi.InvokeOutputOptions(provider=provider))
        asg = ali.ess.ScalingGroup(
            f"{name}-group", **b.scaling_group_args(settings, region, vswitch.id, now),
            opts=pulumi.ResourceOptions.merge(child, pulumi.ResourceOptions(ignore_changes=["desiredCapacity"])))
        role_name = None
        if settings.capacity_owner == "agent":
            role = ali.ram.Role(f"{name}-role", role_name=b.role_name(settings, region),
                                assume_role_policy_document=b.trust_policy(), opts=child)
            policy = ali.ram.Policy(f"{name}-capacity", policy_name=f"{group}-capacity",
                                    policy_document=asg.id.apply(lambda gid: b.capacity_policy(region, gid)), opts=child)
            ali.ram.RolePolicyAttachment(f"{name}-capacity", policy_name=policy.policy_name, policy_type="Custom",
                                         role_name=role.role_name, opts=child)
            role_name = role.role_name
        user_data = ab.cloud_init(settings, ab.GroupRef("alibaba", region.region, group, alibaba_role=b.role_name(settings, region), min_size=region.min_size, max_size=region.max_size))
        ali.ess.ScalingConfiguration(
            f"{name}-config",
            **b.scaling_configuration_args(settings, region, asg.id, image.images[0].id, sg.id, user_data, role_name),
            opts=child)
        for short, args in b.scheduled_task_args(settings, region, asg.id, now).items():
            ali.ess.ScheduledTask(f"{name}-{short}", **args, opts=child)

        self.group_name = asg.scaling_group_name
        self.register_outputs({"group_name": self.group_name})
