"""pegasus:operator: parsed once into frozen settings; every bad value one exact error naming its key."""

from __future__ import annotations

import dataclasses

import pytest

from components.operator.config import KEYS, OperatorSettings, SecretRef, WatcherSettings, parse_operator
from pegasus.errors import ConfigError

PASSPHRASE = {"PULUMI_CONFIG_PASSPHRASE": {"secret": "pulumi-secrets", "key": "passphrase"}}


def enabled(**extra) -> dict:
    raw = {"enabled": True, "repo": "https://github.com/example/pegasus.git", "backend": "s3://pegasus-state",
           "secretsProvider": "passphrase", "env": PASSPHRASE}
    raw.update(extra)
    return {k: v for k, v in raw.items() if v is not None}


def error(raw) -> str:
    with pytest.raises(ConfigError) as e:
        parse_operator(raw)
    return str(e.value)


def test_unset_section_is_disabled_with_the_defaults():
    assert parse_operator(None) == OperatorSettings()
    assert parse_operator({}).enabled is False


def test_a_full_section():
    s = parse_operator(enabled(namespace="stacks", commit="0123456789abcdef0123456789abcdef01234567", branch=None,
                               repoDir="infra/pegasus", repoToken={"secret": "git", "key": "token"},
                               serviceAccountName="pegasus-workspace", resyncFrequencySeconds="900", refresh="false",
                               platformMaxAge="30m", watcher={"image": "python:3.13.1-slim", "intervalSeconds": 10}))
    assert s == OperatorSettings(
        enabled=True, namespace="stacks", repo="https://github.com/example/pegasus.git", branch=None,
        commit="0123456789abcdef0123456789abcdef01234567", repo_dir="infra/pegasus", repo_token=SecretRef("git", "token"),
        backend="s3://pegasus-state", secrets_provider="passphrase",
        env={"PULUMI_CONFIG_PASSPHRASE": SecretRef("pulumi-secrets", "passphrase")},
        service_account_name="pegasus-workspace", resync_frequency_seconds=900, refresh=False, platform_max_age="30m",
        watcher=WatcherSettings("python:3.13.1-slim", 10))
    with pytest.raises(dataclasses.FrozenInstanceError):
        s.enabled = False  # type: ignore[misc]


def test_branch_defaults_to_main():
    assert parse_operator(enabled()).branch == "main"


@pytest.mark.parametrize("raw, message", [
    ("yes", "pegasus:operator: must be an object with fields enabled, namespace, repo, branch, commit, repoDir, repoToken, "
            "backend, secretsProvider, env, serviceAccountName, resyncFrequencySeconds, refresh, platformMaxAge, watcher, got the string 'yes'"),
    (enabled(repo=None), "pegasus:operator.repo: is required when operator.enabled is true: the git URL PKO clones this "
                         "program from, like https://github.com/org/pegasus.git"),
    (enabled(repo="github.com/x/y"), "pegasus:operator.repo: 'github.com/x/y' is not a git URL PKO can clone; write "
                                     "https://host/org/repo.git, ssh://... or git@host:org/repo.git"),
    (enabled(backend=None), "pegasus:operator.backend: is required when operator.enabled is true: the state backend every "
                            "stack shares, like s3://my-pulumi-state"),
    (enabled(backend="file:///state"), "pegasus:operator.backend: 'file:///state' is a folder on the workspace pod, lost "
                                       "with it; use a bucket (s3://, gs://, azblob://) or https://"),
    (enabled(backend="ftp://x"), "pegasus:operator.backend: 'ftp://x' must start with one of s3://, gs://, azblob://, https://"),
    (enabled(backend="https://api.pulumi.com"), "pegasus:operator.env: backend https://api.pulumi.com needs PULUMI_ACCESS_TOKEN; "
                                                "add env.PULUMI_ACCESS_TOKEN: {secret: <name>, key: <key>}"),
    (enabled(env={}), "pegasus:operator.env: the passphrase secrets provider needs PULUMI_CONFIG_PASSPHRASE in the workspace "
                      "pods; add env.PULUMI_CONFIG_PASSPHRASE: {secret: <name>, key: <key>}, or set operator.secretsProvider to a KMS URL"),
    (enabled(secretsProvider="default"), "pegasus:operator.secretsProvider: default is the Pulumi Cloud's provider and backend "
                                         "s3://pegasus-state is not one; use passphrase or a KMS URL"),
    (enabled(secretsProvider="vault"), "pegasus:operator.secretsProvider: 'vault' is not a Pulumi secrets provider; use "
                                       "passphrase, default, or a URL awskms://..., gcpkms://..., azurekeyvault://..., hashivault://..."),
    (enabled(env={"1X": {"secret": "a", "key": "b"}}), "pegasus:operator.env.1X: is not an environment variable name "
                                                       "(letters, digits and '_', not a digit first)"),
    (enabled(env={"X": "a/b"}), "pegasus:operator.env.X: must be an object, got the string 'a/b'; write it as "
                                "{secret: <Secret name>, key: <key in it>}"),
    (enabled(env={"X": {"secret": "A_b", "key": "b"}}), "pegasus:operator.env.X.secret: must be a Secret name (lowercase "
                                                        "letters, digits, '-' and '.'), got the string 'A_b'"),
    (enabled(env={"X": {"secret": "a", "key": "b/c"}}), "pegasus:operator.env.X.key: must be a key of the Secret (letters, "
                                                        "digits, '-', '_' and '.'), got the string 'b/c'"),
    (enabled(repoToken={"secret": "a", "key": "b", "user": "c"}), "pegasus:operator.repoToken.user: unknown key; write it as "
                                                                  "{secret: <Secret name>, key: <key in it>}"),
    (enabled(commit="abc", branch="main"), "pegasus:operator.commit: and operator.branch exclude each other (PKO spec.commit, spec.branch); set one"),
    (enabled(commit="abc", branch=None), "pegasus:operator.commit: 'abc' must be a full 40-hex commit hash"),
    (enabled(branch="my branch"), "pegasus:operator.branch: 'my branch' is not a branch name; write it like main or refs/heads/main"),
    (enabled(repoDir="../up"), "pegasus:operator.repoDir: '../up' must be a folder inside the repository, relative to its "
                               "root, like infra/pegasus"),
    (enabled(namespace="Pulumi"), "pegasus:operator.namespace: 'Pulumi' is not a namespace name: at most 63 lowercase "
                                  "letters, digits and '-'"),
    (enabled(resyncFrequencySeconds=30), "pegasus:operator.resyncFrequencySeconds: must be at least 60 (PKO raises anything "
                                         "lower to 60); got 30"),
    (enabled(platformMaxAge="1 hour"), "pegasus:operator.platformMaxAge: '1 hour' is not a Go duration; write it like 30m, 1h or 1h30m"),
    (enabled(serviceAccountName="Pulumi"), "pegasus:operator.serviceAccountName: 'Pulumi' is not a ServiceAccount name "
                                           "(lowercase letters, digits, '-' and '.')"),
    (enabled(watcher={"intervalSeconds": 0}), "pegasus:operator.watcher.intervalSeconds: must be between 1 and 3600; got 0"),
    (enabled(watcher={"image": "python 3"}), "pegasus:operator.watcher.image: 'python 3' is not an image reference; write it "
                                             "like python:3.12.8-slim-bookworm"),
    (enabled(watcher={"every": 3}), "pegasus:operator.watcher.every: unknown key; the known keys of pegasus:operator.watcher "
                                    "are image, intervalSeconds"),
    (enabled(enable=True), "pegasus:operator.enable: unknown key; the known keys of pegasus:operator are enabled, namespace, "
                           "repo, branch, commit, repoDir, repoToken, backend, secretsProvider, env, serviceAccountName, "
                           "resyncFrequencySeconds, refresh, platformMaxAge, watcher"),
    (enabled(refresh="maybe"), "pegasus:operator.refresh: must be a boolean, got the string 'maybe'"),
])
def test_bad_values_name_their_key_and_the_fix(raw, message):
    assert error(raw) == message


def test_a_kms_provider_needs_no_passphrase():
    s = parse_operator(enabled(secretsProvider="awskms://alias/pegasus?region=eu-west-1", env=None))
    assert (s.secrets_provider, s.env) == ("awskms://alias/pegasus?region=eu-west-1", {})


def test_disabled_section_is_still_checked_but_needs_no_repo():
    assert parse_operator({"enabled": False, "namespace": "x"}).namespace == "x"
    assert error({"enabled": False, "namespace": "X"}).startswith("pegasus:operator.namespace:")


def test_keys_cover_every_field_read():
    # The table the config framework takes in: one key per field, each with a description.
    assert [k.path for k in KEYS] == [
        "operator.enabled", "operator.namespace", "operator.repo", "operator.branch", "operator.commit", "operator.repoDir",
        "operator.repoToken", "operator.backend", "operator.secretsProvider", "operator.env", "operator.serviceAccountName",
        "operator.resyncFrequencySeconds", "operator.refresh", "operator.platformMaxAge", "operator.watcher", "operator.watcher.image",
        "operator.watcher.intervalSeconds"]
    assert all(k.description for k in KEYS)


def test_watcher_chain_from_the_chain_settings():
    from components.operator.config import watcher_chain
    from pegasus.chain.reader import RestSource
    from pegasus.config import ChainSettings

    rest = ChainSettings("rest", "http://spc.sagasrv-spc.svc:1317", "/ssc/chainlet", 50, 5, 2, None)
    assert watcher_chain(rest) == RestSource("http://spc.sagasrv-spc.svc:1317", "/ssc/chainlet", 50, 5, 2)
    with pytest.raises(ConfigError) as e:
        watcher_chain(ChainSettings("snapshot", None, "/ssc/chainlet", 100, 10, 3, "chain.json"))
    assert str(e.value) == ("pegasus:chain.source: is 'snapshot', and operator.enabled needs rest with chain.endpoint set: the "
                            "watcher reads the chain's REST API from inside the cluster; set chain.source rest and chain.endpoint")
