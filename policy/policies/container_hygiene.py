"""Containers are pinned, bounded and unprivileged.

- A floating tag (or none, which means latest) lets a node restart pull a different build
  than the one reviewed, and different replicas run different code.
- Without requests a validator is scheduled onto a full node; without limits one chainlet can
  starve its neighbours.
- Privileged containers, privilege escalation and host namespaces turn one compromised
  chainlet into a compromised node, and the node holds every other validator's keys.

Advisory: charts and third-party images sometimes need an exception, which a reviewer should
see rather than be blocked by. Helm Release values are not inspected; the charts render them.
"""

from __future__ import annotations

import re

from pulumi_policy import EnforcementLevel, ResourceValidationArgs, ResourceValidationPolicy

from . import _util as u

NAME = "pegasus-container-hygiene"

_DIGEST = re.compile(r"@sha256:[0-9a-fA-F]{64}$")
HOST_NAMESPACES = {"hostNetwork": "network", "hostPID": "process", "hostIPC": "IPC"}


def image_is_pinned(image: str) -> bool:
    if _DIGEST.search(image):
        return True
    # Only the last path segment can carry a tag: in `registry:5000/img` the colon is a port.
    last = image.rsplit("/", 1)[-1]
    if ":" not in last:
        return False
    tag = last.split(":", 1)[1]
    return bool(tag) and tag != "latest"


def _present(mapping, key: str) -> bool:
    try:
        return u.get(mapping, key) is not None
    except u.UnknownValueError:
        # An unknown value is still a value: the field is set.
        return True


def _check_image(label: str, container, report_violation) -> None:
    image = u.get(container, "image")
    if isinstance(image, str) and image and not image_is_pinned(image):
        report_violation(
            f"{label} image '{image}' is not pinned; use an explicit version tag or an @sha256 digest"
        )


def _check_resources(label: str, container, report_violation) -> None:
    resources = u.get_mapping(container, "resources")
    missing = []
    for kind in ("requests", "limits"):
        # An unknown requests/limits object may or may not hold cpu and memory: undecidable.
        values = u.get_mapping(resources, kind)
        missing += [f"resources.{kind}.{r}" for r in ("cpu", "memory") if not _present(values, r)]
    if missing:
        report_violation(
            f"{label} does not set {', '.join(missing)}; "
            "set cpu and memory in both resources.requests and resources.limits"
        )


def _check_privileged(label: str, container, report_violation) -> None:
    if u.is_true(u.get(container, "securityContext", "privileged")):
        report_violation(
            f"{label} sets securityContext.privileged to true; "
            "remove it and add only the capabilities the process needs"
        )


def _check_escalation(label: str, container, report_violation) -> None:
    if not u.is_false(u.get(container, "securityContext", "allowPrivilegeEscalation")):
        report_violation(
            f"{label} does not set securityContext.allowPrivilegeEscalation to false; "
            "set it to false explicitly"
        )


CONTAINER_CHECKS = (_check_image, _check_resources, _check_privileged, _check_escalation)


def validate(args: ResourceValidationArgs, report_violation) -> None:
    spec = u.pod_spec(args.resource_type, args.props)
    if spec is None:
        return
    for field, namespace in HOST_NAMESPACES.items():
        with u.undecided():
            if u.is_true(u.get(spec, field)):
                report_violation(
                    f"pod spec sets {field} to true; remove it so that the pod does not share "
                    f"the node's {namespace} namespace"
                )
    for role, index, container in u.containers(spec):
        label = f"{role} '{u.container_name(container, index)}'"
        for check in CONTAINER_CHECKS:
            with u.undecided():
                check(label, container, report_violation)


POLICY = ResourceValidationPolicy(
    name=NAME,
    description=(
        "Every container and init container of a pod spec uses a pinned image (a tag other than "
        "latest, or a digest), sets cpu and memory requests and limits, is not privileged and "
        "sets allowPrivilegeEscalation: false; pods do not use hostNetwork, hostPID or hostIPC. "
        "Helm Release values are not inspected."
    ),
    validate=u.skip_unknown(validate),
    enforcement_level=EnforcementLevel.ADVISORY,
)
