"""The config module: defaults, types, and errors that name the key and the fix."""

from __future__ import annotations

import pytest

from pegasus import config
from pegasus.config import ConfigError, Resources, parse

SNAPSHOT = {"source": "snapshot", "snapshot": "chain/snapshot.dev.json"}
SPC = {"env": {"DENOM": "usaga", "GENESIS": "https://example.org/genesis.json"}}


def settings(**sections):
    raw = {"chain": SNAPSHOT, "spc": SPC, **sections}
    return parse(raw, project="pegasus", stack="dev", secret_keys=set(sections.pop("_secret", set())))


def error(raw: dict, secret_keys=None) -> str:
    raw = {"chain": SNAPSHOT, "spc": SPC, **raw}  # a given "chain" or "spc" replaces the default
    with pytest.raises(ConfigError) as e:
        parse(raw, project="pegasus", stack="dev", secret_keys=secret_keys or set())
    return str(e.value)


def test_defaults_for_an_existing_cluster():
    s = settings()
    assert s.blueprint == "validator"
    assert s.cluster.provider == "existing"
    assert s.cluster.name == "pegasus-dev"
    assert s.cluster.kubeconfig is None and s.cluster.context is None
    assert (s.ingress.shard_size, s.ingress.base_port, s.ingress.internal_base_port) == (25, 1025, 20000)
    assert s.karpenter.enabled is False  # Karpenter is eks-only
    assert s.chainlets.resources == Resources("500m", "1Gi", "2", "4Gi")
    assert s.chainlets.max_removals == 0
    assert s.storage_class is None
    assert s.warnings == ()


def test_eks_defaults_enable_karpenter_and_pick_a_node_type():
    s = settings(cluster={"provider": "eks", "region": "us-east-1"})
    assert s.karpenter.enabled is True
    assert s.cluster.system_node_type == "m7i.large"
    assert s.ingress.cloud == "eks"
    assert "alerting.runbookBaseUrl is unset" in s.warnings[1]
    assert "karpenter.amiAlias is @latest" in s.warnings[2]


def test_numbers_and_booleans_set_without_a_type_arrive_as_strings():
    s = settings(ingress={"shardSize": "10", "basePort": "2000"}, chainlets={"allowSlotChanges": "true"})
    assert (s.ingress.shard_size, s.ingress.base_port) == (10, 2000)
    assert s.chainlets.allow_slot_changes is True


def test_unknown_provider_names_the_key_and_the_choices():
    assert error({"cluster": {"provider": "aks"}}) == (
        "pegasus:cluster.provider: must be one of existing, eks, gke; got 'aks'"
    )


def test_shard_size_zero():
    assert error({"ingress": {"shardSize": 0}}) == "pegasus:ingress.shardSize: must be between 1 and 1000; got 0"


def test_shard_size_above_the_nlb_listener_limit():
    assert error({"cluster": {"provider": "eks", "region": "us-east-1"}, "ingress": {"shardSize": 51}}) == (
        "pegasus:ingress.shardSize: must be between 1 and 50 on eks: an AWS NLB has at most 50 listeners "
        "and each chainlet takes one; got 51"
    )


def test_shard_size_above_the_gke_limit():
    raw = {"cluster": {"provider": "gke", "region": "us-central1", "project": "p"}, "ingress": {"shardSize": 51}}
    assert error(raw) == "pegasus:ingress.shardSize: must be between 1 and 50 on gke; got 51"


def test_malformed_cidr():
    raw = {"cluster": {"provider": "eks", "region": "us-east-1", "publicAccessCidrs": ["10.0.0.0/33"]}}
    assert error(raw) == (
        "pegasus:cluster.publicAccessCidrs[0]: '10.0.0.0/33' is not a valid CIDR block; write it like 203.0.113.0/24"
    )


def test_cidr_with_host_bits_is_malformed():
    raw = {"cluster": {"provider": "eks", "region": "us-east-1", "publicAccessCidrs": ["203.0.113.7/24"]}}
    assert error(raw) == (
        "pegasus:cluster.publicAccessCidrs[0]: '203.0.113.7/24' has host bits set; write the network address, 203.0.113.0/24"
    )


def test_unknown_top_level_key_lists_the_known_ones():
    msg = error({"clustr": {"provider": "eks"}})
    assert msg.startswith("pegasus:clustr: unknown key. Known keys: alerting, blueprint, chain, chainlets, cluster,")


def test_dotted_key_set_without_path_gets_a_hint():
    msg = error({"ingress.shardSize": "10"})
    assert msg.startswith(
        "pegasus:ingress.shardSize: unknown key; set it as a path with "
        "`pulumi config set --path ingress.shardSize <value>` so it is stored under pegasus:ingress."
    )


def test_unknown_field_inside_a_section():
    msg = error({"ingress": {"shardsize": 10}})
    assert msg == (
        "pegasus:ingress.shardsize: unknown key; the known keys of pegasus:ingress are shardSize, basePort, "
        "internalBasePort, p2pDomain, controllerReplicas, shardAnnotations, allocateNodePorts"
    )


def test_wrong_type():
    assert error({"ingress": {"shardSize": "many"}}) == "pegasus:ingress.shardSize: must be an integer, got the string 'many'"


def test_region_is_required_on_eks():
    assert error({"cluster": {"provider": "eks"}}) == (
        "pegasus:cluster.region: is required when cluster.provider is eks; set it, e.g. "
        "pulumi config set --path cluster.region us-east-1"
    )


def test_rest_source_needs_an_endpoint():
    with pytest.raises(ConfigError) as e:
        parse({"chain": {"source": "rest"}}, project="pegasus", stack="dev")
    assert str(e.value) == (
        "pegasus:chain.endpoint: is required when chain.source is rest; set it to the chain's REST API, "
        "e.g. https://api.example.org"
    )


def test_internal_ports_must_stay_clear_of_the_controllers_own_ports():
    assert error({"ingress": {"internalBasePort": 8000}}) == (
        "pegasus:ingress.internalBasePort: the range from 8000 would reach port 8181, which the ingress-nginx "
        "controller uses itself; pick a start above 10254, such as 20000"
    )


def test_secret_in_plain_text_is_refused():
    assert error({"alerting": {"slackWebhookUrl": "https://hooks.slack.com/services/x"}}) == (
        "pegasus:alerting.slackWebhookUrl: holds a secret but was stored in plain text; set it with "
        "`pulumi config set --secret --path alerting.slackWebhookUrl <value>`"
    )


def test_secret_set_as_secret_is_kept_hidden():
    s = parse({"chain": SNAPSHOT, "spc": SPC, "alerting": {"slackWebhookUrl": "https://hooks.slack.com/services/x"}},
              project="pegasus", stack="dev", secret_keys={"alerting"})
    assert s.alerting.slack_webhook_url.value == "https://hooks.slack.com/services/x"
    assert "hooks.slack.com" not in repr(s)


def test_kubeconfig_contents_must_be_secret_but_a_path_need_not():
    assert settings(cluster={"kubeconfig": "~/.kube/kind.yaml"}).cluster.kubeconfig.value == "~/.kube/kind.yaml"
    assert error({"cluster": {"kubeconfig": "apiVersion: v1\nkind: Config\n"}}).startswith(
        "pegasus:cluster.kubeconfig: holds kubeconfig contents (credentials) in plain text"
    )


def test_unpinned_spc_image():
    assert error({"spc": {"image": "sagaxyz/ssc:latest"}}) == (
        "pegasus:spc.image: 'sagaxyz/ssc:latest' is not pinned; use an explicit version tag (not latest) "
        "or a @sha256 digest"
    )


def test_key_material_in_plain_env_is_refused():
    assert error({"spc": {"env": {"VALIDATOR_MNEMONIC": "abandon abandon"}}}) == (
        "pegasus:spc.env.VALIDATOR_MNEMONIC: looks like key material; put it in a Kubernetes Secret and name "
        "that Secret in spc.keySecret"
    )


def test_karpenter_is_refused_off_eks():
    assert error({"karpenter": {"enabled": True}}) == (
        "pegasus:karpenter.enabled: Karpenter runs only on eks; on existing leave it unset"
    )


def test_disruption_budget_shape():
    raw = {"cluster": {"provider": "eks", "region": "us-east-1"}, "karpenter": {"disruptionBudgets": [{"nodes": "ten"}]}}
    assert error(raw) == (
        "pegasus:karpenter.disruptionBudgets[0].nodes: must be a node count like 1 or a percentage like 10%; got 'ten'"
    )


def test_resources_quantities_are_checked():
    assert error({"chainlets": {"resources": {"limits": {"cpu": "two"}}}}) == (
        "pegasus:chainlets.resources.limits.cpu: 'two' is not a Kubernetes quantity; write it like 500m, 2, 1Gi or 100Gi"
    )


def test_partial_resources_keep_the_other_defaults():
    s = settings(chainlets={"resources": {"limits": {"memory": "8Gi"}}})
    assert s.chainlets.resources == Resources("500m", "1Gi", "2", "8Gi")


def test_decode_object_keys():
    assert config.decode("cluster", '{"provider": "eks"}') == {"provider": "eks"}
    assert config.decode("blueprint", "validator") == "validator"
    with pytest.raises(ConfigError) as e:
        config.decode("cluster", "eks")
    assert str(e.value) == "pegasus:cluster: must be an object; set its fields with `pulumi config set --path <key>.<field> <value>`"


def test_every_key_in_the_reference_is_read_by_the_parser(monkeypatch):
    """A key documented in KEYS but never read would be silently ignored; a key read but
    not documented would be missing from the README and the unknown-key messages."""
    read: set[str] = set()
    original = config._Section.check_unknown

    def record(self):
        read.update(f"{self.name}.{f}" for f in self.used)
        return original(self)

    monkeypatch.setattr(config._Section, "check_unknown", record)
    parse({"chain": SNAPSHOT, "spc": SPC, "cluster": {"provider": "eks", "region": "us-east-1"}}, project="pegasus", stack="dev")
    documented = {k.path for k in config.KEYS if "." in k.path}
    nested = {"cluster.autoprovisioning"}  # an object whose own fields are read by a nested section
    assert read | nested == documented | nested
    assert read == documented


def test_chain_height_pin():
    assert settings(chain={**SNAPSHOT, "height": "1200"}).chain.height == 1200
    assert settings().chain.height is None
    assert error({"chain": {**SNAPSHOT, "height": 0}}) == (
        "pegasus:chain.height: must be a block height of at least 1, or unset for the latest; got 0"
    )


def test_the_platform_chain_needs_a_genesis_from_env_or_its_key_secret():
    assert error({"spc": {"env": {"DENOM": "usaga"}}}) == (
        "pegasus:spc.env.GENESIS: is required by the platform chain image (your network's genesis file: its URL or its "
        "base64 contents); set it with `pulumi config set --path spc.env.GENESIS <value>`, or put a GENESIS key in the "
        "Secret named by spc.keySecret"
    )
    assert settings(spc={"env": {"DENOM": "usaga"}, "keySecret": "spc-keys"}).spc.key_secret == "spc-keys"
    assert settings(spc={"enabled": False}).spc.enabled is False


def test_chainlet_env_keys_are_checked():
    assert error({"chainlets": {"env": {"KEYPASSWD": "x"}}}) == (
        "pegasus:chainlets.env.KEYPASSWD: looks like key material; put it in a Kubernetes Secret and name that Secret in chainlets.keySecret")
    assert error({"chainlets": {"chainEnv": {"a_1-1": {"CHAINID": "x"}}}}) == (
        "pegasus:chainlets.chainEnv.a_1-1.CHAINID: is set by Pegasus from chain data or its own chainlets.* key; set that instead")
    s = settings(chainlets={"env": {"OPTS": "--x", "STAKE_AMOUNT": 1500000}, "keySecret": "chainlet-keys"})
    assert s.chainlets.env == {"OPTS": "--x", "STAKE_AMOUNT": "1500000"}
