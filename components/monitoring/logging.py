"""Optional log shipping: a fluent-bit DaemonSet writing to CloudWatch Logs (eks, IAM through
EKS Pod Identity) or Cloud Logging (gke, through workload identity)."""

from __future__ import annotations

from typing import Any, Optional

import pulumi
import pulumi_kubernetes as k8s

from components.monitoring import logging_builder as lb
from components.chain import workload_builder as wb
from components.kube.k8s_util import body, helm_release
from pegasus import names
from pegasus.config import LoggingSettings


class Logging(pulumi.ComponentResource):
    def __init__(self, name: str, settings: LoggingSettings, cluster_name: str, k8s_provider: k8s.Provider, *,
                 eks: Any = None, gke: Any = None, tags: Optional[dict] = None,
                 charts_dir: Optional[str] = None, opts: Optional[pulumi.ResourceOptions] = None):
        super().__init__("pegasus:logging:Logging", name, None, opts)
        ns_name = names.LOGGING_NAMESPACE
        ns = k8s.core.v1.Namespace(
            f"{name}-ns", **body(wb.namespace(ns_name, "logging", ns_name)),
            opts=pulumi.ResourceOptions(parent=self, provider=k8s_provider),
        )
        annotations: dict[str, Any] = {}
        depends: list[pulumi.Resource] = [ns]
        if eks is not None:
            import pulumi_aws as aws

            from components.cluster.aws_util import pod_identity_role

            aws_opts = pulumi.ResourceOptions(parent=self, provider=eks.aws_provider)
            account = eks.account
            role, identity = pod_identity_role(
                name, account=account, cluster_name=cluster_name, cluster=eks.cluster, namespace=ns_name,
                service_account=lb.SERVICE_ACCOUNT, tags=tags or {}, opts=aws_opts,
            )
            depends += [identity, eks.pod_identity_agent, aws.iam.RolePolicy(
                f"{name}-cloudwatch", role=role.id,
                policy=pulumi.Output.all(account.account_id, account.partition).apply(
                    lambda a: lb.cloudwatch_policy(eks.region, a[0], cluster_name, a[1])),
                opts=aws_opts,
            )]
            cloud, region = "eks", eks.region
        elif gke is not None:
            import pulumi_gcp as gcp

            gcp_opts = pulumi.ResourceOptions(parent=self, provider=gke.gcp_provider)
            account = gcp.serviceaccount.Account(
                f"{name}-sa", account_id=names.gcp_account_id(cluster_name, "logs"), display_name=f"Pegasus log shipping of {cluster_name}",
                opts=gcp_opts,
            )
            gcp.projects.IAMMember(
                f"{name}-log-writer", project=gke.project, role="roles/logging.logWriter",
                member=account.email.apply(lambda e: f"serviceAccount:{e}"), opts=gcp_opts,
            )
            depends.append(gcp.serviceaccount.IAMMember(
                f"{name}-workload-identity", service_account_id=account.name, role="roles/iam.workloadIdentityUser",
                member=f"serviceAccount:{gke.project}.svc.id.goog[{ns_name}/{lb.SERVICE_ACCOUNT}]",
                opts=pulumi.ResourceOptions(parent=self, provider=gke.gcp_provider, depends_on=[gke.cluster]),
            ))
            annotations["iam.gke.io/gcp-service-account"] = account.email
            cloud, region = "gke", gke.region
        else:
            raise ValueError("log shipping needs eks or gke")
        helm_release(
            f"{name}-fluent-bit", lb.CHART, ns_name,
            pulumi.Output.all(**annotations).apply(lambda a: lb.values(cloud, cluster_name, region, settings.retention_days, dict(a))),
            pulumi.ResourceOptions(parent=self, provider=k8s_provider, depends_on=depends),
            local_dir=charts_dir,
        )
        self.register_outputs({})
