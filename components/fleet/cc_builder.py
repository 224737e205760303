"""The control center (design document 004, "Control center"): the configured cc-w-* and
cc-a-* variables as HTTP response headers on one hostname.

Cloudflare: a zone ruleset in the `http_response_headers_transform` phase (Response Header
Transform Rules) whose one rule sets every variable on responses for the hostname. The
hostname must be a proxied record with an origin that answers; the agent and the watcher
HEAD it. An empty value is not sent (Cloudflare refuses an empty `set`); the agent then uses
its default, which is what an empty value means anyway.

CloudFront: a distribution on the hostname (an alternate domain name with an ACM certificate)
whose viewer-request CloudFront Function returns the response itself, headers included.
"""

from __future__ import annotations

import json

from components.fleet.config import FleetSettings

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


# CloudFront: a viewer-request function that answers every request itself with the variables
# as headers, so the origin is never contacted (CloudFront still wants one configured).
CLOUDFRONT_RUNTIME = "cloudfront-js-2.0"
CACHING_DISABLED = "4135ea2d-6df8-44a3-9df3-4b5a84be39ad"  # AWS managed cache policy Managed-CachingDisabled
UNUSED_ORIGIN = "origin.pegasus.invalid"


def cloudfront_function_code(settings: FleetSettings) -> str:
    headers = {name: {"value": value} for name, value in settings.control_center.variables if value != ""}
    return (
        "// Pegasus fleet control center: the variables as response headers (generated).\n"
        "function handler(event) {\n"
        f"  return {{statusCode: 200, statusDescription: 'OK', headers: {json.dumps(headers, sort_keys=True)}}};\n"
        "}\n"
    )


def cloudfront_function_args(settings: FleetSettings) -> dict:
    return {"name": f"{settings.name}-control-center", "runtime": CLOUDFRONT_RUNTIME, "publish": True,
            "comment": "Pegasus fleet control-center variables", "code": cloudfront_function_code(settings)}


def distribution_args(settings: FleetSettings, function_arn) -> dict:
    cc = settings.control_center
    return {
        "enabled": True,
        "comment": f"Pegasus fleet {settings.name} control center",
        "aliases": [cc.hostname],
        "price_class": "PriceClass_100",
        "origins": [{"domain_name": UNUSED_ORIGIN, "origin_id": "unused",
                     "custom_origin_config": {"http_port": 80, "https_port": 443, "origin_protocol_policy": "https-only",
                                              "origin_ssl_protocols": ["TLSv1.2"]}}],
        "default_cache_behavior": {
            "target_origin_id": "unused", "viewer_protocol_policy": "redirect-to-https",
            "allowed_methods": ["GET", "HEAD"], "cached_methods": ["GET", "HEAD"], "cache_policy_id": CACHING_DISABLED,
            "function_associations": [{"event_type": "viewer-request", "function_arn": function_arn}],
        },
        "restrictions": {"geo_restriction": {"restriction_type": "none"}},
        "viewer_certificate": {"acm_certificate_arn": cc.certificate_arn, "ssl_support_method": "sni-only",
                               "minimum_protocol_version": "TLSv1.2_2021"},
    }
