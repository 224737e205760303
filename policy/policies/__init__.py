"""The Pegasus policy pack: every policy, and `evaluate` to run them without the Pulumi CLI.

`policy/__main__.py` hands ALL_POLICIES to `PolicyPack`, which starts a gRPC server and never
returns; tests and tools import this package instead.

Modules use relative imports only: Pulumi runs the pack with `policy/` itself on sys.path
(so this package is `policies`), while tests and the plan tool import it as `policy.policies`.
"""

from __future__ import annotations

from typing import Iterable, Mapping, Optional

from pulumi_policy import EnforcementLevel

from . import (
    bucket_exposure,
    capacity_writer_scope,
    chain_data_claim_templates,
    chain_data_volumes,
    cluster_hardening,
    container_hygiene,
    imdsv2_required,
    karpenter_ami,
    key_material,
    lb_listener_limits,
    no_cluster_admin,
    public_exposure,
    signer_node_expiry,
    signing_workloads,
    tenant_isolation,
    unique_producer_keys,
    ssh_exposure,
    unique_signer_keys,
    volume_encryption,
)
from ._engine import LEVELS, Violation, resolve_config, run_policies

PACK_NAME = "pegasus"
# Every policy sets its own level (a test checks it); this only covers a future omission.
PACK_ENFORCEMENT_LEVEL = EnforcementLevel.ADVISORY

ALL_POLICIES = [
    chain_data_volumes.POLICY,
    chain_data_claim_templates.POLICY,
    signing_workloads.POLICY,
    public_exposure.POLICY,
    lb_listener_limits.POLICY,
    container_hygiene.POLICY,
    key_material.POLICY,
    cluster_hardening.POLICY,
    volume_encryption.POLICY,
    bucket_exposure.POLICY,
    unique_signer_keys.POLICY,
    karpenter_ami.POLICY,
    signer_node_expiry.POLICY,
    tenant_isolation.POLICY,
    no_cluster_admin.POLICY,
    unique_producer_keys.POLICY,
    imdsv2_required.POLICY,
    ssh_exposure.POLICY,
    capacity_writer_scope.POLICY,
]


def evaluate(resources: Iterable[Mapping], config: Optional[Mapping] = None) -> list[Violation]:
    """Run every resource and stack policy over `resources` and return the violations.

    resources: plain dicts `{"urn", "type", "name", "props", "protect", "provider"}`; `urn` and
        `type` are required, `name` defaults to the URN's last segment, `props` (engine camelCase
        inputs; unknowns as the engine's sentinel strings) to {}, `protect` to False, `provider`
        (the URN of the resource's provider, which stack policies see) to none.
    config: the `--policy-config` format, `{"<policy>": {"<prop>": value}}`, plus
        `{"all": level}`, `{"<policy>": level}` and `{"<policy>": {"enforcementLevel": level}}`
        with level one of "advisory", "mandatory", "remediate" or "disabled".

    Violations come in order: resource policies per resource (in the given order, policies in
    ALL_POLICIES order), then stack policies. A policy that calls `not_applicable()` or lets an
    UnknownValueError escape is skipped for that resource. Raises ValueError on malformed
    resources or config (a bad level, a declared property of the wrong type); like the CLI,
    it ignores entries for policies the pack does not have and undeclared properties.
    """
    return run_policies(ALL_POLICIES, resources, config, PACK_ENFORCEMENT_LEVEL)


__all__ = ["ALL_POLICIES", "LEVELS", "PACK_NAME", "PACK_ENFORCEMENT_LEVEL", "Violation", "evaluate", "resolve_config"]
