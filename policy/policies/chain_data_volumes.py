"""Chain data survives every Pulumi operation.

Resyncing a chain from genesis takes days, and a validator that lost its data misses blocks
meanwhile, so deleting a chain-data volume is never a routine change. Two layers keep it:
`protect` makes Pulumi refuse to delete the claim, and a StorageClass with reclaimPolicy
Retain keeps the disk even if the claim goes anyway.

The third layer, `retain_on_delete`, is invisible here: the analyzer protocol carries
`protect` but no retainOnDelete option. Retain at the Kubernetes level is what we can verify.
"""

from __future__ import annotations

from pulumi_policy import EnforcementLevel, StackValidationArgs, StackValidationPolicy

from . import _util as u

NAME = "pegasus-chain-data-volumes-protected"

PVC = "kubernetes:core/v1:PersistentVolumeClaim"
STORAGE_CLASS = "kubernetes:storage.k8s.io/v1:StorageClass"
DEFAULT_CLASS_ANNOTATION = "storageclass.kubernetes.io/is-default-class"

CONFIG_SCHEMA = u.schema(chainDataLabel=u.LABEL_SCHEMA["chainDataLabel"])


def _storage_classes(resources) -> tuple[dict, list]:
    """(StorageClasses declared in the stack by name, the ones annotated as the default)."""
    by_name, default = {}, []
    for resource in resources:
        if resource.resource_type != STORAGE_CLASS:
            continue
        with u.undecided():
            name = u.get(resource.props, "metadata", "name")
            if isinstance(name, str):
                by_name[name] = resource
        with u.undecided():
            if u.is_true(u.get(resource.props, "metadata", "annotations", DEFAULT_CLASS_ANNOTATION)):
                default.append(resource)
    return by_name, default


def _class_of(claim, by_name: dict, default: list):
    """The StorageClass resource behind a claim, if the stack declares it. Raises if unknown."""
    class_name = u.get(claim.props, "spec", "storageClassName")
    if class_name is None:
        # No class named: the cluster default applies, which we know only if the stack sets it.
        return default[0] if len(default) == 1 else None
    # "" asks for no class at all (a pre-bound PersistentVolume), which no StorageClass governs.
    return by_name.get(class_name) if class_name else None


def validate(args: StackValidationArgs, report_violation) -> None:
    label = u.label_setting(u.config(args, CONFIG_SCHEMA).get("chainDataLabel"), u.CHAIN_DATA_LABEL)
    by_name, default = _storage_classes(args.resources)
    reported_classes = set()
    for claim in args.resources:
        if claim.resource_type != PVC:
            continue
        with u.undecided():
            if not u.has_label(claim.props, label):
                continue
            if not claim.opts.protect:
                report_violation(
                    f"PersistentVolumeClaim '{u.qualified_name(claim.props, claim.name)}' holds chain data "
                    "but is not protected; set the resource option protect=True "
                    "(with retain_on_delete=True) on it",
                    claim.urn,
                )
            storage_class = _class_of(claim, by_name, default)
            if storage_class is None or storage_class.urn in reported_classes:
                continue
            policy = u.get(storage_class.props, "reclaimPolicy")
            if policy != "Retain":
                reported_classes.add(storage_class.urn)
                shown = u.show(policy) if policy is not None else "unset (Kubernetes defaults to 'Delete')"
                report_violation(
                    f"StorageClass '{u.name_of(storage_class.props, storage_class.name)}' backs chain-data "
                    f"claims but its reclaimPolicy is {shown}; set reclaimPolicy to 'Retain' "
                    "so that a deleted claim keeps its volume",
                    storage_class.urn,
                )


POLICY = StackValidationPolicy(
    name=NAME,
    description=(
        "Chain-data PersistentVolumeClaims (labelled chainDataLabel: \"true\") must be protected, "
        "and a StorageClass the stack declares for them must have reclaimPolicy Retain. "
        "The analyzer cannot see retainOnDelete (the protocol carries only protect), "
        "so Retain on the StorageClass stands in for it."
    ),
    validate=u.skip_unknown(validate),
    enforcement_level=EnforcementLevel.MANDATORY,
    config_schema=CONFIG_SCHEMA,
)
