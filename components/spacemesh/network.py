"""A Spacemesh network on Kubernetes: the bootstrap node, bootnodes and miners as ChainNodes,
the PoETs, per-role config, key Secrets and the bootnodes' budget."""

from __future__ import annotations

from typing import Any, Optional, Sequence

import pulumi
import pulumi_kubernetes as k8s

from components.spacemesh import builder as sb
from components.spacemesh import upgrade_gate
from components.spacemesh import workload_builder as swb
from components.chain import workload_builder as wb
from components.chain.chain_node import ChainNode
from components.kube.k8s_util import body, lb_host
from pegasus import names
from components.spacemesh.config import SpacemeshSettings
from components.spacemesh.genesis_guard import GenesisGuard


class SpacemeshNetwork(pulumi.ComponentResource):
    hosts: pulumi.Output[dict]
    """Each node's gRPC and JSON API: in-cluster address and, for miners, the NodePorts."""
    public_bootnodes: pulumi.Output[list]
    """Multiaddrs home smeshers dial (the public config's p2p.bootnodes)."""
    first_poet: pulumi.Output[str]
    """The first PoET's public URL."""

    def __init__(self, name: str, s: SpacemeshSettings, cfg: sb.NodeConfig, *, cloud: str, cluster_name: str,
                 storage_class: Optional[str], lb_dependencies: Sequence[pulumi.Resource] = (),
                 workload_dependencies: Sequence[pulumi.Resource] = (), pyroscope_url: Optional[str] = None,
                 allocate_node_ports: bool = True, opts: Optional[pulumi.ResourceOptions] = None):
        super().__init__("pegasus:spacemesh:SpacemeshNetwork", name, None, opts)
        ns_name = sb.namespace(s.network)
        child = pulumi.ResourceOptions(parent=self)
        # Retained: deleting the namespace would delete every PoST volume in it, protected or not.
        ns = k8s.core.v1.Namespace(f"{name}-ns", **body(wb.namespace(ns_name, sb.COMPONENT, ns_name)),
                                   opts=pulumi.ResourceOptions.merge(child, pulumi.ResourceOptions(retain_on_delete=True)))
        self.namespace = ns
        in_ns = pulumi.ResourceOptions(parent=self, depends_on=[ns])
        plans = sb.plan_nodes(s)
        # The nodes' config changes only after the guard accepted the genesis (genesis_guard.py).
        guard = GenesisGuard(f"{name}-genesis", sb.genesis_record(cfg, s), opts=child)
        in_ns_guarded = pulumi.ResourceOptions(parent=self, depends_on=[ns, guard])
        configs = []
        for role, config in sb.role_configs(cfg, s, plans, ns_name).items():
            configs.append(k8s.core.v1.ConfigMap(f"{name}-config-{role}", **body(swb.config_map(role, ns_name, config)), opts=in_ns_guarded))
        secrets: list[pulumi.Resource] = []
        for node, key in sorted(s.secrets.p2p_keys.items()):
            secrets.append(k8s.core.v1.Secret(
                f"{name}-{node}-p2p-identity",
                metadata={"name": swb.identity_secret_name(node), "namespace": ns_name, "labels": names.labels(sb.COMPONENT, node)},
                string_data={"p2p.key": pulumi.Output.secret(key.value)}, opts=in_ns))
        for node, key in sorted(s.secrets.coinbase_keys.items()):
            # The coinbase account's key stays with the node, as spacecraft kept it
            # (miner-N-coinbase); the node itself only needs the address (--smeshing-coinbase).
            coinbase = s.coinbases.get(node, s.coinbase)
            secrets.append(k8s.core.v1.Secret(
                f"{name}-{node}-coinbase",
                metadata={"name": swb.coinbase_secret_name(node), "namespace": ns_name, "labels": names.labels(sb.COMPONENT, node)},
                string_data={"privateKey": pulumi.Output.secret(key.value), "address": coinbase}, opts=in_ns))
        poet_secrets = []
        for i in range(s.poets):
            # PoET reads its key from POET_PRIVATE_KEY and refuses to start when it differs from
            # the state.bin on its volume (server/state.go): a rotated key needs that file gone.
            poet_secrets.append(k8s.core.v1.Secret(
                f"{name}-{sb.poet_name(i)}-key",
                metadata={"name": swb.poet_key_secret_name(i), "namespace": ns_name, "labels": names.labels(sb.POET_COMPONENT, sb.poet_name(i))},
                string_data={sb.POET_KEY_ENV: pulumi.Output.secret(s.secrets.poet_keys[sb.poet_name(i)].value)}, opts=in_ns))
        k8s.policy.v1.PodDisruptionBudget(f"{name}-bootnodes", **body(swb.bootnode_pdb(ns_name)), opts=in_ns)
        k8s.policy.v1.PodDisruptionBudget(f"{name}-miners", **body(swb.miner_pdb(ns_name)), opts=in_ns)

        # PoETs first: the nodes' config names them.
        poet_nodes = []
        for i in range(s.poets):
            spec = swb.poet_spec(s, cfg, i, ns_name, storage_class, cloud)
            poet_nodes.append(ChainNode(f"{name}-{sb.poet_name(i)}", spec, namespace=ns,
                                        workload_dependencies=[*workload_dependencies, poet_secrets[i]], opts=child))
        poet_public = k8s.core.v1.Service(
            f"{name}-poet-public", **body(swb.poet_public_service(ns_name, cloud, cluster_name, allocate_node_ports)),
            opts=pulumi.ResourceOptions.merge(in_ns, pulumi.ResourceOptions(depends_on=[ns, *lb_dependencies])))
        self.first_poet = lb_host(poet_public).apply(lambda h: f"http://{h}:{sb.POET_REST.port}")

        deps = [*configs, *secrets, *workload_dependencies]
        hosts: dict[str, Any] = {}
        public_bootnodes = []
        node_resources = []
        images = sb.node_images(s, plans)
        for p in plans:
            spec = swb.node_spec(s, p, ns_name, cloud, cluster_name, storage_class, pyroscope_url,
                                 allocate_node_ports=allocate_node_ports, image=images[p.name])
            external = None
            if p.role == "miner" and s.miner_p2p == "loadBalancer":
                lb = k8s.core.v1.Service(f"{name}-{p.name}-public-p2p", **body(swb.miner_p2p_service(spec, cloud, cluster_name, allocate_node_ports)),
                                         opts=pulumi.ResourceOptions(parent=self, depends_on=[ns, *lb_dependencies]))
                external = lb_host(lb).apply(lambda h, port=p.p2p_port: f"{h}:{port}")
            node = ChainNode(f"{name}-{p.name}", spec, namespace=ns, lb_dependencies=lb_dependencies,
                             workload_dependencies=deps, external_address=external, opts=child)
            node_resources.append(node.workload)
            api = sb.service_host(sb.api_service(p), ns_name)
            entry: dict[str, Any] = {"role": p.role, "grpc": f"{api}:{sb.GRPC.port}", "json": f"{api}:{sb.JSON_API.port}"}
            if p.role == "miner" and node.public_service is not None:
                entry["grpcNodePort"] = _node_port(node.public_service, "grpc")
                entry["jsonNodePort"] = _node_port(node.public_service, "json")
            hosts[p.name] = entry
            if p.role == "bootnode":  # spacecraft's public config lists the bootnodes, not the bootstrap node
                public_bootnodes.append(_public_bootnode(s, p, node))

        gate = upgrade_gate.gate_job(s, plans, ns_name)
        if gate is not None:
            # After the moved nodes' StatefulSets; the `up` waits for it (a Job completes or fails).
            moved = {p.name for p in upgrade_gate.moved_nodes(s, plans)}
            k8s.batch.v1.Job(f"{name}-upgrade-gate", **body(gate), opts=pulumi.ResourceOptions(
                parent=self, depends_on=[ns, *(w for p, w in zip(plans, node_resources) if p.name in moved)],
                custom_timeouts=pulumi.CustomTimeouts(create=f"{s.upgrade_wait_minutes + 5}m", update=f"{s.upgrade_wait_minutes + 5}m")))

        self.hosts = pulumi.Output.from_input(hosts)
        self.public_bootnodes = pulumi.Output.all(*public_bootnodes) if public_bootnodes else pulumi.Output.from_input([])
        self.register_outputs({"hosts": self.hosts, "public_bootnodes": self.public_bootnodes, "first_poet": self.first_poet})


def _node_port(service: k8s.core.v1.Service, port_name: str) -> pulumi.Output:
    return service.spec.apply(lambda spec: next((p.node_port for p in (spec.ports or []) if p.name == port_name), None)
                              if spec is not None else None)


def _public_bootnode(s: SpacemeshSettings, p: sb.NodePlan, node: ChainNode) -> Any:
    peer = s.identities[p.name]
    if sb.has_public_p2p(s, p):
        from components.chain.chain_node_builder import multiaddr

        return node.p2p_address.apply(lambda a: f"{multiaddr(a)}/p2p/{peer}")
    # hostPort: the address it advertises, <node>.<network>.<domain> (dns is required with it).
    return f"{sb.host_port_address(s, p)}/p2p/{peer}"
