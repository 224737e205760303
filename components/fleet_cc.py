"""The fleet's control center: thin wiring of components/fleet_cc_builder.py."""

from __future__ import annotations

import pulumi
import pulumi_cloudflare as cloudflare

from components import fleet_cc_builder as b
from pegasus.config.fleet import FleetSettings


class ControlCenter(pulumi.ComponentResource):
    ruleset_id: pulumi.Output[str]
    """The Cloudflare ruleset that serves the variables."""

    def __init__(self, name: str, settings: FleetSettings, opts: pulumi.ResourceOptions | None = None):
        super().__init__("pegasus:fleet:ControlCenter", name, None, opts)
        ruleset = cloudflare.Ruleset(f"{name}-headers", **b.ruleset_args(settings), opts=pulumi.ResourceOptions(parent=self))
        self.ruleset_id = ruleset.id
        self.register_outputs({"ruleset_id": self.ruleset_id})
