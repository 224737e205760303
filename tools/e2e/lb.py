"""The e2e cluster's LoadBalancer implementation: the role MetalLB or cloud-provider-kind plays.

Every Service of type LoadBalancer without a loadBalancerClass (classed ones belong to a
cloud's controller, as with MetalLB) gets `status.loadBalancer.ingress` from 192.0.2.0/24
(TEST-NET-1, RFC 5737), or its `spec.loadBalancerIP` when set. An address stays with its
Service for as long as the Service exists, as a cloud load balancer's would. The addresses
are status data only: nothing listens on them and no traffic is ever sent to them.

It stops by itself when its PID file is removed, when the API server has been unreachable
for 30 s (the cluster is gone), or after --lifetime seconds.
"""

from __future__ import annotations

import argparse
import ipaddress
import json
import os
import subprocess
import time
from pathlib import Path

POOL = ipaddress.ip_network("192.0.2.0/24")


def assign(services: list[dict]) -> list[tuple[str, str, str]]:
    """(namespace, name, ip) for every LoadBalancer Service that has no address yet.
    Pure, so the allocation rules are tested without a cluster."""
    used = set()
    pending = []
    for svc in services:
        spec, status = svc.get("spec", {}), svc.get("status", {})
        if spec.get("type") != "LoadBalancer" or spec.get("loadBalancerClass"):
            continue
        ingress = (status.get("loadBalancer") or {}).get("ingress") or []
        if ingress:
            used.update(i.get("ip") for i in ingress if i.get("ip"))
        else:
            pending.append(svc)
    free = (str(ip) for ip in POOL.hosts() if str(ip) not in used)
    out = []
    for svc in sorted(pending, key=lambda s: (s["metadata"].get("creationTimestamp", ""), s["metadata"]["namespace"], s["metadata"]["name"])):
        wanted = svc["spec"].get("loadBalancerIP")
        ip = wanted if wanted and wanted not in used else next(free, None)
        if ip is None:
            break  # pool exhausted: the Service stays pending, as with a real LB
        used.add(ip)
        out.append((svc["metadata"]["namespace"], svc["metadata"]["name"], ip))
    return out


def main() -> None:
    p = argparse.ArgumentParser(prog="python -m tools.e2e.lb", description=__doc__.split("\n\n")[0])
    p.add_argument("--kubeconfig", required=True)
    p.add_argument("--kubectl", required=True)
    p.add_argument("--pid-file", required=True)
    p.add_argument("--interval", type=float, default=1.0)
    p.add_argument("--lifetime", type=float, default=24 * 3600)
    args = p.parse_args()

    pid_file = Path(args.pid_file)
    pid_file.write_text(str(os.getpid()))
    kubectl = [args.kubectl, "--kubeconfig", args.kubeconfig, "--request-timeout=10s"]
    deadline = time.monotonic() + args.lifetime
    unreachable_since = None
    while time.monotonic() < deadline and pid_file.exists():
        proc = subprocess.run([*kubectl, "get", "services", "-A", "-o", "json"], capture_output=True, text=True)
        if proc.returncode != 0:
            unreachable_since = unreachable_since or time.monotonic()
            if time.monotonic() - unreachable_since > 30:
                break
        else:
            unreachable_since = None
            for namespace, name, ip in assign(json.loads(proc.stdout)["items"]):
                patch = {"status": {"loadBalancer": {"ingress": [{"ip": ip, "ipMode": "VIP"}]}}}
                subprocess.run(
                    [*kubectl, "patch", "service", name, "-n", namespace, "--subresource=status", "--type=merge", "-p", json.dumps(patch)],
                    capture_output=True,
                )
                print(f"{namespace}/{name} -> {ip}", flush=True)
        time.sleep(args.interval)
    pid_file.unlink(missing_ok=True)


if __name__ == "__main__":
    main()
