"""The control center (design document 004, "Control center"): the configured cc-w-* and
cc-a-* variables as HTTP response headers on one hostname.

Cloudflare: a zone ruleset in the `http_response_headers_transform` phase (Response Header
Transform Rules) whose one rule sets every variable on responses for the hostname. The
hostname must be a proxied record with an origin that answers; the agent and the watcher
HEAD it. An empty value is not sent (Cloudflare refuses an empty `set`); the agent then uses
its default, which is what an empty value means anyway.
"""

from __future__ import annotations

from pegasus.config.fleet import FleetSettings

PHASE = "http_response_headers_transform"


def ruleset_args(settings: FleetSettings) -> dict:
    cc = settings.control_center
    headers = {name: {"operation": "set", "value": value} for name, value in cc.variables if value != ""}
    return {
        "zone_id": cc.zone_id,
        "name": f"pegasus fleet {settings.name} control center",
        "description": "cc-w-* and cc-a-* variables of the Pegasus fleet, as response headers",
        "kind": "zone",
        "phase": PHASE,
        "rules": [{
            "ref": f"pegasus_fleet_{settings.name.replace('-', '_')}",
            "description": f"control-center variables on {cc.hostname}",
            "expression": f'(http.host eq "{cc.hostname}")',
            "action": "rewrite",
            "action_parameters": {"headers": headers},
            "enabled": True,
        }],
    }
