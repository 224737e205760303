"""Pure builders for a testnet's genesis: the daemon.json the stack generates from its declared
producers (`testnet.genesis`), and the check that every producer whose public key is given has
stake in the ledger the stack uses, generated or the user's `testnet.genesisFile`.

The shape is the daemon's runtime config (Runtime_config.Json_layout in MinaProtocol/mina
src/lib/runtime_config/runtime_config.ml): `genesis.genesis_state_timestamp`, `proof.level`,
`ledger.{name, accounts, add_genesis_winner}`, and accounts `{pk, balance, delegate}` with the
balance in MINA as a decimal string. A producer without stake can never win a slot, and a
ledger of `accounts: []` (with only the genesis winner) leaves every producer without stake.
"""

from __future__ import annotations

import json
from decimal import Decimal, InvalidOperation

from components.testnet.settings import TestnetSettings
from pegasus.errors import ConfigError


def accounts(testnet: TestnetSettings) -> list[dict]:
    """Every producer's account (its own delegate), then the extra accounts, in config order."""
    assert testnet.genesis is not None
    out = [{"pk": p.public_key, "balance": p.stake, "delegate": p.public_key}
           for r in testnet.regions for p in r.block_producers]
    out += [{"pk": pk, "balance": balance} for pk, balance in testnet.genesis.accounts]
    return out


def render(testnet: TestnetSettings) -> str:
    """The generated daemon.json: stable for stable config (no clock read), so a second `up`
    changes nothing."""
    g = testnet.genesis
    assert g is not None
    doc = {
        "genesis": {"genesis_state_timestamp": g.timestamp},
        "proof": {"level": g.proof_level},
        # No genesis winner: the producers' own stake is what wins slots.
        "ledger": {"name": testnet.name, "add_genesis_winner": False, "accounts": accounts(testnet)},
    }
    return json.dumps(doc, indent=2, sort_keys=False) + "\n"


def stake(contents: str) -> dict[str, Decimal]:
    """Stake per public key in a daemon.json's ledger: each account's balance counts for its
    delegate (itself when it names none)."""
    try:
        doc = json.loads(contents)
    except ValueError as e:
        raise ConfigError("testnet.genesisFile", f"is not JSON ({e.msg}, line {e.lineno}); give the network's daemon.json") from None
    out: dict[str, Decimal] = {}
    ledger = (doc.get("ledger") or {}) if isinstance(doc, dict) else {}
    for account in ledger.get("accounts") or []:
        if not isinstance(account, dict) or not account.get("pk"):
            continue
        try:
            balance = Decimal(str(account.get("balance", "0")))
        except InvalidOperation:
            continue
        who = account.get("delegate") or account["pk"]
        out[who] = out.get(who, Decimal(0)) + balance
    return out


def check_producer_stake(testnet: TestnetSettings, contents: str) -> None:
    """One error for the first producer whose public key has no stake in `contents`."""
    staked = stake(contents)
    source = "the generated ledger (testnet.genesis)" if testnet.genesis else f"the ledger of {testnet.genesis_file}"
    for i, r in enumerate(testnet.regions):
        for j, p in enumerate(r.block_producers):
            if p.public_key and staked.get(p.public_key, Decimal(0)) <= 0:
                raise ConfigError(f"testnet.regions[{i}].blockProducers[{j}].publicKey",
                                  f"{p.public_key} has no stake in {source}, so {r.name}/{p.name} can never win a slot; "
                                  "give it a balance (or delegate one to it) there")
