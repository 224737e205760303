"""Karpenter never expires a node that can run a signer.

Expiration is a forceful disruption: `karpenter.sh/do-not-disrupt` does not exclude a node
from it, and NodePool disruption budgets do not limit it (Karpenter v1.14.1 docs,
concepts/disruption.md). An expired node running a validator is then either stuck half
drained with no end (no `terminationGracePeriod`), or loses the validator once the grace
period is over. So every NodePool a signing workload can be scheduled onto must say
`expireAfter: Never`, and signer nodes are replaced by an operator (docs/runbooks.md).

"Can be scheduled onto" is read from the pod's nodeSelector and tolerations against the
pool's node labels (template labels, single-valued `In` requirements, karpenter.sh/nodepool)
and taints. Node affinity is not evaluated; an unknown value skips the pair, never reports it.
"""

from __future__ import annotations

from pulumi_policy import EnforcementLevel, StackValidationArgs, StackValidationPolicy

from . import _util as u

NAME = "pegasus-signer-nodes-never-expire"

NODE_POOL = "kubernetes:karpenter.sh/v1:NodePool"
CRD_DEFAULT_EXPIRY = "720h"  # karpenter.sh_nodepools.yaml: spec.template.spec.expireAfter default
# Labels Karpenter or the kubelet set on any node a pool does not restrict; other keys exist
# only where a pool puts them.
WELL_KNOWN_PREFIXES = ("kubernetes.io/", "topology.kubernetes.io/", "node.kubernetes.io/", "karpenter.sh/",
                       "karpenter.k8s.aws/")
BLOCKING_EFFECTS = ("NoSchedule", "NoExecute")

CONFIG_SCHEMA = u.schema(signerLabel=u.LABEL_SCHEMA["signerLabel"])


def _selector_fits(key: str, value: str, pool_name: str, labels, requirements) -> bool:
    if key == "karpenter.sh/nodepool":
        return value == pool_name
    if key in labels:
        return labels[key] == value
    for req in requirements:
        if u.get(req, "key") != key:
            continue
        operator, values = u.get(req, "operator"), u.get_list(req, "values")
        if operator == "In" and value not in values:
            return False
        if operator in ("NotIn", "DoesNotExist") and (operator == "DoesNotExist" or value in values):
            return False
        return True
    return key.startswith(WELL_KNOWN_PREFIXES)


def _tolerated(taint, tolerations) -> bool:
    for t in tolerations:
        effect = u.get(t, "effect")
        if effect and effect != u.get(taint, "effect"):
            continue
        key = u.get(t, "key")
        if not key and u.get(t, "operator") == "Exists":
            return True
        if key != u.get(taint, "key"):
            continue
        if u.get(t, "operator") == "Exists" or u.get(t, "value") == u.get(taint, "value"):
            return True
    return False


def can_run(pool, spec) -> bool:
    """Whether a pod with pod spec `spec` may land on a node of NodePool `pool`. Raises on unknowns."""
    pool_name = u.get(pool, "metadata", "name")
    labels = u.get_mapping(pool, "spec", "template", "metadata", "labels")
    requirements = u.get_list(pool, "spec", "template", "spec", "requirements")
    selector = u.get_mapping(spec, "nodeSelector")
    for key in u.keys(selector):
        if not _selector_fits(key, u.get(selector, key), pool_name, labels, requirements):
            return False
    tolerations = u.get_list(spec, "tolerations")
    for taint in u.get_list(pool, "spec", "template", "spec", "taints"):
        if u.get(taint, "effect") in BLOCKING_EFFECTS and not _tolerated(taint, tolerations):
            return False
    return True


def validate(args: StackValidationArgs, report_violation) -> None:
    label = u.label_setting(u.config(args, CONFIG_SCHEMA).get("signerLabel"), u.SIGNER_LABEL)
    pools = [r for r in args.resources if r.resource_type == NODE_POOL]
    if not pools:
        return
    signers = []
    for resource in args.resources:
        with u.undecided():
            spec = u.pod_spec(resource.resource_type, resource.props)
            if spec is not None and u.workload_has_label(resource.resource_type, resource.props, label) is True:
                signers.append((resource, spec))
    for pool in pools:
        with u.undecided():
            expiry = u.get(pool.props, "spec", "template", "spec", "expireAfter")
            if expiry == "Never":
                continue
            carried = []
            for workload, spec in signers:
                # A pool launches nodes for its own cluster only: in a stack over several clusters
                # (a testnet's regions) a signer elsewhere is not its to carry.
                if pool.provider is not None and workload.provider is not None and pool.provider.urn != workload.provider.urn:
                    continue
                with u.undecided():
                    if can_run(pool.props, spec):
                        carried.append(workload)
            if not carried:
                continue
            first = carried[0]
            more = f" and {len(carried) - 1} more" if len(carried) > 1 else ""
            shown = f"{expiry}" if expiry else f"{CRD_DEFAULT_EXPIRY} (the default)"
            report_violation(
                f"NodePool '{u.name_of(pool.props, pool.name)}' can run signer {u.kind_of(first.resource_type)} "
                f"'{u.qualified_name(first.props, first.name)}'{more} and expires its nodes after {shown}: Karpenter "
                "drains an expired node whatever karpenter.sh/do-not-disrupt and disruption budgets say; set "
                "spec.template.spec.expireAfter to Never, or keep signers off this pool with a taint they do not tolerate",
                pool.urn,
            )


POLICY = StackValidationPolicy(
    name=NAME,
    description=(
        "Every Karpenter NodePool that a signing workload (labelled signerLabel: \"true\") can be scheduled onto, "
        "judged by its nodeSelector and tolerations against the pool's labels, requirements and taints, sets "
        "spec.template.spec.expireAfter to Never."
    ),
    validate=u.skip_unknown(validate),
    enforcement_level=EnforcementLevel.MANDATORY,
    config_schema=CONFIG_SCHEMA,
)
