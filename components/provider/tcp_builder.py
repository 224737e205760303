"""Publishing tenant TCP ports on eks and gke (issue 23 item 8): pure builders.

On a cluster Pegasus builds, nodes sit in private subnets (eks) or have no public addresses
(gke private nodes), so a NodePort answers nobody outside the VPC. There a pod's TCP ports
(`hostTcpPort` in its manifest) go out through one LoadBalancer Service of its own, `tpod-lb`,
made internet-facing by the same annotations and spec as the validator's p2p load balancers
(components/p2p/p2p_builder.public_lb_annotations / public_lb_spec: the AWS Load Balancer
Controller's NLB with IP targets, GKE's regional external passthrough NLB class). The public
port is the manifest's `hostTcpPort`, or the container port when that is 0 ("any"): each tenant
has an address of its own, so ports no longer need to be unique across the cluster. Each
TCP port's own Service stays, as ClusterIP. On an `existing` cluster nothing changes: NodePorts,
reachable as far as that cluster's nodes are.

One load balancer per tenant with TCP ports: on AWS an NLB each (billed hourly), which the
quota (services.loadbalancers: 1) and the policy pack's listener limit bound.
"""

from __future__ import annotations

from typing import Optional

from components.p2p import p2p_builder
from components.provider.manifests import PodManifest, Port
from pegasus import names

LB_NAME = "tpod-lb"
PUBLISHED_ON = ("eks", "gke")


def published(cloud: str) -> bool:
    return cloud in PUBLISHED_ON


def tcp_ports(pod: PodManifest) -> list[tuple[int, Port]]:
    return [(i, p) for i, c in enumerate(pod.containers) for p in c.ports if p.tcp_node_port is not None]


def public_port(port: Port) -> int:
    return port.tcp_node_port or port.container_port


def duplicate_public_port(pod: PodManifest) -> Optional[int]:
    """A public port two of the pod's TCP ports would share on its load balancer, if any."""
    seen: set[int] = set()
    for _, p in tcp_ports(pod):
        if public_port(p) in seen:
            return public_port(p)
        seen.add(public_port(p))
    return None


def load_balancer(pod: PodManifest, ns: str, cloud: str, cluster_name: str) -> Optional[dict]:
    """The pod's LoadBalancer Service, or None (no TCP port, or a cluster that keeps NodePorts)."""
    from components.provider import builder as pb

    tcp = tcp_ports(pod)
    if not published(cloud) or not tcp:
        return None
    # As the validator's: IP targets on eks need no NodePort; gke keeps them (its docs say
    # nothing of LoadBalancers without), see pegasus/config/validator.py allocateNodePorts.
    spec = dict(p2p_builder.public_lb_spec(cloud, allocate_node_ports=cloud != "eks"))
    spec["selector"] = pb.selector(pod)
    spec["ports"] = [{"name": p.name, "port": public_port(p), "targetPort": pb.container_port_name(i, p), "protocol": "TCP"}
                     for i, p in tcp]
    annotations = p2p_builder.public_lb_annotations(cloud, f"pegasus.saga.xyz/cluster={cluster_name},pegasus.saga.xyz/tenant={ns}")
    metadata: dict = {"name": LB_NAME, "namespace": ns, "labels": pb.labels(pod)}
    if annotations:
        metadata["annotations"] = annotations
    return {"apiVersion": "v1", "kind": "Service", "metadata": metadata, "spec": spec}


def addresses(pod: PodManifest, cloud: str) -> list[dict]:
    """builder.addresses, with each TCP port at its load balancer where one publishes it:
    {"loadBalancer": LB_NAME, "port": public port}, the host filled in from the Service's status."""
    from components.provider import builder as pb

    if not published(cloud) or not tcp_ports(pod):
        return pb.addresses(pod)
    ports = {(c.name, p.container_port): p for c in pod.containers for p in c.ports}
    out = []
    for a in pb.addresses(pod):
        if "service" in a:
            port = ports[(a["containerName"], a["containerPort"])]
            a = {"loadBalancer": LB_NAME, "port": public_port(port), "containerName": a["containerName"],
                 "containerPort": a["containerPort"]}
        out.append(a)
    return out


def ingress_host(status) -> Optional[str]:
    """status.loadBalancer.ingress[0]: a hostname on AWS, an IP on GCP; None until provisioned."""
    ingress = getattr(getattr(status, "load_balancer", None), "ingress", None) or []
    if not ingress:
        return None
    return getattr(ingress[0], "hostname", None) or getattr(ingress[0], "ip", None)


def namespace_labels(pod: PodManifest, cloud: str) -> dict[str, str]:
    """On eks, the label that has the AWS Load Balancer Controller's pod webhook add a readiness
    gate to the tenant's pods (its chart's namespaceSelector at v3.5.0, failurePolicy Ignore): a
    rollout then waits until the NLB has registered the new pod before it stops the old one, so
    connected TCP clients are not sent to a pod the NLB does not know yet."""
    if cloud == "eks" and tcp_ports(pod):
        return {names.READINESS_GATE_LABEL: "enabled"}
    return {}
