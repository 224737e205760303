"""A region's archive: CloudNativePG, its Postgres, the schema Job and the archive process
(components/testnet/archive_builder.py)."""

from __future__ import annotations

from typing import Optional, Sequence

import pulumi
import pulumi_kubernetes as k8s

from components.testnet import archive_builder as ab
from components.kube.k8s_util import body, custom_resource_args, helm_release
from pegasus import names
from components.testnet.config import Region, TestnetSettings


class TestnetArchive(pulumi.ComponentResource):
    def __init__(self, name: str, testnet: TestnetSettings, region: Region, *, namespace: pulumi.Resource,
                 provider: k8s.Provider, genesis: pulumi.Resource, workload_dependencies: Sequence[pulumi.Resource] = (),
                 charts_dir: Optional[str] = None, opts: Optional[pulumi.ResourceOptions] = None):
        super().__init__("pegasus:testnet:TestnetArchive", name, None, opts)
        child = pulumi.ResourceOptions(parent=self, provider=provider)
        operator_ns = k8s.core.v1.Namespace(f"{name}-cnpg-ns", metadata={
            "name": ab.CNPG_NAMESPACE, "labels": names.labels("database-operator", ab.CNPG_NAMESPACE)}, opts=child)
        operator = helm_release(f"{name}-cnpg", ab.CNPG_CHART, ab.CNPG_NAMESPACE, {"fullnameOverride": "cnpg"},
                                pulumi.ResourceOptions.merge(child, pulumi.ResourceOptions(depends_on=[operator_ns, *workload_dependencies])),
                                local_dir=charts_dir)
        in_ns = pulumi.ResourceOptions.merge(child, pulumi.ResourceOptions(depends_on=[namespace]))
        # The archive's history is data: the database is protected and stays if it ever leaves the program.
        db = k8s.apiextensions.CustomResource(
            f"{name}-db", **custom_resource_args(ab.db_cluster(testnet, region)),
            opts=pulumi.ResourceOptions.merge(in_ns, pulumi.ResourceOptions(depends_on=[namespace, operator], protect=True,
                                                                            retain_on_delete=True)))
        backup = ab.scheduled_backup(testnet, region)
        if backup is not None:
            k8s.apiextensions.CustomResource(f"{name}-backup", **custom_resource_args(backup),
                                             opts=pulumi.ResourceOptions.merge(in_ns, pulumi.ResourceOptions(depends_on=[namespace, db])))
        k8s.batch.v1.Job(f"{name}-schema", **body(ab.schema_job(testnet, region)),
                         opts=pulumi.ResourceOptions.merge(in_ns, pulumi.ResourceOptions(depends_on=[namespace, db])))
        k8s.apps.v1.Deployment(f"{name}-process", **body(ab.archive_deployment(testnet, region)),
                               opts=pulumi.ResourceOptions.merge(in_ns, pulumi.ResourceOptions(depends_on=[namespace, db, genesis])))
        k8s.core.v1.Service(f"{name}-service", **body(ab.archive_service(testnet)), opts=in_ns)
        self.register_outputs({})
