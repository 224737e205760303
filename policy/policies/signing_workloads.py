"""A validator key signs from exactly one process, including during a rollout.

Two processes holding the same consensus key sign conflicting blocks (a double-sign), and
the chain slashes and jails the validator for it. So a signer runs at most one replica, and
a Deployment must stop the old pod before starting the new one: Recreate does that, and
RollingUpdate does only with maxSurge 0. Kubernetes' default RollingUpdate surges by 25%,
which for one replica is one extra pod: a second signer for the length of the rollout.
"""

from __future__ import annotations

from pulumi_policy import EnforcementLevel, ResourceValidationArgs, ResourceValidationPolicy

from . import _util as u

NAME = "pegasus-signers-single-instance"

DEPLOYMENT = "kubernetes:apps/v1:Deployment"
STATEFUL_SET = "kubernetes:apps/v1:StatefulSet"
REPLICA_SET = "kubernetes:apps/v1:ReplicaSet"
DAEMON_SET = "kubernetes:apps/v1:DaemonSet"
SCALABLE = (DEPLOYMENT, STATEFUL_SET, REPLICA_SET)

CONFIG_SCHEMA = u.schema(signerLabel=u.LABEL_SCHEMA["signerLabel"])


def _is_zero(value) -> bool:
    if u.as_int(value) == 0:
        return True
    return isinstance(value, str) and value.strip() in ("0", "0%")


def _check_replicas(args: ResourceValidationArgs, report_violation) -> None:
    replicas = u.as_int(u.get(args.props, "spec", "replicas"))
    if replicas is not None and replicas > 1:
        report_violation(
            f"spec.replicas is {replicas} on a signer; set it to 1 (or 0), "
            "because two running copies of a validator key double-sign"
        )


def _check_strategy(args: ResourceValidationArgs, report_violation) -> None:
    strategy_type = u.get(args.props, "spec", "strategy", "type", default="RollingUpdate")
    if strategy_type != "RollingUpdate":
        return
    max_surge = u.get(args.props, "spec", "strategy", "rollingUpdate", "maxSurge")
    if max_surge is not None and _is_zero(max_surge):
        return
    shown = "25% (the default)" if max_surge is None else u.plain(max_surge)
    report_violation(
        f"spec.strategy is RollingUpdate with maxSurge {shown} on a signer; "
        "set spec.strategy.type to Recreate so that the old pod stops before the new one starts"
    )


def validate(args: ResourceValidationArgs, report_violation) -> None:
    if args.resource_type not in SCALABLE + (DAEMON_SET,):
        return
    label = u.label_setting(u.config(args, CONFIG_SCHEMA).get("signerLabel"), u.SIGNER_LABEL)
    if u.workload_has_label(args.resource_type, args.props, label) is not True:
        return
    if args.resource_type == DAEMON_SET:
        report_violation(
            "a signer must not be a DaemonSet, which runs one copy per node; "
            "run it as a StatefulSet or Deployment with spec.replicas 1"
        )
        return
    with u.undecided():
        _check_replicas(args, report_violation)
    if args.resource_type == DEPLOYMENT:
        with u.undecided():
            _check_strategy(args, report_violation)


POLICY = ResourceValidationPolicy(
    name=NAME,
    description=(
        "A signing workload (labelled signerLabel: \"true\") runs at most one replica and never "
        "overlaps two copies during a rollout: a signer Deployment uses strategy Recreate or "
        "RollingUpdate with maxSurge 0, and a signer is never a DaemonSet."
    ),
    validate=u.skip_unknown(validate),
    enforcement_level=EnforcementLevel.MANDATORY,
    config_schema=CONFIG_SCHEMA,
)
