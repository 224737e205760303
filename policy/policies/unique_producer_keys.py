"""No two block producers share a key, across every cluster of the stack.

pegasus-unique-signer-keys compares Secret names within a namespace, which cannot see two
regions: a testnet's namespace has the same name in every cluster, and each region's Secret
is its own copy. What names the key itself is the secret-manager entry: the key-ref
annotation on a producer's pod template, and the remote key of a producer's ExternalSecret
(design 001: "no two daemons are producing blocks with the same private keys").
"""

from __future__ import annotations

from pulumi_policy import EnforcementLevel, StackValidationArgs, StackValidationPolicy

from . import _util as u

NAME = "pegasus-unique-producer-keys"
KEY_REF_ANNOTATION = "pegasus.saga.xyz/key-ref"
ROLE_LABEL = "pegasus.saga.xyz/role"
EXTERNAL_SECRET = "kubernetes:external-secrets.io/v1:ExternalSecret"

CONFIG_SCHEMA = u.schema(signerLabel=u.LABEL_SCHEMA["signerLabel"])


def _remote_keys(props) -> list[str]:
    keys = []
    for item in u.get_list(props, "spec", "dataFrom"):
        with u.undecided():
            key = u.get(item, "extract", "key")
            if isinstance(key, str) and key:
                keys.append(key)
    for item in u.get_list(props, "spec", "data"):
        with u.undecided():
            key = u.get(item, "remoteRef", "key")
            if isinstance(key, str) and key:
                keys.append(key)
    return sorted(set(keys))


def validate(args: StackValidationArgs, report_violation) -> None:
    settings = u.config(args, CONFIG_SCHEMA)
    label = u.label_setting(settings.get("signerLabel"), u.SIGNER_LABEL)
    users: dict[tuple[str, str], list] = {}
    for resource in args.resources:
        with u.undecided():
            if resource.resource_type == EXTERNAL_SECRET:
                if u.get(resource.props, "metadata", "labels", ROLE_LABEL) != "producer":
                    continue
                for key in _remote_keys(resource.props):
                    users.setdefault(("ExternalSecret", key), []).append(resource)
                continue
            spec = u.pod_spec(resource.resource_type, resource.props)
            if spec is None or u.workload_has_label(resource.resource_type, resource.props, label) is not True:
                continue
            ref = u.get(resource.props, "spec", "template", "metadata", "annotations", KEY_REF_ANNOTATION)
            if isinstance(ref, str) and ref:
                users.setdefault(("workload", ref), []).append(resource)
    for (_, key), owners in users.items():
        if len(owners) < 2:
            continue
        shown = {o.urn: f"{u.kind_of(o.resource_type)} '{u.qualified_name(o.props, o.name)}' ({o.urn.split('::')[-1]})" for o in owners}
        for owner in owners:
            others = ", ".join(shown[o.urn] for o in owners if o is not owner)
            report_violation(
                f"block producer {shown[owner.urn]} uses key '{key}', as does {others}; give every block producer its own key",
                owner.urn,
            )


POLICY = StackValidationPolicy(
    name=NAME,
    description=(
        "No two signing workloads carry the same pegasus.saga.xyz/key-ref annotation, and no two producer "
        "ExternalSecrets read the same remote key, in any cluster of the stack."
    ),
    validate=u.skip_unknown(validate),
    enforcement_level=EnforcementLevel.MANDATORY,
    config_schema=CONFIG_SCHEMA,
)
