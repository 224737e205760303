"""The Kubernetes cluster, in one of three variants, and the one provider everything uses.

- existing: a kubeconfig path (or contents) and context from config; by default the current
  context of the local kubeconfig (kind, k3d, on-premise).
- eks: pulumi-eks in API authentication mode (access entries), a private endpoint plus a
  public one restricted to configured CIDRs, KMS-encrypted secrets, encrypted gp3 volumes,
  its own VPC across 2-3 AZs (or given subnets), a small system node group, EKS Pod
  Identity, CoreDNS, the EBS CSI driver and the AWS Load Balancer Controller as managed
  add-ons; standard support only and a control-plane log group with retention, so
  nothing costs more than the config says.
- gke: a regional pulumi-gcp cluster with private nodes, workload identity, a system node
  pool and node auto-provisioning.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Optional

import pulumi
import pulumi_kubernetes as k8s

from components.cluster import cluster_builder as cb
from components.kube.k8s_util import body, helm_release
from pegasus import names
from pegasus.config import ClusterSettings
from pegasus.errors import ConfigError


@dataclass
class EksInfo:
    """What the EKS add-ons (Karpenter, logging, p2p addresses) need to know about the cluster."""

    cluster_name: str
    region: str
    aws_provider: Any
    cluster: Any  # eks.Cluster
    node_group: Any
    pod_identity_agent: Any  # the add-on every Pod Identity user waits for
    account: Any  # components.aws_util.AwsAccount
    given_subnet_ids: tuple[str, ...] = ()  # subnets from config, which carry no discovery tags
    public_subnet_ids: tuple[Any, ...] = ()  # where the p2p load balancers live, one per AZ
    private_subnet_ids: tuple[Any, ...] = ()  # where the system group's nodes live, for further groups
    tags: dict = field(default_factory=dict)

@dataclass
class GkeInfo:
    project: str
    region: str
    gcp_provider: Any
    cluster: Any
    node_service_account: Any = None  # the nodes' own least-privilege account, for further pools
    resource_labels: dict = field(default_factory=dict)  # the system pool's GCP labels, for further pools


class Cluster(pulumi.ComponentResource):
    provider: k8s.Provider
    kubeconfig: pulumi.Output[str]
    """Secret."""
    storage_class: Optional[str]
    """The StorageClass for chain data, or None for the cluster default."""

    def __init__(self, name: str, settings: ClusterSettings, stack: str, *, karpenter: bool,
                 storage_class_override: Optional[str] = None, ship_logs: bool = False,
                 charts_dir: Optional[str] = None, maintenance_policy: Optional[dict] = None,
                 opts: Optional[pulumi.ResourceOptions] = None):
        super().__init__("pegasus:cluster:Cluster", name, None, opts)
        self.eks: Optional[EksInfo] = None
        self.gke: Optional[GkeInfo] = None
        # Resources every public LoadBalancer Service must wait for (the AWS LB controller).
        self.lb_dependencies: list[pulumi.Resource] = []
        # The class for volumes that are not chain data; None: the cluster's default.
        self.general_storage_class: Optional[str] = None
        if settings.provider == "existing":
            self._existing(name, settings)
            self.storage_class = storage_class_override
        elif settings.provider == "eks":
            self._eks(name, settings, stack, karpenter, charts_dir)
        else:
            self._gke(name, settings, stack, ship_logs, maintenance_policy)
        if settings.provider != "existing":
            self.storage_class = storage_class_override or cb.CHAIN_STORAGE_CLASS
        self.register_outputs({"kubeconfig": self.kubeconfig})

    # ------------------------------------------------------------------ existing
    def _existing(self, name: str, s: ClusterSettings) -> None:
        kubeconfig = pulumi.Output.secret(s.kubeconfig.value) if s.kubeconfig else None
        self.provider = k8s.Provider(
            f"{name}-k8s",
            kubeconfig=kubeconfig,
            context=s.context,
            **cb.provider_settings(),
            opts=pulumi.ResourceOptions(parent=self),
        )
        # Without an explicit kubeconfig the provider reads $KUBECONFIG or ~/.kube/config on
        # the machine that runs `pulumi up`; record which, not the credentials.
        self.kubeconfig = pulumi.Output.secret(
            s.kubeconfig.value if s.kubeconfig else f"default kubeconfig, context {s.context or '(current)'}"
        )

    # ------------------------------------------------------------------ eks
    def _eks(self, name: str, s: ClusterSettings, stack: str, karpenter: bool, charts_dir: Optional[str]) -> None:
        import pulumi_aws as aws
        import pulumi_eks as eks

        from components.cluster.aws_util import (
            attach_managed_policies,
            aws_account,
            pod_identity_only_role,
            pod_identity_role,
        )
        from components.cluster.aws_util import node_role as node_role_of
        from components.cluster.eks_network import create_vpc

        child = pulumi.ResourceOptions(parent=self)
        aws_provider = aws.Provider(f"{name}-aws", region=s.region, opts=child)
        aws_opts = pulumi.ResourceOptions(parent=self, provider=aws_provider)
        tags = cb.common_tags(s, stack)
        _refuse_deployer_as_admin(s, aws, aws_provider)
        account = aws_account(aws_provider, s.region)

        secrets_key = aws.kms.Key(
            f"{name}-secrets-key",
            description=f"EKS secrets encryption for {s.name}",
            enable_key_rotation=True,
            deletion_window_in_days=30,
            tags=tags,
            opts=aws_opts,
        )
        volume_key = aws.kms.Key(
            f"{name}-volumes-key",
            description=f"Chain data volumes of {s.name}",
            enable_key_rotation=True,
            deletion_window_in_days=30,
            tags=tags,
            opts=pulumi.ResourceOptions.merge(aws_opts, pulumi.ResourceOptions(protect=True)),
        )

        if s.vpc_id:
            vpc_id: Any = s.vpc_id
            private_ids: Any = list(s.private_subnet_ids)
            public_ids: Any = list(s.public_subnet_ids)
        else:
            vpc_id, private_ids, public_ids = create_vpc(name, s, tags, aws_opts)

        node_role, node_policies = node_role_of(f"{name}-system-node", account, tags, aws_opts)
        admin_policy = account.partition.apply(cb.cluster_admin_policy_arn)
        access_entries = {
            f"admin-{i}": eks.AccessEntryArgs(
                principal_arn=arn,
                access_policies={
                    "admin": eks.AccessPolicyAssociationArgs(
                        policy_arn=admin_policy,
                        access_scope=aws.eks.AccessPolicyAssociationAccessScopeArgs(type="cluster"),
                    )
                },
            )
            for i, arn in enumerate(s.admin_role_arns)
        }
        # EKS would create this group on the first log line, with no retention at all.
        log_group = aws.cloudwatch.LogGroup(
            f"{name}-control-plane-logs",
            name=cb.control_plane_log_group(s.name),
            retention_in_days=s.log_retention_days,
            tags=tags,
            opts=aws_opts,
        )
        cluster = eks.Cluster(
            f"{name}-eks",
            name=s.name,
            version=s.kubernetes_version,
            authentication_mode=eks.AuthenticationMode.API,
            access_entries=access_entries or None,
            endpoint_private_access=True,
            endpoint_public_access=bool(s.public_access_cidrs),
            public_access_cidrs=list(s.public_access_cidrs) or None,
            encryption_config_key_arn=secrets_key.arn,
            vpc_id=vpc_id,
            private_subnet_ids=private_ids,
            public_subnet_ids=public_ids,
            skip_default_node_group=True,
            create_oidc_provider=False,
            vpc_cni_options=eks.VpcCniOptionsArgs(enable_network_policy=cb.EKS_ENABLE_NETWORK_POLICY),
            enabled_cluster_log_types=list(cb.CONTROL_PLANE_LOG_TYPES),
            upgrade_policy=aws.eks.ClusterUpgradePolicyArgs(support_type=s.support_type),
            deletion_protection=s.deletion_protection,
            tags=tags,
            # The generated kubeconfig names the endpoint and CA: keep it out of the state in clear.
            opts=pulumi.ResourceOptions(parent=self, providers={"aws": aws_provider}, protect=s.deletion_protection,
                                        depends_on=[log_group],
                                        additional_secret_outputs=["kubeconfig", "kubeconfigJson"]),
        )
        launch_template = aws.ec2.LaunchTemplate(
            f"{name}-system-nodes",
            block_device_mappings=cb.launch_template_block_devices(),
            metadata_options=cb.launch_template_metadata_options(),
            tag_specifications=[{"resourceType": "instance", "tags": tags}, {"resourceType": "volume", "tags": tags}],
            tags=tags,
            opts=aws_opts,
        )
        node_group = eks.ManagedNodeGroup(
            f"{name}-system",
            cluster=cluster,
            # A prefix, not a name: a change that replaces the group (instance type, subnets)
            # creates the new group before the old one is deleted, so system pods always have
            # somewhere to go. A fixed name would collide with the group it replaces.
            node_group_name_prefix=f"{s.name}-system-",
            node_role=node_role,
            instance_types=[s.system_node_type],
            scaling_config=cb.system_node_scaling(s),
            subnet_ids=private_ids,
            labels={names.POOL_LABEL: "system"},
            taints=cb.system_node_taints(karpenter),
            launch_template={"id": launch_template.id, "version": launch_template.latest_version.apply(str)},
            tags=tags,
            opts=pulumi.ResourceOptions(parent=self, providers={"aws": aws_provider}, depends_on=node_policies),
        )
        after_nodes = pulumi.ResourceOptions(parent=self, provider=aws_provider, depends_on=[node_group])
        addon_conflicts = {"resolve_conflicts_on_create": "OVERWRITE", "resolve_conflicts_on_update": "OVERWRITE"}
        pod_identity_agent = aws.eks.Addon(
            f"{name}-pod-identity-agent", cluster_name=s.name, addon_name="eks-pod-identity-agent",
            **addon_conflicts, opts=after_nodes,
        )
        # With skip_default_node_group pulumi-eks creates no CoreDNS add-on (it has no node to
        # place it on), leaving the self-managed CoreDNS that nothing upgrades with the control
        # plane. After the node group, so that its pods have somewhere to run.
        aws.eks.Addon(f"{name}-coredns", cluster_name=s.name, addon_name="coredns",
                      configuration_values=cb.coredns_configuration(), **addon_conflicts, opts=after_nodes)
        ebs_role = pod_identity_only_role(
            f"{name}-ebs-csi", account=account, cluster_name=s.name, namespace=names.SYSTEM_NAMESPACE,
            service_account=cb.EBS_CSI_SERVICE_ACCOUNT, tags=tags, opts=aws_opts,
        )
        ebs_policies = attach_managed_policies(f"{name}-ebs-csi", ebs_role, (cb.EBS_CSI_MANAGED_POLICY,),
                                               account.partition, aws_opts)
        aws.iam.RolePolicy(
            f"{name}-ebs-csi-kms",
            role=ebs_role.id,
            policy=volume_key.arn.apply(cb.ebs_kms_policy),
            opts=aws_opts,
        )
        aws.eks.Addon(
            f"{name}-ebs-csi",
            cluster_name=s.name,
            addon_name="aws-ebs-csi-driver",
            pod_identity_associations=[{"roleArn": ebs_role.arn, "serviceAccount": cb.EBS_CSI_SERVICE_ACCOUNT}],
            **addon_conflicts,
            opts=pulumi.ResourceOptions.merge(after_nodes, pulumi.ResourceOptions(depends_on=[*ebs_policies, pod_identity_agent])),
        )

        # Secret in the provider's inputs as well as its outputs: the kubeconfig names the
        # endpoint and CA of a cluster whose API may be reachable from the internet.
        self.kubeconfig = pulumi.Output.secret(cluster.kubeconfig_json)
        self.provider = k8s.Provider(
            f"{name}-k8s",
            kubeconfig=self.kubeconfig,
            **cb.provider_settings(),
            opts=pulumi.ResourceOptions(parent=self, additional_secret_outputs=["kubeconfig"]),
        )
        k8s_opts = pulumi.ResourceOptions(parent=self, provider=self.provider, depends_on=[node_group])

        k8s.storage.v1.StorageClass(f"{name}-chain-data", **body(cb.storage_class("eks", volume_key.arn)), opts=k8s_opts)
        k8s.storage.v1.StorageClass(f"{name}-general", **body(cb.general_storage_class()), opts=k8s_opts)

        lbc_role, lbc_identity = pod_identity_role(
            f"{name}-lbc", account=account, cluster_name=s.name, cluster=cluster, namespace=names.SYSTEM_NAMESPACE,
            service_account=cb.LBC_SERVICE_ACCOUNT, tags=tags, opts=aws_opts,
        )
        lbc_policy = aws.iam.Policy(
            f"{name}-lbc-policy",
            description="AWS Load Balancer Controller v3.5.0 (docs/install/iam_policy.json)",
            policy=account.partition.apply(cb.lbc_policy_document),
            tags=tags,
            opts=aws_opts,
        )
        lbc_attachment = aws.iam.RolePolicyAttachment(f"{name}-lbc-policy", role=lbc_role.name, policy_arn=lbc_policy.arn, opts=aws_opts)
        lbc = helm_release(
            f"{name}-lbc", cb.LBC_CHART, names.SYSTEM_NAMESPACE,
            pulumi.Output.from_input(vpc_id).apply(lambda v: cb.lbc_values(s.name, s.region, v)),
            pulumi.ResourceOptions.merge(k8s_opts, pulumi.ResourceOptions(
                depends_on=[lbc_identity, lbc_attachment, pod_identity_agent])),
            local_dir=charts_dir,
        )
        self.lb_dependencies = [lbc]
        self.general_storage_class = cb.GENERAL_STORAGE_CLASS
        self.eks = EksInfo(
            cluster_name=s.name,
            region=s.region,
            aws_provider=aws_provider,
            cluster=cluster,
            node_group=node_group,
            pod_identity_agent=pod_identity_agent,
            account=account,
            given_subnet_ids=tuple(s.private_subnet_ids),
            public_subnet_ids=tuple(public_ids),
            private_subnet_ids=tuple(private_ids),
            tags=tags,
        )

    # ------------------------------------------------------------------ gke
    def _gke(self, name: str, s: ClusterSettings, stack: str, ship_logs: bool, maintenance_policy: Optional[dict] = None) -> None:
        import pulumi_gcp as gcp

        child = pulumi.ResourceOptions(parent=self)
        gcp_provider = gcp.Provider(f"{name}-gcp", project=s.project, region=s.region, opts=child)
        gcp_opts = pulumi.ResourceOptions(parent=self, provider=gcp_provider)
        ranges = cb.gke_ranges(s.vpc_cidr)
        labels = {"pegasus-cluster": s.name, "pegasus-stack": stack.lower(), "managed-by": "pulumi"}

        network = gcp.compute.Network(f"{name}-net", name=s.name, auto_create_subnetworks=False, opts=gcp_opts)
        subnet = gcp.compute.Subnetwork(
            f"{name}-nodes",
            name=f"{s.name}-nodes",
            network=network.id,
            region=s.region,
            ip_cidr_range=ranges.nodes,
            private_ip_google_access=True,
            secondary_ip_ranges=[
                {"rangeName": "pods", "ipCidrRange": ranges.pods},
                {"rangeName": "services", "ipCidrRange": ranges.services},
            ],
            opts=gcp_opts,
        )
        router = gcp.compute.Router(f"{name}-router", name=s.name, network=network.id, region=s.region, opts=gcp_opts)
        # Private nodes have no public IPs; Cloud NAT lets them pull images and dial peers.
        gcp.compute.RouterNat(
            f"{name}-nat",
            name=s.name,
            router=router.name,
            region=s.region,
            nat_ip_allocate_option="AUTO_ONLY",
            source_subnetwork_ip_ranges_to_nat="ALL_SUBNETWORKS_ALL_IP_RANGES",
            opts=gcp_opts,
        )
        node_sa = gcp.serviceaccount.Account(
            f"{name}-nodes-sa",
            account_id=names.gcp_account_id(s.name, "nodes"),
            display_name=f"Pegasus nodes of {s.name}",
            opts=gcp_opts,
        )
        for role in cb.GKE_NODE_ROLES:
            gcp.projects.IAMMember(
                f"{name}-nodes-{role.split('/')[-1]}",
                project=s.project,
                role=role,
                member=node_sa.email.apply(lambda e: f"serviceAccount:{e}"),
                opts=gcp_opts,
            )
        authorized = [{"cidrBlock": c, "displayName": f"allowed-{i}"} for i, c in enumerate(s.public_access_cidrs)]
        cluster = gcp.container.Cluster(
            f"{name}-gke",
            name=s.name,
            location=s.region,
            network=network.id,
            subnetwork=subnet.id,
            remove_default_node_pool=True,
            initial_node_count=1,
            min_master_version=s.kubernetes_version,
            release_channel={"channel": s.release_channel},
            # A blueprint's window or exclusions (spacemesh.maintenance); None: GKE's default.
            maintenance_policy=maintenance_policy,
            ip_allocation_policy={"clusterSecondaryRangeName": "pods", "servicesSecondaryRangeName": "services"},
            private_cluster_config={
                "enablePrivateNodes": True,
                # No authorized CIDRs means no public endpoint at all.
                "enablePrivateEndpoint": not s.public_access_cidrs,
                "masterIpv4CidrBlock": s.master_cidr,
            },
            master_authorized_networks_config={"cidrBlocks": authorized},
            workload_identity_config={"workloadPool": f"{s.project}.svc.id.goog"},
            enable_legacy_abac=False,
            enable_shielded_nodes=True,
            addons_config={"httpLoadBalancing": {"disabled": False}, "networkPolicyConfig": dict(cb.GKE_NETWORK_POLICY_ADDON)},
            network_policy=dict(cb.GKE_NETWORK_POLICY),
            cluster_autoscaling={
                "enabled": s.autoprovisioning.enabled,
                "resourceLimits": [
                    {"resourceType": "cpu", "minimum": 0, "maximum": s.autoprovisioning.cpu_limit},
                    {"resourceType": "memory", "minimum": 0, "maximum": s.autoprovisioning.memory_limit_gb},
                ] if s.autoprovisioning.enabled else None,
                "autoProvisioningDefaults": {
                    "serviceAccount": node_sa.email,
                    "oauthScopes": ["https://www.googleapis.com/auth/cloud-platform"],
                    "management": {"autoRepair": True, "autoUpgrade": True},
                    "shieldedInstanceConfig": {"enableSecureBoot": True, "enableIntegrityMonitoring": True},
                } if s.autoprovisioning.enabled else None,
                "autoscalingProfile": "BALANCED",
            },
            deletion_protection=s.deletion_protection,
            # With our own log shipping, GKE's agent keeps only system logs; shipping
            # workload logs twice would double the Cloud Logging bill.
            logging_config={"enableComponents": ["SYSTEM_COMPONENTS"] if ship_logs else ["SYSTEM_COMPONENTS", "WORKLOADS"]},
            resource_labels=labels,
            opts=pulumi.ResourceOptions.merge(gcp_opts, pulumi.ResourceOptions(
                protect=s.deletion_protection, additional_secret_outputs=["masterAuth"])),
        )
        gcp.container.NodePool(
            f"{name}-system",
            name="system",
            cluster=cluster.name,
            location=s.region,
            node_count=1,
            autoscaling={"minNodeCount": 1, "maxNodeCount": max(1, s.system_node_count)},
            management={"autoRepair": True, "autoUpgrade": True},
            node_config={
                "machineType": s.system_node_type,
                "serviceAccount": node_sa.email,
                "oauthScopes": ["https://www.googleapis.com/auth/cloud-platform"],
                "workloadMetadataConfig": {"mode": "GKE_METADATA"},
                "shieldedInstanceConfig": {"enableSecureBoot": True, "enableIntegrityMonitoring": True},
                "labels": {"pegasus.saga.xyz/pool": "system"},
                "resourceLabels": labels,
            },
            opts=gcp_opts,
        )
        self.kubeconfig = pulumi.Output.secret(pulumi.Output.all(cluster.name, cluster.endpoint, cluster.master_auth).apply(
            lambda a: cb.gke_kubeconfig(a[0], a[1], _ca_certificate(a[2]))
        ))
        self.provider = k8s.Provider(
            f"{name}-k8s", kubeconfig=self.kubeconfig, **cb.provider_settings(),
            opts=pulumi.ResourceOptions(parent=self, additional_secret_outputs=["kubeconfig"]),
        )
        sc = cb.storage_class("gke")
        k8s.storage.v1.StorageClass(f"{name}-chain-data", **body(sc),
                                    opts=pulumi.ResourceOptions(parent=self, provider=self.provider))
        self.gke = GkeInfo(project=s.project, region=s.region, gcp_provider=gcp_provider, cluster=cluster,
                           node_service_account=node_sa.email, resource_labels=labels)


def _refuse_deployer_as_admin(s: ClusterSettings, aws: Any, provider: Any) -> None:
    """Refuse, at preview, an admin ARN that EKS already makes admin (see
    cluster_builder.admin_entry_of_deployer): a synchronous read, so the error is one line
    before anything is declared, not a failed create half way through `up`."""
    if not s.admin_role_arns:
        return
    caller = aws.get_caller_identity(opts=pulumi.InvokeOptions(provider=provider)).arn
    index = cb.admin_entry_of_deployer(caller, s.admin_role_arns)
    if index is not None:
        raise ConfigError(
            f"cluster.adminRoleArns[{index}]",
            f"{s.admin_role_arns[index]} is the role this run deploys with ({caller}), which EKS already makes "
            "cluster admin (pulumi-eks creates the cluster with bootstrapClusterCreatorAdminPermissions); a second "
            "access entry for it fails with ResourceInUseException. Remove it from cluster.adminRoleArns",
        )


def _ca_certificate(master_auth: Any) -> str:
    value = getattr(master_auth, "cluster_ca_certificate", None)
    if value is None and isinstance(master_auth, dict):
        value = master_auth.get("clusterCaCertificate") or master_auth.get("cluster_ca_certificate")
    return value or ""
