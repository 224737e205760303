"""Pure builders of the Kubernetes objects of a Spacemesh network: node and PoET specs, the
bootnodes' disruption budget and anti-affinity."""

from __future__ import annotations

import json
from typing import Any, Mapping, Optional

from components.chain import chain_node_builder as cnb
from components.p2p import p2p_builder
from components.spacemesh import builder as sb
from components.chain import workload_builder as wb
from pegasus import names
from pegasus.config import Resources
from components.spacemesh.config import PodSize, SpacemeshSettings
from components.spacemesh.poet_settings import poet_image

BOOTNODE_ROLES = ("bootstrap", "bootnode")
IDENTITY_DIR = "/etc/spacemesh-identity"


def _resources(size: PodSize) -> Resources:
    # Requests equal limits, as spacecraft set them: the pool is sized from these numbers.
    return Resources(size.cpu, size.memory, size.cpu, size.memory)


def placement(cloud: str) -> wb.Placement:
    """On gke the network's own pool, which is sized for it; an existing cluster places freely."""
    return wb.Placement(node_selector={names.POOL_LABEL: sb.POOL}) if cloud == "gke" else wb.Placement()


def bootnode_anti_affinity() -> dict:
    """Bootnodes never share a Kubernetes node: one VM down takes one bootnode with it."""
    return {"podAntiAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": [{
        "labelSelector": {"matchExpressions": [{"key": sb.ROLE_LABEL, "operator": "In", "values": list(BOOTNODE_ROLES)}]},
        "topologyKey": "kubernetes.io/hostname",
    }]}}


def bootnode_pdb(ns: str) -> dict:
    return {
        "apiVersion": "policy/v1",
        "kind": "PodDisruptionBudget",
        "metadata": {"name": "bootnodes", "namespace": ns, "labels": names.labels(sb.COMPONENT, "bootnodes")},
        "spec": {
            "maxUnavailable": 1,
            "selector": {"matchExpressions": [{"key": sb.ROLE_LABEL, "operator": "In", "values": list(BOOTNODE_ROLES)}]},
        },
    }


def miner_pdb(ns: str) -> dict:
    """One miner down at a time for voluntary disruptions (node upgrades, drains): a miner
    restart costs its PoST proving window, many at once cost the network its smeshers."""
    return {
        "apiVersion": "policy/v1",
        "kind": "PodDisruptionBudget",
        "metadata": {"name": "miners", "namespace": ns, "labels": names.labels(sb.COMPONENT, "miners")},
        "spec": {"maxUnavailable": 1, "selector": {"matchLabels": {sb.ROLE_LABEL: "miner"}}},
    }


def identity_secret_name(node: str) -> str:
    return f"{node}-p2p-identity"


def poet_key_secret_name(index: int) -> str:
    return f"{sb.poet_name(index)}-key"


def coinbase_secret_name(node: str) -> str:
    return f"{node}-coinbase"


# POSIX sh and coreutils only: the init container runs the node image, ubuntu:22.04
# (go-spacemesh v1.7.6 Dockerfile). The paths and the node come in as variables, so the script
# is the same text for every node and a test runs exactly this text.
IDENTITY_SCRIPT = """set -eu
key="$P2P_DIR/p2p.key"
mkdir -p "$P2P_DIR"
if [ ! -f "$key" ]; then cp "$IDENTITY_FILE" "$key"; exit 0; fi
if [ "$(cat "$key")" = "$(cat "$IDENTITY_FILE")" ]; then exit 0; fi
if [ "$ROTATE" = "true" ]; then
  old="$key.replaced-$(date -u +%Y%m%dT%H%M%SZ)"
  cp "$key" "$old"
  cp "$IDENTITY_FILE" "$key.new"
  mv "$key.new" "$key"
  echo "$NODE: p2p.key replaced by spacemeshSecrets.p2pKeys.$NODE (spacemesh.rotateP2pKeys); the old key is kept as $old"
  exit 0
fi
echo "$NODE: the p2p.key on the volume is not spacemeshSecrets.p2pKeys.$NODE, so the node would run as a peer other than spacemesh.identities.$NODE; nothing was changed. To take the new key add $NODE to spacemesh.rotateP2pKeys and run up; to keep the old one set its key and identity back" >&2
exit 1
"""


def identity_init_container(image: str, node: str, rotate: bool) -> dict:
    """Put the configured p2p.key where go-spacemesh looks (<data-folder>/p2p/p2p.key,
    node/node.go and p2p/identity.go, which only reads an existing file) once. A different key
    already on the volume (the Secret was rotated) stops the pod with one line instead of
    running as a peer no one dials; with `rotate` the Secret's key replaces it and the old one
    stays beside it."""
    return {
        "name": "p2p-identity",
        "image": image,
        "command": ["/bin/sh", "-c", IDENTITY_SCRIPT],
        "env": [{"name": "P2P_DIR", "value": f"{sb.DATA_DIR}/node/p2p"}, {"name": "IDENTITY_FILE", "value": f"{IDENTITY_DIR}/p2p.key"},
                {"name": "NODE", "value": node}, {"name": "ROTATE", "value": "true" if rotate else "false"}],
        "volumeMounts": [{"name": "data", "mountPath": sb.DATA_DIR}, {"name": "identity", "mountPath": IDENTITY_DIR, "readOnly": True}],
        "securityContext": {"allowPrivilegeEscalation": False, "privileged": False, "capabilities": {"drop": ["ALL"]}},
        "resources": {"requests": {"cpu": "10m", "memory": "16Mi"}, "limits": {"cpu": "100m", "memory": "64Mi"}},
    }


def node_spec(s: SpacemeshSettings, p: sb.NodePlan, ns: str, cloud: str, cluster_name: str,
              storage_class: Optional[str], pyroscope_url: Optional[str] = None,
              lb_annotations: Optional[Mapping[str, str]] = None, allocate_node_ports: bool = True,
              image: Optional[str] = None) -> cnb.ChainNodeSpec:
    """`image`: this node's image during a staged upgrade (spacemesh_builder.node_images)."""
    image = image or s.image
    p2p = wb.Port("p2p", p.p2p_port)
    bootnode = p.role in BOOTNODE_ROLES
    public_p2p = sb.has_public_p2p(s, p)
    workload = wb.ChainWorkload(
        name=p.name,
        namespace=ns,
        component=sb.COMPONENT,
        instance=p.name,
        image=image,
        data_path=sb.DATA_DIR,
        storage_size=s.miner.disk,
        storage_class=storage_class,
        resources=_resources(s.miner),
        claim_name=names.data_claim_name(p.name),
        ports=(p2p, sb.GRPC, sb.JSON_API, sb.METRICS),
        # A smesher signs ATXs and proposals with its own key: two copies would be malfeasance.
        signer=True,
        extra_labels={sb.ROLE_LABEL: p.role, "pegasus.spacemesh.io/network": s.network},
        placement=placement(cloud),
        command=("/bin/go-spacemesh",),
        args=sb.node_args(s, p, ns, pyroscope_url),
        config_mounts=(("config", sb.config_map_name(p.role), sb.CONFIG_DIR),),
        secret_mounts=(("identity", identity_secret_name(p.name), IDENTITY_DIR),) if bootnode else (),
        host_ports={"p2p": p.p2p_port} if bootnode and s.bootnode_addressing == "hostPort" else {},
        affinity=bootnode_anti_affinity() if bootnode else None,
        init_containers=(identity_init_container(image, p.name, p.name in s.rotate_p2p_keys),) if bootnode else (),
        # go-spacemesh opens its public gRPC listener once the node is up; a syncing node is
        # still ready in this sense (the p2p Services publish not-ready addresses anyway).
        probe_port=sb.GRPC.name,
    )
    if public_p2p:
        return cnb.ChainNodeSpec(
            workload=workload, public_service=sb.public_service(p.name), internal_service=sb.internal_service(p.name),
            public_ports=(p2p,), internal_ports=(sb.GRPC, sb.JSON_API, sb.METRICS),
            lb_annotations={**p2p_builder.public_lb_annotations(
                cloud, f"pegasus.saga.xyz/cluster={cluster_name},pegasus.spacemesh.io/node={p.name}"), **(lb_annotations or {})},
            lb_spec=p2p_builder.public_lb_spec(cloud, allocate_node_ports),
            advertise_env=None, advertise_arg="--advertise-address",
        )
    if bootnode:  # hostPort: reached on the node's own address, no public Service
        return cnb.ChainNodeSpec(
            workload=workload, public_service=sb.public_service(p.name), internal_service=sb.internal_service(p.name),
            public_ports=(), internal_ports=(p2p, sb.GRPC, sb.JSON_API, sb.METRICS),
            advertise_env=None, with_public_service=False,
        )
    # Miners: gRPC and JSON as NodePorts, as spacecraft exposed them (the `hosts` output). With
    # minerP2p a LoadBalancer of its own (miner_p2p_service) carries p2p, and its address is
    # advertised like a bootnode's.
    return cnb.ChainNodeSpec(
        workload=workload, public_service=sb.api_service(p), internal_service=sb.internal_service(p.name),
        public_ports=(sb.GRPC, sb.JSON_API), internal_ports=(p2p, sb.METRICS),
        lb_spec={"type": "NodePort"}, advertise_env=None, public_protect=False,
        lb_annotations={"pegasus.saga.xyz/public-ports": f"{sb.GRPC.port},{sb.JSON_API.port}"},
        advertise_arg="--advertise-address" if s.miner_p2p == "loadBalancer" else None,
    )


def miner_p2p_service(spec: cnb.ChainNodeSpec, cloud: str, cluster_name: str, allocate_node_ports: bool) -> dict:
    """A miner's own public p2p LoadBalancer (spacemesh.minerP2p: loadBalancer), so peers
    outside reach miners too rather than only the bootnodes. Not protected: nobody pins a
    miner's address, and lowering miners removes it."""
    w = spec.workload
    p2p = next(p for p in w.ports if p.name == "p2p")
    return wb.service(w, sb.public_service(w.name), (p2p,), lb_spec=p2p_builder.public_lb_spec(cloud, allocate_node_ports),
                      annotations=p2p_builder.public_lb_annotations(cloud, f"pegasus.saga.xyz/cluster={cluster_name},pegasus.spacemesh.io/node={w.name}"),
                      publish_not_ready=True)


def public_api_name(index: int) -> str:
    return f"public-api-{index + 1}"


def public_api_spec(s: SpacemeshSettings, index: int, ns: str, storage_class: Optional[str]) -> cnb.ChainNodeSpec:
    """A public API node: go-spacemesh that does not smesh and serves the APIs behind the
    Service public-api, with the miners' config. Its state is on its own protected volume, so a
    restart resumes where it stopped instead of syncing from genesis. It runs anywhere (the
    network's pool is sized for the smeshers and PoETs only)."""
    name = public_api_name(index)
    workload = wb.ChainWorkload(
        name=name, namespace=ns, component=sb.COMPONENT, instance=name, image=s.image,
        data_path=sb.DATA_DIR, storage_size=s.miner.disk, storage_class=storage_class,
        resources=_resources(s.miner), claim_name=names.data_claim_name(name), ports=(sb.GRPC, sb.JSON_API),
        signer=False, extra_labels={sb.ROLE_LABEL: "public-api", "pegasus.spacemesh.io/network": s.network},
        command=("/bin/go-spacemesh",),
        args=(f"--config={sb.CONFIG_DIR}/config.json", f"--data-folder={sb.DATA_DIR}/node", "--smeshing-start=false"),
        config_mounts=(("config", sb.config_map_name("miner"), sb.CONFIG_DIR),), probe_port=sb.GRPC.name,
    )
    return cnb.ChainNodeSpec(
        workload=workload, public_service=f"{name}-unused", internal_service=name,
        public_ports=(), internal_ports=(sb.GRPC, sb.JSON_API), advertise_env=None, with_public_service=False,
    )


def poet_spec(s: SpacemeshSettings, cfg: sb.NodeConfig, index: int, ns: str, storage_class: Optional[str],
              cloud: str = "gke") -> cnb.ChainNodeSpec:
    name = sb.poet_name(index)
    size = sb.poet_size(s, index)
    workload = wb.ChainWorkload(
        name=name, namespace=ns, component=sb.POET_COMPONENT, instance=name, image=poet_image(s.poet_image, s.poet_overrides, index),
        data_path=sb.DATA_DIR, storage_size=size.disk, storage_class=storage_class,
        resources=_resources(size), claim_name=names.data_claim_name(name), ports=(sb.POET_REST,),
        signer=False, extra_labels={"pegasus.spacemesh.io/network": s.network}, placement=placement(cloud),
        command=("/bin/poet",), args=sb.poet_args(cfg, index), probe_port=sb.POET_REST.name,
        secret_env_refs=((sb.POET_KEY_ENV, poet_key_secret_name(index), sb.POET_KEY_ENV),),
    )
    return cnb.ChainNodeSpec(
        workload=workload, public_service=f"{name}-public", internal_service=name,
        public_ports=(), internal_ports=(sb.POET_REST,),
        advertise_env=None, with_public_service=False,
    )


def poet_public_service(ns: str, cloud: str, cluster_name: str, allocate_node_ports: bool) -> dict:
    """The first PoET goes into the public config, so home smeshers need to reach it."""
    name = sb.poet_name(0)
    spec = dict(p2p_builder.public_lb_spec(cloud, allocate_node_ports))
    spec["selector"] = names.selector(sb.POET_COMPONENT, name, name=name)
    spec["ports"] = [{"name": "rest", "port": sb.POET_REST.port, "targetPort": "rest", "protocol": "TCP"}]
    return {
        "apiVersion": "v1", "kind": "Service",
        "metadata": {"name": f"{name}-public", "namespace": ns, "labels": names.labels(sb.POET_COMPONENT, name, name=name),
                     "annotations": p2p_builder.public_lb_annotations(cloud, f"pegasus.saga.xyz/cluster={cluster_name},pegasus.spacemesh.io/node={name}")},
        "spec": spec,
    }


def config_map(role: str, ns: str, config: Mapping[str, Any]) -> dict:
    return {
        "apiVersion": "v1", "kind": "ConfigMap",
        "metadata": {"name": sb.config_map_name(role), "namespace": ns, "labels": names.labels(sb.COMPONENT, f"config-{role}")},
        "data": {"config.json": json.dumps(config, indent=2, sort_keys=True)},
    }
