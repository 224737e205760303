"""python -m tools.meter --prometheus URL --since T: what each tenant pod of a provider stack
used and reserved over a time range, and what it owes under the stack's pricing table
(`pegasus:provider.pricing`).

It integrates the recording rules of components/provider/metering_builder.py (CPU cores and memory
bytes per tenant namespace, used and reserved) over a range query: every sample stands for
one step, so the sum of value x step is CPU-seconds or byte-seconds. Decimal arithmetic
throughout, so a bill never carries float rounding.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Mapping, Optional

PROJECT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
_RELATIVE = re.compile(r"^([0-9]+)([smhd])$")
_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


class MeterError(Exception):
    """Prometheus could not be read, or an argument is malformed: one line for the user."""


@dataclass(frozen=True)
class Usage:
    pod: str
    namespace: str
    quantities: Mapping[str, Decimal]  # price name -> CPU-seconds or byte-seconds
    owed: Decimal


def parse_time(value: str, now: float) -> float:
    """RFC 3339 (2026-12-01T00:00:00Z), Unix seconds, or a duration before now (24h, 7d)."""
    m = _RELATIVE.match(value)
    if m:
        return now - int(m.group(1)) * _SECONDS[m.group(2)]
    if re.fullmatch(r"[0-9]+(\.[0-9]+)?", value):
        return float(value)
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()
    except ValueError:
        raise MeterError(f"{value!r} is not a time: use RFC 3339 (2026-12-01T00:00:00Z), Unix seconds or a duration like 24h") from None


def query_range(base: str, query: str, start: float, end: float, step: int, timeout: float = 30) -> list:
    params = urllib.parse.urlencode({"query": query, "start": f"{start:.3f}", "end": f"{end:.3f}", "step": str(step)})
    url = f"{base.rstrip('/')}/api/v1/query_range?{params}"
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            payload = json.loads(response.read())
    except urllib.error.HTTPError as e:
        raise MeterError(f"Prometheus at {base} answered HTTP {e.code} to {query}") from None
    except (urllib.error.URLError, OSError) as e:
        raise MeterError(f"Prometheus at {base} cannot be reached ({getattr(e, 'reason', e)})") from None
    except ValueError:
        raise MeterError(f"Prometheus at {base} answered {query} with something that is not JSON") from None
    if payload.get("status") != "success" or (payload.get("data") or {}).get("resultType") != "matrix":
        raise MeterError(f"Prometheus at {base} did not return a matrix for {query}: {payload.get('error') or payload.get('status')}")
    return payload["data"]["result"]


def integrate(series: list, step: int) -> dict[str, Decimal]:
    """namespace -> sum of value x step."""
    out: dict[str, Decimal] = {}
    for s in series:
        ns = (s.get("metric") or {}).get("namespace")
        if not ns:
            continue
        total = sum((Decimal(v) for _, v in s.get("values") or [] if v not in ("NaN", "+Inf", "-Inf")), Decimal(0))
        out[ns] = out.get(ns, Decimal(0)) + total * step
    return out


def meter(base: str, start: float, end: float, step: int, prices: Mapping[str, str],
          pods_by_namespace: Mapping[str, str]) -> list[Usage]:
    from components.provider.metering_builder import RECORDS

    if end <= start:
        raise MeterError("--since must be before --until")
    totals: dict[str, dict[str, Decimal]] = {}
    for record, (_, _, price) in RECORDS.items():
        for ns, value in integrate(query_range(base, record, start, end, step), step).items():
            totals.setdefault(ns, {})[price] = value
    out = []
    for ns in sorted(set(totals) | set(pods_by_namespace)):
        quantities = {price: totals.get(ns, {}).get(price, Decimal(0)) for _, (_, _, price) in RECORDS.items()}
        owed = sum((quantities[p] * Decimal(prices.get(p, "0")) for p in quantities), Decimal(0))
        out.append(Usage(pods_by_namespace.get(ns, "(no manifest)"), ns, quantities, owed))
    return out


def _stack(stack: Optional[str], config_file: Optional[str], sets: list[str]):
    sys.path.insert(0, PROJECT)
    from components.provider import builder as pb
    from components.provider import manifests
    from tools.plan.stackfile import assemble

    cfg = assemble(PROJECT, stack, config_file, sets)
    settings = cfg.settings()
    if settings.blueprint != "provider":
        raise MeterError(f"stack {cfg.stack} runs the {settings.blueprint} blueprint; metering needs a provider stack")
    p = settings.provider
    pods = manifests.read_manifests(p.manifests, PROJECT, p.http_host_suffix)
    return p.pricing, {pb.namespace_name(pod.publisher, pod.pod_id): pod.name for pod in pods}


def _format(value: Decimal) -> str:
    text = f"{value.normalize():f}"
    return text


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="python -m tools.meter", description=__doc__.split("\n\n")[0])
    p.add_argument("--prometheus", required=True, help="base URL of Prometheus, e.g. http://localhost:9090")
    p.add_argument("--since", required=True, help="start: RFC 3339, Unix seconds, or a duration before now (24h, 7d)")
    p.add_argument("--until", default=None, help="end, in the same forms (default: now)")
    p.add_argument("--step", type=int, default=60, help="seconds per sample (default 60, the rules' interval)")
    p.add_argument("--stack", default="provider", help="read the pricing and pods of Pulumi.STACK.yaml (default: provider)")
    p.add_argument("--config-file", help="read this stack file instead")
    p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help="override config as tools.plan does")
    p.add_argument("--json", action="store_true", help="print JSON instead of a table")
    args = p.parse_args(argv)
    from pegasus.errors import PegasusError
    from tools.plan.stackfile import UsageError

    try:
        if args.step < 1:
            raise MeterError("--step must be at least 1 second")
        now = time.time()
        start = parse_time(args.since, now)
        end = parse_time(args.until, now) if args.until else now
        pricing, pods = _stack(args.stack, args.config_file, args.set)
        rows = meter(args.prometheus, start, end, args.step, pricing.prices, pods)
    except (MeterError, PegasusError, UsageError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    if args.json:
        print(json.dumps({"currency": pricing.currency, "start": start, "end": end, "pods": [
            {"pod": r.pod, "namespace": r.namespace, **{k: _format(v) for k, v in r.quantities.items()}, "owed": _format(r.owed)}
            for r in rows]}, indent=2))
        return 0
    header = ["pod", "namespace", "cpuSecond", "memoryByteSecond", "cpuReservedSecond", "memoryReservedByteSecond", f"owed ({pricing.currency})"]
    table = [header] + [[r.pod, r.namespace, *(_format(r.quantities[h]) for h in header[2:6]), _format(r.owed)] for r in rows]
    widths = [max(len(row[i]) for row in table) for i in range(len(header))]
    for row in table:
        print("  ".join(cell.ljust(w) for cell, w in zip(row, widths)).rstrip())
    return 0


if __name__ == "__main__":
    sys.exit(main())
