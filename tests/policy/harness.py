"""Call one policy directly, the way the analyzer calls it.

`wrap=True` hands props over as the analyzer does, behind `unknown_checking_proxy`;
`wrap=False` hands them over raw, where unknowns are the engine's sentinel strings.
"""

from __future__ import annotations

import copy

from pulumi_policy import (
    PolicyCustomTimeouts,
    PolicyResource,
    PolicyResourceOptions,
    ResourceValidationArgs,
    StackValidationArgs,
)
from pulumi_policy.proxy import unknown_checking_proxy

from tests.policy import fixtures as f


def options(protect: bool = False) -> PolicyResourceOptions:
    return PolicyResourceOptions(protect, [], None, [], PolicyCustomTimeouts(0, 0, 0), [], None)


def _props(props: dict, wrap: bool):
    props = copy.deepcopy(props)
    return unknown_checking_proxy(props) if wrap else props


def check(policy, resource_type: str, props: dict, config: dict | None = None, wrap: bool = True) -> list[str]:
    """The messages `policy` reports for one resource."""
    messages: list[str] = []
    args = ResourceValidationArgs(
        resource_type, _props(props, wrap), f.urn(resource_type, "r"), "r", options(), None, config
    )
    policy.validate(args, lambda message, urn=None: messages.append(message))
    return messages


def check_stack(policy, resources: list[dict], config: dict | None = None, wrap: bool = True) -> list[tuple[str, str]]:
    """(urn, message) pairs `policy` reports for a stack of `fixtures.resource(...)` dicts."""
    reported: list[tuple[str, str]] = []
    stack = [
        PolicyResource(r["type"], _props(r["props"], wrap), r["urn"], r["name"], options(r["protect"]), None, None, [], {})
        for r in resources
    ]
    policy.validate(StackValidationArgs(stack, config), lambda message, urn=None: reported.append((urn, message)))
    return reported
