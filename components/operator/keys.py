"""The keys of `pegasus:operator` and their defaults. A module of its own, with no imports from
pegasus.config, because pegasus/config/keys.py takes these in as one more section."""

from __future__ import annotations

from pegasus.config.keys import Key

SECTION = "operator"
DEFAULT_NAMESPACE = "pulumi-stacks"
# PKO's workspace pods run as this ServiceAccount (Stack spec.serviceAccountName; the
# Workspace's own default is "default", operator/api/auto/v1alpha1/workspace_types.go v2.9.0).
DEFAULT_SERVICE_ACCOUNT = "pulumi"
# A Docker Official Image pinned by version tag, as the settler's: the watcher needs the
# standard library only.
DEFAULT_WATCHER_IMAGE = "python:3.12.8-slim-bookworm"
# Saga's own controller polls every 5 s (issue 26); the reconcile tool's --interval default too.
DEFAULT_INTERVAL_SECONDS = 5
# PKO treats resyncFrequencySeconds below 60 as 60 (stack_controller.go resyncFreq, v2.9.0):
# a smaller value would be silently raised, so it is refused here.
MIN_RESYNC_SECONDS = 60
DEFAULT_RESYNC_SECONDS = 600
DEFAULT_PLATFORM_MAX_AGE = "1h"

def _k(path, type_, default, description):
    return Key(f"{SECTION}.{path}", type_, default, description)


KEYS: tuple[Key, ...] = (
    _k("enabled", "boolean", False, "Sharded mode: the platform stack also declares one Pulumi Kubernetes Operator Stack object per stack and a watcher that requests their reconciles (docs/operator.md). Needs PKO 2.9.0 installed (charts/pulumi-kubernetes-operator-2.9.0.tgz)."),
    _k("namespace", "string", DEFAULT_NAMESPACE, "Namespace of the Stack objects, their workspace pods, the watcher and the Secrets named in env and repoToken."),
    _k("repo", "string", None, "Git repository of this program (PKO spec.projectRepo): https://..., ssh://... or git@host:path. Required when enabled."),
    _k("branch", "string", "main", "Branch PKO follows (spec.branch); exclusive with commit."),
    _k("commit", "string", None, "A 40-hex commit to deploy instead of a branch (spec.commit)."),
    _k("repoDir", "string", None, "Folder of Pulumi.yaml inside the repository (spec.repoDir); unset: the root."),
    _k("repoToken", "object", None, "{secret, key}: a Secret key holding a token for a private repository (spec.gitAuth.accessToken)."),
    _k("backend", "string", None, "State backend URL shared by every stack (spec.backend): s3://, gs://, azblob:// or https://. Required when enabled."),
    _k("secretsProvider", "string", None, "Secrets provider of every stack (spec.secretsProvider): passphrase, awskms://..., gcpkms://..., azurekeyvault://..., hashivault://... or default. Unset: the stack's own."),
    _k("env", "object", {}, "Environment of the workspace pods from Secrets (spec.envRefs): {ENV_NAME: {secret, key}}, e.g. PULUMI_CONFIG_PASSPHRASE, AWS_ACCESS_KEY_ID."),
    _k("serviceAccountName", "string", DEFAULT_SERVICE_ACCOUNT, "ServiceAccount of the workspace pods (spec.serviceAccountName); it needs system:auth-delegator and the rights the program uses."),
    _k("resyncFrequencySeconds", "integer", DEFAULT_RESYNC_SECONDS, "How often PKO re-runs each stack without a change (continueResyncOnCommitMatch) and polls the branch; at least 60."),
    _k("refresh", "boolean", True, "Refresh each stack before its update (spec.refresh)."),
    _k("platformMaxAge", "string", DEFAULT_PLATFORM_MAX_AGE, "A shard stack runs only after the platform stack succeeded within this Go duration (prerequisites[].requirement.succeededWithinDuration); PKO re-runs an older platform first."),
    _k("watcher", "object", {}, "The watcher Deployment that requests reconciles: {image, intervalSeconds}."),
    _k("watcher.image", "string", DEFAULT_WATCHER_IMAGE, "Image of the watcher (a Python 3.9+ image; the watcher uses the standard library only)."),
    _k("watcher.intervalSeconds", "integer", DEFAULT_INTERVAL_SECONDS, "Seconds between the watcher's chain reads, 1 to 3600."),
)


