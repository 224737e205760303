"""Pure builders for one chain daemon: its namespace, data volume, workload and Services.

Shared by the platform chain node (components/chain/chain_node.py) and every chainlet
(components/chain/chainlet.py). Each function takes a `ChainWorkload` and returns a plain
manifest dict; components only hand these to Pulumi.

Why a StatefulSet with one replica, not a Deployment with Recreate: a validator must never
run twice, or it double-signs and is slashed. A Deployment's ReplicaSet creates a
replacement as soon as the old pod is marked for deletion, so when a node becomes
unreachable the old pod may still be signing while the new one starts. A StatefulSet never
creates a pod while another pod with the same identity still exists, so at most one copy
runs even through a network partition (Kubernetes docs, "StatefulSet: Deployment and
Scaling Guarantees"). The data volume is a separately managed PVC, not a
volumeClaimTemplate: a template change would force replacing the whole set, and the PVC must
survive the workload (scale to zero, deletion by hand, a refactor).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Mapping, Optional

from pegasus import names
from pegasus.config import Resources


@dataclass(frozen=True)
class Port:
    name: str
    port: int
    protocol: str = "TCP"


# The daemon ports of a Cosmos SDK chain (CometBFT defaults and SDK servers).
P2P = Port("p2p", 26656)
RPC = Port("rpc", 26657)
GRPC = Port("grpc", 9090)
REST = Port("rest", 1317)
METRICS = Port("metrics", 26660)
EVM_RPC = Port("evm-rpc", 8545)
EVM_WS = Port("evm-ws", 8546)


@dataclass(frozen=True)
class Placement:
    """The nodes a chain daemon may run on: labels it requires and taints it tolerates."""

    node_selector: Mapping[str, str] = field(default_factory=dict)
    tolerations: tuple[Mapping[str, str], ...] = ()


@dataclass(frozen=True)
class ChainWorkload:
    """Everything that defines one chain daemon deployment. Nothing chain-specific is assumed."""

    name: str  # workload, container and Service base name
    namespace: str
    component: str  # app.kubernetes.io/component
    instance: str  # app.kubernetes.io/instance (unique per daemon)
    image: str
    data_path: str
    storage_size: str
    resources: Resources
    claim_name: str
    storage_class: Optional[str] = None
    env: tuple[tuple[str, str], ...] = ()
    key_secret: Optional[str] = None
    # Variables the image requires that only key_secret can supply: referenced by key, so a
    # missing key is a clear pod error (CreateContainerConfigError) rather than a crash loop.
    secret_env: tuple[str, ...] = ()
    data_sub_path: Optional[str] = None
    ports: tuple[Port, ...] = (P2P, RPC, GRPC, REST, METRICS)
    running: bool = True
    signer: bool = True
    extra_labels: Mapping[str, str] = field(default_factory=dict)
    extra_annotations: Mapping[str, str] = field(default_factory=dict)
    version: Optional[str] = None
    placement: Placement = field(default_factory=Placement)
    # Optional, for daemons configured by flags and files (go-spacemesh, the Mina daemon); the
    # defaults keep the manifests of the chains above exactly as they were.
    command: tuple[str, ...] = ()
    args: tuple = ()  # items may be pulumi Outputs (an address known once its LB exists)
    config_mounts: tuple[tuple[str, str, str], ...] = ()  # (volume, ConfigMap, mountPath)
    secret_mounts: tuple[tuple[str, str, str], ...] = ()  # (volume, Secret, mountPath)
    host_ports: Mapping[str, int] = field(default_factory=dict)  # port name -> hostPort
    affinity: Optional[Mapping] = None
    init_containers: tuple[Mapping, ...] = ()
    # (env name, Secret name, key): variables from Secrets other than key_secret.
    secret_env_refs: tuple[tuple[str, str, str], ...] = ()
    extra_volumes: tuple[Mapping, ...] = ()
    extra_mounts: tuple[Mapping, ...] = ()
    # The port readiness and startup probes watch; None: the port named rpc. Without a p2p
    # port it is the liveness port too.
    probe_port: Optional[str] = None
    # A readiness probe of the daemon's own (the Mina daemon's "am I synced" query) in place of
    # the TCP check on probe_port; None keeps the TCP check.
    readiness_probe: Optional[Mapping] = None


def workload_labels(w: ChainWorkload) -> dict[str, str]:
    labels = names.labels(w.component, w.instance, name=w.name, version=w.version)
    if w.signer:
        labels[names.SIGNER_LABEL] = "true"
    labels.update(w.extra_labels)
    return labels


def namespace(name: str, component: str, instance: str) -> dict:
    return {
        "apiVersion": "v1",
        "kind": "Namespace",
        "metadata": {"name": name, "labels": names.labels(component, instance, name=name)},
    }


def data_claim(w: ChainWorkload) -> dict:
    labels = names.labels(w.component, w.instance, name=w.name)
    labels[names.CHAIN_DATA_LABEL] = "true"
    spec: dict = {
        "accessModes": ["ReadWriteOnce"],
        "resources": {"requests": {"storage": w.storage_size}},
    }
    if w.storage_class:
        spec["storageClassName"] = w.storage_class
    return {
        "apiVersion": "v1",
        "kind": "PersistentVolumeClaim",
        "metadata": {
            "name": w.claim_name,
            "namespace": w.namespace,
            "labels": labels,
            # Pulumi waits for a claim to bind, but a WaitForFirstConsumer claim binds only once
            # a pod uses it (never, for an offline chainlet), and updates of bound claims have
            # timed out too (pulumi-kubernetes#895, #4179).
            "annotations": {names.SKIP_AWAIT: "true"},
        },
        "spec": spec,
    }


def _container_ports(w: ChainWorkload) -> list[dict]:
    out = []
    for p in w.ports:
        port = {"name": p.name, "containerPort": p.port, "protocol": p.protocol}
        if p.name in w.host_ports:
            port["hostPort"] = w.host_ports[p.name]
        out.append(port)
    return out


def _env(w: ChainWorkload) -> list[dict]:
    out = [{"name": k, "value": v} for k, v in w.env]
    if w.secret_env and not w.key_secret:
        raise ValueError(f"{w.name}: {', '.join(w.secret_env)} must come from a key Secret, and none is set")
    out += [{"name": k, "valueFrom": {"secretKeyRef": {"name": w.key_secret, "key": k}}} for k in w.secret_env]
    out += [{"name": k, "valueFrom": {"secretKeyRef": {"name": secret, "key": key}}} for k, secret, key in w.secret_env_refs]
    return out


def _port(w: ChainWorkload, name: str) -> Optional[Port]:
    for p in w.ports:
        if p.name == name:
            return p
    return None


def statefulset(w: ChainWorkload) -> dict:
    labels = workload_labels(w)
    selector = names.selector(w.component, w.instance, name=w.name)
    container: dict = {
        "name": w.name,
        "image": w.image,
        "imagePullPolicy": "IfNotPresent",
        "ports": _container_ports(w),
        "env": _env(w),
        "resources": w.resources.as_k8s(),
        "volumeMounts": [{"name": "data", "mountPath": w.data_path, **({"subPath": w.data_sub_path} if w.data_sub_path else {})},
                         *[dict(m) for m in w.extra_mounts]],
        "securityContext": {
            "allowPrivilegeEscalation": False,
            "privileged": False,
            "capabilities": {"drop": ["ALL"]},
        },
    }
    if w.args:
        container["args"] = list(w.args)
    if w.key_secret:
        # Key material only ever arrives by reference to a Secret, never as a plain value.
        container["envFrom"] = [{"secretRef": {"name": w.key_secret}}]
    if w.command:
        container["command"] = list(w.command)
    for volume, _, mount in w.config_mounts + w.secret_mounts:
        container["volumeMounts"].append({"name": volume, "mountPath": mount, "readOnly": True})
    rpc = _port(w, w.probe_port or "rpc")
    p2p = _port(w, "p2p")
    if p2p:
        # Liveness on the p2p listener: a hung process stops accepting peers. Generous,
        # because restarting a syncing node costs far more than a slow probe.
        container["livenessProbe"] = {
            "tcpSocket": {"port": p2p.name},
            "initialDelaySeconds": 60,
            "periodSeconds": 30,
            "failureThreshold": 10,
        }
    if rpc:
        container["readinessProbe"] = {"tcpSocket": {"port": rpc.name}, "periodSeconds": 10, "failureThreshold": 3}
        container["startupProbe"] = {"tcpSocket": {"port": rpc.name}, "periodSeconds": 10, "failureThreshold": 360}
        if w.readiness_probe is not None:
            container["readinessProbe"] = dict(w.readiness_probe)
        if w.probe_port and not p2p:
            container["livenessProbe"] = {"tcpSocket": {"port": rpc.name}, "initialDelaySeconds": 60,
                                          "periodSeconds": 30, "failureThreshold": 10}
    annotations = {
        # Consolidation must not move a validator: a restart costs missed blocks. Karpenter
        # reads the first, the cluster autoscaler (GKE's node auto-provisioning) the second.
        names.DO_NOT_DISRUPT: "true",
        names.SAFE_TO_EVICT: "false",
    }
    annotations.update(w.extra_annotations)
    pod_spec: dict = {
        "automountServiceAccountToken": False,
        "enableServiceLinks": False,
        "terminationGracePeriodSeconds": 60,
        "securityContext": {"seccompProfile": {"type": "RuntimeDefault"}},
    }
    if w.placement.node_selector:
        pod_spec["nodeSelector"] = dict(w.placement.node_selector)
    if w.placement.tolerations:
        pod_spec["tolerations"] = [dict(t) for t in w.placement.tolerations]
    if w.affinity:
        pod_spec["affinity"] = dict(w.affinity)
    if w.init_containers:
        pod_spec["initContainers"] = [dict(c) for c in w.init_containers]
    pod_spec["containers"] = [container]
    pod_spec["volumes"] = [{"name": "data", "persistentVolumeClaim": {"claimName": w.claim_name}},
                           *[dict(v) for v in w.extra_volumes]]
    pod_spec["volumes"] += [{"name": v, "configMap": {"name": cm}} for v, cm, _ in w.config_mounts]
    pod_spec["volumes"] += [{"name": v, "secret": {"secretName": sec, "defaultMode": 0o400}} for v, sec, _ in w.secret_mounts]
    return {
        "apiVersion": "apps/v1",
        "kind": "StatefulSet",
        "metadata": {
            "name": w.name,
            "namespace": w.namespace,
            "labels": labels,
            # Pulumi would otherwise wait for readiness, and one chainlet waiting for its
            # genesis ceremony would fail the scheduled run of the whole fleet. Readiness is
            # watched by alerts instead.
            "annotations": {names.SKIP_AWAIT: "true"},
        },
        "spec": {
            "replicas": 1 if w.running else 0,
            "serviceName": w.name,
            "podManagementPolicy": "OrderedReady",
            "updateStrategy": {"type": "RollingUpdate"},
            "selector": {"matchLabels": selector},
            "template": {
                "metadata": {"labels": labels, "annotations": annotations},
                "spec": pod_spec,
            },
        },
    }


def service(w: ChainWorkload, name: str, ports: tuple[Port, ...], *, lb_spec: Optional[Mapping] = None,
            annotations: Optional[Mapping[str, str]] = None, publish_not_ready: bool = False) -> dict:
    """A Service of the daemon; `lb_spec` (type LoadBalancer and its fields) makes it public."""
    spec: dict = dict(lb_spec) if lb_spec else {"type": "ClusterIP"}
    spec["selector"] = names.selector(w.component, w.instance, name=w.name)
    spec["ports"] = [{"name": p.name, "port": p.port, "targetPort": p.name, "protocol": p.protocol} for p in ports]
    if publish_not_ready:
        # A p2p endpoint must not come and go with readiness (which watches RPC, and a
        # syncing or restarting node is still a peer): the EndpointSlice controller marks
        # every endpoint ready when the Service publishes not-ready addresses
        # (`ready := service.Spec.PublishNotReadyAddresses || podutil.IsPodReady(pod)`), so
        # ingress-nginx's L4 list, which drops a Service without ready endpoints
        # (getEndpointsFromSlices, getStreamServices), stays the same and nginx does not reload.
        spec["publishNotReadyAddresses"] = True
    metadata: dict = {"name": name, "namespace": w.namespace, "labels": names.labels(w.component, w.instance, name=w.name)}
    if annotations:
        metadata["annotations"] = dict(annotations)
    return {"apiVersion": "v1", "kind": "Service", "metadata": metadata, "spec": spec}
