"""Pure builders and the manifest reader of the provider blueprint: whole objects, exact errors."""

from __future__ import annotations

import json

import pytest

from components.provider import builder as pb
from pegasus.keccak import keccak256
from components.provider.manifests import ManifestError, parse_manifest, read_manifests

SUFFIX = "pods.example.org"
PUB = "0x70997970c51812dc3a010c7d01b50e0d17dc79c8"
POD_ID = "0x826f0f29bc11776435469cf9070fb912bc8d6abcfe82e67e2ccd820b74127a68"
NS = "tpod-u6cyftauah6qpwzijba7tffjgs6od5ylxe5tzznkmflg4hmhfy3q"
LABELS = {
    "app.kubernetes.io/name": "tenant-pod", "app.kubernetes.io/instance": "web",
    "app.kubernetes.io/component": "tenant-pod", "app.kubernetes.io/part-of": "pegasus",
    "app.kubernetes.io/managed-by": "pulumi",
}
SELECTOR = {"app.kubernetes.io/name": "tenant-pod", "app.kubernetes.io/instance": "web"}


def doc(**pod_overrides):
    pod = {
        "containers": [{
            "name": "web",
            "image": {"url": "nginx:1.27.3"},
            "ports": [{"name": "http", "containerPort": 80, "hostHttpHost": "hello"},
                      {"name": "ssh", "containerPort": 22, "servicePort": 2222, "hostTcpPort": 0}],
            "volumes": [{"name": "data", "mountPath": "/data"}, {"name": "key", "mountPath": "/etc/key", "readOnly": True}],
            "resourceRequests": [{"resource": "cpu", "amountMillis": 250}, {"resource": "memory", "amount": "268435456"}],
        }],
        "volumes": [
            # RW_MANY: a ReadWriteOnce volume cannot serve replicas.max 3 (see the RWO tests).
            {"name": "data", "type": "VOLUME_FILESYSTEM", "accessMode": "VOLUME_RW_MANY",
             "filesystem": {"resourceRequests": [{"resource": "storage", "amount": 1073741824}]}},
            {"name": "key", "type": "VOLUME_SECRET"},
        ],
        "replicas": {"min": 0, "max": 3, "targetPendingRequests": 5},
        **pod_overrides,
    }
    return {"payment": {"publisherAddress": PUB, "podID": POD_ID}, "pod": pod}


# The well-known anvil/hardhat development key of PUB (account #1): tests sign with it.
PUB_KEY = 0x59C6995E998F97A5A0044966F0945389DC9E86DAE88C7A8412F4603B6B78690D


def signed(d):
    from components.provider.signing import sign_manifest

    d["payment"]["signature"] = sign_manifest(d, PUB_KEY)
    return d


def manifest(d=None):
    return parse_manifest(d or doc(), "pods/web.yaml", "web", SUFFIX)


def error(d) -> str:
    with pytest.raises(ManifestError) as e:
        manifest(d)
    return str(e.value)


# --- keccak and the namespace ---------------------------------------------------------------


@pytest.mark.parametrize("n", [0, 1, 135, 136, 137, 271, 272, 1000])
def test_keccak256_matches_eth_hash_across_block_boundaries(n):
    from eth_hash.auto import keccak

    data = bytes(range(256)) * 4
    assert keccak256(data[:n]) == keccak(data[:n])


def test_keccak256_known_vectors():
    assert keccak256(b"").hex() == "c5d2460186f7233c927e7db2dcc703c0e500b653ca82273b7bfad8045d85a470"
    assert keccak256(b"transfer(address,uint256)").hex()[:8] == "a9059cbb"


# Computed by the original's namespaceFromTokenParts (pkg/proto/protoconnect/interceptors.go)
# run in Go with golang.org/x/crypto/sha3.NewLegacyKeccak256, which go-ethereum's
# crypto.Keccak256 wraps.
@pytest.mark.parametrize("publisher, pod_id, namespace", [
    (PUB, POD_ID, NS),
    ("0x" + "00" * 20, "0x" + "00" * 32, "tpod-vbwvj2nkwqnolzja74agf7y3js6qwimsxmaqqcqfroyxbwcomrlq"),
    ("0x3c44cdddb6a900fa2b585dd299e03d12fa4293bc", "0x7856184c3bbbd880c3e2532e24463a0a0f808d5b52ec18b7acfdcae86bed9134",
     "tpod-46wzekphnihawsvfabllzekusdg36agkkmvmb43r35fwalymqera"),
])
def test_namespace_matches_the_original(publisher, pod_id, namespace):
    assert pb.namespace_name(publisher, pod_id) == namespace
    assert len(namespace) == 57  # a DNS-1123 label: 52 base32 characters after tpod-


def test_names_inside_the_namespace_follow_the_original():
    m = manifest()
    assert pb.deployment_name(NS) == "tpod-dep-u6cyftauah6qpwzijba7tffjgs6od5ylxe5tzznkmflg4hmhfy3q"
    assert [pb.service_name(p) for p in m.containers[0].ports] == ["tpod-svc-http", "tpod-svc-ssh"]
    assert [pb.claim_name(v) for v in m.volumes] == ["tpod-pvc-data", "tpod-pvc-key"]
    assert pb.secret_name(m.volumes[1]) == "tpod-secret-key"


# --- tenant objects -------------------------------------------------------------------------


def test_namespace_object_carries_the_payment_channel():
    channel = pb.payment_channel_annotation(manifest(), 31337, "0x" + "cc" * 20, "0x" + "dd" * 20)
    assert json.loads(channel) == {
        "chainID": "emk=", "contractAddress": "zMzMzMzMzMzMzMzMzMzMzMzMzMw=", "publisherAddress": "cJl5cMUYEtw6AQx9AbUODRfcecg=",
        "providerAddress": "3d3d3d3d3d3d3d3d3d3d3d3d3d0=", "podID": "gm8PKbwRd2Q1Rpz5Bw+5EryNarz+guZ+LM2CC3QSemg=",
    }
    assert pb.namespace(manifest(), NS, channel) == {
        "apiVersion": "v1", "kind": "Namespace",
        "metadata": {
            "name": NS,
            "labels": {**LABELS, "coop.comrade/trusted-pods-namespace": "true", "pod-security.kubernetes.io/enforce": "baseline"},
            "annotations": {"coop.comrade/trusted-pods-payment-contract": channel},
        },
    }


def http_only():
    """doc() without its TCP port: a pure HTTP pod, which may idle at zero."""
    d = doc()
    d["pod"]["containers"][0]["ports"] = d["pod"]["containers"][0]["ports"][:1]
    return manifest(d)


def test_deployment_starts_at_zero_replicas_and_is_not_awaited():
    assert pb.deployment(http_only(), NS) == {
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": pb.deployment_name(NS), "namespace": NS, "labels": LABELS,
                     "annotations": {"pulumi.com/skipAwait": "true"}},
        "spec": {
            "replicas": 0,
            "strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": 1, "maxUnavailable": 0}},
            "selector": {"matchLabels": SELECTOR},
            "template": {"metadata": {"labels": LABELS}, "spec": {
                "automountServiceAccountToken": False,
                "enableServiceLinks": False,
                "securityContext": {"seccompProfile": {"type": "RuntimeDefault"}},
                "hostAliases": [{"ip": "127.0.0.1", "hostnames": ["web"]}],
                "containers": [{
                    "name": "web", "image": "nginx:1.27.3",
                    "ports": [{"name": "p0-80", "containerPort": 80, "protocol": "TCP"}],
                    "volumeMounts": [{"name": "data", "mountPath": "/data"},
                                     {"name": "key", "mountPath": "/etc/key", "readOnly": True, "subPath": "data"}],
                    # ephemeral-storage: the default scratch disk (the manifest states none), bounded.
                    "resources": {"requests": {"cpu": "250m", "memory": "268435456", "ephemeral-storage": "2147483648"},
                                  "limits": {"cpu": "250m", "memory": "268435456", "ephemeral-storage": "2147483648"}},
                    "securityContext": {"allowPrivilegeEscalation": False, "capabilities": {"drop": ["NET_RAW"]}},
                }],
                "volumes": [{"name": "data", "persistentVolumeClaim": {"claimName": "tpod-pvc-data"}},
                            {"name": "key", "secret": {"secretName": "tpod-secret-key"}}],
            }},
        },
    }


def test_a_pod_without_http_host_has_no_scaler_and_runs_at_least_one_replica():
    d = doc()
    d["pod"]["containers"][0]["ports"] = d["pod"]["containers"][0]["ports"][1:]
    m = manifest(d)
    assert pb.http_scaled_object(m, NS) is None
    assert pb.deployment(m, NS)["spec"]["replicas"] == 1


def test_services_clusterip_for_http_and_nodeport_for_tcp():
    assert pb.services(manifest(), NS) == [
        {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "tpod-svc-http", "namespace": NS, "labels": LABELS},
         "spec": {"type": "ClusterIP", "selector": SELECTOR,
                  "ports": [{"name": "http", "port": 80, "targetPort": "p0-80", "protocol": "TCP"}]}},
        {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "tpod-svc-ssh", "namespace": NS, "labels": LABELS},
         "spec": {"type": "NodePort", "selector": SELECTOR,
                  "ports": [{"name": "ssh", "port": 2222, "targetPort": "p0-22", "protocol": "TCP"}]}},
    ]
    d = doc()
    d["pod"]["containers"][0]["ports"][1]["hostTcpPort"] = 30222
    assert pb.services(manifest(d), NS)[1]["spec"]["ports"][0]["nodePort"] == 30222


def test_http_scaled_object_in_the_add_on_0_15_shape():
    assert pb.http_scaled_object(http_only(), NS) == {
        "apiVersion": "http.keda.sh/v1alpha1", "kind": "HTTPScaledObject",
        "metadata": {"name": "tpod-hso", "namespace": NS, "labels": LABELS},
        "spec": {
            "hosts": ["hello.pods.example.org"],
            "scaleTargetRef": {"name": pb.deployment_name(NS), "kind": "Deployment", "apiVersion": "apps/v1",
                               "service": "tpod-svc-http", "port": 80},
            "replicas": {"min": 0, "max": 3},
            "scalingMetric": {"concurrency": {"targetValue": 5}},
        },
    }


def test_http_scaled_object_validates_against_the_pinned_crd_and_the_old_field_does_not():
    from tools.plan.schemas import DEFAULT_CRD_DIR, validate_object

    hso = pb.http_scaled_object(manifest(), NS)
    assert validate_object(hso, "1.35", DEFAULT_CRD_DIR) == []
    hso["spec"]["scaleTargetRef"]["deployment"] = pb.deployment_name(NS)  # what the original writes
    assert validate_object(hso, "1.35", DEFAULT_CRD_DIR) == [
        "spec/scaleTargetRef: Additional properties are not allowed ('deployment' was unexpected)"]


def test_network_policy_admits_the_interceptor_the_namespace_and_only_the_nodeport_port_and_denies_private_egress():
    assert pb.network_policy(manifest(), NS) == {
        "apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy",
        "metadata": {"name": "tpod-isolation", "namespace": NS, "labels": LABELS},
        "spec": {"podSelector": {}, "policyTypes": ["Ingress", "Egress"], "ingress": [
            {"from": [{"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "keda"}},
                       "podSelector": {"matchLabels": {"app.kubernetes.io/component": "interceptor", "app.kubernetes.io/name": "http-add-on"}}}]},
            {"from": [{"podSelector": {}}]},
            {"from": [{"ipBlock": {"cidr": "0.0.0.0/0"}}], "ports": [{"port": 22, "protocol": "TCP"}]},
        ], "egress": [
            {"to": [{"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "kube-system"}}},
                    {"ipBlock": {"cidr": "169.254.20.10/32"}}],
             "ports": [{"port": 53, "protocol": "UDP"}, {"port": 53, "protocol": "TCP"}]},
            {"to": [{"podSelector": {}}]},
            {"to": [{"ipBlock": {"cidr": "0.0.0.0/0", "except": ["10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16",
                                                                 "100.64.0.0/10", "169.254.0.0/16", "127.0.0.0/8"]}}]},
        ]},
    }


def test_resource_quota_from_requests_times_max_replicas_plus_the_surge():
    # 250m and 256Mi per pod, (3 replicas + 1 surge pod).
    assert pb.resource_quota(manifest(), NS)["spec"] == {"hard": {
        "requests.cpu": "1", "requests.ephemeral-storage": "8589934592", "requests.memory": "1073741824",
        "limits.cpu": "1", "limits.memory": "1073741824", "limits.ephemeral-storage": "8589934592",
        "persistentvolumeclaims": "1", "requests.storage": "1073741824",
        "services": "2", "services.nodeports": "1", "services.loadbalancers": "0",
    }}


def test_claims_skip_await_and_use_the_class():
    assert pb.claims(manifest(), NS, "retained") == [{
        "apiVersion": "v1", "kind": "PersistentVolumeClaim",
        "metadata": {"name": "tpod-pvc-data", "namespace": NS, "labels": LABELS, "annotations": {"pulumi.com/skipAwait": "true"}},
        "spec": {"accessModes": ["ReadWriteMany"], "resources": {"requests": {"storage": "1073741824"}}, "storageClassName": "retained"},
    }]


def test_pod_hosts_ingress_routes_the_suffix_to_the_interceptor():
    assert pb.pod_hosts_ingress(SUFFIX, "pegasus-p2p")["spec"] == {
        "ingressClassName": "pegasus-p2p",
        "rules": [{"host": "*.pods.example.org", "http": {"paths": [{"path": "/", "pathType": "Prefix", "backend": {
            "service": {"name": "keda-add-ons-http-interceptor-proxy", "port": {"number": 8080}}}}]}}],
    }


def test_keda_values_switch_webhooks_and_the_metrics_apiservice_together():
    assert pb.keda_values(False) == {"webhooks": {"enabled": False}, "metricsServer": {"enabled": False}}
    assert pb.keda_values(True)["metricsServer"] == {"enabled": True}


# --- manifest errors ------------------------------------------------------------------------


def test_two_http_hosts_in_one_pod_are_refused():
    d = doc()
    d["pod"]["containers"].append({"name": "api", "image": {"url": "nginx:1.27.3"},
                                   "ports": [{"name": "api", "containerPort": 81, "hostHttpHost": "api"}],
                                   "resourceRequests": [{"resource": "cpu", "amount": 1}, {"resource": "memory", "amount": 1}]})
    assert error(d) == ("pods/web.yaml: pod.containers[1].ports[0].hostHttpHost: a second HTTP host in one pod; "
                        "a pod answers at one HTTP host (one scaler routes to one Service port)")


@pytest.mark.parametrize("mutate, message", [
    # A full domain name outside the suffix is a custom host (upstream takes any host); a malformed one is refused.
    (lambda d: d["pod"]["containers"][0]["ports"][0].update(hostHttpHost="hello_world.other.org"),
     "pod.containers[0].ports[0].hostHttpHost: 'hello_world.other.org' must be one DNS label (it answers as <label>.pods.example.org) or a full domain name"),
    (lambda d: d["pod"]["containers"][0]["image"].update(url="nginx:latest"),
     "pod.containers[0].image.url: 'nginx:latest' must be a pinned image reference: a version tag (not latest) or an @sha256 digest"),
    (lambda d: d["pod"]["volumes"][1].update(secret={"contentsString": "hunter2"}),
     "pod.volumes[1].secret: secret contents in a manifest would sit in plain text; set them with "
     "`pulumi config set --secret --path 'providerSecrets[\"<pod>/key\"]' <value>` and leave secret out"),
    (lambda d: d["payment"].update(podID="0x1234"), "payment.podID: '0x1234' is not a 0x-prefixed 32-byte hex value"),
    (lambda d: d["pod"]["containers"][0].update(resourceRequests=[{"resource": "cpu", "amount": 1}]),
     "pod.containers[0].resourceRequests: has no memory request; every container states cpu and memory "
     "(they are what the pod pays for and what its quota allows)"),
    (lambda d: d["pod"]["containers"][0].update(imagePullPolicy="Always"),
     "pod.containers[0].imagePullPolicy: unknown field; the fields here are name, image, entrypoint, command, workingDir, ports, env, volumes, resourceRequests"),
    (lambda d: d["pod"]["containers"][0]["volumes"].append({"name": "nope", "mountPath": "/x"}),
     "pod.containers[0].volumes[2].name: 'nope' is not one of pod.volumes (data, key)"),
    (lambda d: d["pod"]["replicas"].update(min=4),
     "pod.replicas.min: 4 is above pod.replicas.max 3"),
])
def test_manifest_errors_name_the_file_and_field(mutate, message):
    d = doc()
    mutate(d)
    assert error(d) == "pods/web.yaml: " + message


def test_read_manifests_yaml_and_json_and_one_line_per_bad_file(tmp_path):
    folder = tmp_path / "pods"
    folder.mkdir()
    (folder / "web.json").write_text(json.dumps(signed(doc())))
    other = doc()
    other["payment"]["podID"] = "0x" + "ee" * 32
    other["pod"]["containers"][0]["ports"][0]["hostHttpHost"] = "other"
    import yaml

    (folder / "other.yaml").write_text(yaml.safe_dump(signed(other)))
    (folder / "README.md").write_text("not a manifest")
    assert [p.name for p in read_manifests("pods", str(tmp_path), SUFFIX)] == ["other", "web"]
    (folder / "broken.yaml").write_text("pod: [unclosed")
    with pytest.raises(ManifestError) as e:
        read_manifests("pods", str(tmp_path), SUFFIX)
    assert str(e.value).startswith("pods/broken.yaml: cannot be read as YAML: ")
    assert "\n" not in str(e.value)


def test_two_pods_on_one_host_are_refused(tmp_path):
    folder = tmp_path / "pods"
    folder.mkdir()
    (folder / "a.json").write_text(json.dumps(signed(doc())))
    twin = doc()
    twin["payment"]["podID"] = "0x" + "ee" * 32
    (folder / "b.json").write_text(json.dumps(signed(twin)))
    with pytest.raises(ManifestError) as e:
        read_manifests("pods", str(tmp_path), SUFFIX)
    assert str(e.value) == "pods/b.json: hostHttpHost: hello.pods.example.org is pod a's host already; every pod needs its own"
