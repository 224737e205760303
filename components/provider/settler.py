"""The provider's settlement: withdraw what tenants owe from their payment channels, on a timer.

Runs in the cluster as its own small Deployment (components/provider/settlement.py declares
it; this file and pegasus/keccak.py are its code, mounted from a ConfigMap into a stock Python
image), standard library only. The Pulumi program never signs anything and never sees the key.

What the contract allows (comrade-coop/trusted-pods contracts/src/Payment.sol at
d0512a42e1cbafd60a0998ac4bc03a953f94f555): the provider calls
`withdrawUpTo(publisher, podId, totalWithdrawAmount, transferAddress)`, where the total is
cumulative since the channel opened and may not exceed what the publisher paid in
(`withdrawn + available`). Upstream's monitor (cmd/tpodserver/monitor.go, pkg/ethereum/payment.go
WithdrawIfOverMargin) asks for the whole amount owed and reverts once that exceeds the deposit
("TODO: Handle running out of funds!!"); `plan_withdrawal` caps it at what is there instead, so a
channel owing more than it holds is emptied rather than never paid.

Each tick meters every tenant's usage since the last tick (the recording rules of
metering_builder.py, priced like tools.meter), adds it to what is still owed, and withdraws
what it can. Then it records, per channel, what it has billed in all (`billed`: withdrawn plus
still owed) and the `withdrawn()` it saw, in the ConfigMap the stack declares for it
(settlement_builder.RECORD, written through the Kubernetes API with its own ServiceAccount,
allowed to get and patch that one object). A restart takes what is owed back from that record,
and the Pulumi program reads the same record at plan time (provider.payments.billed) to judge a
pod by its remaining credit: available minus what is owed and not withdrawn yet
(`unwithdrawn`). The key comes from the environment (a Secret), is used to sign and is never
printed.
"""

from __future__ import annotations

import json
import os
import ssl
import sys
import time
import urllib.parse
import urllib.request
from decimal import Decimal
from typing import Any, Optional

try:
    from pegasus.keccak import keccak256
    from components.provider.secp256k1 import address_of, sign
except ImportError:  # in the cluster: keccak.py and secp256k1.py sit next to this file
    from keccak import keccak256  # type: ignore[no-redef]
    from secp256k1 import address_of, sign  # type: ignore[no-redef]

WITHDRAW_UP_TO = "withdrawUpTo(address,bytes32,uint256,address)"
AVAILABLE = "available(address,address,bytes32)"
WITHDRAWN = "withdrawn(address,address,bytes32)"


# --- what to withdraw ----------------------------------------------------------------------


def plan_withdrawal(owed: int, withdrawn: int, available: int, tolerance: int = 0) -> Optional[int]:
    """The `totalWithdrawAmount` for withdrawUpTo, or None when nothing should be sent.

    owed: what the tenant owes and has not paid yet (wei). withdrawn, available: the contract's
    answers. The transfer is min(owed, available): a channel owing more than it holds gives
    everything it holds. Below `tolerance` nothing is sent (gas), unless that empties the
    channel: the last wei of a dry channel are worth collecting before the publisher unlocks them."""
    if owed <= 0 or available <= 0:
        return None
    transfer = min(owed, available)
    if transfer < tolerance and transfer < available:
        return None
    return withdrawn + transfer


def unwithdrawn(billed: int, seen_withdrawn: int, withdrawn_now: int) -> int:
    """What a channel still owes, from a record `billed` (everything billed on it so far) taken
    when the contract answered `seen_withdrawn`, given what withdrawn() answers now.

    available + withdrawn is what the publisher paid in, so a withdrawal after the record
    moves the same amount out of both terms and the answer stays right on any later block.
    A withdrawn() below the one seen means the channel was closed (Payment.sol's closeChannel
    deletes it) and perhaps opened again: the debt went with the old channel, so nothing is
    owed. Never negative: a withdrawal beyond the record (by hand) owes nothing back."""
    if withdrawn_now < seen_withdrawn:
        return 0
    return max(0, billed - withdrawn_now)


def owed_for(quantities: dict[str, Decimal], prices: dict[str, str]) -> int:
    """Whole wei owed for metered quantities (CPU-seconds, byte-seconds) at the stack's prices,
    rounded down: the provider never bills a fraction it cannot prove."""
    total = sum((Decimal(q) * Decimal(prices.get(name, "0")) for name, q in quantities.items()), Decimal(0))
    return int(total)


# --- ABI, RLP, secp256k1 -----------------------------------------------------------------------


def selector(signature: str) -> bytes:
    return keccak256(signature.encode())[:4]


def _word(value: Any) -> bytes:
    if isinstance(value, int):
        return value.to_bytes(32, "big")
    return bytes.fromhex(value[2:]).rjust(32, b"\0")


def call_data(signature: str, *args: Any) -> str:
    return "0x" + (selector(signature) + b"".join(_word(a) for a in args)).hex()


def rlp(item: Any) -> bytes:
    if isinstance(item, list):
        body = b"".join(rlp(i) for i in item)
        return _rlp_length(len(body), 0xC0) + body
    if isinstance(item, int):
        item = item.to_bytes((item.bit_length() + 7) // 8, "big") if item else b""
    if len(item) == 1 and item[0] < 0x80:
        return item
    return _rlp_length(len(item), 0x80) + item


def _rlp_length(n: int, offset: int) -> bytes:
    if n < 56:
        return bytes([offset + n])
    raw = n.to_bytes((n.bit_length() + 7) // 8, "big")
    return bytes([offset + 55 + len(raw)]) + raw


def signed_transaction(key: int, *, nonce: int, gas_price: int, gas: int, to: str, data: str, chain_id: int) -> str:
    """A legacy transaction signed as EIP-155 says (chain ID in the signature: no replay on another chain)."""
    fields = [nonce, gas_price, gas, bytes.fromhex(to[2:]), 0, bytes.fromhex(data[2:])]
    recovery, r, s = sign(key, keccak256(rlp(fields + [chain_id, 0, 0])))
    return "0x" + rlp(fields + [chain_id * 2 + 35 + recovery, r, s]).hex()


# --- the chain and Prometheus ------------------------------------------------------------------


class SettleError(Exception):
    pass


class Rpc:
    def __init__(self, url: str, timeout: float = 10):
        self.url, self.timeout, self.next_id = url, timeout, 1

    def __call__(self, method: str, params: list) -> Any:
        body = json.dumps({"jsonrpc": "2.0", "id": self.next_id, "method": method, "params": params}).encode()
        self.next_id += 1
        request = urllib.request.Request(self.url, data=body, headers={"Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:
                payload = json.loads(response.read())
        except (OSError, ValueError) as e:
            # Never the URL itself: it often carries an API key.
            raise SettleError(f"{method} failed ({type(e).__name__})") from None
        if not isinstance(payload, dict) or payload.get("error") is not None or "result" not in payload:
            error = payload.get("error") if isinstance(payload, dict) else None
            raise SettleError(f"{method} returned an error: {error.get('message') if isinstance(error, dict) else error}")
        return payload["result"]


class Channel:
    """One pod's channel as the provider sees it."""

    def __init__(self, rpc: Rpc, contract: str, provider: str, publisher: str, pod_id: str):
        self.rpc, self.contract, self.provider, self.publisher, self.pod_id = rpc, contract, provider, publisher, pod_id

    def _read(self, signature: str) -> int:
        result = self.rpc("eth_call", [{"to": self.contract, "data": call_data(signature, self.publisher, self.provider, self.pod_id)}, "latest"])
        if not isinstance(result, str) or len(result) != 66:
            raise SettleError(f"{signature.split('(')[0]}() answered {result!r}, not one word")
        return int(result, 16)

    def state(self) -> tuple[int, int]:
        return self._read(WITHDRAWN), self._read(AVAILABLE)


def withdraw_up_to(rpc: Rpc, key: int, chain_id: int, contract: str, publisher: str, pod_id: str, total: int,
                   transfer_to: str, gas: int = 200_000, wait_seconds: float = 120) -> dict:
    """Sends withdrawUpTo and waits for its receipt; raises if it reverted."""
    sender = address_of(key)
    nonce = int(rpc("eth_getTransactionCount", [sender, "pending"]), 16)
    gas_price = int(rpc("eth_gasPrice", []), 16)
    raw = signed_transaction(key, nonce=nonce, gas_price=gas_price, gas=gas, to=contract, chain_id=chain_id,
                             data=call_data(WITHDRAW_UP_TO, publisher, pod_id, total, transfer_to))
    tx = rpc("eth_sendRawTransaction", [raw])
    deadline = time.monotonic() + wait_seconds
    while True:
        receipt = rpc("eth_getTransactionReceipt", [tx])
        if receipt:
            if int(receipt.get("status", "0x0"), 16) != 1:
                raise SettleError(f"withdrawUpTo {tx} reverted")
            return receipt
        if time.monotonic() > deadline:
            raise SettleError(f"withdrawUpTo {tx} not mined within {wait_seconds:.0f}s")
        time.sleep(2)


def metered(prometheus: str, namespace: str, seconds: int, records: dict[str, str], timeout: float = 30) -> dict[str, Decimal]:
    """Each priced quantity of one namespace over the last `seconds`: the per-minute recording
    rules summed over the window, times 60 s (as tools.meter integrates them)."""
    out = {}
    for price, record in records.items():
        query = f'sum(sum_over_time({record}{{namespace="{namespace}"}}[{seconds}s:60s])) * 60'
        url = f"{prometheus.rstrip('/')}/api/v1/query?{urllib.parse.urlencode({'query': query})}"
        try:
            with urllib.request.urlopen(url, timeout=timeout) as response:
                payload = json.loads(response.read())
            result = payload["data"]["result"]
        except (OSError, ValueError, KeyError, TypeError) as e:
            raise SettleError(f"Prometheus query for {namespace} failed ({type(e).__name__})") from None
        out[price] = Decimal(result[0]["value"][1]) if result else Decimal(0)
    return out


# --- the loop --------------------------------------------------------------------------------


def settle_once(config: dict, rpc: Rpc, key: int, owed: dict[str, int], usage,
                seen: Optional[dict[str, int]] = None) -> list[str]:
    """One tick: add `usage(pod)` (wei) to what each pod owes, withdraw what can be withdrawn.
    `seen` (pod name -> withdrawn() after this tick) is kept across ticks for the record.
    Returns one log line per pod; a failure on one pod does not stop the others."""
    seen = {} if seen is None else seen
    lines = []
    for pod in config["pods"]:
        name = pod["name"]
        try:
            this_tick = usage(pod)
            # Counted before the chain is read: a failed read keeps this tick's usage for the next.
            owed[name] = owed.get(name, 0) + this_tick
            channel = Channel(rpc, config["contract"], config["provider"], pod["publisher"], pod["podId"])
            withdrawn, available = channel.state()
            if name in seen:
                # What was billed before this tick, judged at withdrawn() now: a withdrawal made
                # elsewhere counts as paid, a closed channel took its debt with it.
                owed[name] = unwithdrawn(seen[name] + owed[name] - this_tick, seen[name], withdrawn) + this_tick
            seen[name] = withdrawn
            total = plan_withdrawal(owed[name], withdrawn, available, int(config.get("tolerance", 0)))
            if total is None:
                lines.append(f"{name}: owed {owed[name]}, available {available}: nothing to withdraw")
                continue
            withdraw_up_to(rpc, key, int(config["chainId"]), config["contract"], pod["publisher"], pod["podId"], total,
                           config.get("transferTo") or "0x" + "00" * 20)
            owed[name] -= total - withdrawn
            seen[name] = total
            lines.append(f"{name}: withdrew {total - withdrawn}, still owed {owed[name]}")
        except SettleError as e:
            lines.append(f"{name}: {e}")
    return lines


# --- the record: what each channel was billed, for restarts and for the plan ------------------


def billed_record(config: dict, owed: dict[str, int], seen: dict[str, int]) -> dict:
    """The settler's record (RECORD_KEY of the ConfigMap): per channel it has read, `billed`
    (withdrawn() as last seen plus what is still owed) and that `withdrawn`. Wei as decimal
    strings (JSON numbers lose precision past 2**53). Chain, contract and provider say which
    channels these are: a record of another contract means nothing to the plan."""
    channels = [{"publisher": pod["publisher"].lower(), "podId": pod["podId"].lower(),
                 "billed": str(seen[pod["name"]] + max(0, owed.get(pod["name"], 0))),
                 "withdrawn": str(seen[pod["name"]])}
                for pod in config["pods"] if pod["name"] in seen]
    return {"chainId": int(config["chainId"]), "contract": config["contract"].lower(),
            "provider": config["provider"].lower(), "channels": channels}


def restore(config: dict, saved: Optional[dict]) -> tuple[dict[str, int], dict[str, int], list[str]]:
    """(owed, seen, log lines) from a saved record, as they were when it was saved; the first
    tick judges them at withdrawn() then (settle_once), so nothing here reads the chain and no
    failed read can drop a debt. A record of another chain, contract or provider is ignored
    (one line says so), as is a channel it does not list or cannot be parsed."""
    owed: dict[str, int] = {}
    seen: dict[str, int] = {}
    if not saved:
        return owed, seen, []
    if (saved.get("chainId"), str(saved.get("contract", "")).lower(), str(saved.get("provider", "")).lower()) != (
            int(config["chainId"]), config["contract"].lower(), config["provider"].lower()):
        return owed, seen, ["the saved record is of another chain, contract or provider: starting from nothing owed"]
    entries = {(str(e.get("publisher", "")).lower(), str(e.get("podId", "")).lower()): e
               for e in saved.get("channels") or [] if isinstance(e, dict)}
    lines = []
    for pod in config["pods"]:
        entry = entries.get((pod["publisher"].lower(), pod["podId"].lower()))
        if entry is None:
            continue
        try:
            billed, was = int(entry["billed"]), int(entry["withdrawn"])
        except (KeyError, TypeError, ValueError) as e:
            lines.append(f"{pod['name']}: not restored ({type(e).__name__})")
            continue
        owed[pod["name"]], seen[pod["name"]] = max(0, billed - was), was
    return owed, seen, lines


class KubeRecord:
    """The record's ConfigMap, through the Kubernetes API with the pod's ServiceAccount token
    (GET and a JSON merge patch of `data`: the Role allows get and patch on this one name)."""

    SA_DIR = "/var/run/secrets/kubernetes.io/serviceaccount"

    def __init__(self, api: str, namespace: str, name: str, key: str, token_file: str, ca_file: Optional[str],
                 timeout: float = 10):
        self.url = f"{api.rstrip('/')}/api/v1/namespaces/{namespace}/configmaps/{name}"
        self.key, self.token_file, self.timeout = key, token_file, timeout
        self.context = ssl.create_default_context(cafile=ca_file) if ca_file else None

    @classmethod
    def in_cluster(cls, namespace: str, name: str, key: str) -> "KubeRecord":
        host, port = os.environ["KUBERNETES_SERVICE_HOST"], os.environ["KUBERNETES_SERVICE_PORT"]
        host = f"[{host}]" if ":" in host else host
        return cls(f"https://{host}:{port}", namespace, name, key, f"{cls.SA_DIR}/token", f"{cls.SA_DIR}/ca.crt")

    def _request(self, method: str, body: Optional[dict] = None) -> dict:
        with open(self.token_file, encoding="utf-8") as f:  # re-read: the kubelet rotates bound tokens
            token = f.read().strip()
        headers = {"Authorization": f"Bearer {token}", "Accept": "application/json"}
        data = None
        if body is not None:
            data, headers["Content-Type"] = json.dumps(body).encode(), "application/merge-patch+json"
        request = urllib.request.Request(self.url, data=data, headers=headers, method=method)
        try:
            with urllib.request.urlopen(request, timeout=self.timeout, context=self.context) as response:
                return json.loads(response.read())
        except (OSError, ValueError) as e:
            raise SettleError(f"{method} of the record failed ({getattr(e, 'code', type(e).__name__)})") from None

    def load(self) -> Optional[dict]:
        raw = (self._request("GET").get("data") or {}).get(self.key)
        try:
            return json.loads(raw) if raw else None
        except ValueError:
            raise SettleError("the saved record is not JSON") from None

    def save(self, doc: dict) -> None:
        self._request("PATCH", {"data": {self.key: json.dumps(doc, sort_keys=True)}})


def main() -> int:  # pragma: no cover - the in-cluster entry point; settle_once is what is tested
    with open(os.environ.get("SETTLER_CONFIG", "/etc/settler/config.json"), encoding="utf-8") as f:
        config = json.load(f)
    key = int(os.environ["PROVIDER_KEY"].removeprefix("0x"), 16)
    if address_of(key) != config["provider"].lower():
        print("the key in the Secret is not provider.payments.providerAddress's; refusing to sign", flush=True)
        return 2
    rpc = Rpc(os.environ["RPC_URL"])
    if int(rpc("eth_chainId", []), 16) != int(config["chainId"]):
        print("the RPC node serves another chain than provider.payments.chainId; refusing to sign", flush=True)
        return 2
    store = KubeRecord.in_cluster(config["record"]["namespace"], config["record"]["name"], config["record"]["key"])
    try:
        saved = store.load()
    except SettleError as e:
        # Without the record a restart would forget what is owed and the next save would
        # overwrite it: wait for the API server rather than bill from nothing.
        print(f"{e}; retrying at the next start", flush=True)
        return 1
    owed, seen, lines = restore(config, saved)
    interval = int(config["intervalSeconds"])

    def usage(pod: dict) -> int:
        return owed_for(metered(config["prometheus"], pod["namespace"], interval, config["records"]), config["prices"])

    while True:
        lines += settle_once(config, rpc, key, owed, usage, seen)
        try:
            store.save(billed_record(config, owed, seen))
        except SettleError as e:
            lines.append(str(e))
        for line in lines:
            print(line, flush=True)
        lines = []
        time.sleep(interval)


if __name__ == "__main__":
    sys.exit(main())
