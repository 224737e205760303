"""Elastic IPs for the p2p shards on eks, the counterpart of the reserved IP per shard on gke.

A shard Service is protected, but if its NLB is ever recreated (a deleted Service, a changed
scheme) it would get new addresses, while every chainlet behind it advertises the old one.
With an Elastic IP per shard and AZ the NLB's addresses belong to the stack, not to the NLB:
a new NLB comes back on the same IPs. The IPs are protected like the Services.

Cost: a public IPv4 address is billed by the hour whether AWS or we allocate it, so the EIPs
cost what the NLB's own addresses would (and the same while a shard waits unattached).
"""

from __future__ import annotations

from typing import Any, Optional

import pulumi
import pulumi_aws as aws

from components.cluster import cluster_builder as cb
from components.cluster.cluster import EksInfo


class ShardAddresses(pulumi.ComponentResource):
    annotations: dict[int, dict[str, pulumi.Output[str]]]
    """Per shard: the Service annotations that pin its NLB to our subnets and Elastic IPs."""
    public_ips: dict[int, pulumi.Output[list]]
    """Per shard: its Elastic IPs, in subnet (AZ) order."""

    def __init__(self, name: str, shard_indexes: range | list[int], eks: EksInfo, guard: pulumi.Resource,
                 opts: Optional[pulumi.ResourceOptions] = None):
        super().__init__("pegasus:ingress:ShardAddresses", name, None, opts)
        # The shard count comes from the chain read, so the guard goes first, as for the shards.
        eip_opts = pulumi.ResourceOptions(parent=self, provider=eks.aws_provider, protect=True, depends_on=[guard])
        subnets = pulumi.Output.all(*eks.public_subnet_ids)
        self.annotations, self.public_ips = {}, {}
        for index in shard_indexes:
            eips = [
                aws.ec2.Eip(
                    f"{name}-{index}-az{az}", domain="vpc",
                    tags={**eks.tags, "Name": f"{eks.cluster_name}-p2p-{index}-az{az}", "pegasus:shard": str(index)},
                    opts=eip_opts,
                )
                for az in range(len(eks.public_subnet_ids))
            ]
            allocations: Any = pulumi.Output.all(*[e.allocation_id for e in eips])
            pinned = pulumi.Output.all(subnets, allocations).apply(
                lambda a: cb.nlb_placement_annotations(list(a[0]), list(a[1])))
            self.annotations[index] = {
                key: pinned.apply(lambda d, k=key: d[k]) for key in (cb.NLB_SUBNETS_ANNOTATION, cb.NLB_EIPS_ANNOTATION)
            }
            self.public_ips[index] = pulumi.Output.all(*[e.public_ip for e in eips])
        self.register_outputs({f"shard_{i}": ips for i, ips in self.public_ips.items()})


def nlb_subnet_annotations(eks: EksInfo) -> dict[str, pulumi.Output[str]]:
    """The subnets annotation alone, for a public Service without Elastic IPs (the platform chain)."""
    subnets = pulumi.Output.all(*eks.public_subnet_ids)
    return {cb.NLB_SUBNETS_ANNOTATION: subnets.apply(lambda ids: cb.nlb_placement_annotations(list(ids))[cb.NLB_SUBNETS_ANNOTATION])}
