"""Rollouts, GPUs, volumes, ports, timeouts and manifest forms (issue 23, items 3-10), against the
upstream names in tests/provider/upstream/ (trusted-pods at its pinned commit, ingress-nginx
at the chart tag Pegasus pins)."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest

from components.provider import builder as pb
from components.provider.manifests import ManifestError, read_manifests
from tests.provider.test_builder import NS, SUFFIX, doc, error, manifest, signed

UPSTREAM = Path(__file__).parent / "upstream"
TRUSTED_PODS = json.loads((UPSTREAM / "trusted_pods.json").read_text())
INGRESS_NGINX = json.loads((UPSTREAM / "ingress_nginx.json").read_text())


def quantity(q: str) -> int:
    """A Kubernetes quantity in milli-units, as the quota admission counts it (the forms the builder writes)."""
    return int(q[:-1]) if q.endswith("m") else int(q) * 1000


def surge_fits(pod, quota=None) -> bool:
    """Would the quota admit every pod of a rollout at replicas.max? Read from the built objects:
    the Deployment's strategy says how many pods exist at once, its containers what each asks."""
    deployment = pb.deployment(pod, NS)
    quota = quota or pb.resource_quota(pod, NS)["spec"]["hard"]
    strategy = deployment["spec"]["strategy"]
    surge = strategy["rollingUpdate"]["maxSurge"] if strategy["type"] == "RollingUpdate" else 0
    at_once = pod.replicas.max + surge
    for c in deployment["spec"]["template"]["spec"]["containers"]:
        for kind in ("requests", "limits"):
            for resource, q in c["resources"][kind].items():
                key = f"{kind}.{resource}"
                if key in quota and quantity(q) * at_once > quantity(quota[key]):
                    return False
    return True


# --- rollouts (items 3 and 4) ---------------------------------------------------------------


def test_a_rolling_update_at_max_replicas_fits_the_quota():
    pod = manifest()  # RW_MANY volume, replicas.max 3: RollingUpdate with one surge pod
    assert pb.deployment(pod, NS)["spec"]["strategy"]["type"] == "RollingUpdate"
    assert surge_fits(pod)
    # The old quota, requests x max (750m for 3 x 250m), refuses the surge pod: the deadlock.
    old = {**pb.resource_quota(pod, NS)["spec"]["hard"], "requests.cpu": "750m", "limits.cpu": "750m"}
    assert not surge_fits(pod, old)


def test_a_read_write_once_volume_rolls_out_by_recreate_and_needs_no_surge():
    d = doc(replicas={"min": 0, "max": 1})
    d["pod"]["volumes"][0]["accessMode"] = "VOLUME_RW_ONE"
    pod = manifest(d)
    assert pb.deployment(pod, NS)["spec"]["strategy"] == {"type": "Recreate"}
    assert pb.resource_quota(pod, NS)["spec"]["hard"]["requests.cpu"] == "250m"
    assert surge_fits(pod)


def test_every_example_pod_rolls_out_within_its_quota():
    for pod in read_manifests("pods", ".", "pods.example.org"):
        assert surge_fits(pod), pod.name


def test_tenant_deployments_are_not_awaited():
    assert pb.deployment(manifest(), NS)["metadata"]["annotations"] == {"pulumi.com/skipAwait": "true"}


# --- mixed TCP and HTTP pods (item 5) -------------------------------------------------------


def test_a_pod_with_a_tcp_port_never_scales_to_zero():
    pod = manifest()  # an HTTP host and a TCP port, replicas.min 0
    assert pod.replicas.min == 0
    assert pb.deployment(pod, NS)["spec"]["replicas"] == 1
    assert pb.http_scaled_object(pod, NS)["spec"]["replicas"] == {"min": 1, "max": 3}


def test_a_pure_http_pod_still_idles_at_zero():
    d = doc()
    d["pod"]["containers"][0]["ports"] = d["pod"]["containers"][0]["ports"][:1]
    pod = manifest(d)
    assert pb.deployment(pod, NS)["spec"]["replicas"] == 0
    assert pb.http_scaled_object(pod, NS)["spec"]["replicas"]["min"] == 0


# --- GPUs (item 6) --------------------------------------------------------------------------


def gpu_doc(**gpu):
    d = doc()
    d["pod"]["containers"][0]["resourceRequests"].append({"resource": "nvidia.com/gpu", **gpu})
    return d


def test_a_gpu_limit_equals_its_request_and_the_quota_counts_requests_only():
    pod = manifest(gpu_doc(amount=1))
    resources = pb.deployment(pod, NS)["spec"]["template"]["spec"]["containers"][0]["resources"]
    assert resources["requests"]["nvidia.com/gpu"] == resources["limits"]["nvidia.com/gpu"] == "1"
    hard = pb.resource_quota(pod, NS)["spec"]["hard"]
    assert hard["requests.nvidia.com/gpu"] == "4" and "limits.nvidia.com/gpu" not in hard
    assert surge_fits(pod)


def test_gpus_in_amount_millis_must_be_whole_units():
    assert dict(manifest(gpu_doc(amountMillis=2000)).containers[0].requests)["nvidia.com/gpu"] == "2"
    assert error(gpu_doc(amountMillis=500)) == (
        "pods/web.yaml: pod.containers[0].resourceRequests[2].amountMillis: 500 is not a whole number of nvidia.com/gpu "
        "units (0.5); nvidia.com/gpu is counted in whole units, use amount")


# --- volumes (items 7 and 9) ----------------------------------------------------------------


def test_a_read_write_once_volume_with_more_than_one_replica_is_refused():
    d = doc()
    d["pod"]["volumes"][0]["accessMode"] = "VOLUME_RW_ONE"
    assert error(d) == ("pods/web.yaml: pod.volumes[0].accessMode: VOLUME_RW_ONE volume 'data' cannot serve "
                        "pod.replicas.max 3; set pod.replicas.max to 1 or accessMode to VOLUME_RW_MANY")


def test_storage_in_amount_millis_is_whole_bytes_and_plans():
    d = doc()
    d["pod"]["volumes"][0]["filesystem"]["resourceRequests"] = [{"resource": "storage", "amountMillis": "1073741824000"}]
    pod = manifest(d)
    assert pb.claims(pod, NS, None)[0]["spec"]["resources"]["requests"]["storage"] == "1073741824"
    assert pb.resource_quota(pod, NS)["spec"]["hard"]["requests.storage"] == "1073741824"
    d["pod"]["volumes"][0]["filesystem"]["resourceRequests"] = [{"resource": "storage", "amountMillis": 1500}]
    assert error(d) == ("pods/web.yaml: pod.volumes[0].filesystem.resourceRequests[0].amountMillis: 1500 is not a whole "
                        "number of storage units (1.5); storage is counted in whole units, use amount")


# --- ports and timeouts (item 8) ------------------------------------------------------------


def write(folder: Path, name: str, d: dict) -> None:
    (folder / f"{name}.json").write_text(json.dumps(signed(copy.deepcopy(d))))


def test_two_pods_on_one_host_tcp_port_are_refused(tmp_path):
    folder = tmp_path / "pods"
    folder.mkdir()
    a = doc()
    a["pod"]["containers"][0]["ports"][1]["hostTcpPort"] = 30222
    b = copy.deepcopy(a)
    b["payment"]["podID"] = "0x" + "ee" * 32
    b["pod"]["containers"][0]["ports"][0]["hostHttpHost"] = "other"
    write(folder, "a", a)
    write(folder, "b", b)
    with pytest.raises(ManifestError) as e:
        read_manifests("pods", str(tmp_path), SUFFIX)
    assert str(e.value) == ("pods/b.json: hostTcpPort 30222: is taken by pod a's port 'ssh'; every TCP port needs its own "
                            "node port (0: any free one)")
    b["pod"]["containers"][0]["ports"][1]["hostTcpPort"] = 0  # any free one: no collision
    write(folder, "b", b)
    assert [p.name for p in read_manifests("pods", str(tmp_path), SUFFIX)] == ["a", "b"]


def test_addresses_in_the_original_multiaddr_form():
    d = doc()
    d["pod"]["containers"][0]["ports"][1]["hostTcpPort"] = 30222
    out = pb.addresses(manifest(d))
    assert out[0] == {"multiaddr": "http/hello.pods.example.org", "containerName": "web", "containerPort": 80}
    assert out[1] == {"service": "tpod-svc-ssh", "nodePort": 30222, "containerName": "web", "containerPort": 22}
    assert pb.addresses(manifest())[1]["nodePort"] is None  # allocated by Kubernetes: the component reads it back
    assert {k for k in out[0]} <= set(TRUSTED_PODS["exposedHostPortFields"])
    assert out[0]["multiaddr"].split("/")[0] + "/" in TRUSTED_PODS["multiaddrPrefixes"]


def test_the_pod_host_route_outwaits_a_cold_start_with_annotations_ingress_nginx_knows():
    annotations = pb.pod_hosts_ingress(SUFFIX, "provider-http")["metadata"]["annotations"]
    timeouts = {k: v for k, v in annotations.items() if k.startswith(INGRESS_NGINX["annotationPrefix"] + "/")}
    assert set(timeouts) == {"nginx.ingress.kubernetes.io/proxy-read-timeout", "nginx.ingress.kubernetes.io/proxy-send-timeout"}
    for key, value in timeouts.items():
        name = key.split("/", 1)[1]
        assert name in INGRESS_NGINX["integerAnnotations"]
        assert value.isdigit() and int(value) > INGRESS_NGINX["defaultSeconds"][name]


# --- manifest forms the upstream reader allows (item 10) ------------------------------------


def test_an_image_from_a_registry_host_with_a_port_is_accepted():
    d = doc()
    d["pod"]["containers"][0]["image"]["url"] = "registry.local:5000/team/web:1.2.3"
    assert manifest(d).containers[0].image == "registry.local:5000/team/web:1.2.3"
    d["pod"]["containers"][0]["image"]["url"] = "registry.local:5000/team/web"  # the port is not a tag
    assert error(d).endswith("must be a pinned image reference: a version tag (not latest) or an @sha256 digest")


def test_numeric_protojson_enums_read_as_their_names():
    d = doc()
    numbers = TRUSTED_PODS["volumeTypeNumbers"]
    d["pod"]["volumes"][0].update(type=numbers["VOLUME_FILESYSTEM"], accessMode=TRUSTED_PODS["accessModeNumbers"]["VOLUME_RW_MANY"])
    d["pod"]["volumes"][1]["type"] = numbers["VOLUME_SECRET"]
    pod = manifest(d)
    assert [(v.type, v.access_mode) for v in pod.volumes] == [("VOLUME_FILESYSTEM", "ReadWriteMany"), ("VOLUME_SECRET", "ReadWriteOnce")]
    d["pod"]["volumes"][1]["type"] = 7
    assert error(d) == "pods/web.yaml: pod.volumes[1].type: must be one of VOLUME_EMPTY, VOLUME_FILESYSTEM, VOLUME_SECRET, got 7"


def test_a_bare_pod_document_is_refused_with_the_fix():
    assert TRUSTED_PODS["publisherReadsBarePod"]  # upstream reads one, but its channel lives in another file
    assert error(doc()["pod"]) == ("pods/web.yaml: is a bare Pod document; put it under pod: and add payment: with "
                                   "publisherAddress and podID")


def test_a_custom_host_name_gets_a_route_of_its_own():
    d = doc()
    d["pod"]["containers"][0]["ports"][0]["hostHttpHost"] = "shop.example.com."
    pod = manifest(d)
    assert pb.http_scaled_object(pod, NS)["spec"]["hosts"] == ["shop.example.com"]
    assert pb.custom_hosts([pod, manifest()], SUFFIX) == ["shop.example.com"]
    ingress = pb.custom_hosts_ingress(["shop.example.com"], "provider-http")
    assert ingress["spec"]["rules"] == [{"host": "shop.example.com", "http": {"paths": [{"path": "/", "pathType": "Prefix", "backend": {
        "service": {"name": "keda-add-ons-http-interceptor-proxy", "port": {"number": 8080}}}}]}}]
    assert ingress["metadata"]["annotations"]["nginx.ingress.kubernetes.io/proxy-read-timeout"] == "300"
    assert pb.custom_hosts_ingress([], "provider-http") is None


def test_a_custom_host_validates_as_an_ingress():
    from tools.plan.schemas import DEFAULT_CRD_DIR, validate_object

    assert validate_object(pb.custom_hosts_ingress(["shop.example.com"], "provider-http"), "1.35", DEFAULT_CRD_DIR) == []


def test_tenant_health_shows_on_the_dashboard_with_metrics_kube_state_metrics_has():
    import re

    from components.provider import metering_builder as mb

    known = set(json.loads((UPSTREAM / "kube_state_metrics.json").read_text())["metrics"])
    exprs = [expr for expr, _, _ in mb.RECORDS.values()]
    exprs += [t["expr"] for panel in mb.dashboard()["panels"] for t in panel.get("targets", [])]
    exprs += [v.get("query", {}).get("query", "") if isinstance(v.get("query"), dict) else str(v.get("query", ""))
              for v in mb.dashboard().get("templating", {}).get("list", [])]
    used = {m for e in exprs for m in re.findall(r"\bkube_[a-z_]+", e)}
    assert "kube_deployment_status_replicas_unavailable" in used
    assert used <= known, used - known
