"""Reading every pod's payment channel at one block.

The payment contract (comrade-coop/trusted-pods contracts/src/Payment.sol) answers
`available(address publisher, address provider, bytes32 podId) returns (uint256)`: what the
publisher paid in and the provider has not withdrawn yet. A pod whose channel has nothing
available is exhausted.

Plain JSON-RPC over urllib, not web3.py: the reader needs three methods (eth_chainId,
eth_blockNumber, eth_call) and one fixed ABI encoding of three 32-byte words, while web3.py
would bring aiohttp, websockets and a dozen eth-* packages into the venv every `pulumi up`
runs in. The selector is Keccak-256 of the signature (pegasus/keccak.py; a test recomputes it).

One block for the whole read: the latest block is asked once, and every eth_call names that
block, so all pods are judged on the same chain state. Any failure, a wrong chain ID, a
contract that does not answer, or a malformed answer raises PaymentReadError before a single
resource is declared: a pod is never removed because a read failed.

Remaining credit. With provider.payments.billed, the settler's record (settler.billed_record,
fetched from its ConfigMap) says what each channel was billed in all; `withdrawn()` at the same
block gives what of it is still owed (settler.unwithdrawn), and a pod is funded while
available - owed > 0. A record older than the read only knows less billing, so it can keep a
pod a run longer, never remove one early.
"""

from __future__ import annotations

import json
import os
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from typing import Any, Iterable, Mapping, Union

from components.provider.settler import unwithdrawn
from pegasus.errors import PegasusError
from pegasus.keccak import keccak256

SIGNATURE = "available(address,address,bytes32)"
SELECTOR = "0x8247820d"  # keccak256(SIGNATURE)[:4]
WITHDRAWN_SIGNATURE = "withdrawn(address,address,bytes32)"
WITHDRAWN_SELECTOR = "0x6ee6a5da"  # keccak256(WITHDRAWN_SIGNATURE)[:4]
BILLED_KEY = "provider.payments.billed"
FUNDED, EXHAUSTED = "funded", "exhausted"


class PaymentReadError(PegasusError):
    """The channels could not be read completely at one block; nothing is planned."""

    def __init__(self, message: str, key: str = "provider.payments.rpcUrl"):
        self.key = key
        super().__init__(f"pegasus:{key}: {message}")


@dataclass(frozen=True)
class Channel:
    publisher: str
    pod_id: str
    available: int
    owed: int = 0  # billed by the settler and not withdrawn yet (0 without provider.payments.billed)

    @property
    def remaining(self) -> int:
        return self.available - self.owed

    @property
    def status(self) -> str:
        return FUNDED if self.remaining > 0 else EXHAUSTED


@dataclass(frozen=True)
class PaymentView:
    source: str
    chain_id: int
    block: int
    channels: Mapping[str, Channel]  # pod name -> its channel at `block`


def call_data(publisher: str, provider: str, pod_id: str, selector_: str = SELECTOR) -> str:
    """ABI encoding of available(publisher, provider, podId) (or withdrawn(), same arguments):
    the selector and three words."""
    words = [bytes.fromhex(publisher[2:]).rjust(32, b"\0"), bytes.fromhex(provider[2:]).rjust(32, b"\0"),
             bytes.fromhex(pod_id[2:])]
    return selector_ + b"".join(words).hex()


def selector(signature: str = SIGNATURE) -> str:
    return "0x" + keccak256(signature.encode()).hex()[:8]


Billed = Mapping[tuple[str, str], tuple[int, int]]  # (publisher, podId) -> (billed, withdrawn seen)


def read_billed(path: str, base_dir: str, *, chain_id: int, contract: str, provider: str) -> Billed:
    """The settler's record as `kubectl -n provider-settlement get configmap settler-billed -o
    jsonpath='{.data.billed\\.json}'` prints it. A record of another chain, contract or provider
    is refused rather than ignored: it would say nothing about these channels, and the operator
    who configured it expects it to count."""
    try:
        with open(os.path.join(base_dir, path), encoding="utf-8") as f:
            doc = json.load(f)
    except (OSError, ValueError) as e:
        raise PaymentReadError(f"cannot read {path}: {e}; fetch it again from the settler's ConfigMap, or unset "
                               f"{BILLED_KEY}; nothing was planned", key=BILLED_KEY) from None
    if not isinstance(doc, dict):
        raise PaymentReadError(f"{path} must hold the settler's record, a JSON object; nothing was planned", key=BILLED_KEY)
    for field_, want in (("chainId", chain_id), ("contract", contract), ("provider", provider)):
        got = doc.get(field_)
        if (got.lower() if isinstance(got, str) else got) != want:
            raise PaymentReadError(f"{path} is the settler's record of {field_} {got!r}, not {want!r} as configured; fetch "
                                   "the record of this stack's settler; nothing was planned", key=BILLED_KEY)
    out = {}
    for i, entry in enumerate(doc.get("channels") or []):
        try:
            publisher, pod_id = entry["publisher"].lower(), entry["podId"].lower()
            billed, seen = int(str(entry["billed"])), int(str(entry["withdrawn"]))
        except (TypeError, KeyError, ValueError, AttributeError):
            raise PaymentReadError(f"{path}: channels[{i}] needs publisher, podId and whole-number billed and withdrawn; "
                                   "nothing was planned", key=BILLED_KEY) from None
        if billed < 0 or seen < 0:
            raise PaymentReadError(f"{path}: channels[{i}] has a negative amount; nothing was planned", key=BILLED_KEY)
        out[(publisher, pod_id)] = (billed, seen)
    return out


def _owed(billed: Billed, publisher: str, pod_id: str, withdrawn_now: int) -> int:
    entry = billed.get((publisher.lower(), pod_id.lower()))
    return unwithdrawn(entry[0], entry[1], withdrawn_now) if entry else 0


def redact(url: str) -> str:
    """scheme://host[:port] of an RPC URL: providers' API keys sit in its path, query or userinfo."""
    parts = urllib.parse.urlsplit(url)
    host = parts.hostname or "?"
    return f"{parts.scheme}://{host}" + (f":{parts.port}" if parts.port else "")


class JsonRpc:
    def __init__(self, url: str, timeout: float):
        # self.url is what messages show; the full URL is used for requests only.
        self._url, self.url, self.timeout, self.next_id = url, redact(url), timeout, 1

    def __call__(self, method: str, params: list) -> Any:
        body = json.dumps({"jsonrpc": "2.0", "id": self.next_id, "method": method, "params": params}).encode()
        self.next_id += 1
        request = urllib.request.Request(self._url, data=body, headers={"Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:
                payload = json.loads(response.read())
        except urllib.error.HTTPError as e:
            raise PaymentReadError(f"{method} at {self.url} failed with HTTP {e.code}; nothing was planned") from None
        except (urllib.error.URLError, OSError) as e:
            reason = getattr(e, "reason", e)
            raise PaymentReadError(f"{method} at {self.url} failed ({reason}); check the URL and provider.payments.timeoutSeconds; nothing was planned") from None
        except ValueError:
            raise PaymentReadError(f"{method} at {self.url} answered with something that is not JSON; nothing was planned") from None
        if not isinstance(payload, dict):
            raise PaymentReadError(f"{method} at {self.url} answered with a JSON {type(payload).__name__}, not a JSON-RPC response; nothing was planned")
        if payload.get("error") is not None:
            error = payload["error"]
            message = error.get("message") if isinstance(error, dict) else error
            raise PaymentReadError(f"{method} at {self.url} returned an error: {message}; nothing was planned")
        if "result" not in payload:
            raise PaymentReadError(f"{method} at {self.url} returned no result; nothing was planned")
        return payload["result"]


def _quantity(value: Any, what: str, url: str) -> int:
    if not isinstance(value, str) or not value.startswith("0x"):
        raise PaymentReadError(f"{what} from {url} is {value!r}, not a hex quantity; nothing was planned")
    try:
        return int(value, 16)
    except ValueError:
        raise PaymentReadError(f"{what} from {url} is {value!r}, not a hex quantity; nothing was planned") from None


def read_evm(url: str, *, chain_id: int, contract: str, provider: str, block_tag: Union[str, int],
             pods: Iterable[tuple[str, str, str]], timeout: float = 10, confirmations: int = 0,
             billed: Union[Billed, None] = None) -> PaymentView:
    """pods: (name, publisher, podId) of every pod. With block_tag latest, the read is pinned
    `confirmations` blocks below the head: a deposit or withdrawal in a block that may still be
    reorganised away decides nothing."""
    billed = billed or {}
    rpc = JsonRpc(url, timeout)
    url = rpc.url  # redacted from here on: it goes into messages
    answered = _quantity(rpc("eth_chainId", []), "eth_chainId", url)
    if answered != chain_id:
        raise PaymentReadError(
            f"the node at {url} serves chain {answered}, not chain {chain_id}; point provider.payments.rpcUrl at a node "
            "of the payment chain (or fix provider.payments.chainId); nothing was planned", key="provider.payments.chainId")
    if block_tag == "latest":
        block = max(0, _quantity(rpc("eth_blockNumber", []), "eth_blockNumber", url) - confirmations)
    else:
        block = int(block_tag)
    tag = hex(block)
    def word(name: str, what: str, data: str) -> int:
        result = rpc("eth_call", [{"to": contract, "data": data}, tag])
        if result in ("0x", None, ""):
            raise PaymentReadError(
                f"the payment contract {contract} did not answer {what}() at block {block} (no code there?); "
                "check provider.payments.contract and provider.payments.chainId; nothing was planned", key="provider.payments.contract")
        if not isinstance(result, str) or len(result) != 66:
            raise PaymentReadError(f"{what}() for pod {name} returned {result!r}, not one 32-byte word; nothing was planned",
                                   key="provider.payments.contract")
        return _quantity(result, f"{what}() for pod {name}", url)

    channels = {}
    for name, publisher, pod_id in pods:
        available = word(name, "available", call_data(publisher, provider, pod_id))
        owed = 0
        if (publisher.lower(), pod_id.lower()) in billed:  # withdrawn() at the same block as available()
            owed = _owed(billed, publisher, pod_id, word(name, "withdrawn", call_data(publisher, provider, pod_id, WITHDRAWN_SELECTOR)))
        channels[name] = Channel(publisher, pod_id, available, owed)
    return PaymentView("evm", chain_id, block, channels)


def read_snapshot(path: str, base_dir: str, *, chain_id: int, contract: str, provider: str,
                  pods: Iterable[tuple[str, str, str]], billed: Union[Billed, None] = None) -> PaymentView:
    """A JSON file of the same answers, for offline plans: {chainId, block, contract,
    provider, channels: [{publisher, podId, available, withdrawn (default 0)}]}. A channel it
    does not list reads as 0, as the contract's mapping does."""
    key = "provider.payments.snapshot"
    billed = billed or {}
    try:
        with open(os.path.join(base_dir, path), encoding="utf-8") as f:
            doc = json.load(f)
    except (OSError, ValueError) as e:
        raise PaymentReadError(f"cannot read {path}: {e}", key=key) from None
    if not isinstance(doc, dict):
        raise PaymentReadError(f"{path} must hold a JSON object", key=key)
    for field_, want in (("chainId", chain_id), ("contract", contract), ("provider", provider)):
        got = doc.get(field_)
        if (got.lower() if isinstance(got, str) else got) != want:
            raise PaymentReadError(f"{path} records {field_} {got!r}, not {want!r} as configured; nothing was planned", key=key)
    block = doc.get("block")
    if isinstance(block, bool) or not isinstance(block, int) or block < 0:
        raise PaymentReadError(f"{path}: block must be a block number, got {block!r}", key=key)
    known: dict[tuple[str, str], tuple[int, int]] = {}
    for i, entry in enumerate(doc.get("channels") or []):
        try:
            publisher, pod_id, available = entry["publisher"].lower(), entry["podId"].lower(), int(str(entry["available"]))
            withdrawn = int(str(entry.get("withdrawn", 0)))
        except (TypeError, KeyError, ValueError, AttributeError):
            raise PaymentReadError(f"{path}: channels[{i}] needs publisher, podId and a whole-number available "
                                   "(and withdrawn, if given)", key=key) from None
        if available < 0 or withdrawn < 0:
            raise PaymentReadError(f"{path}: channels[{i}] has a negative amount", key=key)
        known[(publisher, pod_id)] = (available, withdrawn)
    channels = {}
    for name, publisher, pod_id in pods:
        available, withdrawn = known.get((publisher.lower(), pod_id.lower()), (0, 0))
        channels[name] = Channel(publisher, pod_id, available, _owed(billed, publisher, pod_id, withdrawn))
    return PaymentView("snapshot", chain_id, block, channels)


def read(settings: Any, pods: Iterable[Any], base_dir: str) -> PaymentView:
    """Read every pod's channel as `settings` (PaymentsSettings) says."""
    triples = [(p.name, p.publisher, p.pod_id) for p in pods]
    billed: Billed = {}
    if settings.billed:
        billed = read_billed(settings.billed, base_dir, chain_id=settings.chain_id, contract=settings.contract,
                             provider=settings.provider_address)
    if settings.source == "snapshot":
        return read_snapshot(settings.snapshot, base_dir, chain_id=settings.chain_id, contract=settings.contract,
                             provider=settings.provider_address, pods=triples, billed=billed)
    return read_evm(settings.rpc_url.value, chain_id=settings.chain_id, contract=settings.contract,
                    provider=settings.provider_address, block_tag=settings.block_tag, pods=triples,
                    timeout=settings.timeout_seconds, confirmations=settings.confirmations, billed=billed)


def exhausted(view: PaymentView) -> list[str]:
    return sorted(name for name, c in view.channels.items() if c.status == EXHAUSTED)


def statuses(view: PaymentView) -> dict[str, str]:
    return {name: c.status for name, c in sorted(view.channels.items())}


__all__ = ["Channel", "PaymentReadError", "PaymentView", "read", "read_evm", "read_snapshot", "call_data", "selector",
           "FUNDED", "EXHAUSTED"]
