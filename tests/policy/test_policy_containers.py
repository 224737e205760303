"""pegasus-container-hygiene and pegasus-no-plaintext-key-material."""

import base64

import pytest

from policy.policies import container_hygiene, key_material
from tests.policy import fixtures as f
from tests.policy.harness import check

HYGIENE = container_hygiene.POLICY
KEYS = key_material.POLICY

WORKLOADS = [
    (f.POD, f.pod, ("spec",)),
    (f.DEPLOYMENT, f.deployment, ("spec", "template", "spec")),
    (f.STATEFUL_SET, f.stateful_set, ("spec", "template", "spec")),
    (f.DAEMON_SET, f.daemon_set, ("spec", "template", "spec")),
    (f.REPLICA_SET, f.replica_set, ("spec", "template", "spec")),
    (f.JOB, f.job, ("spec", "template", "spec")),
    (f.CRON_JOB, f.cron_job, ("spec", "jobTemplate", "spec", "template", "spec")),
]
IDS = [kind.rsplit(":", 1)[-1] for kind, _, _ in WORKLOADS]


def spec_of(props, path):
    for key in path:
        props = props[key]
    return props


def main_container(props, path):
    return spec_of(props, path)["containers"][0]


# --- hygiene ----------------------------------------------------------------------------


@pytest.mark.parametrize("kind, make, path", WORKLOADS, ids=IDS)
def test_golden_workloads_pass(kind, make, path):
    assert check(HYGIENE, kind, make()) == []
    assert check(KEYS, kind, make()) == []


@pytest.mark.parametrize("kind, make, path", WORKLOADS, ids=IDS)
def test_every_workload_kind_finds_its_pod_spec(kind, make, path):
    props = make()
    main_container(props, path)["image"] = "sagaxyz/sagaos:latest"
    assert check(HYGIENE, kind, props) == [
        "container 'chainlet' image 'sagaxyz/sagaos:latest' is not pinned; use an explicit version tag or an @sha256 digest"
    ]


@pytest.mark.parametrize(
    "image",
    [
        "sagaxyz/sagaos",
        "sagaxyz/sagaos:latest",
        "registry.example.com:5000/sagaos",
        "sagaxyz/sagaos:",
    ],
)
def test_unpinned_images(image):
    assert not container_hygiene.image_is_pinned(image)


@pytest.mark.parametrize(
    "image",
    [
        "sagaxyz/sagaos:0.9.1",
        "registry.example.com:5000/sagaos:0.9.1",
        "sagaxyz/sagaos@sha256:" + "a" * 64,
        "sagaxyz/sagaos:latest@sha256:" + "0123456789abcdef" * 4,
    ],
)
def test_pinned_images(image):
    assert container_hygiene.image_is_pinned(image)


def test_init_containers_are_checked_and_named_as_such():
    props = f.stateful_set()
    props["spec"]["template"]["spec"]["initContainers"][0]["image"] = "busybox"
    assert check(HYGIENE, f.STATEFUL_SET, props) == [
        "init container 'init-config' image 'busybox' is not pinned; use an explicit version tag or an @sha256 digest"
    ]


def test_missing_limits_are_listed():
    props = f.pod()
    del props["spec"]["containers"][0]["resources"]["limits"]
    assert check(HYGIENE, f.POD, props) == [
        "container 'chainlet' does not set resources.limits.cpu, resources.limits.memory; "
        "set cpu and memory in both resources.requests and resources.limits"
    ]


def test_missing_request_memory_is_listed():
    props = f.pod()
    del props["spec"]["containers"][0]["resources"]["requests"]["memory"]
    assert check(HYGIENE, f.POD, props) == [
        "container 'chainlet' does not set resources.requests.memory; "
        "set cpu and memory in both resources.requests and resources.limits"
    ]


def test_missing_resources_lists_all_four():
    props = f.pod()
    del props["spec"]["containers"][0]["resources"]
    assert check(HYGIENE, f.POD, props) == [
        "container 'chainlet' does not set resources.requests.cpu, resources.requests.memory, "
        "resources.limits.cpu, resources.limits.memory; "
        "set cpu and memory in both resources.requests and resources.limits"
    ]


def test_privileged_container_is_reported():
    props = f.pod()
    props["spec"]["containers"][0]["securityContext"]["privileged"] = True
    assert check(HYGIENE, f.POD, props) == [
        "container 'chainlet' sets securityContext.privileged to true; "
        "remove it and add only the capabilities the process needs"
    ]


@pytest.mark.parametrize("value", [True, None])
def test_privilege_escalation_must_be_explicitly_false(value):
    props = f.pod()
    context = props["spec"]["containers"][0]["securityContext"]
    if value is None:
        del context["allowPrivilegeEscalation"]
    else:
        context["allowPrivilegeEscalation"] = value
    assert check(HYGIENE, f.POD, props) == [
        "container 'chainlet' does not set securityContext.allowPrivilegeEscalation to false; set it to false explicitly"
    ]


@pytest.mark.parametrize("field, namespace", [("hostNetwork", "network"), ("hostPID", "process"), ("hostIPC", "IPC")])
def test_host_namespaces_are_reported(field, namespace):
    props = f.cron_job()
    props["spec"]["jobTemplate"]["spec"]["template"]["spec"][field] = True
    assert check(HYGIENE, f.CRON_JOB, props) == [
        f"pod spec sets {field} to true; remove it so that the pod does not share the node's {namespace} namespace"
    ]


def test_helm_release_values_are_not_inspected():
    assert check(HYGIENE, f.HELM_RELEASE, f.helm_release()) == []


def test_unnamed_container_is_named_by_index():
    props = f.pod()
    del props["spec"]["containers"][0]["name"]
    props["spec"]["containers"][0]["image"] = "nginx"
    assert check(HYGIENE, f.POD, props) == [
        "container '#0' image 'nginx' is not pinned; use an explicit version tag or an @sha256 digest"
    ]


# --- key material: env ------------------------------------------------------------------

SECRET_FIX = "reference a Secret through valueFrom.secretKeyRef instead"
VALUE_FIX = SECRET_FIX + " (in Pegasus: move it out of spc.env into the Secret that spc.keySecret names)"
MNEMONIC = " ".join(["abandon"] * 23 + ["art"])
PEM = "-----BEGIN EC PRIVATE KEY-----\nMHcCAQEEI...\n-----END EC PRIVATE KEY-----\n"
PRIV_KEY_JSON = '{"address": "ABC", "pub_key": {}, "priv_key": {"type": "tendermint/PrivKeyEd25519", "value": "x"}}'


def with_env(*env):
    props = f.deployment()
    props["spec"]["template"]["spec"]["containers"][0]["env"] += list(env)
    return props


@pytest.mark.parametrize(
    "name",
    ["MNEMONIC", "PRIV_KEY", "PRIVATE_KEY", "PRIV_VALIDATOR_KEY", "VALIDATOR_KEY", "NODE_KEY", "SEED",
     "KEYPASSWD", "KEY_PASSWORD", "SPC_MNEMONIC", "validator_mnemonic", "WALLET_SEED"],
)
def test_sensitive_env_names_with_plain_values_are_reported(name):
    props = with_env({"name": name, "value": "something"})
    assert check(KEYS, f.DEPLOYMENT, props) == [f"container 'chainlet' env {name} has a plain value; {SECRET_FIX}"]


@pytest.mark.parametrize("name", ["P2P_SEEDS", "MNEMONIC_FILE", "PRIV_VALIDATOR_KEY_FILE", "NODE_KEY_PATH", "SEED_NODE"])
def test_names_that_merely_mention_keys_pass(name):
    assert check(KEYS, f.DEPLOYMENT, with_env({"name": name, "value": "/root/.sagaosd/config"})) == []


def test_secret_references_pass_whatever_the_name():
    env = {"name": "PRIV_VALIDATOR_KEY", "valueFrom": {"secretKeyRef": {"name": "keys", "key": "pvk"}}}
    assert check(KEYS, f.DEPLOYMENT, with_env(env)) == []


def test_empty_value_is_not_key_material():
    assert check(KEYS, f.DEPLOYMENT, with_env({"name": "MNEMONIC", "value": ""})) == []


@pytest.mark.parametrize(
    "value, kind",
    [(PEM, "a PEM private key"), (PRIV_KEY_JSON, "a JSON private key (priv_key)"), (MNEMONIC, "a mnemonic")],
)
def test_key_material_values_are_reported_whatever_the_name(value, kind):
    props = with_env({"name": "EXTRA", "value": value})
    assert check(KEYS, f.DEPLOYMENT, props) == [f"container 'chainlet' env EXTRA value looks like {kind}; {VALUE_FIX}"]


@pytest.mark.parametrize(
    "value",
    [
        " ".join(["abandon"] * 11),  # too few words
        " ".join(["abandon"] * 11 + ["Art"]),  # not lowercase
        "start --home /root/.sagaosd --p2p.laddr tcp://0.0.0.0:26656 --log_level info --trace x y z",
        "-----BEGIN PUBLIC KEY-----",
    ],
)
def test_ordinary_values_pass(value):
    assert check(KEYS, f.DEPLOYMENT, with_env({"name": "EXTRA", "value": value})) == []


def test_init_container_env_is_checked():
    props = f.stateful_set()
    props["spec"]["template"]["spec"]["initContainers"][0]["env"].append({"name": "NODE_KEY", "value": "x"})
    assert check(KEYS, f.STATEFUL_SET, props) == [f"init container 'init-config' env NODE_KEY has a plain value; {SECRET_FIX}"]


# --- key material: ConfigMaps -----------------------------------------------------------


def test_golden_config_map_passes():
    assert check(KEYS, f.CONFIG_MAP, f.config_map()) == []


@pytest.mark.parametrize("key", ["priv_validator_key.json", "node_key.json", "mnemonic", "VALIDATOR_KEY"])
def test_config_map_keys_named_like_keys_are_reported(key):
    props = f.config_map()
    props["data"][key] = "{}"
    assert check(KEYS, f.CONFIG_MAP, props) == [
        f"ConfigMap data key '{key}' is named like key material; move it to a Secret"
    ]


def test_config_map_values_are_inspected():
    props = f.config_map()
    props["data"]["extra.json"] = PRIV_KEY_JSON
    assert check(KEYS, f.CONFIG_MAP, props) == [
        "ConfigMap data key 'extra.json' value looks like a JSON private key (priv_key); move it to a Secret"
    ]


def test_config_map_binary_data_is_decoded_and_inspected():
    props = f.config_map()
    props["binaryData"]["blob"] = base64.b64encode(PEM.encode()).decode()
    props["binaryData"]["node_key.json"] = base64.b64encode(b"{}").decode()
    assert check(KEYS, f.CONFIG_MAP, props) == [
        "ConfigMap binaryData key 'blob' value looks like a PEM private key; move it to a Secret",
        "ConfigMap binaryData key 'node_key.json' is named like key material; move it to a Secret",
    ]
