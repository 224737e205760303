"""The readiness gate between upgrade stages: the Job each staged `up` waits for, its script
run as emitted against a node API on 127.0.0.1 that answers as the pinned protos define
NodeService/Status, and its names checked against the upstream fixtures (spacemeshos/api
v1.55.0 swagger, go-spacemesh v1.7.6 public services, busybox's wget options).

The script runs here with the machine's GNU wget, which takes the same options busybox's
applet documents (tests/spacemesh/upstream/busybox-wget.json); the busybox image itself cannot
be pulled in this sandbox."""

from __future__ import annotations

import json
import os
import re
import shlex
import subprocess
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from components.spacemesh import builder as sb
from components.spacemesh import upgrade_gate as ug
from tests.conftest import example, obj, run
from tests.spacemesh.test_builders import settings
from tests.spacemesh.test_upstream import GS, fixture

API = fixture("spacemesh-api-v1.55.0.json")
WGET = fixture("busybox-wget.json")


class NodeApi:
    """A node's JSON API for one route: answers each POST with the next status in `statuses`
    (the last one repeats), in the response message's own field names."""

    def __init__(self, statuses: list[str], spaced: bool = False):
        self.requests: list[tuple[str, str, str]] = []
        requests = self.requests

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0)).decode()
                requests.append((self.path, self.headers.get("Content-Type"), body))
                if self.path != ug.STATUS_ROUTE:
                    self.send_response(404)
                    self.end_headers()
                    return
                status = statuses[min(len(requests) - 1, len(statuses) - 1)]
                answer = {"connectedPeers": "8", "status": status, "latestLayer": 100, "appliedLayer": 99,
                          "processedLayer": 99, "currentLayer": 100}
                assert set(answer) == set(API["messages"]["NodeStatusResponse"])
                # protojson may write a space after the colon; the gate must not care.
                data = json.dumps(answer, separators=(",", ": " if spaced else ":")).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args):
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}"


@pytest.fixture
def api():
    started = []

    def start(statuses, spaced=False):
        a = NodeApi(statuses, spaced)
        a.thread.start()
        started.append(a)
        return a

    yield start
    for a in started:
        a.httpd.shutdown()
        a.httpd.server_close()
        a.thread.join(5)


def staged(**kw):
    return settings(upgrade={"image": "spacemeshos/go-spacemesh:v1.7.7", "nodes": 2, **kw})


def run_gate(job: dict, nodes: str, timeout: float) -> subprocess.CompletedProcess:
    (c,) = job["spec"]["template"]["spec"]["containers"]
    env = {e["name"]: e["value"] for e in c["env"]}
    env.update(NODES=nodes, POLL_SECONDS="0.1", PATH=os.environ["PATH"])
    env.pop("http_proxy", None)
    return subprocess.run(c["command"], env=env, capture_output=True, text=True, timeout=timeout)


@pytest.mark.parametrize("spaced", [False, True])
def test_the_gate_waits_until_each_moved_node_reports_synced(api, spaced):
    syncing = api(["SYNC_STATUS_SYNCING", "SYNC_STATUS_SYNCING", "SYNC_STATUS_SYNCED"], spaced)
    synced = api(["SYNC_STATUS_SYNCED"], spaced)
    job = ug.gate_job(staged(), sb.plan_nodes(staged()), "ns")
    done = run_gate(job, f"miner-5={syncing.url} miner-4={synced.url}", timeout=30)
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == ["miner-5: not synced yet", "miner-5: not synced yet", "miner-5: synced", "miner-4: synced"]
    # POST /spacemesh.v2alpha1.NodeService/Status with the (empty) request message as JSON.
    assert syncing.requests == [(ug.STATUS_ROUTE, "application/json", "{}")] * 3


@pytest.mark.parametrize("status", ["SYNC_STATUS_SYNCING", "SYNC_STATUS_OFFLINE", "SYNC_STATUS_UNSPECIFIED"])
def test_a_node_that_is_not_synced_holds_the_gate(api, status):
    node = api([status])
    job = ug.gate_job(staged(), sb.plan_nodes(staged()), "ns")
    with pytest.raises(subprocess.TimeoutExpired) as e:
        run_gate(job, f"miner-5={node.url}", timeout=2)
    assert "miner-5: not synced yet" in (e.value.stdout or b"").decode() and len(node.requests) >= 2


def test_the_gate_speaks_the_pinned_api_and_busyboxs_wget():
    job = ug.gate_job(staged(), sb.plan_nodes(staged()), "ns")
    script = job["spec"]["template"]["spec"]["containers"][0]["command"][2]
    assert API["routes"][ug.STATUS_ROUTE] == ["POST"]
    assert ug.SYNCED in API["enums"]["NodeStatusResponseSyncStatus"]
    assert re.search(r'"status": \?"' + ug.SYNCED, script) and "status" in API["messages"]["NodeStatusResponse"]
    assert "node_v2alpha1" in GS["publicServices"]  # served on the JSON listener (node/node.go)
    wget = next(line for line in script.splitlines() if "wget " in line)
    used = {w for w in shlex.split(wget.split("|")[0].split("until ", 1)[1]) if w.startswith("-") and w != "-"}
    assert used == set(WGET["options"])


def test_the_gate_dials_each_moved_nodes_json_api_in_upgrade_order():
    s = staged()
    job = ug.gate_job(s, sb.plan_nodes(s), "spacemesh-devnet-412")
    env = {e["name"]: e["value"] for e in job["spec"]["template"]["spec"]["containers"][0]["env"]}
    assert env["NODES"] == ("miner-5=http://miner-5-api.spacemesh-devnet-412.svc.cluster.local:7000 "
                            "miner-4=http://miner-4-api.spacemesh-devnet-412.svc.cluster.local:7000")
    assert job["spec"]["activeDeadlineSeconds"] == 3600
    assert ug.gate_job(settings(), sb.plan_nodes(settings()), "ns") is None
    assert staged(waitMinutes=20) and ug.gate_job(staged(waitMinutes=20), sb.plan_nodes(staged()), "ns")["spec"]["activeDeadlineSeconds"] == 1200


def test_each_stage_is_a_new_job_that_waits_on_its_nodes():
    from tools.plan.diff import diff

    stage = ["spacemesh.upgrade.image=spacemeshos/go-spacemesh:v1.7.7"]
    two = run("spacemesh", stage + ["spacemesh.upgrade.nodes=2"])
    first = diff(example("spacemesh"), two)
    assert [u.rsplit("::", 1)[1] for u in first.created] == ["spacemesh-upgrade-gate"]
    job = next(r for r in two.resources if r.name == "spacemesh-upgrade-gate")
    workloads = {r.name: r.urn for r in two.resources if r.name.endswith("-workload")}
    assert set(job.options["dependsOn"]) >= {workloads["spacemesh-miner-20-workload"], workloads["spacemesh-miner-19-workload"]}
    assert workloads["spacemesh-miner-18-workload"] not in job.options["dependsOn"]
    nodes = {e["name"]: e["value"] for e in obj(two, "Job", job.inputs["metadata"]["name"], "spacemesh-devnet-412")
             .inputs["spec"]["template"]["spec"]["containers"][0]["env"]}["NODES"]
    # Every address is a planned Service with the JSON port.
    for entry in nodes.split():
        host = entry.split("=", 1)[1][len("http://"):]
        name, ns = host.split(".")[:2]
        assert 7000 in [p["port"] for p in obj(two, "Service", name, ns).inputs["spec"]["ports"]]
    three = run("spacemesh", stage + ["spacemesh.upgrade.nodes=3"])
    assert job.inputs["metadata"]["name"] != next(r for r in three.resources if r.name == "spacemesh-upgrade-gate").inputs["metadata"]["name"]
