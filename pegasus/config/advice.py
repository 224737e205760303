"""Warnings about config that is valid but probably not what the operator wants: settings that
have no effect where they are set, and gaps a validator operator would regret in production.
Each names the key to change."""

from __future__ import annotations

from typing import Any, Mapping

from pegasus.config.keys import APPLIES_TO, SWITCHES
from pegasus.config.validator import Settings


def _explicit(raw: Mapping[str, Any]) -> list[str]:
    """The dotted keys the stack sets, in reference order of sections and fields."""
    keys = []
    for section, value in raw.items():
        if isinstance(value, dict):
            keys.extend(f"{section}.{field}" for field in value if value[field] is not None)
    return keys


def ignored_settings(raw: Mapping[str, Any], s: Settings) -> list[str]:
    provider, source = s.cluster.provider, s.chain.source
    switched_on = {"karpenter": s.karpenter.enabled, "logging": s.logging.enabled, "spc": s.spc.enabled}
    groups: dict[str, list[str]] = {}
    for key in _explicit(raw):
        section = key.split(".", 1)[0]
        scope = APPLIES_TO.get(key)
        if section in SWITCHES and key != SWITCHES[section] and not switched_on[section]:
            if scope is None or provider in scope:
                groups.setdefault(f"{SWITCHES[section]} is false", []).append(key)
                continue
        if scope is None:
            continue
        if section == "chain" and source not in scope:
            groups.setdefault(f"they apply to chain.source {'/'.join(scope)} and chain.source is {source}", []).append(key)
        elif section != "chain" and provider not in scope:
            groups.setdefault(f"they apply to cluster.provider {'/'.join(scope)} and cluster.provider is {provider}", []).append(key)
    return [
        f"{', '.join(keys)} {'is' if len(keys) == 1 else 'are'} set but ignored: "
        f"{why.replace('they apply', 'it applies') if len(keys) == 1 else why}; remove {'it' if len(keys) == 1 else 'them'} from the stack"
        for why, keys in groups.items()
    ]


def operational_gaps(s: Settings, provider_config: Mapping[str, Any]) -> list[str]:
    out = []
    a = s.alerting
    if a.slack_webhook_url is None and a.pagerduty_routing_key is None:
        out.append(
            "alerting has no receiver: every alert, critical ones included, goes to the null receiver and nobody is told; "
            "set alerting.slackWebhookUrl or alerting.pagerdutyRoutingKey (with --secret)"
        )
    aws_region = provider_config.get("aws:region")
    if s.cluster.provider == "eks" and aws_region and aws_region != s.cluster.region:
        out.append(
            f"aws:region is {aws_region} but cluster.region is {s.cluster.region}: Pegasus builds in cluster.region, while "
            "anything using the default AWS provider (and your `aws` CLI defaults) points at aws:region; make them the same"
        )
    gcp_region = provider_config.get("gcp:region")
    if s.cluster.provider == "gke" and gcp_region and gcp_region != s.cluster.region:
        out.append(
            f"gcp:region is {gcp_region} but cluster.region is {s.cluster.region}: Pegasus builds in cluster.region, while "
            "the default Google provider points at gcp:region; make them the same"
        )
    return out
