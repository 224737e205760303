"""Pure builders for optional log shipping with fluent-bit: CloudWatch Logs on eks, Cloud
Logging on gke. The chart's default output (Elasticsearch) is replaced entirely."""

from __future__ import annotations

import json

from components.kube.chart import Chart
from pegasus import names

CHART = Chart(names.LOGGING_RELEASE, "fluent-bit", "0.58.1", "https://fluent.github.io/helm-charts")  # fluent-bit 5.1.1
SERVICE_ACCOUNT = "fluent-bit"

_INPUTS = """[INPUT]
    Name              tail
    Path              /var/log/containers/*.log
    multiline.parser  docker, cri
    Tag               kube.*
    Mem_Buf_Limit     50MB
    Skip_Long_Lines   On
"""

_FILTERS = """[FILTER]
    Name                kubernetes
    Match               kube.*
    Merge_Log           On
    Keep_Log            Off
    K8S-Logging.Parser  On
    K8S-Logging.Exclude On
"""


def log_group(cluster_name: str) -> str:
    return f"/pegasus/{cluster_name}/containers"


def outputs(cloud: str, cluster_name: str, region: str, retention_days: int) -> str:
    if cloud == "eks":
        return f"""[OUTPUT]
    Name                cloudwatch_logs
    Match               kube.*
    region              {region}
    log_group_name      {log_group(cluster_name)}
    log_stream_prefix   pod-
    auto_create_group   On
    log_retention_days  {retention_days}
"""
    if cloud == "gke":
        # The stackdriver plugin derives pod, namespace and container from the tag after
        # this prefix (its default tag regex matches `<pod>_<ns>_<container>-<id>.log`).
        return f"""[OUTPUT]
    Name                  stackdriver
    Match                 kube.*
    Resource              k8s_container
    K8s_Cluster_Name      {cluster_name}
    K8s_Cluster_Location  {region}
    Tag_Prefix            kube.var.log.containers.
"""
    raise ValueError(f"log shipping has no destination on {cloud}")


def values(cloud: str, cluster_name: str, region: str, retention_days: int, service_account_annotations: dict) -> dict:
    return {
        "serviceAccount": {"create": True, "name": SERVICE_ACCOUNT, "annotations": service_account_annotations},
        # Every node, tainted ones included: a node without a collector loses its logs.
        "tolerations": [{"operator": "Exists"}],
        "resources": {"requests": {"cpu": "50m", "memory": "64Mi"}, "limits": {"memory": "256Mi"}},
        "securityContext": {
            "allowPrivilegeEscalation": False,
            "capabilities": {"drop": ["ALL"]},
            "readOnlyRootFilesystem": True,
        },
        "config": {
            "inputs": _INPUTS,
            "filters": _FILTERS,
            "outputs": outputs(cloud, cluster_name, region, retention_days),
        },
    }


def cloudwatch_policy(region: str, account_id: str, cluster_name: str, partition: str = "aws") -> str:
    group = log_group(cluster_name)
    return json.dumps({
        "Version": "2012-10-17",
        "Statement": [{
            "Effect": "Allow",
            "Action": ["logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents",
                       "logs:PutRetentionPolicy", "logs:DescribeLogStreams"],
            "Resource": [
                f"arn:{partition}:logs:{region}:{account_id}:log-group:{group}",
                f"arn:{partition}:logs:{region}:{account_id}:log-group:{group}:*",
            ],
        }],
    })
