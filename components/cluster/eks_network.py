"""The VPC Pegasus creates for an EKS cluster when no network is given: public subnets for
the load balancers, private subnets for nodes and pods, one NAT gateway."""

from __future__ import annotations

from typing import Any

import pulumi
import pulumi_aws as aws

from components.cluster import cluster_builder as cb
from pegasus.config import ClusterSettings


def availability_zones(s: ClusterSettings, provider: Any) -> Any:
    if s.availability_zones:
        return list(s.availability_zones)
    # Zones that need no opt-in: Local Zones and Wavelength Zones are "available" too, but
    # they lack NAT gateways and most instance types.
    return aws.get_availability_zones_output(
        state="available",
        filters=[{"name": "opt-in-status", "values": ["opt-in-not-required"]}],
        opts=pulumi.InvokeOutputOptions(provider=provider),
    ).names.apply(lambda n: n[: cb.MAX_AZS])


def create_vpc(name: str, s: ClusterSettings, tags: dict, aws_opts: pulumi.ResourceOptions) -> tuple[Any, list, list]:
    """(VPC ID, private subnet IDs, public subnet IDs), the subnets in AZ order."""
    azs = availability_zones(s, aws_opts.provider)
    vpc = aws.ec2.Vpc(
        f"{name}-vpc",
        cidr_block=s.vpc_cidr,
        enable_dns_hostnames=True,
        enable_dns_support=True,
        tags={**tags, "Name": s.name},
        opts=aws_opts,
    )
    igw = aws.ec2.InternetGateway(f"{name}-igw", vpc_id=vpc.id, tags={**tags, "Name": s.name}, opts=aws_opts)
    # A NAT gateway's public address only routes once the VPC has its internet gateway (the
    # provider's aws_eip and aws_nat_gateway docs ask for this dependency).
    after_igw = pulumi.ResourceOptions.merge(aws_opts, pulumi.ResourceOptions(depends_on=[igw]))
    public_rt = aws.ec2.RouteTable(
        f"{name}-public", vpc_id=vpc.id,
        routes=[{"cidrBlock": "0.0.0.0/0", "gatewayId": igw.id}],
        tags={**tags, "Name": f"{s.name}-public"}, opts=aws_opts,
    )
    # Subnets are declared per AZ index so that they are visible in a preview even
    # before the AZ names are known (they come from an invoke in a fresh account).
    count = len(s.availability_zones) if s.availability_zones else cb.MAX_AZS
    plans = cb.subnet_plan(s.vpc_cidr, [f"az{i}" for i in range(count)])
    private_ids, public_ids = [], []
    nat_eip = aws.ec2.Eip(f"{name}-nat", domain="vpc", tags={**tags, "Name": f"{s.name}-nat"}, opts=after_igw)
    nat = None
    for i, p in enumerate(plans):
        az = pulumi.Output.from_input(azs).apply(lambda names_, i=i: names_[i])
        public = aws.ec2.Subnet(
            f"{name}-public-{i}", vpc_id=vpc.id, cidr_block=p.public_cidr, availability_zone=az,
            map_public_ip_on_launch=False,
            tags={**tags, **cb.subnet_tags(s.name, public=True), "Name": f"{s.name}-public-{i}"}, opts=aws_opts,
        )
        aws.ec2.RouteTableAssociation(f"{name}-public-{i}", subnet_id=public.id, route_table_id=public_rt.id, opts=aws_opts)
        if nat is None:
            # One NAT gateway: chain nodes need egress to pull images and sync peers;
            # per-AZ NAT costs 3x for an outage they would mostly survive anyway.
            nat = aws.ec2.NatGateway(f"{name}-nat", allocation_id=nat_eip.id, subnet_id=public.id,
                                     tags={**tags, "Name": s.name}, opts=after_igw)
        private_rt = aws.ec2.RouteTable(
            f"{name}-private-{i}", vpc_id=vpc.id,
            routes=[{"cidrBlock": "0.0.0.0/0", "natGatewayId": nat.id}],
            tags={**tags, "Name": f"{s.name}-private-{i}"}, opts=aws_opts,
        )
        private = aws.ec2.Subnet(
            f"{name}-private-{i}", vpc_id=vpc.id, cidr_block=p.private_cidr, availability_zone=az,
            tags={**tags, **cb.subnet_tags(s.name, public=False), "Name": f"{s.name}-private-{i}"}, opts=aws_opts,
        )
        aws.ec2.RouteTableAssociation(f"{name}-private-{i}", subnet_id=private.id, route_table_id=private_rt.id, opts=aws_opts)
        private_ids.append(private.id)
        public_ids.append(public.id)
    return vpc.id, private_ids, public_ids
