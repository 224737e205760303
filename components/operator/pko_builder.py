"""PKO `Stack` objects for sharded mode: one for the platform stack, one per shard stack. Pure.

Every field is one of PKO v2.9.0's Stack spec (operator/api/pulumi/shared/stack_types.go; the
CRD schemas/crds/pulumi.com_stacks.yaml is what the tests validate against):
- the program from git (`projectRepo`, `branch` or `commit`, `repoDir`, `gitAuth`), the same for
  every stack: a shard stack is the same program, told apart by its name;
- one backend and secrets provider (`backend`, `secretsProvider`), credentials from Secrets in
  the Stack's namespace (`envRefs`; a SecretRef without a namespace, which PKO requires unless
  namespace isolation is off);
- `destroyOnFinalize: false`: deleting a Stack object must never destroy chain data;
- a shard lists the platform Stack under `prerequisites`: PKO runs it only after the platform's
  last update succeeded, ran the platform's current reconcile request, and is younger than
  `succeededWithinDuration` (PKO re-runs an older platform first);
- `continueResyncOnCommitMatch` with `resyncFrequencySeconds`: chain state changes without a
  commit, so each stack is also re-run on a timer, which catches what a watcher missed.
"""

from __future__ import annotations

from typing import Any, Mapping, Optional, Sequence

from components.operator.config import OperatorSettings, SecretRef
from components.operator.watcher import stack_object_name
from pegasus import names, sharding
from pegasus.errors import InvalidName

API_VERSION = "pulumi.com/v1"
KIND = "Stack"
COMPONENT = "pulumi-stack"
ROLE_LABEL = "pegasus.saga.xyz/stack-role"
SHARD_LABEL = "pegasus.saga.xyz/shard"


def _secret_ref(ref: SecretRef) -> dict:
    # ResourceRef with type Secret (shared/stack_types.go ResourceSelectorSecret).
    return {"type": "Secret", "secret": {"name": ref.secret, "key": ref.key}}


def _common_spec(settings: OperatorSettings, stack: str, config: Optional[Mapping[str, Any]]) -> dict:
    spec: dict[str, Any] = {"stack": stack, "projectRepo": settings.repo}
    if settings.commit:
        spec["commit"] = settings.commit
    else:
        spec["branch"] = settings.branch
    if settings.repo_dir:
        spec["repoDir"] = settings.repo_dir
    if settings.repo_token:
        spec["gitAuth"] = {"accessToken": _secret_ref(settings.repo_token)}
    spec["backend"] = settings.backend
    if settings.secrets_provider:
        spec["secretsProvider"] = settings.secrets_provider
    if settings.env:
        spec["envRefs"] = {name: _secret_ref(ref) for name, ref in sorted(settings.env.items())}
    if config:
        spec["config"] = dict(config)
    spec.update({
        "serviceAccountName": settings.service_account_name,
        "refresh": settings.refresh,
        "continueResyncOnCommitMatch": True,
        "resyncFrequencySeconds": settings.resync_frequency_seconds,
        "destroyOnFinalize": False,
    })
    return spec


def stack_object(settings: OperatorSettings, stack: str, *, platform: Optional[str] = None,
                 config: Optional[Mapping[str, Any]] = None) -> dict:
    """The Stack object of `stack`; `platform` (a platform stack name) makes it that platform's shard."""
    name = stack_object_name(stack)
    labels = names.labels(COMPONENT, name)
    spec = _common_spec(settings, stack, config)
    if platform is None:
        labels[ROLE_LABEL] = "platform"
    else:
        parsed = sharding.parse_shard_stack(stack)
        if parsed is None or parsed[0] != platform:
            raise InvalidName(f"{stack!r} is not a shard stack of {platform!r}; shard stacks are named "
                             f"{sharding.shard_stack_name(platform, 0)}, {sharding.shard_stack_name(platform, 1)}, ...")
        labels.update({ROLE_LABEL: "shard", SHARD_LABEL: str(parsed[1])})
        spec["prerequisites"] = [{
            "name": stack_object_name(platform),
            "requirement": {"succeededWithinDuration": settings.platform_max_age},
        }]
    return {
        "apiVersion": API_VERSION,
        "kind": KIND,
        "metadata": {
            "name": name,
            "namespace": settings.namespace,
            "labels": labels,
            # The platform stack declares its own Stack object and PKO runs that stack: waiting
            # for the object to become Ready inside the run would wait for the run itself.
            "annotations": {names.SKIP_AWAIT: "true"},
        },
        "spec": spec,
    }


def stack_objects(settings: OperatorSettings, platform: str, shard_stacks: Sequence[str],
                  config: Optional[Mapping[str, Any]] = None) -> list[dict]:
    """The platform's Stack object first, then one per shard stack in the order given."""
    objects = [stack_object(settings, platform, config=config)]
    objects += [stack_object(settings, s, platform=platform, config=config) for s in shard_stacks]
    # Distinct shard stacks of one platform give distinct names; only a repeat collides.
    repeated = sorted({s for s in shard_stacks if list(shard_stacks).count(s) > 1})
    if repeated:
        raise InvalidName(f"shard stack {repeated[0]!r} is listed twice")
    return objects
