"""Nothing Pegasus declares is bound to cluster-admin.

The original provider client runs with cluster-admin; here every controller gets the roles
its chart defines and tenants get none. A (Cluster)RoleBinding to cluster-admin hands the
whole cluster, every tenant's Secrets included, to whoever holds the subject.
"""

from __future__ import annotations

from pulumi_policy import EnforcementLevel, ResourceValidationArgs, ResourceValidationPolicy

from . import _util as u

NAME = "pegasus-no-cluster-admin"

BINDINGS = ("kubernetes:rbac.authorization.k8s.io/v1:ClusterRoleBinding", "kubernetes:rbac.authorization.k8s.io/v1:RoleBinding")


def validate(args: ResourceValidationArgs, report_violation) -> None:
    if args.resource_type not in BINDINGS:
        return
    with u.undecided():
        role = u.get(args.props, "roleRef", "name")
        if role == "cluster-admin":
            report_violation(
                f"{u.kind_of(args.resource_type)} '{u.qualified_name(args.props, args.name)}' grants cluster-admin; "
                "bind a role with the verbs and resources the subject needs"
            )


POLICY = ResourceValidationPolicy(
    name=NAME,
    description="No ClusterRoleBinding or RoleBinding refers to the cluster-admin ClusterRole.",
    validate=u.skip_unknown(validate),
    enforcement_level=EnforcementLevel.MANDATORY,
)
