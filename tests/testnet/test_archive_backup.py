"""archive.backup: CloudNativePG's scheduled backups to object storage, checked against the CRDs
the pinned chart ships (charts/cloudnative-pg-0.26.0.tgz, templates/crds/crds.yaml)."""

from __future__ import annotations

import copy
import os

import jsonschema
import pytest

from components.testnet import archive_builder as ab
from tests.conftest import example, k8s
from tests.testnet.test_config import BASE, error, parsed, tn
from tools.plan import schemas

CHART = os.path.join(schemas.DEFAULT_CHART_DIR, ab.CNPG_CHART.archive)
BACKUP = {"destination": "s3://qa-7-archive/use1", "schedule": "0 0 3 * * *", "retention": "30d", "credentialsSecret": "archive-s3"}


@pytest.fixture(scope="module")
def crds() -> dict:
    """(apiVersion, kind) -> the strict schema of each CRD in the pinned chart, read from the
    archive itself (not from the plan tool's registry, so this test stands on the chart alone)."""
    out: dict = {}
    texts = schemas.chart_crd_texts(CHART)
    assert texts, CHART
    for text in texts:
        schemas._add_crds(out, text)
    return out


def _raw(name: str):
    from tools.plan.schemas import _CrdLoader
    import yaml

    for text in schemas.chart_crd_texts(CHART):
        for doc in yaml.load_all(text, Loader=_CrdLoader):
            if doc and doc["metadata"]["name"] == name:
                return doc["spec"]["versions"][0]["schema"]["openAPIV3Schema"]
    raise AssertionError(name)


def with_backup(**backup):
    regions = copy.deepcopy(BASE["regions"])
    regions[0]["archive"] = {"enabled": True, "image": "minaprotocol/mina-archive:3.1.0", "backup": {**BACKUP, **backup}}
    return tn(regions=regions)


def test_backup_settings_are_checked_by_exact_message():
    backup = parsed(with_backup()).testnet.regions[0].archive.backup
    assert (backup.destination, backup.schedule, backup.retention, backup.credentials_secret) == (
        "s3://qa-7-archive/use1", "0 0 3 * * *", "30d", "archive-s3")
    key = "pegasus:testnet.regions[0].archive.backup"
    assert error(with_backup(destination="https://bucket/x")) == (
        f"{key}.destination: 'https://bucket/x' is not an object store URL like s3://<bucket>/<path> or gs://<bucket>/<path>")
    assert error(with_backup(schedule="0 3 * * *")) == (
        f"{key}.schedule: '0 3 * * *' is not a CloudNativePG schedule: six fields, seconds first, like '0 0 3 * * *' "
        "(03:00:00 daily), or a descriptor like @daily")
    assert error(with_backup(retention="30 days")) == (
        f"{key}.retention: '30 days' is not a retention like 30d, 4w or 6m (days, weeks, months)")
    assert error(with_backup(credentialsSecret="")) == f"{key}.credentialsSecret: is required"
    assert error(with_backup(bucket="x")) == f"{key}.bucket: unknown key; use destination, schedule, retention, credentialsSecret"


def test_retention_is_checked_with_the_crds_own_pattern():
    from components.testnet import archive_config

    spec = _raw("clusters.postgresql.cnpg.io")["properties"]["spec"]["properties"]["backup"]["properties"]
    assert archive_config.RETENTION.pattern == spec["retentionPolicy"]["pattern"]


@pytest.mark.parametrize("destination, credentials", [
    ("s3://qa-7-archive/use1", {"s3Credentials": {"accessKeyId": {"name": "archive-s3", "key": "ACCESS_KEY_ID"},
                                                  "secretAccessKey": {"name": "archive-s3", "key": "ACCESS_SECRET_KEY"}}}),
    ("gs://qa-7-archive/use1", {"googleCredentials": {"applicationCredentials": {"name": "archive-s3", "key": "gcsCredentials"}}}),
])
def test_rendered_backup_objects_validate_against_the_charts_crds(crds, destination, credentials):
    t = parsed(with_backup(destination=destination)).testnet
    region = t.regions[0]
    cluster = ab.db_cluster(t, region)
    assert cluster["spec"]["backup"] == {
        "barmanObjectStore": {"destinationPath": destination, **credentials,
                              "wal": {"compression": "gzip"}, "data": {"compression": "gzip"}},
        "retentionPolicy": "30d",
    }
    scheduled = ab.scheduled_backup(t, region)
    assert scheduled["spec"] == {"schedule": "0 0 3 * * *", "cluster": {"name": "qa-7-archive-db"}, "method": "barmanObjectStore",
                                 "immediate": True, "backupOwnerReference": "self"}
    for obj in (cluster, scheduled):
        schema = crds[(obj["apiVersion"], obj["kind"])]
        assert sorted(e.message for e in jsonschema.Draft7Validator(schema).iter_errors(obj)) == []
    # The strict schema does catch a misspelt field: the check is not vacuous.
    bad = copy.deepcopy(cluster)
    bad["spec"]["backup"]["barmanObjectStore"]["destination"] = destination
    assert list(jsonschema.Draft7Validator(crds[("postgresql.cnpg.io/v1", "Cluster")]).iter_errors(bad))


def test_no_backup_no_scheduled_backup():
    regions = copy.deepcopy(BASE["regions"])
    regions[0]["archive"] = {"enabled": True, "image": "minaprotocol/mina-archive:3.1.0"}
    t = parsed(tn(regions=regions)).testnet
    assert "backup" not in ab.db_cluster(t, t.regions[0])["spec"] and ab.scheduled_backup(t, t.regions[0]) is None


def test_the_cloud_example_schedules_its_archive_backup_after_the_database():
    plan = example("testnet-cloud")
    [cluster] = k8s(plan, "Cluster")
    [scheduled] = k8s(plan, "ScheduledBackup")
    assert scheduled.inputs["spec"]["cluster"]["name"] == cluster.inputs["metadata"]["name"]
    assert cluster.urn in scheduled.options["dependsOn"]
    assert scheduled.provider.split("::")[:-1] == cluster.provider.split("::")[:-1]
    from tools.plan.schemas import validate_plan

    _, errors = validate_plan(plan, "1.35")
    assert [e for e in errors if e.kind in ("Cluster", "ScheduledBackup")] == []
    assert ("postgresql.cnpg.io/v1", "ScheduledBackup") in schemas.crd_schemas(os.path.abspath(schemas.DEFAULT_CRD_DIR))
