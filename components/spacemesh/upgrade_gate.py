"""The readiness gate of a staged upgrade: a Job that the `up` moving a stage waits for, which
completes only when every node the upgrade has moved reports itself synced over its API.

Spacecraft's upgradeNetwork waited per node; here each `up` that raises `upgrade.nodes`
restarts those nodes and then waits on this Job (pulumi-kubernetes waits for a Job to complete
and fails the update when it fails), so an `up` that finishes means the stage is synced and the
next may start. Ready is the node's own answer, not an open port:
`POST /spacemesh.v2alpha1.NodeService/Status` on its JSON API, `status` equal to
`SYNC_STATUS_SYNCED` (spacemeshos/api v1.55.0 api.swagger.json; go-spacemesh v1.7.6 serves
node_v2alpha1 among its public services on the JSON listener, api/grpcserver/config.go and
node/node.go, and answers SYNCED exactly when its syncer is synced, api/grpcserver/v2alpha1/node.go).

The Job runs busybox (the image the testnet blueprint pins) with its wget: -q, -T, -O -,
--header and --post-data (networking/wget.c). protojson may put a space after a colon, so the
match allows one.
"""

from __future__ import annotations

import hashlib
from typing import Optional, Sequence

from components.spacemesh import builder as sb
from components.spacemesh.config import SpacemeshSettings
from pegasus import names

IMAGE = "busybox:1.37.0"
STATUS_ROUTE = "/spacemesh.v2alpha1.NodeService/Status"
SYNCED = "SYNC_STATUS_SYNCED"
POLL_SECONDS = 15
GATE_SCRIPT = f"""set -u
for entry in $NODES; do
  node="${{entry%%=*}}"
  url="${{entry#*=}}"
  until wget -q -T 10 -O - --header 'Content-Type: application/json' --post-data '{{}}' "$url{STATUS_ROUTE}" 2>/dev/null | grep -Eq '"status": ?"{SYNCED}"'; do
    echo "$node: not synced yet"
    sleep "$POLL_SECONDS"
  done
  echo "$node: synced"
done
"""


def moved_nodes(s: SpacemeshSettings, plans: Sequence[sb.NodePlan]) -> list[sb.NodePlan]:
    """The nodes the staged upgrade runs on its new image, in upgrade order."""
    if not s.upgrade_image or not s.upgrade_nodes:
        return []
    by_name = {p.name: p for p in plans}
    return [by_name[n] for n in sb.upgrade_order(plans)[: s.upgrade_nodes]]


def job_name(s: SpacemeshSettings, moved: Sequence[sb.NodePlan]) -> str:
    """A name per stage (its nodes and image): a new stage is a new Job, created before the
    previous one is deleted, and a repeated `up` of the same stage changes nothing."""
    digest = hashlib.sha256(f"{s.upgrade_image}|{','.join(p.name for p in moved)}".encode()).hexdigest()[:8]
    return f"upgrade-gate-{len(moved)}-{digest}"


def gate_job(s: SpacemeshSettings, plans: Sequence[sb.NodePlan], ns: str) -> Optional[dict]:
    moved = moved_nodes(s, plans)
    if not moved:
        return None
    name = job_name(s, moved)
    labels = names.labels(sb.COMPONENT, "upgrade-gate")
    targets = " ".join(f"{p.name}=http://{sb.service_host(sb.api_service(p), ns)}:{sb.JSON_API.port}" for p in moved)
    security = {"allowPrivilegeEscalation": False, "privileged": False, "capabilities": {"drop": ["ALL"]},
                "readOnlyRootFilesystem": True, "runAsNonRoot": True, "runAsUser": 65534}
    return {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": {"name": name, "namespace": ns, "labels": labels},
        "spec": {
            # The deadline is the wait: past it the Job fails, and so does the `up`.
            "activeDeadlineSeconds": s.upgrade_wait_minutes * 60,
            "backoffLimit": 3,
            "template": {
                "metadata": {"labels": labels},
                "spec": {
                    "restartPolicy": "OnFailure",
                    "automountServiceAccountToken": False,
                    "securityContext": {"seccompProfile": {"type": "RuntimeDefault"}},
                    "containers": [{
                        "name": "wait-synced", "image": IMAGE, "imagePullPolicy": "IfNotPresent",
                        "command": ["/bin/sh", "-c", GATE_SCRIPT],
                        "env": [{"name": "NODES", "value": targets}, {"name": "POLL_SECONDS", "value": str(POLL_SECONDS)}],
                        "resources": {"requests": {"cpu": "10m", "memory": "16Mi"}, "limits": {"cpu": "100m", "memory": "64Mi"}},
                        "securityContext": security,
                    }],
                },
            },
        },
    }
