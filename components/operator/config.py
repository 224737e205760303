"""`pegasus:operator`: running the sharded stacks with the Pulumi Kubernetes Operator (PKO v2.9.0).

Parsed once into a frozen `OperatorSettings`, every error one line naming its key and the fix.
The keys are declared here (`KEYS`) so that the config framework can take them in as one more
section; every field maps to one field of PKO's `Stack` spec (pko_builder.py says which).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Mapping, Optional

from pegasus.config.fields import _DNS1123, _ENV_NAME, _Section, _describe
from pegasus.errors import ConfigError

from components.operator.keys import (  # noqa: F401  (re-exported)
    DEFAULT_INTERVAL_SECONDS, DEFAULT_NAMESPACE, DEFAULT_PLATFORM_MAX_AGE, DEFAULT_RESYNC_SECONDS, DEFAULT_SERVICE_ACCOUNT,
    DEFAULT_WATCHER_IMAGE, KEYS, MIN_RESYNC_SECONDS, SECTION,
)

# Self-managed backends keep state in a bucket; file:// would be the workspace pod's own disk,
# lost with the pod. https:// is the Pulumi Cloud (or a self-hosted one).
BACKEND_SCHEMES = ("s3", "gs", "azblob", "https")
SECRETS_PROVIDERS = ("default", "passphrase", "awskms", "gcpkms", "azurekeyvault", "hashivault")
_COMMIT = re.compile(r"^[0-9a-f]{40}$")
# git@host:path (scp-like) or a URL git can clone over the network.
_REPO = re.compile(r"^(https://[^\s]+|ssh://[^\s]+|git@[A-Za-z0-9.-]+:[^\s]+)$")
_SECRET_KEY = re.compile(r"^[-._a-zA-Z0-9]+$")
_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
# metav1.Duration parses with Go's time.ParseDuration.
_GO_DURATION = re.compile(r"^([0-9]+(\.[0-9]+)?(ns|us|µs|ms|s|m|h))+$")


class _Sub(_Section):
    """A section whose known fields come from this module's KEYS, not the framework's."""

    @staticmethod
    def _known(name: str) -> str:
        fields = [k.path[len(name) + 1:].split(".")[0] for k in KEYS if k.path.startswith(name + ".")]
        return ", ".join(dict.fromkeys(fields))


@dataclass(frozen=True)
class SecretRef:
    """One key of a Secret in the operator namespace (PKO ResourceRef type Secret)."""

    secret: str
    key: str


@dataclass(frozen=True)
class WatcherSettings:
    image: str = DEFAULT_WATCHER_IMAGE
    interval_seconds: int = DEFAULT_INTERVAL_SECONDS


@dataclass(frozen=True)
class OperatorSettings:
    enabled: bool = False
    namespace: str = DEFAULT_NAMESPACE
    repo: Optional[str] = None
    branch: Optional[str] = "main"
    commit: Optional[str] = None
    repo_dir: Optional[str] = None
    repo_token: Optional[SecretRef] = None
    backend: Optional[str] = None
    secrets_provider: Optional[str] = None
    env: Mapping[str, SecretRef] = field(default_factory=dict)
    service_account_name: str = DEFAULT_SERVICE_ACCOUNT
    resync_frequency_seconds: int = DEFAULT_RESYNC_SECONDS
    refresh: bool = True
    platform_max_age: str = DEFAULT_PLATFORM_MAX_AGE
    watcher: WatcherSettings = WatcherSettings()


def _secret_ref(key: str, value: Any) -> SecretRef:
    fix = "write it as {secret: <Secret name>, key: <key in it>}"
    if not isinstance(value, dict):
        raise ConfigError(key, f"must be an object, got {_describe(value)}; {fix}")
    unknown = sorted(set(value) - {"secret", "key"})
    if unknown:
        raise ConfigError(f"{key}.{unknown[0]}", f"unknown key; {fix}")
    name, item = value.get("secret"), value.get("key")
    if not isinstance(name, str) or not _SUBDOMAIN.match(name) or len(name) > 253:
        raise ConfigError(f"{key}.secret", f"must be a Secret name (lowercase letters, digits, '-' and '.'), got {_describe(name)}")
    if not isinstance(item, str) or not _SECRET_KEY.match(item):
        raise ConfigError(f"{key}.key", f"must be a key of the Secret (letters, digits, '-', '_' and '.'), got {_describe(item)}")
    return SecretRef(name, item)


def _backend(s: _Section) -> str:
    backend = s.get("backend", str)
    if not backend:
        raise ConfigError(s.key("backend"), "is required when operator.enabled is true: the state backend every stack shares, like s3://my-pulumi-state")
    scheme = backend.split("://", 1)[0] if "://" in backend else ""
    if scheme == "file":
        raise ConfigError(s.key("backend"), f"{backend!r} is a folder on the workspace pod, lost with it; use a bucket (s3://, gs://, azblob://) or https://")
    if scheme not in BACKEND_SCHEMES:
        raise ConfigError(s.key("backend"), f"{backend!r} must start with one of {', '.join(f'{x}://' for x in BACKEND_SCHEMES)}")
    return backend


def _secrets_provider(s: _Section) -> Optional[str]:
    value = s.get("secretsProvider", str)
    if value is None:
        return None
    kind = value.split("://", 1)[0]
    if (value in ("default", "passphrase")) or (kind in SECRETS_PROVIDERS[2:] and "://" in value and value.split("://", 1)[1]):
        return value
    raise ConfigError(s.key("secretsProvider"), f"{value!r} is not a Pulumi secrets provider; use passphrase, default, or a URL "
                      "awskms://..., gcpkms://..., azurekeyvault://..., hashivault://...")


def parse_operator(raw: Optional[Mapping[str, Any]]) -> OperatorSettings:
    """`pegasus:operator` as a plain mapping (None: the section is not set)."""
    s = _Sub(SECTION, dict(raw) if isinstance(raw, Mapping) else raw)
    enabled = s.get("enabled", bool, False)
    namespace = s.get("namespace", str, DEFAULT_NAMESPACE)
    if not _DNS1123.match(namespace) or len(namespace) > 63:
        raise ConfigError(s.key("namespace"), f"{namespace!r} is not a namespace name: at most 63 lowercase letters, digits and '-'")
    watcher = _Sub(f"{SECTION}.watcher", s.get("watcher", dict, {}))
    image = watcher.get("image", str, DEFAULT_WATCHER_IMAGE)
    if not image or any(c.isspace() for c in image):
        raise ConfigError(watcher.key("image"), f"{image!r} is not an image reference; write it like {DEFAULT_WATCHER_IMAGE}")
    interval = watcher.int_range("intervalSeconds", DEFAULT_INTERVAL_SECONDS, 1, 3600)
    watcher.check_unknown()
    resync = s.get("resyncFrequencySeconds", int, DEFAULT_RESYNC_SECONDS)
    if resync < MIN_RESYNC_SECONDS:
        raise ConfigError(s.key("resyncFrequencySeconds"), f"must be at least {MIN_RESYNC_SECONDS} (PKO raises anything lower to 60); got {resync}")
    max_age = s.get("platformMaxAge", str, DEFAULT_PLATFORM_MAX_AGE)
    if not _GO_DURATION.match(max_age):
        raise ConfigError(s.key("platformMaxAge"), f"{max_age!r} is not a Go duration; write it like 30m, 1h or 1h30m")
    account = s.get("serviceAccountName", str, DEFAULT_SERVICE_ACCOUNT)
    if not _SUBDOMAIN.match(account) or len(account) > 253:
        raise ConfigError(s.key("serviceAccountName"), f"{account!r} is not a ServiceAccount name (lowercase letters, digits, '-' and '.')")
    env_raw = s.get("env", dict, {})
    env = {}
    for name, ref in env_raw.items():
        if not _ENV_NAME.match(name):
            raise ConfigError(f"{s.key('env')}.{name}", "is not an environment variable name (letters, digits and '_', not a digit first)")
        env[name] = _secret_ref(f"{s.key('env')}.{name}", ref)
    token = s.raw("repoToken")
    repo_token = None if token is None else _secret_ref(s.key("repoToken"), token)
    repo_dir = s.get("repoDir", str)
    if repo_dir is not None and (repo_dir.startswith("/") or ".." in repo_dir.split("/") or not repo_dir.strip()):
        raise ConfigError(s.key("repoDir"), f"{repo_dir!r} must be a folder inside the repository, relative to its root, like infra/pegasus")
    commit = s.get("commit", str)
    branch = s.get("branch", str)
    if commit is not None and branch is not None:
        raise ConfigError(s.key("commit"), "and operator.branch exclude each other (PKO spec.commit, spec.branch); set one")
    if commit is not None and not _COMMIT.match(commit):
        raise ConfigError(s.key("commit"), f"{commit!r} must be a full 40-hex commit hash")
    if commit is None and branch is None:
        branch = "main"
    if branch is not None and (not branch.strip() or any(c.isspace() for c in branch)):
        raise ConfigError(s.key("branch"), f"{branch!r} is not a branch name; write it like main or refs/heads/main")
    repo = s.get("repo", str)
    secrets_provider = _secrets_provider(s)
    refresh = s.get("refresh", bool, True)
    backend = s.get("backend", str)
    s.check_unknown()
    if not enabled:
        return OperatorSettings(enabled=False, namespace=namespace, repo=repo, branch=branch, commit=commit, repo_dir=repo_dir,
                                repo_token=repo_token, backend=backend, secrets_provider=secrets_provider, env=env,
                                service_account_name=account, resync_frequency_seconds=resync, refresh=refresh,
                                platform_max_age=max_age, watcher=WatcherSettings(image, interval))
    if not repo:
        raise ConfigError(s.key("repo"), "is required when operator.enabled is true: the git URL PKO clones this program from, like https://github.com/org/pegasus.git")
    if not _REPO.match(repo):
        raise ConfigError(s.key("repo"), f"{repo!r} is not a git URL PKO can clone; write https://host/org/repo.git, ssh://... or git@host:org/repo.git")
    backend = _backend(s)
    if backend.startswith("https://") and "PULUMI_ACCESS_TOKEN" not in env:
        raise ConfigError(s.key("env"), f"backend {backend} needs PULUMI_ACCESS_TOKEN; add env.PULUMI_ACCESS_TOKEN: {{secret: <name>, key: <key>}}")
    if secrets_provider == "default" and not backend.startswith("https://"):
        raise ConfigError(s.key("secretsProvider"), f"default is the Pulumi Cloud's provider and backend {backend} is not one; use passphrase or a KMS URL")
    # Unset, each stack keeps the provider its Pulumi.<stack>.yaml names; only an explicit
    # passphrase is known here to need one.
    if secrets_provider == "passphrase" and not {"PULUMI_CONFIG_PASSPHRASE", "PULUMI_CONFIG_PASSPHRASE_FILE"} & set(env):
        raise ConfigError(s.key("env"), "the passphrase secrets provider needs PULUMI_CONFIG_PASSPHRASE in the workspace pods; "
                          "add env.PULUMI_CONFIG_PASSPHRASE: {secret: <name>, key: <key>}, or set operator.secretsProvider to a KMS URL")
    return OperatorSettings(enabled=True, namespace=namespace, repo=repo, branch=branch, commit=commit, repo_dir=repo_dir,
                            repo_token=repo_token, backend=backend, secrets_provider=secrets_provider, env=env,
                            service_account_name=account, resync_frequency_seconds=resync, refresh=refresh,
                            platform_max_age=max_age, watcher=WatcherSettings(image, interval))


def watcher_chain(chain: Any) -> "RestSource":
    """The watcher's chain source from the validator's chain settings (pegasus.config
    ChainSettings): it reads the chain's REST API from inside the cluster, so a snapshot will not do."""
    from pegasus.chain.reader import RestSource

    if chain.source != "rest" or not chain.endpoint:
        raise ConfigError("chain.source", f"is {chain.source!r}, and operator.enabled needs rest with chain.endpoint set: the "
                          "watcher reads the chain's REST API from inside the cluster; set chain.source rest and chain.endpoint")
    return RestSource(chain.endpoint, chain.api_prefix, chain.page_limit, chain.timeout_seconds, chain.retries)
