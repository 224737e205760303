"""A region's key plumbing: External Secrets, its cloud identity, the SecretStore and one
ExternalSecret per key (components/testnet/secrets_builder.py). Nothing of a key passes
through Pulumi: the program names remote entries, ESO writes the Secrets in the cluster."""

from __future__ import annotations

from typing import Any, Optional, Sequence

import pulumi
import pulumi_kubernetes as k8s

from components.testnet import secrets_builder as sb
from components.kube.k8s_util import custom_resource_args, helm_release
from components.testnet.builder import DaemonPlan
from pegasus import names
from components.testnet.config import Region, TestnetSettings


class TestnetKeys(pulumi.ComponentResource):
    secrets: list[pulumi.Resource]
    """The ExternalSecrets daemons wait for."""

    def __init__(self, name: str, testnet: TestnetSettings, region: Region, plans: tuple[DaemonPlan, ...], *,
                 namespace: pulumi.Resource, provider: k8s.Provider, cluster: Any = None,
                 workload_dependencies: Sequence[pulumi.Resource] = (),
                 charts_dir: Optional[str] = None, opts: Optional[pulumi.ResourceOptions] = None):
        super().__init__("pegasus:testnet:TestnetKeys", name, None, opts)
        child = pulumi.ResourceOptions(parent=self, provider=provider)
        eso_ns = k8s.core.v1.Namespace(f"{name}-eso-ns", metadata={"name": sb.NAMESPACE, "labels": names.labels("secrets", sb.NAMESPACE)},
                                       opts=child)
        depends: list[pulumi.Resource] = [eso_ns]
        annotations: dict[str, Any] = {}
        keys = sb.remote_keys(plans, region.test_services)
        eks = getattr(cluster, "eks", None)
        gke = getattr(cluster, "gke", None)
        if region.secret_store == "aws" and eks is not None:
            import pulumi_aws as aws

            from components.cluster.aws_util import pod_identity_role

            aws_opts = pulumi.ResourceOptions(parent=self, provider=eks.aws_provider)
            role, identity = pod_identity_role(f"{name}-eso", account=eks.account, cluster_name=eks.cluster_name, cluster=eks.cluster,
                                               namespace=sb.NAMESPACE, service_account=sb.SERVICE_ACCOUNT, tags=eks.tags, opts=aws_opts)
            depends += [identity, eks.pod_identity_agent, aws.iam.RolePolicy(
                f"{name}-eso-read", role=role.id,
                policy=pulumi.Output.all(eks.account.account_id, eks.account.partition).apply(
                    lambda a: sb.secrets_manager_policy(eks.region, a[0], a[1], keys)),
                opts=aws_opts)]
        elif region.secret_store == "gcp" and gke is not None:
            import pulumi_gcp as gcp

            gcp_opts = pulumi.ResourceOptions(parent=self, provider=gke.gcp_provider)
            account = gcp.serviceaccount.Account(
                f"{name}-eso-sa", account_id=names.gcp_account_id(f"{testnet.name}-{region.name}", "keys"),
                display_name=f"External Secrets of testnet {testnet.name} in {region.name}", opts=gcp_opts)
            member = account.email.apply(lambda e: f"serviceAccount:{e}")
            for i, key in enumerate(keys):
                # Per secret, not project-wide: the controller reads the testnet's keys only.
                gcp.secretmanager.SecretIamMember(f"{name}-eso-read-{i}", project=gke.project, secret_id=key,
                                                  role="roles/secretmanager.secretAccessor", member=member, opts=gcp_opts)
            depends.append(gcp.serviceaccount.IAMMember(
                f"{name}-eso-workload-identity", service_account_id=account.name, role="roles/iam.workloadIdentityUser",
                member=f"serviceAccount:{gke.project}.svc.id.goog[{sb.NAMESPACE}/{sb.SERVICE_ACCOUNT}]",
                opts=pulumi.ResourceOptions(parent=self, provider=gke.gcp_provider, depends_on=[gke.cluster])))
            annotations["iam.gke.io/gcp-service-account"] = account.email
        # Elsewhere (a shared or existing cluster) the controller's credentials are the
        # cluster operator's to give (docs/blueprints/testnet.md).
        release = helm_release(
            f"{name}-external-secrets", sb.CHART, sb.NAMESPACE,
            pulumi.Output.all(**annotations).apply(lambda a: sb.chart_values(dict(a))),
            pulumi.ResourceOptions(parent=self, provider=provider, depends_on=[*depends, *workload_dependencies]), local_dir=charts_dir)
        store = sb.secret_store(testnet, region)
        crd = pulumi.ResourceOptions(parent=self, provider=provider, depends_on=[namespace, release])
        store_res = k8s.apiextensions.CustomResource(f"{name}-store", **custom_resource_args(store), opts=crd)
        self.secrets = [
            k8s.apiextensions.CustomResource(
                f"{name}-{m['metadata']['name']}", **custom_resource_args(m),
                opts=pulumi.ResourceOptions(parent=self, provider=provider, depends_on=[namespace, release, store_res]))
            for m in sb.external_secrets(plans, testnet, region.test_services)
        ]
        self.register_outputs({})
