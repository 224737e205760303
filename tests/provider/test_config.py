"""`pegasus:provider` and the provider blueprint's half of parse: exact messages."""

from __future__ import annotations

import pytest

from pegasus import config
from components.provider.config import PaymentsSettings
from pegasus.errors import ConfigError

PAYMENTS = {"source": "snapshot", "snapshot": "chain/payments.dev.json", "chainId": 31337,
            "contract": "0x5FbDB2315678afecb367f032d93F642f64180aa3", "providerAddress": "0x" + "dd" * 20}
PROVIDER = {"httpHostSuffix": "pods.example.org", "payments": PAYMENTS}


def parse(secret_keys=None, **sections):
    raw = {"blueprint": "provider", "provider": PROVIDER, **sections}
    return config.parse(raw, project="pegasus", stack="provider", secret_keys=secret_keys)


def error(secret_keys=None, **sections) -> str:
    with pytest.raises(ConfigError) as e:
        parse(secret_keys, **sections)
    return str(e.value)


def test_a_provider_stack_needs_no_validator_settings():
    s = parse()
    assert s.blueprint == "provider" and s.cluster.provider == "existing"
    assert s.provider.payments == PaymentsSettings("snapshot", None, 31337, "0x5fbdb2315678afecb367f032d93f642f64180aa3",
                                                   "0x" + "dd" * 20, "latest", "chain/payments.dev.json", 10, 3)
    # maxRemovals unset: the guard's default limit applies (components/provider/paymentstate.py).
    assert (s.provider.manifests, s.provider.max_removals, s.provider.interceptor_replicas) == ("pods/", None, 3)
    assert s.provider.pricing.currency == "wei" and s.provider.pricing.prices["cpuSecond"] == "0"


@pytest.mark.parametrize("provider, message", [
    ({**PROVIDER, "httpHostSuffix": None}, "pegasus:provider.httpHostSuffix: is required: the DNS suffix pod hosts answer under, like pods.example.org"),
    ({**PROVIDER, "httpHostSuffix": "pods"}, "pegasus:provider.httpHostSuffix: 'pods' is not a DNS domain like pods.example.org"),
    ({**PROVIDER, "payments": {**PAYMENTS, "source": "evm"}},
     "pegasus:provider.payments.rpcUrl: is required when provider.payments.source is evm; set it to the chain's JSON-RPC URL, e.g. https://rpc.example.org"),
    ({**PROVIDER, "payments": {**PAYMENTS, "source": "ipfs"}}, "pegasus:provider.payments.source: must be one of evm, snapshot; got 'ipfs'"),
    ({**PROVIDER, "payments": {**PAYMENTS, "chainId": None}},
     "pegasus:provider.payments.chainId: is required: the EVM chain ID the payment contract lives on (1 for Ethereum mainnet)"),
    ({**PROVIDER, "payments": {**PAYMENTS, "contract": "0x1234"}}, "pegasus:provider.payments.contract: '0x1234' is not a 0x-prefixed 20-byte hex address"),
    ({**PROVIDER, "payments": {**PAYMENTS, "blockTag": "safe"}}, "pegasus:provider.payments.blockTag: must be latest or a block number; got the string 'safe'"),
    ({**PROVIDER, "payments": {**PAYMENTS, "rpcURL": "x"}},
     "pegasus:provider.payments.rpcURL: unknown key; the known keys of pegasus:provider.payments are source, rpcUrl, allowInsecure, chainId, contract, providerAddress, blockTag, snapshot, confirmations, timeoutSeconds, billed"),
    ({**PROVIDER, "maxRemovals": -1}, "pegasus:provider.maxRemovals: must be between 0 and 100000; got -1"),
    ({**PROVIDER, "pricing": {"cpuSecond": "-1"}}, "pegasus:provider.pricing.cpuSecond: '-1' must be a non-negative decimal number, like 0.000002"),
])
def test_provider_errors(provider, message):
    assert error(provider=provider) == message


def test_the_rpc_url_is_a_secret_and_https_unless_allowed():
    evm = {**PAYMENTS, "source": "evm", "rpcUrl": "https://rpc.example.org/v3/KEY123/"}
    assert error(provider={**PROVIDER, "payments": evm}) == (
        "pegasus:provider.payments.rpcUrl: holds a secret (RPC URLs carry API keys) but was stored in plain text; set it "
        "with `pulumi config set --secret --path provider.payments.rpcUrl <url>`")
    url = parse({"provider"}, provider={**PROVIDER, "payments": evm}).provider.payments.rpc_url
    assert url.value == "https://rpc.example.org/v3/KEY123" and "KEY123" not in repr(url)
    plain = {**evm, "rpcUrl": "http://10.0.0.5:8545/KEY123"}
    message = error({"provider"}, provider={**PROVIDER, "payments": plain})
    assert message == ("pegasus:provider.payments.rpcUrl: is not an https:// URL; use https, or set "
                       "provider.payments.allowInsecure true for a node you reach over a trusted network (a local chain)")
    allowed = parse({"provider"}, provider={**PROVIDER, "payments": {**plain, "allowInsecure": True}})
    assert allowed.provider.payments.rpc_url.value == "http://10.0.0.5:8545/KEY123"


def test_block_tag_number_and_string_number():
    assert parse(provider={**PROVIDER, "payments": {**PAYMENTS, "blockTag": "1200"}}).provider.payments.block_tag == 1200
    assert parse(provider={**PROVIDER, "payments": {**PAYMENTS, "blockTag": 7}}).provider.payments.block_tag == 7


def test_validator_sections_are_refused_on_a_provider_stack_and_back():
    assert error(spc={"env": {"DENOM": "x"}}) == "pegasus:spc: applies to the validator blueprint only; remove it from this provider stack"
    with pytest.raises(ConfigError) as e:
        config.parse({"provider": PROVIDER}, project="pegasus", stack="dev")
    assert str(e.value) == "pegasus:provider: applies to the provider blueprint only, and this stack's blueprint is validator; remove it, or set pegasus:blueprint to provider"


def test_pod_secrets_must_be_pulumi_secrets():
    assert error(providerSecrets={"web/key": "hunter2"}) == (
        "pegasus:providerSecrets.web/key: holds a secret but was stored in plain text; set it with "
        "`pulumi config set --secret --path 'providerSecrets[\"web/key\"]' <value>`")
    s = parse(secret_keys={"providerSecrets"}, providerSecrets={"web/key": "hunter2"})
    assert repr(s.provider.secrets) == "{'web/key': Secret(***)}"
    assert error({"providerSecrets"}, providerSecrets={"key": "x"}) == (
        "pegasus:providerSecrets.key: must be named <pod>/<volume>: the manifest's file name without extension and its secret volume")


def test_every_provider_key_in_the_reference_is_read(monkeypatch):
    read: set[str] = set()
    original = config._Section.check_unknown

    def record(self):
        read.update(f"{self.name}.{f}" for f in self.used)
        return original(self)

    monkeypatch.setattr(config._Section, "check_unknown", record)
    parse()
    # provider.tenantNodes is read on eks only.
    parse(cluster={"provider": "eks", "region": "us-east-1", "publicAccessCidrs": ["203.0.113.0/24"]})
    documented = {k.path for k in config.KEYS if k.path.split(".")[0] == "provider"}
    read = {k for k in read if k.startswith("provider.")}
    # pricing, payments and settlement are objects whose fields nested sections read.
    pricing = {f"provider.pricing.{p}" for p in ("currency", "cpuSecond", "memoryByteSecond", "cpuReservedSecond", "memoryReservedByteSecond")}
    assert read - {"provider.payments", "provider.settlement", "provider.tenantNodes"} - pricing == documented


def test_the_example_stack_file_parses():
    import yaml

    from tests.conftest import PROJECT

    doc = yaml.safe_load((PROJECT / "Pulumi.provider.yaml").read_text())
    raw = {k.split(":", 1)[1]: v for k, v in doc["config"].items() if k.startswith("pegasus:")}
    raw["providerSecrets"] = {"hello/config": "x"}  # the file holds a `secure:` value
    s = config.parse(raw, project="pegasus", stack="provider", secret_keys={"providerSecrets"})
    assert (s.blueprint, s.cluster.provider, s.provider.payments.source, s.provider.payments.chain_id) == ("provider", "existing", "snapshot", 31337)
    assert doc["secretsprovider"] == "passphrase"
