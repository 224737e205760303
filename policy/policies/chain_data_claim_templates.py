"""No volumeClaimTemplates on a StatefulSet that signs or holds chain data.

volumeClaimTemplates are immutable: changing one (a size, a label, a storage class) makes
Pulumi replace the whole StatefulSet, and the claims it generated are managed by the
StatefulSet controller, not by Pulumi, so they cannot be protected. Chain data must live in
separately declared, protected PersistentVolumeClaims that the pod template mounts by name.
"""

from __future__ import annotations

from pulumi_policy import EnforcementLevel, ResourceValidationArgs, ResourceValidationPolicy

from . import _util as u

NAME = "pegasus-chain-data-no-claim-templates"

STATEFUL_SET = "kubernetes:apps/v1:StatefulSet"

CONFIG_SCHEMA = u.schema(**u.LABEL_SCHEMA)


def _in_scope(args: ResourceValidationArgs, templates: list, settings: dict):
    """True, False, or None when unknown labels leave it undecidable."""
    signer = u.label_setting(settings.get("signerLabel"), u.SIGNER_LABEL)
    chain_data = u.label_setting(settings.get("chainDataLabel"), u.CHAIN_DATA_LABEL)
    verdicts = [
        u.workload_has_label(args.resource_type, args.props, signer),
        u.workload_has_label(args.resource_type, args.props, chain_data),
    ]
    for template in templates:
        try:
            verdicts.append(u.has_label(template, chain_data))
        except u.UnknownValueError:
            verdicts.append(None)
    if any(v is True for v in verdicts):
        return True
    return None if any(v is None for v in verdicts) else False


def validate(args: ResourceValidationArgs, report_violation) -> None:
    if args.resource_type != STATEFUL_SET:
        return
    with u.undecided():
        templates, some_unknown = u.get_list_with_unknowns(args.props, "spec", "volumeClaimTemplates")
        if not templates and not some_unknown:
            return
        if _in_scope(args, templates, u.config(args, CONFIG_SCHEMA)) is not True:
            return
        names = ", ".join(f"'{u.name_of(t)}'" for t in templates) or "'?'"
        report_violation(
            f"spec.volumeClaimTemplates declares {names} on a StatefulSet that signs blocks or holds "
            "chain data; mount a separately managed, protected PersistentVolumeClaim instead"
        )


POLICY = ResourceValidationPolicy(
    name=NAME,
    description=(
        "A StatefulSet that is a signer or holds chain data must not declare volumeClaimTemplates: "
        "changing them replaces the whole set, and the claims they create cannot be protected."
    ),
    validate=u.skip_unknown(validate),
    enforcement_level=EnforcementLevel.MANDATORY,
    config_schema=CONFIG_SCHEMA,
)
