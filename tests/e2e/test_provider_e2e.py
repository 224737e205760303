"""`pulumi up` of the provider blueprint on the kwok cluster: KEDA 2.20.2 and the HTTP add-on
0.15.0 from the pinned charts (charts.localDir), the example pods, then a payment channel
running dry (through the snapshot source) and `up` again: that pod's Deployment and scaler go,
its namespace, volume and Secret stay.

KEDA registers a ValidatingWebhookConfiguration and the external-metrics APIService by
default, which the API server would call on pod addresses; `provider.kedaWebhooks: false`
(chart values webhooks.enabled and metricsServer.enabled) turns both off, and the autouse
`no_pod_callbacks` fixture checks that none exists after every test.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import time

import pytest

from tools.e2e.project import PulumiError, Project, REPO, copy_project

from tests.e2e.conftest import E2E_CONFIG

pytestmark = pytest.mark.e2e

HELLO_NS = "tpod-u6cyftauah6qpwzijba7tffjgs6od5ylxe5tzznkmflg4hmhfy3q"
HELLO_POD_ID = "0x826f0f29bc11776435469cf9070fb912bc8d6abcfe82e67e2ccd820b74127a68"
GAME_POD_ID = "0x7856184c3bbbd880c3e2532e24463a0a0f808d5b52ec18b7acfdcae86bed9134"
SNAPSHOT = "chain/payments.e2e.json"


@pytest.fixture(scope="module")
def provider(e2e, tmp_path_factory) -> Project:
    root = copy_project(tmp_path_factory.mktemp("project-provider"))
    shutil.copytree(REPO / "pods", root / "pods")
    shutil.copy(REPO / "chain" / "payments.dev.json", root / SNAPSHOT)
    project = Project(root, e2e.full_env(), stack="provider-e2e")
    project.init({
        **E2E_CONFIG,
        "blueprint": "provider",
        "provider.httpHostSuffix": "pods.e2e.example",
        "provider.kedaWebhooks": "false",
        "provider.interceptorReplicas": "1",
        "provider.payments.source": "snapshot",
        "provider.payments.snapshot": SNAPSHOT,
        "provider.payments.chainId": "31337",
        "provider.payments.contract": "0x5FbDB2315678afecb367f032d93F642f64180aa3",
        "provider.payments.providerAddress": "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266",
    }, secrets={'providerSecrets["hello/config"]': '{"greeting": "hi"}'})
    return project


def edit_snapshot(project: Project, block_delta: int, **available: str) -> None:
    path = project.dir / SNAPSHOT
    doc = json.loads(path.read_text())
    doc["block"] += block_delta
    for channel in doc["channels"]:
        for pod_id, value in available.items():
            if channel["podId"] == pod_id:
                channel["available"] = value
    path.write_text(json.dumps(doc))


def names(e2e, kind: str) -> set[str]:
    return {f"{o['metadata']['namespace']}/{o['metadata']['name']}" for o in e2e.cluster.get(kind, "-A")["items"]
            if o["metadata"]["namespace"].startswith("tpod-")}


def test_up_installs_keda_and_the_funded_pods(e2e, provider):
    provider.up()
    releases = {o["metadata"]["name"] for o in e2e.cluster.get("deployments", "-n", "keda")["items"]}
    assert {"keda-operator", "keda-add-ons-http-interceptor", "keda-add-ons-http-controller-manager", "keda-add-ons-http-external-scaler"} <= releases
    deployments = e2e.cluster.get("deployments", "-A")["items"]
    tenants = {d["metadata"]["namespace"]: d for d in deployments if d["metadata"]["namespace"].startswith("tpod-")}
    assert len(tenants) == 2 and tenants[HELLO_NS]["spec"]["replicas"] == 0
    assert names(e2e, "httpscaledobjects.http.keda.sh") == {f"{HELLO_NS}/tpod-hso", "tpod-46wzekphnihawsvfabllzekusdg36agkkmvmb43r35fwalymqera/tpod-hso"}
    assert len(names(e2e, "persistentvolumeclaims")) == 3  # the exhausted pod's volume too
    assert f"{HELLO_NS}/tpod-secret-config" in names(e2e, "secrets")
    provider.preview("--expect-no-changes")


def test_a_lower_block_and_too_many_removals_are_refused(e2e, provider):
    edit_snapshot(provider, -1)
    with pytest.raises(PulumiError) as e:
        provider.preview()
    assert "below block 1200 applied last time" in e.value.proc.stdout + e.value.proc.stderr
    # Both funded channels empty at once: more than the default limit (provider.maxRemovals unset).
    edit_snapshot(provider, +11, **{HELLO_POD_ID: "0", GAME_POD_ID: "0"})
    with pytest.raises(PulumiError) as e:
        provider.up()
    assert "more than the default limit of 1" in e.value.proc.stdout + e.value.proc.stderr
    assert f"{HELLO_NS}/tpod-dep-{HELLO_NS[5:]}" in names(e2e, "deployments")


def test_an_exhausted_channel_removes_the_deployment_and_keeps_the_volume(e2e, provider):
    # One of the two funded channels runs dry: removed without any config change.
    edit_snapshot(provider, +1, **{GAME_POD_ID: "250000000000000000"})
    provider.up()
    assert f"{HELLO_NS}/tpod-dep-{HELLO_NS[5:]}" not in names(e2e, "deployments")
    assert f"{HELLO_NS}/tpod-hso" not in names(e2e, "httpscaledobjects.http.keda.sh")
    assert f"{HELLO_NS}/tpod-pvc-data" in names(e2e, "persistentvolumeclaims")
    assert f"{HELLO_NS}/tpod-secret-config" in names(e2e, "secrets")
    assert HELLO_NS in {n["metadata"]["name"] for n in e2e.cluster.get("namespaces")["items"]}
    # Its host now answers the 402 page.
    page = e2e.cluster.get("ingress", "payment-required", "-n", "keda")
    assert "hello.pods.e2e.example" in {rule["host"] for rule in page["spec"]["rules"]}
    provider.preview("--expect-no-changes")


# --- server-side validation of tenant objects (issue 23, items 3 and 6) ---------------------
# JSON schema cannot tell an extended resource without an equal limit, or a quota that refuses
# a rollout; the API server can. These build tenant objects with the pure builders and hand
# them to the local API server: created for real where quota admission must count them (a dry
# run is never counted), with dryRun=All otherwise.

def _tenant(name: str, pod_id: str, **overrides):
    from components.provider import builder as pb
    from components.provider.manifests import parse_manifest

    doc = {
        "payment": {"publisherAddress": "0x" + "ab" * 20, "podID": pod_id},
        "pod": {"containers": [{
            "name": "app", "image": {"url": "nginx:1.27.3"},
            "ports": [{"name": "http", "containerPort": 80, "hostHttpHost": name}],
            "resourceRequests": [{"resource": "cpu", "amountMillis": 100}, {"resource": "memory", "amount": 67108864}],
            **overrides,
        }], "replicas": {"min": 0, "max": 2}},
    }
    pod = parse_manifest(doc, f"pods/{name}.json", name, "pods.e2e.example")
    return pod, pb, pb.namespace_name(pod.publisher, pod.pod_id)


def test_a_gpu_tenant_passes_the_api_servers_validation_and_an_unequal_gpu_limit_does_not(e2e):
    pod, pb, ns = _tenant("gpu", "0x" + "01" * 32, resourceRequests=[
        {"resource": "cpu", "amountMillis": 100}, {"resource": "memory", "amount": 67108864},
        {"resource": "nvidia.com/gpu", "amount": 1}])
    e2e.cluster.apply([pb.namespace(pod, ns, "{}")])
    for obj in (pb.deployment(pod, ns), pb.resource_quota(pod, ns)):
        e2e.cluster.kubectl("create", "--dry-run=server", "-f", "-", input=json.dumps(obj))
    broken = pb.deployment(pod, ns)
    broken["spec"]["template"]["spec"]["containers"][0]["resources"]["limits"]["nvidia.com/gpu"] = "2"
    out = e2e.cluster.kubectl("create", "--dry-run=server", "-f", "-", input=json.dumps(broken), check=False)
    assert out == ""  # refused: a limit unlike the request of an extended resource


def test_a_rollout_at_max_replicas_completes_within_the_quota(e2e):
    import time

    pod, pb, ns = _tenant("rollout", "0x" + "02" * 32)
    deployment = pb.deployment(pod, ns)
    deployment["spec"]["replicas"] = pod.replicas.max
    e2e.cluster.apply([pb.namespace(pod, ns, "{}"), pb.resource_quota(pod, ns)])
    e2e.cluster.apply([deployment])
    e2e.cluster.kubectl("rollout", "status", f"deployment/{deployment['metadata']['name']}", "-n", ns, "--timeout=120s", timeout=150)
    # A change of the pod template at max replicas: the surge pod must fit in the quota.
    deployment["spec"]["template"]["metadata"]["annotations"] = {"pegasus.test/rollout": str(time.time())}
    e2e.cluster.apply([deployment])
    e2e.cluster.kubectl("rollout", "status", f"deployment/{deployment['metadata']['name']}", "-n", ns, "--timeout=120s", timeout=150)
    e2e.cluster.kubectl("delete", "namespace", ns, "--wait=false")


def test_the_settlers_record_is_written_and_read_through_the_api_server_and_nothing_else(e2e, tmp_path):
    """settler.KubeRecord's GET and merge PATCH against the real kube-apiserver, with a token of
    the settler's ServiceAccount bound by the Role the stack declares: the route, the patch type
    and the RBAC rule are the API server's to accept, and another ConfigMap is refused."""
    import base64
    import ssl

    from components.provider import settlement_builder as sb
    from components.provider import settler as st

    e2e.cluster.apply([sb.namespace(), sb.record_configmap(), sb.service_account(), sb.role(), sb.role_binding(),
                       {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "other", "namespace": sb.NAMESPACE}}])
    token = tmp_path / "token"
    token.write_text(e2e.cluster.kubectl("create", "token", sb.NAME, "-n", sb.NAMESPACE).strip())
    kube = json.loads(e2e.cluster.kubectl("config", "view", "--raw", "--minify", "-o", "json"))
    server = kube["clusters"][0]["cluster"]
    ca = None
    if server.get("certificate-authority-data"):
        ca = tmp_path / "ca.crt"
        ca.write_bytes(base64.b64decode(server["certificate-authority-data"]))
    elif server.get("certificate-authority"):
        ca = server["certificate-authority"]
    store = st.KubeRecord(server["server"], sb.NAMESPACE, sb.RECORD, sb.RECORD_KEY, str(token), str(ca) if ca else None)
    if server.get("insecure-skip-tls-verify"):
        store.context = ssl._create_unverified_context()
    assert store.load() is None  # created empty by the stack
    doc = {"chainId": 31337, "contract": "0x" + "cc" * 20, "provider": "0x" + "dd" * 20,
           "channels": [{"publisher": "0x" + "ab" * 20, "podId": "0x" + "01" * 32, "billed": "800", "withdrawn": "300"}]}
    store.save(doc)
    assert store.load() == doc
    other = st.KubeRecord(server["server"], sb.NAMESPACE, "other", sb.RECORD_KEY, str(token), str(ca) if ca else None)
    other.context = store.context
    with pytest.raises(st.SettleError, match="403"):
        other.save(doc)
    e2e.cluster.kubectl("delete", "namespace", sb.NAMESPACE, "--wait=false")


def test_a_restricted_tenant_pod_is_admitted_by_pod_security_and_a_baseline_one_is_not(e2e):
    """Pod Security Admission judges pods, not Deployments: a Pod of each template, dry run."""
    pod, pb, ns = _tenant("strict", "0x" + "03" * 32)
    e2e.cluster.apply([pb.namespace(pod, ns, "{}", restricted=True)])

    def as_pod(restricted: bool) -> dict:
        template = pb.deployment(pod, ns, restricted=restricted)["spec"]["template"]
        return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "strict", "namespace": ns, **template["metadata"]},
                "spec": template["spec"]}

    # ServiceAccount admission refuses a pod until the namespace's `default` ServiceAccount exists.
    deadline = time.monotonic() + 60
    while e2e.cluster.kubectl("get", "serviceaccount", "default", "-n", ns, check=False) == "" and time.monotonic() < deadline:
        time.sleep(1)
    e2e.cluster.kubectl("create", "--dry-run=server", "-f", "-", input=json.dumps(as_pod(True)))
    proc = subprocess.run([e2e.cluster.tc.path("kubectl"), "--kubeconfig", str(e2e.cluster.kubeconfig), "create",
                           "--dry-run=server", "-f", "-"], input=json.dumps(as_pod(False)), text=True, capture_output=True)
    assert proc.returncode != 0 and "violates PodSecurity \"restricted" in proc.stderr
    e2e.cluster.kubectl("delete", "namespace", ns, "--wait=false")


@pytest.mark.parametrize("cloud", ["eks", "gke"])
def test_a_tcp_tenants_load_balancer_and_services_fit_the_quota_built_for_them(e2e, cloud):
    """The Services tcp_builder builds for eks (no NodePorts) and gke (NodePorts kept, a
    loadBalancerClass) created for real in a namespace holding the quota built from them: the API
    server validates each Service and charges services, services.nodeports and
    services.loadbalancers against the quota, so a miscount is refused here."""
    from components.provider import tcp_builder as tcp

    pod, pb, ns = _tenant(f"tcp-{cloud}", "0x" + ("04" if cloud == "eks" else "05") * 32,
                          ports=[{"name": "http", "containerPort": 80, "hostHttpHost": f"tcp-{cloud}"},
                                 {"name": "game", "containerPort": 25565, "hostTcpPort": 0}])
    services = pb.services(pod, ns, node_ports=False)
    lb = tcp.load_balancer(pod, ns, cloud, "e2e")
    e2e.cluster.apply([pb.namespace(pod, ns, "{}"), pb.resource_quota(pod, ns, services + [lb])])
    # Quota admission refuses every create ("status unknown for quota") until the quota
    # controller has filled the new quota's status.
    deadline = time.monotonic() + 60
    while not e2e.cluster.get("resourcequota", pb.QUOTA_NAME, "-n", ns).get("status", {}).get("hard") and time.monotonic() < deadline:
        time.sleep(1)
    for svc in (*services, lb):
        e2e.cluster.kubectl("create", "-f", "-", input=json.dumps(svc))
    used = e2e.cluster.get("resourcequota", pb.QUOTA_NAME, "-n", ns)["status"].get("used", {})
    hard = pb.resource_quota(pod, ns, services + [lb])["spec"]["hard"]
    for key in ("services", "services.nodeports", "services.loadbalancers"):
        assert used.get(key) == hard[key], key
    e2e.cluster.kubectl("delete", "namespace", ns, "--wait=false")
