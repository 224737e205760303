"""Pure builders for the in-cluster peer list: the file every daemon of a region polls through
`-peer-list-url`, served from the region's `<name>-peers` ConfigMap.

Mina reads a peer list URL and polls it ("URL of seed peer list file. Will be polled
periodically", `-peer-list-url` in mina_cli_entrypoint.ml at 3.1.0), one multiaddr a line. So a
seed that appears later reaches daemons already running, where `-peer` flags would need a restart.
A small static server (busybox httpd, reading the ConfigMap volume, which kubelet refreshes in
place) answers inside the namespace only (builder.network_policy): nobody outside needs it, and
the same list is the stack output peersTxt for everyone else.
"""

from __future__ import annotations

from components.testnet.builder import PEERS_FILE, peer_list_url, peers_name
from components.testnet.settings import TestnetSettings
from components.testnet.stateless_builder import deployment
from pegasus import names

COMPONENT = "peer-list"
IMAGE = "busybox:1.37.0"  # its httpd applet: a static file server of a few hundred kilobytes
PORT = 8080  # unprivileged, so the server runs as nobody
SERVICE_PORT = 80
ROOT = "/srv"
USER = 65534  # nobody


name = peers_name
url = peer_list_url
FILE = PEERS_FILE


def server_deployment(testnet: TestnetSettings) -> dict:
    labels = {**names.labels(COMPONENT, testnet.name, name=name(testnet)), "pegasus.saga.xyz/testnet": testnet.name}
    selector = names.selector(COMPONENT, testnet.name, name=name(testnet))
    probe = {"tcpSocket": {"port": "http"}, "periodSeconds": 10}
    container = {
        "name": "httpd",
        "image": IMAGE,
        "imagePullPolicy": "IfNotPresent",
        # -f: foreground, -p: port, -h: the folder it serves (busybox httpd).
        "command": ["httpd", "-f", "-p", str(PORT), "-h", ROOT],
        "ports": [{"name": "http", "containerPort": PORT, "protocol": "TCP"}],
        "volumeMounts": [{"name": "peers", "mountPath": ROOT, "readOnly": True}],
        "readinessProbe": probe,
        "livenessProbe": {**probe, "failureThreshold": 6},
        "resources": {"requests": {"cpu": "10m", "memory": "16Mi"}, "limits": {"cpu": "100m", "memory": "64Mi"}},
        "securityContext": {"allowPrivilegeEscalation": False, "privileged": False, "capabilities": {"drop": ["ALL"]},
                            "readOnlyRootFilesystem": True, "runAsNonRoot": True, "runAsUser": USER, "runAsGroup": USER},
    }
    # Two replicas: a daemon that starts while one is rescheduled still gets the list.
    return deployment(name(testnet), testnet, labels, selector, [container], replicas=2,
                      volumes=[{"name": "peers", "configMap": {"name": name(testnet)}}])


def service(testnet: TestnetSettings) -> dict:
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": name(testnet), "namespace": testnet.namespace,
                     "labels": names.labels(COMPONENT, testnet.name, name=name(testnet))},
        "spec": {"type": "ClusterIP", "selector": names.selector(COMPONENT, testnet.name, name=name(testnet)),
                 "ports": [{"name": "http", "port": SERVICE_PORT, "targetPort": "http", "protocol": "TCP"}]},
    }
