"""Every block producer has its own key.

Two signers loading the same key Secret are two processes signing with one key: a
double-sign as soon as both run, however each is scaled (design 001: "no two daemons are
producing blocks with the same private keys"). The single-instance policy cannot see this,
because each workload is fine on its own; only the whole stack shows the shared Secret.
"""

from __future__ import annotations

from pulumi_policy import EnforcementLevel, StackValidationArgs, StackValidationPolicy

from . import _util as u

NAME = "pegasus-unique-signer-keys"

CONFIG_SCHEMA = u.schema(
    signerLabel=u.LABEL_SCHEMA["signerLabel"],
    allowedSharedSecrets={
        "type": "array",
        "items": {"type": "string"},
        "default": [],
        "description": 'Secrets ("namespace/name") that signers may share because they hold no keys.',
    },
)


def _items(obj, *path) -> list:
    # An unknown list hides some references; skipping it can miss a violation, never invent one.
    try:
        return u.get_list(obj, *path)
    except u.UnknownValueError:
        return []


def secret_references(spec) -> set[str]:
    """Names of the Secrets a pod spec reads: env, envFrom, Secret and projected volumes."""
    names = set()

    def add(obj, *path):
        with u.undecided():
            name = u.get(obj, *path)
            if isinstance(name, str) and name:
                names.add(name)

    for _, _, container in u.containers(spec):
        for env in _items(container, "env"):
            add(env, "valueFrom", "secretKeyRef", "name")
        for source in _items(container, "envFrom"):
            add(source, "secretRef", "name")
    for volume in _items(spec, "volumes"):
        add(volume, "secret", "secretName")
        for source in _items(volume, "projected", "sources"):
            add(source, "secret", "name")
    return names


def validate(args: StackValidationArgs, report_violation) -> None:
    settings = u.config(args, CONFIG_SCHEMA)
    label = u.label_setting(settings.get("signerLabel"), u.SIGNER_LABEL)
    allowed = u.str_list_setting(settings.get("allowedSharedSecrets"))
    users: dict[str, list] = {}
    for resource in args.resources:
        with u.undecided():
            spec = u.pod_spec(resource.resource_type, resource.props)
            if spec is None or u.workload_has_label(resource.resource_type, resource.props, label) is not True:
                continue
            # Secrets are namespaced: an unknown namespace could match anything, or nothing.
            namespace = u.get(resource.props, "metadata", "namespace") or "default"
            for secret in sorted(secret_references(spec)):
                key = f"{namespace}/{secret}"
                if key not in allowed:
                    users.setdefault(key, []).append(resource)
    for secret, workloads in users.items():
        if len(workloads) < 2:
            continue
        shown = {
            w.urn: f"signer {u.kind_of(w.resource_type)} '{u.qualified_name(w.props, w.name)}'" for w in workloads
        }
        for workload in workloads:
            others = ", ".join(shown[w.urn] for w in workloads if w is not workload)
            report_violation(
                f"{shown[workload.urn]} uses Secret '{secret}', as does {others}; "
                "give every block producer its own key Secret",
                workload.urn,
            )


POLICY = StackValidationPolicy(
    name=NAME,
    description=(
        "No two signing workloads (labelled signerLabel: \"true\") reference the same Secret "
        "(namespace and name) through env secretKeyRef, envFrom secretRef or a Secret volume; "
        "Secrets without keys can be listed in allowedSharedSecrets."
    ),
    validate=u.skip_unknown(validate),
    enforcement_level=EnforcementLevel.MANDATORY,
    config_schema=CONFIG_SCHEMA,
)
