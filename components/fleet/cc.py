"""The fleet's control center: thin wiring of components/fleet/cc_builder.py."""

from __future__ import annotations

import pulumi
import pulumi_aws as aws
import pulumi_cloudflare as cloudflare

from components.fleet import cc_builder as b
from components.fleet.config import FleetSettings


class ControlCenter(pulumi.ComponentResource):
    resource_id: pulumi.Output[str]
    """The Cloudflare ruleset or the CloudFront distribution that serves the variables."""

    def __init__(self, name: str, settings: FleetSettings, opts: pulumi.ResourceOptions | None = None):
        super().__init__("pegasus:fleet:ControlCenter", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        if settings.control_center.provider == "cloudflare":
            served = cloudflare.Ruleset(f"{name}-headers", **b.ruleset_args(settings), opts=child)
        else:
            # CloudFront is global; its functions and certificates live in us-east-1.
            provider = aws.Provider(f"{name}-provider", region="us-east-1", opts=child)
            on_cf = pulumi.ResourceOptions(parent=self, provider=provider)
            fn = aws.cloudfront.Function(f"{name}-headers", **b.cloudfront_function_args(settings), opts=on_cf)
            served = aws.cloudfront.Distribution(f"{name}-distribution", **b.distribution_args(settings, fn.arn), opts=on_cf)
        self.resource_id = served.id
        self.register_outputs({"resource_id": self.resource_id})
