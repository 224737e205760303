"""One GCP region's fleet group: thin wiring of components/fleet/gcp_builder.py."""

from __future__ import annotations

from datetime import datetime
from typing import Sequence

import pulumi
import pulumi_gcp as gcp

from components.fleet import agent_builder as ab
from components.fleet import gcp_builder as b
from components.fleet.watcher_code import archive, object_name
from components.fleet.config import FleetSettings, Region


class FleetGroupGcp(pulumi.ComponentResource):
    group_name: pulumi.Output[str]
    """The regional managed instance group's (and its autoscaler's) name."""

    def __init__(self, name: str, settings: FleetSettings, region: Region, now: datetime, capacity_role: pulumi.Output[str],
                 apis: Sequence[pulumi.Resource] = (), opts: pulumi.ResourceOptions | None = None):
        """`capacity_role`: the project's capacity-writer custom role (one per stack, see stacks/fleet.py).
        `apis`: the project's API enablements (gcp.projects.Service); every child waits for them."""
        super().__init__("pegasus:fleet:GcpGroup", name, None, opts)
        provider = gcp.Provider(f"{name}-provider", project=settings.gcp_project, region=region.region,
                                opts=pulumi.ResourceOptions(parent=self))
        child = pulumi.ResourceOptions(parent=self, provider=provider, depends_on=list(apis))
        group = b.group_name(settings, region)

        vm = gcp.serviceaccount.Account(f"{name}-vm", account_id=b.account_id(settings, region, "vm"), project=settings.gcp_project,
                                        display_name=f"Pegasus fleet {group} VMs", opts=child)
        if settings.capacity_owner == "agent":
            gcp.projects.IAMMember(f"{name}-vm-capacity", **b.capacity_binding_args(
                settings, region, capacity_role, pulumi.Output.concat("serviceAccount:", vm.email), gcloud=True), opts=child)
        network = gcp.compute.Network(f"{name}-network", **b.network_args(settings, region), opts=child)
        subnetwork = gcp.compute.Subnetwork(f"{name}-subnetwork", **b.subnetwork_args(settings, region, network.id), opts=child)
        for short, args in b.firewall_args(settings, region, network.id):
            # A rule's name is fixed and unique in the project: a move to another network
            # replaces it, the old one deleted first.
            gcp.compute.Firewall(f"{name}-{short}", **args,
                                 opts=pulumi.ResourceOptions.merge(child, pulumi.ResourceOptions(delete_before_replace=True)))
        user_data = ab.cloud_init(settings, ab.GroupRef("gcp", region.region, group, gcp_project=settings.gcp_project,
                                                      gcp_schedule=b.agent_schedule(settings), min_size=region.min_size, max_size=region.max_size))
        template = gcp.compute.InstanceTemplate(
            f"{name}-template", **b.instance_template_args(settings, region, user_data, vm.email, subnetwork.id),
            opts=child)
        mig = gcp.compute.RegionInstanceGroupManager(
            f"{name}-group", **b.group_manager_args(settings, region, template.self_link_unique),
            # The autoscaler owns the size.
            opts=pulumi.ResourceOptions.merge(child, pulumi.ResourceOptions(ignore_changes=["targetSize"])))
        autoscaler = gcp.compute.RegionAutoscaler(
            f"{name}-autoscaler", **b.autoscaler_args(settings, region, mig.id, now),
            opts=pulumi.ResourceOptions.merge(child, pulumi.ResourceOptions(ignore_changes=b.autoscaler_ignore_changes(settings))))

        if settings.capacity_owner == "watcher":
            wsa = gcp.serviceaccount.Account(f"{name}-watcher", account_id=b.account_id(settings, region, "watcher"),
                                             project=settings.gcp_project, display_name=f"Pegasus fleet {group} watcher", opts=child)
            follows = settings.watcher_follows_control_center()
            gcp.projects.IAMMember(f"{name}-watcher-capacity",
                                   **b.capacity_binding_args(settings, region, capacity_role,
                                                             pulumi.Output.concat("serviceAccount:", wsa.email), own_job=follows),
                                   opts=child)
            bucket = gcp.storage.Bucket(f"{name}-watcher-code", **b.bucket_args(settings, region), opts=child)
            obj = gcp.storage.BucketObject(f"{name}-watcher-code", name=object_name(), bucket=bucket.name,
                                           source=archive(with_main=True), opts=child)
            fn = gcp.cloudfunctionsv2.Function(f"{name}-watcher", **b.function_args(settings, region, bucket.name, obj.name, wsa.email),
                                               opts=pulumi.ResourceOptions.merge(child, pulumi.ResourceOptions(depends_on=[autoscaler])))
            invoker = gcp.serviceaccount.Account(f"{name}-invoker", account_id=b.account_id(settings, region, "invoker"),
                                                 project=settings.gcp_project, display_name=f"Pegasus fleet {group} scheduler", opts=child)
            gcp.cloudrunv2.ServiceIamMember(f"{name}-invoker", project=settings.gcp_project, location=region.region, name=fn.name,
                                            role="roles/run.invoker", member=pulumi.Output.concat("serviceAccount:", invoker.email), opts=child)
            gcp.cloudscheduler.Job(
                f"{name}-watcher", **b.job_args(settings, region, fn.url, invoker.email),
                # With cc-w-scheduler served, the watcher owns its cadence.
                opts=pulumi.ResourceOptions.merge(child, pulumi.ResourceOptions(ignore_changes=["schedule"] if follows else [])))

        self.group_name = autoscaler.name
        self.register_outputs({"group_name": self.group_name})
