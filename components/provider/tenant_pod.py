"""One paid pod: its namespace and everything in it (see components/provider/builder.py).

A funded pod gets its Deployment and HTTPScaledObject; an exhausted one loses exactly those
two and keeps its namespace, Services, volumes, Secrets, quota and policy, so paying again
brings it back on the same data and the same host.
"""

from __future__ import annotations

from typing import Any, Mapping, Optional, Sequence

import pulumi
import pulumi_kubernetes as k8s

from components.provider import builder as pb
from components.provider import tcp_builder as tcp
from components.kube.k8s_util import body, custom_resource_args
from components.provider.manifests import PodManifest


class TenantPod(pulumi.ComponentResource):
    namespace: str
    running: bool
    addresses: pulumi.Output[list]
    """Where each exposed port answers: "http/<host>" or "tcp/<allocated NodePort>"."""
    ready_replicas: Optional[pulumi.Output[int]]
    """Ready replicas as of this run's apply (the Deployment is not awaited; `pulumi refresh` updates it)."""

    def __init__(self, name: str, pod: PodManifest, *, namespace: str, channel_annotation: str, funded: bool,
                 storage_class: Optional[str], secrets: Mapping[str, Any], guard: pulumi.Resource,
                 platform: Sequence[pulumi.Resource] = (), restricted: bool = False, placement: Optional[Mapping] = None,
                 cloud: str = "existing", cluster_name: str = "", lb_dependencies: Sequence[pulumi.Resource] = (),
                 opts: Optional[pulumi.ResourceOptions] = None):
        super().__init__("pegasus:provider:TenantPod", name, None, opts)
        self.namespace, self.running = namespace, funded
        ns = k8s.core.v1.Namespace(f"{name}-ns", **body(pb.namespace(pod, namespace, channel_annotation, restricted,
                                                                    tcp.namespace_labels(pod, cloud))),
                                   # Deleting a namespace deletes every claim in it, protected or not.
                                   opts=pulumi.ResourceOptions(parent=self, depends_on=[guard], retain_on_delete=True))
        in_ns = pulumi.ResourceOptions(parent=self, depends_on=[ns, guard])
        k8s.networking.v1.NetworkPolicy(f"{name}-isolation", **body(pb.network_policy(pod, namespace)), opts=in_ns)
        # On eks and gke the pod's TCP ports go out through a load balancer of its own (tcp_builder).
        service_objs = pb.services(pod, namespace, node_ports=not tcp.published(cloud))
        lb = tcp.load_balancer(pod, namespace, cloud, cluster_name)
        quota = k8s.core.v1.ResourceQuota(f"{name}-quota", **body(pb.resource_quota(
            pod, namespace, service_objs + ([lb] if lb else []))), opts=in_ns)
        # The pod's data: retained, so neither an exhausted channel, a removed manifest nor a
        # `pulumi destroy` deletes the claim; it stays in the retained namespace until an
        # operator deletes it. Not `protect`: Pulumi refuses to delete a protected resource even
        # from state, so a removed manifest would fail every later run, preview included.
        claims = [
            k8s.core.v1.PersistentVolumeClaim(
                f"{name}-{claim['metadata']['name']}", **body(claim),
                opts=pulumi.ResourceOptions(parent=self, depends_on=[ns, guard], retain_on_delete=True),
            )
            for claim in pb.claims(pod, namespace, storage_class)
        ]
        for volume in pb.secret_volumes(pod):
            k8s.core.v1.Secret(
                f"{name}-{pb.secret_name(volume)}",
                metadata=pb.secret_metadata(pod, namespace, volume),
                string_data={"data": pulumi.Output.secret(secrets[volume.name])},
                opts=pulumi.ResourceOptions(parent=self, depends_on=[ns, guard], retain_on_delete=True),
            )
        services = {svc["metadata"]["name"]: k8s.core.v1.Service(f"{name}-{svc['metadata']['name']}", **body(svc), opts=in_ns)
                    for svc in service_objs}
        if lb:
            # After the quota that admits it, and after the AWS Load Balancer Controller, whose
            # webhook must see the Service (as every public LoadBalancer of the stack).
            services[tcp.LB_NAME] = k8s.core.v1.Service(f"{name}-{tcp.LB_NAME}", **body(lb), opts=pulumi.ResourceOptions(
                parent=self, depends_on=[ns, guard, quota, *lb_dependencies]))
        self.addresses = pulumi.Output.all(*[self._address(a, services) for a in tcp.addresses(pod, cloud)])
        self.ready_replicas = None
        if funded:
            hso = pb.http_scaled_object(pod, namespace)
            # The scaler owns the replica count of an HTTP pod: Pulumi sets 0 once and never
            # resets what the scaler chose.
            deployment = k8s.apps.v1.Deployment(
                f"{name}-deployment", **body(pb.deployment(pod, namespace, restricted, placement)),
                opts=pulumi.ResourceOptions(parent=self, depends_on=[ns, guard, *claims, *services.values()],
                                            ignore_changes=["spec.replicas"] if hso else None),
            )
            if hso is not None:
                # The CRD comes with the add-on's release.
                k8s.apiextensions.CustomResource(
                    f"{name}-scaler", **custom_resource_args(hso),
                    opts=pulumi.ResourceOptions(parent=self, depends_on=[deployment, guard, *platform]))
            self.ready_replicas = deployment.status.apply(lambda st: (st.ready_replicas or 0) if st else 0)
        self.register_outputs({"namespace": namespace, "running": funded, "addresses": self.addresses,
                               "readyReplicas": self.ready_replicas})

    @staticmethod
    def _address(a: dict, services: Mapping[str, k8s.core.v1.Service]) -> Any:
        if "multiaddr" in a:
            return a
        rest = {k: a[k] for k in ("containerName", "containerPort")}
        if "loadBalancer" in a:
            # The load balancer's DNS name (AWS) or address (GCP): known once it is provisioned.
            host = services[a["loadBalancer"]].status.apply(tcp.ingress_host)
            return host.apply(lambda h: {"multiaddr": f"tcp/{a['port']}", "host": h, **rest})
        if a["nodePort"]:
            return {"multiaddr": f"tcp/{a['nodePort']}", **rest}
        # Allocated by Kubernetes: known once the Service exists (unknown in a preview).
        port = services[a["service"]].spec.apply(lambda spec: spec.ports[0].node_port if spec and spec.ports else None)
        return port.apply(lambda n: {"multiaddr": f"tcp/{n}" if n else None, **rest})
