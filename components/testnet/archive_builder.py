"""Pure builders for a region's archive: the `mina-archive` process beside one daemon, its
Postgres from the CloudNativePG operator, and an idempotent Job that applies the schema.

- Postgres: a CloudNativePG `Cluster` (operator chart cloudnative-pg 0.26.0, operator
  1.27.0) rather than a hand-rolled StatefulSet: the operator owns failover, volumes and
  credentials. It writes the Secret `<cluster>-app` (keys username, password, uri, ...), which
  the Job and the archive read; no password passes through Pulumi.
- Schema: the archive image ships `/etc/mina/archive/create_schema.sql` (Mina's own tools look
  for it there). The Job copies it out of that image and applies it with psql only while the
  `blocks` table does not exist, so running it again changes nothing.
- Archive: `mina-archive run -postgres-uri <uri> -server-port 3086 -config-file <genesis>`, the
  arguments Mina's integration tests start it with; the daemon sends it blocks through
  `-archive-address <service>:3086`.
"""

from __future__ import annotations

from components.kube.chart import Chart
from components.testnet import builder as tb, stateless_builder as stb
from pegasus import names
from components.testnet.config import Region, TestnetSettings
from components.testnet.settings import ArchiveBackup

CNPG_CHART = Chart("cnpg", "cloudnative-pg", "0.26.0", "https://cloudnative-pg.github.io/charts")
CNPG_NAMESPACE = "cnpg-system"
PSQL_IMAGE = "postgres:17.6"  # only its psql client runs, in the schema Job
ARCHIVE_PORT = tb.ARCHIVE_PORT
archive_name = tb.archive_name
archive_address = tb.archive_address
SCHEMA_DIR = "/schema"
COMPONENT = "mina-archive"


def db_name(testnet: TestnetSettings) -> str:
    return f"{testnet.name}-archive-db"


def app_secret(testnet: TestnetSettings) -> str:
    """The Secret CloudNativePG writes for the application user of the bootstrap database."""
    return f"{db_name(testnet)}-app"


def _labels(testnet: TestnetSettings, part: str) -> dict:
    return {**names.labels(COMPONENT, f"{testnet.name}-{part}", name=part), "pegasus.saga.xyz/testnet": testnet.name}


# The keys of the operator-made credentials Secret (archive.backup.credentialsSecret), named as
# CloudNativePG's backup documentation names them.
S3_KEYS = ("ACCESS_KEY_ID", "ACCESS_SECRET_KEY")
GCS_KEY = "gcsCredentials"  # a service account's JSON key


def _credentials(backup: ArchiveBackup) -> dict:
    if backup.destination.startswith("s3://"):
        return {"s3Credentials": {"accessKeyId": {"name": backup.credentials_secret, "key": S3_KEYS[0]},
                                  "secretAccessKey": {"name": backup.credentials_secret, "key": S3_KEYS[1]}}}
    return {"googleCredentials": {"applicationCredentials": {"name": backup.credentials_secret, "key": GCS_KEY}}}


def backup_spec(backup: ArchiveBackup) -> dict:
    """Cluster.spec.backup: WAL is archived as it is written (so a restore reaches any moment
    since the oldest base backup kept), base backups land beside it; both are pruned by the
    retention policy. gzip keeps the archive's mostly-text rows small."""
    return {
        "barmanObjectStore": {
            "destinationPath": backup.destination,
            **_credentials(backup),
            "wal": {"compression": "gzip"},
            "data": {"compression": "gzip"},
        },
        "retentionPolicy": backup.retention,
    }


def db_cluster(testnet: TestnetSettings, region: Region) -> dict:
    archive = region.archive
    assert archive is not None
    spec: dict = {
        "instances": 1,
        "storage": {"size": archive.storage_size},
        "bootstrap": {"initdb": {"database": "archive", "owner": "archive"}},
    }
    if archive.backup is not None:
        spec["backup"] = backup_spec(archive.backup)
    return {
        "apiVersion": "postgresql.cnpg.io/v1",
        "kind": "Cluster",
        "metadata": {"name": db_name(testnet), "namespace": testnet.namespace, "labels": _labels(testnet, "archive-db")},
        "spec": spec,
    }


def scheduled_backup(testnet: TestnetSettings, region: Region) -> dict | None:
    """The base backups' schedule. The first runs at once (`immediate`), so a new archive has a
    restore point before its first night; the Backup objects it makes are owned by this
    ScheduledBackup (`self`), not by the Cluster, so they outlive neither and are listed with it."""
    archive = region.archive
    if archive is None or archive.backup is None:
        return None
    name = f"{db_name(testnet)}-backup"
    return {
        "apiVersion": "postgresql.cnpg.io/v1",
        "kind": "ScheduledBackup",
        "metadata": {"name": name, "namespace": testnet.namespace, "labels": _labels(testnet, "archive-backup")},
        "spec": {
            "schedule": archive.backup.schedule,
            "cluster": {"name": db_name(testnet)},
            "method": "barmanObjectStore",
            "immediate": True,
            "backupOwnerReference": "self",
        },
    }


def _env(testnet: TestnetSettings) -> list[dict]:
    return [{"name": "ARCHIVE_DB_URI", "valueFrom": {"secretKeyRef": {"name": app_secret(testnet), "key": "uri"}}}]


_SECURITY = {"allowPrivilegeEscalation": False, "privileged": False, "capabilities": {"drop": ["ALL"]}}
# The schema Job writes only into its emptyDir.
_JOB_SECURITY = {**_SECURITY, "readOnlyRootFilesystem": True}
_SMALL = {"requests": {"cpu": "100m", "memory": "128Mi"}, "limits": {"cpu": "500m", "memory": "256Mi"}}

APPLY_SCHEMA = "\n".join([
    "set -eu",
    'until pg_isready -q -d "$ARCHIVE_DB_URI"; do sleep 2; done',
    # Only an empty database gets the schema: a second run finds `blocks` and changes nothing.
    'if psql -tA -d "$ARCHIVE_DB_URI" -c "SELECT to_regclass(\'public.blocks\')" | grep -q blocks; then',
    '  echo "schema present"',
    "else",
    f'  cd {SCHEMA_DIR} && psql -v ON_ERROR_STOP=1 -q -d "$ARCHIVE_DB_URI" -f create_schema.sql',
    "fi",
])


def schema_job(testnet: TestnetSettings, region: Region) -> dict:
    archive = region.archive
    assert archive is not None
    name = f"{archive_name(testnet)}-schema"
    return {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": {"name": name, "namespace": testnet.namespace, "labels": _labels(testnet, "archive-schema")},
        "spec": {
            "backoffLimit": 10,
            "template": {
                "metadata": {"labels": _labels(testnet, "archive-schema")},
                "spec": {
                    "restartPolicy": "OnFailure",
                    "automountServiceAccountToken": False,
                    "securityContext": {"seccompProfile": {"type": "RuntimeDefault"}},
                    "initContainers": [{
                        "name": "copy-schema", "image": archive.image, "imagePullPolicy": "IfNotPresent",
                        # create_schema.sql includes its sibling files, so the whole folder is copied.
                        "command": ["/bin/sh", "-c", f"cp /etc/mina/archive/*.sql {SCHEMA_DIR}/"],
                        "volumeMounts": [{"name": "schema", "mountPath": SCHEMA_DIR}],
                        "resources": _SMALL, "securityContext": _JOB_SECURITY,
                    }],
                    "containers": [{
                        "name": "apply-schema", "image": PSQL_IMAGE, "imagePullPolicy": "IfNotPresent",
                        "command": ["/bin/sh", "-c", APPLY_SCHEMA],
                        "env": _env(testnet),
                        "volumeMounts": [{"name": "schema", "mountPath": SCHEMA_DIR, "readOnly": True}],
                        "resources": _SMALL, "securityContext": _JOB_SECURITY,
                    }],
                    "volumes": [{"name": "schema", "emptyDir": {"sizeLimit": "64Mi"}}],
                },
            },
        },
    }


def archive_deployment(testnet: TestnetSettings, region: Region) -> dict:
    archive = region.archive
    assert archive is not None
    name = archive_name(testnet)
    labels = _labels(testnet, "archive")
    container = {
        "name": "archive", "image": archive.image, "imagePullPolicy": "IfNotPresent",
        "args": ["run", "-postgres-uri", "$(ARCHIVE_DB_URI)", "-server-port", str(ARCHIVE_PORT),
                 "-config-file", f"{tb.GENESIS_DIR}/{tb.GENESIS_FILE}"],
        "env": _env(testnet),
        "ports": [{"name": "archive", "containerPort": ARCHIVE_PORT, "protocol": "TCP"}],
        "readinessProbe": {"tcpSocket": {"port": "archive"}, "periodSeconds": 10},
        "livenessProbe": {"tcpSocket": {"port": "archive"}, "initialDelaySeconds": 60, "periodSeconds": 30,
                          "failureThreshold": 10},
        "volumeMounts": [{"name": "genesis", "mountPath": tb.GENESIS_DIR, "readOnly": True}],
        "resources": {"requests": {"cpu": "500m", "memory": "1Gi"}, "limits": {"cpu": "2", "memory": "4Gi"}},
        "securityContext": _SECURITY,
    }
    return stb.deployment(
        name, testnet, labels, names.selector(COMPONENT, f"{testnet.name}-archive", name="archive"), [container],
        # Two archive processes would write the same blocks concurrently.
        strategy={"type": "Recreate"},
        volumes=[{"name": "genesis", "configMap": {"name": tb.genesis_configmap_name(testnet)}}],
    )


def archive_service(testnet: TestnetSettings) -> dict:
    name = archive_name(testnet)
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": name, "namespace": testnet.namespace, "labels": _labels(testnet, "archive")},
        "spec": {
            "type": "ClusterIP",
            "selector": names.selector(COMPONENT, f"{testnet.name}-archive", name="archive"),
            "ports": [{"name": "archive", "port": ARCHIVE_PORT, "targetPort": "archive", "protocol": "TCP"}],
        },
    }
