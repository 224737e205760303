"""The config module: defaults, types, and errors that name the key and the fix."""

from __future__ import annotations

import pytest

from pegasus import config
from pegasus.config import ConfigError, Resources, parse

SNAPSHOT = {"source": "snapshot", "snapshot": "chain/snapshot.dev.json"}
# An EKS cluster the runner can reach: a created VPC needs a public endpoint.
EKS = {"provider": "eks", "region": "us-east-1", "publicAccessCidrs": ["203.0.113.0/24"]}
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
    # Only the operational gaps of a bare stack (tests/pegasus/test_config_advice.py has their text).
    assert [w.split(" ", 1)[0] for w in s.warnings] == ["alerting"]


def test_eks_defaults_enable_karpenter_and_pick_a_node_type():
    s = settings(cluster=EKS)
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
    assert error({"cluster": EKS, "ingress": {"shardSize": 51}}) == (
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
    assert msg.startswith("pegasus:clustr: unknown key. Known keys: alerting, blueprint, chain, chainlets, charts, cluster,")


def test_dotted_key_set_without_path_gets_a_hint():
    msg = error({"ingress.shardSize": "10"})
    assert msg.startswith(
        "pegasus:ingress.shardSize: unknown key; set it as a path with "
        "`pulumi config set --path ingress.shardSize <value>` so it is stored under pegasus:ingress."
    )


def test_unknown_field_inside_a_section():
    msg = error({"ingress": {"shardsize": 10}})
    assert msg == (
        "pegasus:ingress.shardsize: unknown key; the known keys of pegasus:ingress are provider, allowProviderSwitch, "
        "shardSize, basePort, internalBasePort, p2pDomain, controllerReplicas, shardAnnotations, allocateNodePorts"
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
    raw = {"cluster": EKS, "karpenter": {"disruptionBudgets": [{"nodes": "ten"}]}}
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
    not documented would be missing from docs/config.md and the unknown-key messages."""
    read: set[str] = set()
    original = config._Section.check_unknown

    def record(self):
        read.update(f"{self.name}.{f}" for f in self.used)
        return original(self)

    monkeypatch.setattr(config._Section, "check_unknown", record)
    parse({"chain": SNAPSHOT, "spc": SPC, "cluster": EKS}, project="pegasus", stack="dev")
    # Other blueprints' own sections are read by their own parsers, and tested there.
    own = {name for names in config.BLUEPRINT_SECTIONS.values() for name in names}
    documented = {k.path for k in config.KEYS if "." in k.path and k.path.split(".")[0] not in own}
    nested = {"cluster.autoprovisioning"}  # an object whose own fields are read by a nested section
    assert read | nested == documented | nested
    assert read == documented


def test_chain_height_pin():
    assert settings(chain={**SNAPSHOT, "height": "1200"}).chain.height == 1200
    assert settings().chain.height is None
    assert error({"chain": {**SNAPSHOT, "height": 0}}) == (
        "pegasus:chain.height: must be a block height of at least 1, or unset for the latest; got 0"
    )


def test_a_private_endpoint_in_a_vpc_this_run_creates_is_refused():
    assert error({"cluster": {"provider": "eks", "region": "us-east-1"}}) == (
        "pegasus:cluster.publicAccessCidrs: is empty, so the EKS API endpoint is private, but cluster.vpcId is unset, "
        "so Pegasus creates the VPC in this run: the runner can never reach that endpoint and `pulumi up` cannot "
        "finish. Set cluster.publicAccessCidrs to the runner's CIDR, or set cluster.vpcId (with privateSubnetIds "
        "and publicSubnetIds) to a network the runner is inside"
    )
    given = {"provider": "eks", "region": "us-east-1", "vpcId": "vpc-1", "privateSubnetIds": ["subnet-a", "subnet-b"],
             "publicSubnetIds": ["subnet-c", "subnet-d"]}
    assert settings(cluster=given).cluster.public_access_cidrs == ()


def test_eks_support_type_defaults_to_standard():
    s = settings(cluster=EKS)
    assert (s.cluster.support_type, s.cluster.log_retention_days) == ("STANDARD", 90)
    assert settings(cluster={**EKS, "supportType": "EXTENDED"}).cluster.support_type == "EXTENDED"
    assert error({"cluster": {**EKS, "supportType": "extended"}}) == (
        "pegasus:cluster.supportType: must be one of STANDARD, EXTENDED; got 'extended'"
    )


RETENTION_VALUES = "1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653"


def test_log_retention_must_be_a_cloudwatch_value():
    assert error({"cluster": {**EKS, "logRetentionDays": 100}}) == (
        f"pegasus:cluster.logRetentionDays: must be one of CloudWatch Logs' retention values ({RETENTION_VALUES}); got 100"
    )
    assert error({"cluster": EKS, "logging": {"enabled": True, "retentionDays": 0}}) == (
        f"pegasus:logging.retentionDays: must be one of CloudWatch Logs' retention values ({RETENTION_VALUES}); got 0"
    )
    assert settings(cluster=EKS, logging={"retentionDays": 400}).logging.retention_days == 400


def test_budget_duration_follows_the_nodepool_crd():
    def budget(duration, schedule="0 9 * * mon-fri"):
        return {"cluster": EKS, "karpenter": {"disruptionBudgets": [{"nodes": "0", "schedule": schedule, "duration": duration}]}}

    assert error(budget("30s")) == (
        "pegasus:karpenter.disruptionBudgets[0].duration: '30s' is not a budget duration: hours and minutes only, "
        "like 8h, 30m or 1h30m"
    )
    assert error(budget("1h30m20s")).startswith("pegasus:karpenter.disruptionBudgets[0].duration: '1h30m20s'")
    assert error(budget("8h", schedule="weekdays")) == (
        "pegasus:karpenter.disruptionBudgets[0].schedule: 'weekdays' is not a cron schedule like \"0 9 * * mon-fri\" or @daily"
    )
    for ok in ("8h", "30m", "1h30m", "160h"):
        assert settings(**budget(ok)).karpenter.disruption_budgets == (
            {"nodes": "0", "schedule": "0 9 * * mon-fri", "duration": ok},)


def test_consolidation_policy_accepts_balanced():
    assert settings(cluster=EKS, karpenter={"consolidationPolicy": "Balanced"}).karpenter.consolidation_policy == "Balanced"
    assert error({"cluster": EKS, "karpenter": {"consolidationPolicy": "Never"}}) == (
        "pegasus:karpenter.consolidationPolicy: must be one of WhenEmptyOrUnderutilized, Balanced, WhenEmpty; got 'Never'"
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
