"""Pod manifests: one file per pod, YAML or JSON, in Trusted Pods' on-wire format.

The original publisher client reads "a yaml-encoded protobuf object using the on-wire manifest
format" (comrade-coop/trusted-pods spec/MANIFEST.md): `pod` below is the `Pod` message of
proto/pod.proto in protojson field names, and `payment` holds the `PaymentChannel` fields
that identify the pod (proto/provision-pod.proto). Two departures, both for a file a person
edits: bytes fields (addresses, podID) are 0x hex instead of protojson's base64, and a secret
volume never carries its contents (they come from `pegasus:providerSecrets`, a Pulumi secret).

Every problem is one line naming the file and the field; nothing is planned from a folder
with a bad file in it.
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass
from typing import Any, Optional

import yaml

from components.provider import signing
from pegasus.errors import PegasusError

EXTENSIONS = (".yaml", ".yml", ".json")
_NAME = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
_ADDRESS = re.compile(r"^0x[0-9a-fA-F]{40}$")
_HASH = re.compile(r"^0x[0-9a-fA-F]{64}$")
# An optional registry host with an optional port ("registry.local:5000/"), then the
# repository path, a tag and/or a digest: the shapes of distribution/reference's grammar that a
# pinned image takes. The upstream reader passes image.url through unchanged.
_IMAGE = re.compile(r"^([A-Za-z0-9][A-Za-z0-9.-]*(:[0-9]{1,5})?/)?[a-z0-9][a-z0-9._/-]*"
                    r"(:[A-Za-z0-9_][A-Za-z0-9_.-]{0,127})?(@sha256:[a-f0-9]{64})?$")
_ENV = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
# Resource names the scheduler and the quota understand; anything else would be an extended
# resource nobody offers.
RESOURCES = ("cpu", "memory", "ephemeral-storage", "nvidia.com/gpu")
# A container's scratch disk (its writable layer, logs, emptyDir) when the manifest states none:
# without a limit one tenant fills the node's disk and the kubelet evicts its neighbours.
DEFAULT_EPHEMERAL_BYTES = 2 * 1024**3
# Extended resources are counted in whole units: the API server refuses a fractional request
# and a limit that differs from the request (pkg/apis/core/validation, validateResourceRequirements).
WHOLE_UNITS = ("nvidia.com/gpu", "ephemeral-storage")
VOLUME_TYPES = ("VOLUME_EMPTY", "VOLUME_FILESYSTEM", "VOLUME_SECRET")
ACCESS_MODES = {"VOLUME_RW_ONE": "ReadWriteOnce", "VOLUME_RW_MANY": "ReadWriteMany"}
# protojson also reads an enum by its number (proto/pod.proto: Volume.Type, Volume.AccessMode).
VOLUME_TYPE_NUMBERS = {0: "VOLUME_EMPTY", 1: "VOLUME_FILESYSTEM", 2: "VOLUME_SECRET"}
ACCESS_MODE_NUMBERS = {0: "VOLUME_RW_ONE", 2: "VOLUME_RW_MANY"}
MAX_NAME = 40  # Pulumi names and Service names are built from it


class ManifestError(PegasusError):
    """A pod manifest is malformed. The message starts with the file and the field."""

    def __init__(self, path: str, where: str, message: str):
        super().__init__(f"{path}: {where}: {message}" if where else f"{path}: {message}")


@dataclass(frozen=True)
class Port:
    name: str
    container_port: int
    service_port: int
    http_host: Optional[str] = None  # the full host, suffix included
    tcp_node_port: Optional[int] = None  # 0: any NodePort; None: not a TCP port


@dataclass(frozen=True)
class VolumeMount:
    name: str
    mount_path: str
    read_only: bool = False


@dataclass(frozen=True)
class Container:
    name: str
    image: str
    entrypoint: tuple[str, ...]
    command: tuple[str, ...]
    working_dir: Optional[str]
    ports: tuple[Port, ...]
    env: tuple[tuple[str, str], ...]
    volume_mounts: tuple[VolumeMount, ...]
    requests: tuple[tuple[str, str], ...]  # (resource, Kubernetes quantity)


@dataclass(frozen=True)
class Volume:
    name: str
    type: str  # VOLUME_EMPTY | VOLUME_FILESYSTEM | VOLUME_SECRET
    access_mode: str = "ReadWriteOnce"
    storage: Optional[str] = None  # filesystem volumes: a quantity


@dataclass(frozen=True)
class Replicas:
    min: int = 0
    max: int = 1
    target_pending_requests: int = 0


@dataclass(frozen=True)
class PodManifest:
    name: str
    path: str
    publisher: str  # 0x, lowercase
    pod_id: str  # 0x + 64 hex, lowercase
    containers: tuple[Container, ...]
    volumes: tuple[Volume, ...]
    replicas: Replicas

    @property
    def http_port(self) -> Optional[tuple[Container, Port]]:
        for c in self.containers:
            for p in c.ports:
                if p.http_host:
                    return c, p
        return None


class _Reader:
    def __init__(self, path: str):
        self.path = path

    def fail(self, where: str, message: str) -> ManifestError:
        return ManifestError(self.path, where, message)

    def obj(self, value: Any, where: str, allowed: tuple[str, ...], required: tuple[str, ...] = ()) -> dict:
        if not isinstance(value, dict):
            raise self.fail(where, f"must be an object with fields {', '.join(allowed)}")
        unknown = sorted(set(value) - set(allowed))
        if unknown:
            raise self.fail(_join(where, unknown[0]), f"unknown field; the fields here are {', '.join(allowed)}")
        for key in required:
            if value.get(key) in (None, "", []):
                raise self.fail(_join(where, key), "is required")
        return value

    def list(self, value: Any, where: str) -> list:
        if value is None:
            return []
        if not isinstance(value, list):
            raise self.fail(where, "must be a list")
        return value

    def int(self, value: Any, where: str, lo: int, hi: int, default: int = 0) -> int:
        if value is None:
            return default
        # protojson writes 64-bit integers as strings.
        if isinstance(value, str) and value.isdigit():
            value = int(value)
        if isinstance(value, bool) or not isinstance(value, int) or not lo <= value <= hi:
            raise self.fail(where, f"must be an integer between {lo} and {hi}, got {value!r}")
        return value

    def str(self, value: Any, where: str) -> str:
        if not isinstance(value, str) or not value:
            raise self.fail(where, f"must be a non-empty string, got {value!r}")
        return value

    def name(self, value: Any, where: str) -> str:
        value = self.str(value, where)
        if len(value) > 15 or not _NAME.match(value):
            raise self.fail(where, f"{value!r} must be lowercase letters, digits and '-', at most 15 characters")
        return value


def _join(where: str, key: Any) -> str:
    if isinstance(key, int):
        return f"{where}[{key}]"
    return f"{where}.{key}" if where else str(key)


def _quantity(r: _Reader, raw: Any, where: str, whole: tuple[str, ...] = WHOLE_UNITS) -> tuple[str, str]:
    """(resource, Kubernetes quantity). A resource in `whole` (storage, extended resources)
    takes amountMillis only as a whole number of units, which becomes a plain integer."""
    entry = r.obj(raw, where, ("resource", "amount", "amountMillis"), ("resource",))
    if ("amount" in entry) == ("amountMillis" in entry):
        raise r.fail(where, "needs exactly one of amount and amountMillis")
    if "amount" in entry:
        return entry["resource"], str(r.int(entry["amount"], _join(where, "amount"), 0, 2**63 - 1))
    millis = r.int(entry["amountMillis"], _join(where, "amountMillis"), 0, 2**63 - 1)
    if entry["resource"] in whole:
        if millis % 1000:
            raise r.fail(_join(where, "amountMillis"), f"{millis} is not a whole number of {entry['resource']} units "
                         f"({millis / 1000:g}); {entry['resource']} is counted in whole units, use amount")
        return entry["resource"], str(millis // 1000)
    return entry["resource"], f"{millis}m"


def _host(r: _Reader, value: Any, where: str, suffix: str) -> str:
    """One label answers as <label>.<suffix> (the wildcard route). A full domain name is a
    custom host, as upstream allows any hostHttpHost (pkg/kubernetes/utils.go puts it in the
    HTTPScaledObject as given): it gets a route of its own, and its DNS is the publisher's."""
    host = r.str(value, where).lower().rstrip(".")
    labels = host.split(".")
    if len(host) > 253 or not all(_NAME.match(label) and len(label) <= 63 for label in labels):
        raise r.fail(where, f"{value!r} must be one DNS label (it answers as <label>.{suffix}) or a full domain name")
    return host if len(labels) > 1 else f"{host}.{suffix}"


def _container(r: _Reader, raw: Any, where: str, index: int, suffix: str) -> Container:
    c = r.obj(raw, where, ("name", "image", "entrypoint", "command", "workingDir", "ports", "env", "volumes", "resourceRequests"),
              ("name", "image"))
    name = r.name(c["name"], _join(where, "name"))
    image_raw = r.obj(c["image"], _join(where, "image"), ("url", "cid", "key"))
    if "cid" in image_raw or "key" in image_raw:
        raise r.fail(_join(where, "image.cid"), "encrypted IPFS images are not supported by this provider; give image.url, a pinned registry image")
    image = r.str(image_raw.get("url"), _join(where, "image.url"))
    last = image.rsplit("/", 1)[-1]
    if not _IMAGE.match(image) or ("@sha256:" not in image and (":" not in last or last.endswith(":latest"))):
        raise r.fail(_join(where, "image.url"), f"{image!r} must be a pinned image reference: a version tag (not latest) or an @sha256 digest")
    ports = []
    for i, p_raw in enumerate(r.list(c.get("ports"), _join(where, "ports"))):
        pw = _join(_join(where, "ports"), i)
        p = r.obj(p_raw, pw, ("name", "containerPort", "servicePort", "hostHttpHost", "hostTcpPort"), ("name", "containerPort"))
        if "hostHttpHost" in p and "hostTcpPort" in p:
            raise r.fail(pw, "sets both hostHttpHost and hostTcpPort; a port is exposed one way (they are a oneof)")
        cport = r.int(p["containerPort"], _join(pw, "containerPort"), 1, 65535)
        ports.append(Port(
            name=r.name(p["name"], _join(pw, "name")),
            container_port=cport,
            service_port=r.int(p.get("servicePort"), _join(pw, "servicePort"), 0, 65535) or cport,
            http_host=_host(r, p["hostHttpHost"], _join(pw, "hostHttpHost"), suffix) if "hostHttpHost" in p else None,
            tcp_node_port=(r.int(p["hostTcpPort"], _join(pw, "hostTcpPort"), 0, 32767) if "hostTcpPort" in p else None),
        ))
        if ports[-1].tcp_node_port not in (None, 0) and ports[-1].tcp_node_port < 30000:
            raise r.fail(_join(pw, "hostTcpPort"), f"{ports[-1].tcp_node_port} is outside the NodePort range 30000-32767; use 0 for any")
    env_raw = c.get("env") or {}
    if not isinstance(env_raw, dict):
        raise r.fail(_join(where, "env"), "must be an object of NAME: value")
    env = []
    for k, v in sorted(env_raw.items()):
        if not _ENV.match(str(k)) or not isinstance(v, str):
            raise r.fail(_join(_join(where, "env"), k), "must be a valid variable name with a string value")
        env.append((k, v))
    mounts = []
    for i, m_raw in enumerate(r.list(c.get("volumes"), _join(where, "volumes"))):
        mw = _join(_join(where, "volumes"), i)
        m = r.obj(m_raw, mw, ("name", "mountPath", "readOnly"), ("name", "mountPath"))
        path = r.str(m["mountPath"], _join(mw, "mountPath"))
        if not path.startswith("/"):
            raise r.fail(_join(mw, "mountPath"), "must be an absolute path")
        mounts.append(VolumeMount(r.name(m["name"], _join(mw, "name")), path, bool(m.get("readOnly", False))))
    requests = []
    for i, q_raw in enumerate(r.list(c.get("resourceRequests"), _join(where, "resourceRequests"))):
        qw = _join(_join(where, "resourceRequests"), i)
        resource, quantity = _quantity(r, q_raw, qw)
        if resource not in RESOURCES:
            raise r.fail(_join(qw, "resource"), f"{resource!r} is not one of {', '.join(RESOURCES)}")
        requests.append((resource, quantity))
    if "ephemeral-storage" not in dict(requests):
        requests.append(("ephemeral-storage", str(DEFAULT_EPHEMERAL_BYTES)))
    for resource in ("cpu", "memory"):
        if resource not in dict(requests):
            raise r.fail(_join(where, "resourceRequests"), f"has no {resource} request; every container states cpu and memory (they are what the pod pays for and what its quota allows)")
    strings = {}
    for key in ("entrypoint", "command"):
        items = r.list(c.get(key), _join(where, key))
        if not all(isinstance(x, str) for x in items):
            raise r.fail(_join(where, key), "must be a list of strings")
        strings[key] = tuple(items)
    working_dir = c.get("workingDir")
    return Container(name, image, strings["entrypoint"], strings["command"],
                     r.str(working_dir, _join(where, "workingDir")) if working_dir is not None else None,
                     tuple(ports), tuple(env), tuple(mounts), tuple(requests))


def _enum(value: Any, numbers: dict[int, str]) -> Any:
    if isinstance(value, int) and not isinstance(value, bool):
        return numbers.get(value, value)
    return value


def _volume(r: _Reader, raw: Any, where: str) -> Volume:
    v = r.obj(raw, where, ("name", "type", "accessMode", "filesystem", "secret"), ("name",))
    name = r.name(v["name"], _join(where, "name"))
    kind = _enum(v.get("type", "VOLUME_EMPTY"), VOLUME_TYPE_NUMBERS)
    if kind not in VOLUME_TYPES:
        raise r.fail(_join(where, "type"), f"must be one of {', '.join(VOLUME_TYPES)}, got {kind!r}")
    mode = _enum(v.get("accessMode", "VOLUME_RW_ONE"), ACCESS_MODE_NUMBERS)
    if mode not in ACCESS_MODES:
        raise r.fail(_join(where, "accessMode"), f"must be one of {', '.join(ACCESS_MODES)}, got {mode!r}")
    if "secret" in v:
        raise r.fail(_join(where, "secret"), "secret contents in a manifest would sit in plain text; set them with "
                     "`pulumi config set --secret --path 'providerSecrets[\"<pod>/" + name + "\"]' <value>` and leave secret out")
    storage = None
    if kind == "VOLUME_FILESYSTEM":
        fs = r.obj(v.get("filesystem"), _join(where, "filesystem"), ("resourceRequests",), ("resourceRequests",))
        for i, q_raw in enumerate(r.list(fs["resourceRequests"], _join(where, "filesystem.resourceRequests"))):
            qw = _join(_join(where, "filesystem.resourceRequests"), i)
            resource, quantity = _quantity(r, q_raw, qw, whole=("storage",))
            if resource != "storage":
                raise r.fail(_join(qw, "resource"), f"a filesystem volume requests storage only, got {resource!r}")
            storage = quantity
        if storage is None:
            raise r.fail(_join(where, "filesystem.resourceRequests"), "needs a storage request")
    elif "filesystem" in v:
        raise r.fail(_join(where, "filesystem"), f"applies to VOLUME_FILESYSTEM only, not {kind}")
    return Volume(name, kind, ACCESS_MODES[mode], storage)


def parse_manifest(doc: Any, path: str, name: str, suffix: str) -> PodManifest:
    r = _Reader(path)
    if isinstance(doc, dict) and "containers" in doc and "pod" not in doc:
        # A bare Pod is what the original's publisher reads from its pod file; the channel
        # comes from a separate deployment file there (proto/deployment.proto), so a bare Pod
        # says nothing about who pays.
        raise r.fail("", "is a bare Pod document; put it under pod: and add payment: with publisherAddress and podID")
    top = r.obj(doc, "", ("payment", "pod"), ("payment", "pod"))
    pay = r.obj(top["payment"], "payment", ("publisherAddress", "podID", "signature"), ("publisherAddress", "podID"))
    publisher, pod_id = str(pay["publisherAddress"]), str(pay["podID"])
    if not _ADDRESS.match(publisher):
        raise r.fail("payment.publisherAddress", f"{publisher!r} is not a 0x-prefixed 20-byte hex address")
    if not _HASH.match(pod_id):
        raise r.fail("payment.podID", f"{pod_id!r} is not a 0x-prefixed 32-byte hex value")
    pod = r.obj(top["pod"], "pod", ("containers", "volumes", "replicas"), ("containers",))
    containers = tuple(_container(r, c, f"pod.containers[{i}]", i, suffix)
                       for i, c in enumerate(r.list(pod["containers"], "pod.containers")))
    volumes = tuple(_volume(r, v, f"pod.volumes[{i}]") for i, v in enumerate(r.list(pod.get("volumes"), "pod.volumes")))
    _check_unique(r, [c.name for c in containers], "pod.containers", "container name")
    _check_unique(r, [v.name for v in volumes], "pod.volumes", "volume name")
    _check_unique(r, [p.name for c in containers for p in c.ports], "pod.containers", "port name")
    http = [(i, j) for i, c in enumerate(containers) for j, p in enumerate(c.ports) if p.http_host]
    if len(http) > 1:
        # The original refuses this too (pkg/kubernetes/utils.go, NewService): one
        # HTTPScaledObject per pod routes one host to one Service port.
        i, j = http[1]
        raise r.fail(f"pod.containers[{i}].ports[{j}].hostHttpHost", "a second HTTP host in one pod; a pod answers at one HTTP host (one scaler routes to one Service port)")
    known = {v.name: v for v in volumes}
    for i, c in enumerate(containers):
        for j, m in enumerate(c.volume_mounts):
            if m.name not in known:
                raise r.fail(f"pod.containers[{i}].volumes[{j}].name", f"{m.name!r} is not one of pod.volumes ({', '.join(known) or 'none'})")
    rep = r.obj(pod.get("replicas") or {}, "pod.replicas", ("min", "max", "targetPendingRequests"))
    replicas = Replicas(
        min=r.int(rep.get("min"), "pod.replicas.min", 0, 100),
        max=r.int(rep.get("max"), "pod.replicas.max", 1, 100, default=1),
        target_pending_requests=r.int(rep.get("targetPendingRequests"), "pod.replicas.targetPendingRequests", 0, 100000),
    )
    if replicas.min > replicas.max:
        raise r.fail("pod.replicas.min", f"{replicas.min} is above pod.replicas.max {replicas.max}")
    for i, v in enumerate(volumes):
        if v.type == "VOLUME_FILESYSTEM" and v.access_mode == "ReadWriteOnce" and replicas.max > 1:
            # A ReadWriteOnce volume attaches to one node: a second replica elsewhere fails
            # with Multi-Attach and stays ContainerCreating.
            raise r.fail(f"pod.volumes[{i}].accessMode", f"VOLUME_RW_ONE volume {v.name!r} cannot serve pod.replicas.max "
                         f"{replicas.max}; set pod.replicas.max to 1 or accessMode to VOLUME_RW_MANY")
    return PodManifest(name, path, publisher.lower(), pod_id.lower(), containers, volumes, replicas)


def _check_unique(r: _Reader, values: list[str], where: str, what: str) -> None:
    seen = set()
    for v in values:
        if v in seen:
            raise r.fail(where, f"{what} {v!r} appears twice")
        seen.add(v)


def check_signature(doc: dict, pod: PodManifest) -> None:
    """Only the channel's publisher may name it (components/provider/signing.py): without this,
    anyone who can add a file to the folder runs a pod on someone else's funded channel."""
    signature = doc["payment"].get("signature")
    fix = f"sign it with `PUBLISHER_KEY=0x... python -m components.provider.signing {pod.path}`"
    if not signature:
        raise ManifestError(pod.path, "payment.signature", f"is required: the channel's publisher signs the manifest; {fix}")
    try:
        signer = signing.signer_of(doc, str(signature))
    except ValueError as e:
        raise ManifestError(pod.path, "payment.signature", f"{e}; {fix}") from None
    if signer != pod.publisher:
        raise ManifestError(pod.path, "payment.signature", f"was made by {signer}, not by the channel's publisher {pod.publisher} "
                            f"(or the manifest changed since it was signed); {fix}")


def read_manifests(folder: str, base_dir: str, suffix: str) -> tuple[PodManifest, ...]:
    """Every pod manifest in `folder`, sorted by pod name. Fails on the first bad file."""
    root = os.path.join(base_dir, folder)
    if not os.path.isdir(root):
        raise ManifestError(folder, "", "is not a folder; set pegasus:provider.manifests to the folder of pod manifests")
    pods, pairs, hosts, node_ports = [], set(), {}, {}
    for entry in sorted(os.listdir(root)):
        stem, ext = os.path.splitext(entry)
        if ext not in EXTENSIONS or entry.startswith("."):
            continue
        path = os.path.join(folder, entry)
        if not _NAME.match(stem) or len(stem) > MAX_NAME:
            raise ManifestError(path, "", f"the file name {stem!r} names the pod and must be lowercase letters, digits and '-', at most {MAX_NAME} characters")
        try:
            with open(os.path.join(root, entry), encoding="utf-8") as f:
                text = f.read()
            doc = json.loads(text) if ext == ".json" else yaml.safe_load(text)
        except (OSError, ValueError, yaml.YAMLError) as e:
            detail = str(e).splitlines()[0] if str(e) else type(e).__name__
            raise ManifestError(path, "", f"cannot be read as {'JSON' if ext == '.json' else 'YAML'}: {detail}") from None
        pod = parse_manifest(doc, path, stem, suffix)
        check_signature(doc, pod)
        if any(p.name == stem for p in pods):
            raise ManifestError(path, "", f"a second manifest for pod {stem!r}; keep one file per pod")
        if (pod.publisher, pod.pod_id) in pairs:
            raise ManifestError(path, "payment.podID", "another manifest has the same publisher and podID, hence the same namespace")
        pairs.add((pod.publisher, pod.pod_id))
        host = pod.http_port[1].http_host if pod.http_port else None
        if host and host in hosts:
            raise ManifestError(path, "hostHttpHost", f"{host} is pod {hosts[host]}'s host already; every pod needs its own")
        if host:
            hosts[host] = stem
        for c in pod.containers:
            for p in c.ports:
                if not p.tcp_node_port:
                    continue
                # The API server would refuse the second Service at `up`, after the first
                # pod's objects were applied; refuse it here, before anything is declared.
                if p.tcp_node_port in node_ports:
                    raise ManifestError(path, f"hostTcpPort {p.tcp_node_port}",
                                        f"is taken by {node_ports[p.tcp_node_port]}; every TCP port needs its own node port (0: any free one)")
                node_ports[p.tcp_node_port] = f"pod {stem}'s port {p.name!r}"
        pods.append(pod)
    return tuple(pods)
